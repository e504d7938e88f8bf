//! The rows the daily statistics count, streamed: one pass over the calls of a range of
//! days and one over the callback requests alive during it. Each row is lent to the
//! caller's function as it is read (statistics over a year read millions of rows; none is
//! kept).

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};

use super::{StoreError, time};
use crate::domain::RequestState;

/// One call, as the statistics read it.
#[derive(Debug)]
pub struct CallRow<'a> {
    /// Its local date (`YYYY-MM-DD`); rows come grouped by it.
    pub day: &'a str,
    /// When it arrived (stored form).
    pub started_at: &'a str,
    /// The caller ID, when there was one and it is not anonymised.
    pub caller: Option<&'a str>,
    /// Whether the line was open then (unknown for old rows).
    pub open_at_arrival: Option<bool>,
    /// What the call achieved (`callback`, `abandoned`, …).
    pub outcome: Option<&'a str>,
    /// When it left the menus, or ended (stored form).
    pub left_menu_at: Option<&'a str>,
    /// Keys pressed at menus, in order.
    pub menu_keys: &'a str,
    /// Wrong keys and unusable numbers.
    pub invalid: i64,
    /// Questions that timed out.
    pub silences: i64,
    /// Transfers started.
    pub transfers: i64,
    /// Transfers answered.
    pub transfers_answered: i64,
}

/// Lends `f` every call of the days `from` to `to` (`YYYY-MM-DD`), on `line` or all.
/// `scan` reads the whole table instead of the day index, which is faster over long
/// ranges (where each index entry would cost a lookup in the table).
///
/// # Errors
/// SQLite errors.
pub fn calls_between(
    conn: &Connection,
    (from, to): (&str, &str),
    line: Option<&str>,
    scan: bool,
    mut f: impl FnMut(&CallRow<'_>),
) -> Result<(), StoreError> {
    // `+day` keeps SQLite from using the index.
    let sql = format!(
        "SELECT day, started_at, caller, open_at_arrival, outcome, COALESCE(left_menu_at, ended_at),
                menu_keys, invalid_inputs, silences, transfers, transfers_answered
         FROM calls WHERE {}day BETWEEN ?1 AND ?2 AND (?3 IS NULL OR line = ?3) AND NOT trial",
        if scan { "+" } else { "" }
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params![from, to, line])?;
    while let Some(r) = rows.next()? {
        f(&CallRow {
            day: r.get_ref(0)?.as_str()?,
            started_at: r.get_ref(1)?.as_str()?,
            caller: r.get_ref(2)?.as_str_or_null()?,
            open_at_arrival: r.get(3)?,
            outcome: r.get_ref(4)?.as_str_or_null()?,
            left_menu_at: r.get_ref(5)?.as_str_or_null()?,
            menu_keys: r.get_ref(6)?.as_str()?,
            invalid: r.get(7)?,
            silences: r.get(8)?,
            transfers: r.get(9)?,
            transfers_answered: r.get(10)?,
        });
    }
    Ok(())
}

/// One callback request, as the statistics read it.
#[derive(Debug)]
pub struct RequestRow<'a> {
    /// When it was registered (stored form).
    pub created_at: &'a str,
    /// When an agent first tried to call back.
    pub first_attempt_at: Option<&'a str>,
    /// When it was closed.
    pub closed_at: Option<&'a str>,
    /// Where it is now.
    pub state: Option<RequestState>,
}

/// Lends `f` every request created before `end` and not closed before `start`, on `line`
/// or all.
///
/// # Errors
/// SQLite errors.
pub fn requests_alive(
    conn: &Connection,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
    line: Option<&str>,
    mut f: impl FnMut(&RequestRow<'_>),
) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT created_at, first_attempt_at, closed_at, state FROM callback_requests
         WHERE created_at < ?1 AND (closed_at IS NULL OR closed_at >= ?2) AND (?3 IS NULL OR line = ?3)",
    )?;
    let mut rows = stmt.query(params![time::format(end), time::format(start), line])?;
    while let Some(r) = rows.next()? {
        f(&RequestRow {
            created_at: r.get_ref(0)?.as_str()?,
            first_attempt_at: r.get_ref(1)?.as_str_or_null()?,
            closed_at: r.get_ref(2)?.as_str_or_null()?,
            state: RequestState::parse(r.get_ref(3)?.as_str()?),
        });
    }
    Ok(())
}

/// One mission as the statistics see it.
#[derive(Debug)]
pub struct MissionRow<'a> {
    /// When it was made (stored form).
    pub created_at: &'a str,
    /// When a volunteer accepted it (or was assigned).
    pub accepted_at: Option<&'a str>,
    /// When it ended.
    pub closed_at: Option<&'a str>,
    /// `proposed` … `cancelled`.
    pub state: &'a str,
    /// The resident's postcode.
    pub postcode: &'a str,
    /// The volunteer who has or had it.
    pub volunteer: Option<i64>,
    /// When its request was registered.
    pub requested_at: &'a str,
}

