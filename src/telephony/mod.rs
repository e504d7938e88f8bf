//! The providers' dialects ([`Dialect`]): Twilio Programmable Voice and SignalWire
//! (form parameters in, TwiML out), Telnyx TeXML (the same, signed with Ed25519), jambonz
//! (JSON in and out); the request signatures; the REST API for the calls the service places.

mod dialect;
pub mod jambonz;
pub mod rest;
pub mod signature;
pub mod telnyx;
pub mod twiml;
mod webhook;

pub use dialect::Dialect;
pub use webhook::{Inbound, NotUtf8, Params, Unreadable, is_call_sid, unix_now};
