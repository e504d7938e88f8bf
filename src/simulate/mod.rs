//! A caller in software: places a call against a running server over real HTTP and
//! follows the TwiML it gets the way the provider does (`<Gather>` → its action with
//! `Digits`, silence → the next verb, `<Redirect>`, `<Dial>` → its action with
//! `DialCallStatus`, `<Record>` → its action with the recording, end of document → the
//! call ends and the status callback is sent). `solidaire simulate` drives it from the
//! keyboard; the tests drive it from a script. Its REST API ([`Provider`]) takes the
//! calls the service places and rings scripted phones, or the terminal.

mod phone;
mod provider;

pub use phone::*;
pub use provider::{Phones, Pickup, Placed, Provider, Through};