/// Lends `f` every call the service placed that lived between `start` and `end`, on
/// `line` or all.
///
/// # Errors
/// SQLite errors.
pub fn outbound_between(
    conn: &Connection,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
    line: Option<&str>,
    mut f: impl FnMut(&OutboundRow<'_>),
) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT purpose, state, outcome, placed_at, answered_at, bridged_at, ended_at FROM outbound_calls
         WHERE created_at < ?1 AND (ended_at IS NULL OR ended_at >= ?2) AND (?3 IS NULL OR line = ?3)",
    )?;
    let mut rows = stmt.query(params![time::format(end), time::format(start), line])?;
    while let Some(r) = rows.next()? {
        f(&OutboundRow {
            purpose: r.get_ref(0)?.as_str()?,
            state: r.get_ref(1)?.as_str()?,
            outcome: r.get_ref(2)?.as_str_or_null()?,
            placed_at: r.get_ref(3)?.as_str_or_null()?,
            answered_at: r.get_ref(4)?.as_str_or_null()?,
            bridged_at: r.get_ref(5)?.as_str_or_null()?,
            ended_at: r.get_ref(6)?.as_str_or_null()?,
        });
    }
    Ok(())
}

/// A call the service placed, as the statistics read it.
#[derive(Debug)]
pub struct OutboundRow<'a> {
    /// `offer` or `agent`.
    pub purpose: &'a str,
    /// Its state.
    pub state: &'a str,
    /// How it went.
    pub outcome: Option<&'a str>,
    /// When the provider took it.
    pub placed_at: Option<&'a str>,
    /// When someone answered.
    pub answered_at: Option<&'a str>,
    /// When the resident was put through.
    pub bridged_at: Option<&'a str>,
    /// When it ended (or was given up).
    pub ended_at: Option<&'a str>,
}

/// Lends `f` every mission that lived between `start` and `end` (made before `end`, not
/// ended before `start`), on `line` or all.
///
/// # Errors
/// SQLite errors.
pub fn missions_alive(
    conn: &Connection,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
    line: Option<&str>,
    mut f: impl FnMut(&MissionRow<'_>),
) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT m.created_at, m.accepted_at, m.closed_at, m.state, m.postcode, m.volunteer_id, r.created_at
         FROM missions m JOIN callback_requests r ON r.id = m.request_id
         WHERE m.created_at < ?1 AND (m.closed_at IS NULL OR m.closed_at >= ?2) AND (?3 IS NULL OR m.line = ?3)",
    )?;
    let mut rows = stmt.query(params![time::format(end), time::format(start), line])?;
    while let Some(r) = rows.next()? {
        f(&MissionRow {
            created_at: r.get_ref(0)?.as_str()?,
            accepted_at: r.get_ref(1)?.as_str_or_null()?,
            closed_at: r.get_ref(2)?.as_str_or_null()?,
            state: r.get_ref(3)?.as_str()?,
            postcode: r.get_ref(4)?.as_str()?,
            volunteer: r.get(5)?,
            requested_at: r.get_ref(6)?.as_str()?,
        });
    }
    Ok(())
}

/// The kept call figures of the days `from` to `to` for `scope` and time zone `tz`:
/// `(day, figures)` in day order.
///
/// # Errors
/// SQLite errors.
pub fn settled_call_days(
    conn: &Connection,
    scope: &str,
    tz: &str,
    (from, to): (&str, &str),
) -> Result<Vec<(String, String)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT day, figures FROM stats_call_days WHERE day BETWEEN ?1 AND ?2 AND scope = ?3 AND tz = ?4 ORDER BY day",
    )?;
    let rows = stmt.query_map(params![from, to, scope, tz], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The last day kept for `scope` and `tz`, if any.
///
/// # Errors
/// SQLite errors.
pub fn last_settled_call_day(conn: &Connection, scope: &str, tz: &str) -> Result<Option<String>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT max(day) FROM stats_call_days WHERE scope = ?1 AND tz = ?2")?
        .query_row(params![scope, tz], |r| r.get(0))?)
}

/// The first day any call of `line` (or of every line) was made on.
///
/// # Errors
/// SQLite errors.
pub fn first_call_day(conn: &Connection, line: Option<&str>) -> Result<Option<String>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT min(day) FROM calls WHERE (?1 IS NULL OR line = ?1) AND NOT trial")?
        .query_row(params![line], |r| r.get(0))?)
}

/// Whether some call of `day` (on `line`, or any) has not ended.
///
/// # Errors
/// SQLite errors.
pub fn day_has_live_calls(conn: &Connection, day: &str, line: Option<&str>) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM calls WHERE day = ?1 AND (?2 IS NULL OR line = ?2) AND ended_at IS NULL AND NOT trial)",
        )?
        .query_row(params![day, line], |r| r.get(0))?)
}

/// Keeps the call figures of `day` for `scope` and `tz`.
///
/// # Errors
/// SQLite errors.
pub fn keep_call_day(
    conn: &Connection,
    day: &str,
    scope: &str,
    tz: &str,
    figures: &str,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO stats_call_days (day, scope, tz, figures) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![day, scope, tz, figures])?;
    Ok(())
}

/// The calls of `line` since `since` that hung up in the menus, by the node they were
/// at, most first.
///
/// # Errors
/// SQLite errors.
pub fn hangups_by_node(
    conn: &Connection,
    line: &str,
    since: DateTime<Utc>,
) -> Result<Vec<(String, i64)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT node, count(*) AS n FROM calls
         WHERE started_at >= ?1 AND line = ?2 AND outcome = 'abandoned' AND node != '' AND NOT trial
         GROUP BY node ORDER BY n DESC, node",
    )?;
    let rows = stmt.query_map(params![time::format(since), line], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}
