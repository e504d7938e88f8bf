//! Menus as data. A flow file (`ivr-flows/<line>.toml`) describes one phone line: its
//! numbers, languages, opening hours, the nodes of its menus and every prompt in every
//! language. [`load`] reads and validates them; [`engine`] walks a caller through one,
//! as a pure function of (flow, call state, event, now).
//!
//! [`model`] holds the file format and the validated flow, [`hours`] the opening hours,
//! [`error`] a problem's place in a file.

pub mod edit;
pub mod engine;
pub mod error;
pub mod hours;
pub mod load;
pub mod model;

pub use error::FlowError;
pub use hours::{Hours, Schedule};
pub use load::{Flows, InForce};
pub use model::*;
