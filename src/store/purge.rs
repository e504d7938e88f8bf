//! Retention: after `retention_days`, calls and closed requests are anonymised. Numbers
//! are replaced by a keyed hash whose key is random for each purge and never stored, so
//! nobody can find a number again; whole local days are purged at once, so the distinct
//! callers of a past day still count the same. The event log (which holds read-back
//! digits) is deleted; the counters the statistics need stay on the call rows. Volunteers
//! who left before the cutoff lose their number, name and notes; closed missions, their notes.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use rusqlite::{Connection, params};
use sha2::Sha256;

use super::{StoreError, time};

/// What a purge changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    /// Calls anonymised.
    pub calls: usize,
    /// Event rows deleted.
    pub events: usize,
    /// Closed callback requests anonymised.
    pub requests: usize,
    /// Volunteers who left whose number and name were removed.
    pub volunteers: usize,
}

/// Anonymises everything from local days before `before_day` (YYYY-MM-DD), `cutoff` being
/// that day's first instant.
///
/// # Errors
/// SQLite errors.
///
/// # Panics
/// Never: HMAC takes keys of any length.
pub fn purge(conn: &Connection, before_day: &str, cutoff: DateTime<Utc>) -> Result<Purged, StoreError> {
    let mut key = [0u8; 32];
    argon2::password_hash::rand_core::RngCore::fill_bytes(
        &mut argon2::password_hash::rand_core::OsRng,
        &mut key,
    );
    let pseudonym = |number: &str| {
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("any key length");
        mac.update(number.as_bytes());
        format!("anon:{}", &crate::auth::hex(&mac.finalize().into_bytes())[..16])
    };
    let callers: Vec<(String, String)> = conn
        .prepare("SELECT sid, caller FROM calls WHERE day < ?1 AND caller IS NOT NULL AND caller NOT LIKE 'anon:%'")?
        .query_map([before_day], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let mut update = conn.prepare("UPDATE calls SET caller = ?2 WHERE sid = ?1")?;
    for (sid, caller) in &callers {
        update.execute(params![sid, pseudonym(caller)])?;
    }
    let states =
        conn.execute("UPDATE calls SET state = '{}' WHERE day < ?1 AND state != '{}'", [before_day])?;
    // The log is read by time: steps of the purged days end before the day after the
    // cutoff (a call lasts hours at most).
    let events = conn.execute(
        "DELETE FROM events WHERE at < ?2 AND call_sid IN (SELECT sid FROM calls WHERE day < ?1)",
        params![before_day, time::format(cutoff + chrono::Duration::days(1))],
    )?;
    let cutoff_at = cutoff;
    let cutoff = time::format(cutoff);
    let requests = conn.execute(
        "UPDATE callback_requests SET phone = NULL, postcode = NULL, answers = '{}', recording_url = NULL
         WHERE created_at < ?1 AND state IN ('done', 'unreachable', 'cancelled')
           AND (phone IS NOT NULL OR recording_url IS NOT NULL OR answers != '{}')",
        [&cutoff],
    )?;
    // What each call said, kept beside the request.
    conn.execute(
        "UPDATE callback_calls SET postcode = NULL, answers = NULL, recording_url = NULL
         WHERE (postcode IS NOT NULL OR answers IS NOT NULL OR recording_url IS NOT NULL) AND request_id IN
           (SELECT id FROM callback_requests WHERE created_at < ?1 AND state IN ('done', 'unreachable', 'cancelled'))",
        [&cutoff],
    )?;
    // Agents' notes may name people.
    conn.execute(
        "UPDATE callback_history SET detail = '' WHERE detail != '' AND action = 'outcome' AND request_id IN
           (SELECT id FROM callback_requests WHERE created_at < ?1 AND state IN ('done', 'unreachable', 'cancelled'))",
        [&cutoff],
    )?;
    // Volunteers who left: their number, name and notes; and the notes of missions closed
    // before the cutoff (they may name the resident).
    let volunteers = super::volunteers::purge_left(conn, cutoff_at)?;
    conn.execute(
        "UPDATE mission_history SET detail = '' WHERE detail != '' AND mission_id IN
           (SELECT id FROM missions WHERE closed_at < ?1)",
        [&cutoff],
    )?;
    // The calls the line placed: whom they rang, and the answers that held the resident's
    // number (put through) or quoted it (a refusal).
    conn.execute(
        "UPDATE outbound_calls SET to_number = '', response = NULL, error = NULL
         WHERE created_at < ?1 AND state IN ('ended', 'failed') AND (to_number <> '' OR response IS NOT NULL)",
        [&cutoff],
    )?;
    Ok(Purged { calls: callers.len().max(states), events, requests, volunteers })
}
