//! Logging in with a password, throttled per account and per address
//! ([`crate::domain::throttle`]).
//!
//! Every attempt counts as a failure until its password is found right. Beyond a few
//! free attempts, the next one must wait a delay that doubles with each failure, up to
//! [`crate::domain::throttle::MAX_DELAY`]; an attempt that comes sooner is refused without looking at the
//! password. Attempts sent in parallel therefore get one look between them, not forty.
//! Failures are forgotten after [`FORGET_AFTER`] without one; the right password clears
//! the account's count, so the owner logs in as soon as an attacker's delay has passed.
//! An address has more free attempts than an account: an office shares one.

use std::net::IpAddr;

use super::{Error, Ops, Result};
use crate::auth;
use crate::domain::Agent;
use crate::store::agents;

/// A new console session.
#[derive(Debug, Clone)]
pub struct Session {
    /// Who logged in.
    pub agent: Agent,
    /// The session cookie's value (only its digest is stored).
    pub token: String,
}

/// Checks `login` and `password` from `address` and opens a session.
///
/// # Errors
/// [`Error::BadLogin`] for a wrong or disabled account (which of the two is not said),
/// [`Error::TooManyAttempts`] while the account or the address must wait, store errors.
pub async fn log_in(ops: &Ops, login: &str, password: String, address: Option<IpAddr>) -> Result<Session> {
    let login: String = login.trim().chars().take(64).collect();
    let now = ops.now();
    if let Err(wait) = ops.throttle.attempt(&login, address, now) {
        return Err(Error::TooManyAttempts(wait));
    }
    let found = {
        let login = login.clone();
        ops.store.read(move |c| agents::by_login(c, &login)).await?
    };
    let (agent, hash) = match found {
        Some((agent, hash)) if !agent.disabled => (Some(agent), hash),
        _ => (None, auth::decoy_hash().to_owned()),
    };
    let valid =
        tokio::task::spawn_blocking(move || auth::verify_password(&password, &hash)).await.unwrap_or(false);
    let Some(agent) = agent.filter(|_| valid) else { return Err(Error::BadLogin) };
    ops.throttle.succeeded(&login, address);
    let token = auth::new_token();
    let csrf = auth::new_token();
    let digest = auth::digest(&token);
    let id = agent.id;
    ops.store.write(move |c| agents::create_session(c, &digest, id, &csrf, now)).await?;
    Ok(Session { agent, token })
}
