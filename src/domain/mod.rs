//! The product's vocabulary as types, and the rules that need nothing but them: ids,
//! states and priorities of callback requests ([`queue`]), accounts and what they may do
//! ([`accounts`]), how often a password may be tried ([`throttle`]), places and distances
//! ([`places`]), weekly time ranges ([`week`]), volunteers ([`volunteers`]), missions
//! ([`missions`]) and how a need is matched with volunteers ([`matching`]). No I/O here:
//! the store reads and writes these types, the application layer ([`crate::ops`])
//! decides with them, the front doors parse into them at the edge.

pub mod accounts;
pub mod matching;
pub mod missions;
pub mod places;
pub mod queue;
pub mod throttle;
pub mod volunteers;
pub mod week;

pub use accounts::{Agent, AgentId, Role};
pub use queue::{Outcome, Priority, Request, RequestId, RequestState};
