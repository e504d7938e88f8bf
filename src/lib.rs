//! solidaire: a free solidarity phone line for a city.
//!
//! The voice provider posts webhooks to [`web`]; [`telephony`] turns them into events and
//! the engine's actions back into TwiML; [`flow`] holds the menus and the pure engine that
//! walks a caller through them; [`store`] keeps every call, step and callback request in
//! SQLite. [`app::Application`] wires them together; `main.rs` only parses the command line.

pub mod app;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod domain;
pub mod flow;
pub mod i18n;
pub mod line;
pub mod loadtest;
pub mod logging;
pub mod ops;
pub mod outbox;
pub mod phone;
pub mod settings;
pub mod simulate;
pub mod sounds;
pub mod stats;
pub mod store;
pub mod telephony;
pub mod web;
