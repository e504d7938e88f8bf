//! The path of a call, read back for supervisors: the call as the statistics see it, and
//! its steps from the step log (kept until the retention purge removes them), found by
//! id or by time and the last digits of the caller's number.

use chrono::{DateTime, Duration, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::{StoreError, time};

/// A call, as its path shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallSummary {
    /// CallSid.
    pub sid: String,
    /// The flow id.
    pub line: String,
    /// The caller ID (a pseudonym once the retention purge has run), when there was one.
    pub caller: Option<String>,
    /// The provider's dialect.
    pub dialect: String,
    /// When it arrived.
    pub started_at: DateTime<Utc>,
    /// When it ended, once it has.
    pub ended_at: Option<DateTime<Utc>>,
    /// What it achieved.
    pub outcome: Option<String>,
    /// A supervisor's trial from the console.
    pub trial: bool,
}

/// One step of a call, from the step log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathStep {
    /// The webhook's step (0: the call arrived).
    pub step: i64,
    /// `incoming`, `gather`, `silence`, `dial`, `record`.
    pub kind: String,
    /// Where the caller was.
    pub node: String,
    /// What they did: keys, `silence`, `dial:busy`, ….
    pub input: String,
    /// What the engine made of it.
    pub result: String,
    /// When.
    pub at: DateTime<Utc>,
    /// What the service answered (the provider's document).
    pub response: String,
}

const SUMMARY: &str = "SELECT sid, line, caller, dialect, started_at, ended_at, outcome, trial FROM calls";

fn summary(r: &rusqlite::Row<'_>) -> rusqlite::Result<Option<CallSummary>> {
    let started: String = r.get(4)?;
    let ended: Option<String> = r.get(5)?;
    Ok(time::parse(&started).map(|started_at| CallSummary {
        sid: r.get(0).unwrap_or_default(),
        line: r.get(1).unwrap_or_default(),
        caller: r.get(2).ok().flatten(),
        dialect: r.get(3).unwrap_or_default(),
        started_at,
        ended_at: ended.as_deref().and_then(time::parse),
        outcome: r.get(6).ok().flatten(),
        trial: r.get(7).unwrap_or_default(),
    }))
}

/// Call `sid`.
///
/// # Errors
/// SQLite errors.
pub fn call(conn: &Connection, sid: &str) -> Result<Option<CallSummary>, StoreError> {
    Ok(conn
        .prepare_cached(&format!("{SUMMARY} WHERE sid = ?1"))?
        .query_row([sid], summary)
        .optional()?
        .flatten())
}

/// The steps of `call` in order (none once the purge has removed them).
///
/// # Errors
/// SQLite errors.
pub fn steps(conn: &Connection, call: &CallSummary) -> Result<Vec<PathStep>, StoreError> {
    // The log is read by time (its index): from the call's arrival to a day after its
    // end (or its arrival, for one still going or never closed).
    let until = call.ended_at.unwrap_or(call.started_at) + Duration::days(1);
    let mut stmt = conn.prepare_cached(
        "SELECT step, kind, node, input, result, at, response FROM events
         WHERE at >= ?1 AND at <= ?2 AND call_sid = ?3 ORDER BY step, id",
    )?;
    let rows =
        stmt.query_map(params![time::format(call.started_at), time::format(until), call.sid], |r| {
            let at: String = r.get(5)?;
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, at, r.get(6)?))
        })?;
    let mut steps = Vec::new();
    for row in rows {
        let (step, kind, node, input, result, at, response) = row?;
        if let Some(at) = time::parse(&at) {
            steps.push(PathStep { step, kind, node, input, result, at, response });
        }
    }
    Ok(steps)
}

/// Up to `limit` calls of `lines` (or every line) that arrived between `from` and `to`,
/// newest first; with `digits`, only those whose caller's number ends with them.
///
/// # Errors
/// SQLite errors.
pub fn between(
    conn: &Connection,
    lines: Option<&[String]>,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    digits: Option<&str>,
    limit: u32,
) -> Result<Vec<CallSummary>, StoreError> {
    let lines = lines.map(|l| serde_json::to_string(l).unwrap_or_default());
    let mut stmt = conn.prepare_cached(&format!(
        "{SUMMARY} WHERE started_at >= ?1 AND started_at < ?2
           AND (?3 IS NULL OR line IN (SELECT value FROM json_each(?3)))
           AND (?4 IS NULL OR (caller LIKE '+%' AND caller LIKE '%' || ?4))
         ORDER BY started_at DESC LIMIT ?5"
    ))?;
    let rows =
        stmt.query_map(params![time::format(from), time::format(to), lines, digits, limit], summary)?;
    let mut calls = Vec::new();
    for row in rows {
        calls.extend(row?);
    }
    Ok(calls)
}
