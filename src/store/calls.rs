//! Calls and their steps: the rows the voice line writes (the requests they leave are in
//! [`super::callbacks`]). Every function takes the connection it is given, so the caller
//! decides the transaction (the writer's batch).

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::{StoreError, time};
use crate::flow::engine::CallState;
use crate::phone::E164;

/// A call as stored.
#[derive(Debug, Clone)]
pub struct StoredCall {
    /// The flow id.
    pub line: String,
    /// The engine's state.
    pub state: CallState,
    /// True when only a status callback has been seen so far (it arrived first).
    pub placeholder: bool,
    /// The step log row of the last answer, for a replayed webhook.
    pub last_event: Option<i64>,
    /// When the call arrived (stored form), bounding the search for an older answer.
    pub started_at: String,
    /// The provider's dialect it speaks.
    pub dialect: String,
}

/// A call arriving.
#[derive(Debug, Clone)]
pub struct NewCall<'a> {
    /// CallSid.
    pub sid: &'a str,
    /// Flow id.
    pub line: &'a str,
    /// Caller ID, when usable.
    pub caller: Option<&'a E164>,
    /// The number dialled, as sent.
    pub called: &'a str,
    /// The provider's CallStatus.
    pub status: &'a str,
    /// The provider's dialect (`twilio`, `telnyx`, `jambonz`), which its answers speak.
    pub dialect: &'a str,
    /// When it arrived.
    pub at: DateTime<Utc>,
    /// Its local date in the line's time zone.
    pub day: String,
    /// Whether the line was open then.
    pub open: bool,
    /// A supervisor trying the line from the console, not a caller.
    pub trial: bool,
}

/// One processed webhook.
#[derive(Debug, Clone)]
pub struct StepRecord<'a> {
    /// CallSid.
    pub sid: &'a str,
    /// The step the webhook carried.
    pub step: u32,
    /// `incoming`, `gather`, `silence`, `dial`, `record`.
    pub kind: &'a str,
    /// Where the caller was.
    pub node: &'a str,
    /// What they did.
    pub input: &'a str,
    /// What the engine made of it.
    pub result: &'a str,
    /// When.
    pub at: DateTime<Utc>,
    /// The TwiML answered.
    pub response: &'a str,
}

/// Reads a call.
///
/// # Errors
/// SQLite errors, or a state that does not parse.
pub fn find(conn: &Connection, sid: &str) -> Result<Option<StoredCall>, StoreError> {
    type Row = (String, String, i64, String, Option<i64>, String, String);
    let row: Option<Row> = conn
        .prepare_cached(
            "SELECT line, state, step, node, last_event, started_at, dialect FROM calls WHERE sid = ?1",
        )?
        .query_row([sid], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?))
        })
        .optional()?;
    row.map(|(line, state, step, node, last_event, started_at, dialect)| {
        Ok(StoredCall {
            line,
            state: serde_json::from_str(&state)?,
            placeholder: step == 0 && node.is_empty(),
            last_event,
            started_at,
            dialect,
        })
    })
    .transpose()
}

/// Stores a new call with its first state (or completes a placeholder row left by an
/// early status callback); [`save_state`] then records the first answer's figures.
/// Returns false, changing nothing, when the call is already stored with a step
/// answered (its first webhook replayed).
///
/// # Errors
/// SQLite errors.
pub fn insert(conn: &Connection, call: &NewCall<'_>, state: &CallState) -> Result<bool, StoreError> {
    store_new(
        conn,
        "INSERT INTO calls (sid, line, caller, called, language, started_at, status, step, node, state, outcome,
                            day, open_at_arrival, dialect, trial)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
         ON CONFLICT (sid) DO UPDATE SET
            line = excluded.line, dialect = excluded.dialect, caller = excluded.caller, called = excluded.called,
            language = excluded.language, started_at = excluded.started_at, day = excluded.day,
            open_at_arrival = excluded.open_at_arrival, trial = excluded.trial,
            step = excluded.step, node = excluded.node, state = excluded.state,
            outcome = COALESCE(excluded.outcome, calls.outcome)
         WHERE calls.step = 0 AND calls.node = ''",
        call,
        state,
        &[],
    )
}

/// Runs `sql`, an insert of a new call whose first fifteen values are the call's and its
/// state's (in [`insert`]'s order), then `more`, after dropping the kept figures of its
/// day: the row is the last thing written, so that a new call stored without a savepoint
/// leaves nothing half done when it fails (figures dropped for nothing are only computed
/// again).
fn store_new(
    conn: &Connection,
    sql: &str,
    call: &NewCall<'_>,
    state: &CallState,
    more: &[&dyn rusqlite::ToSql],
) -> Result<bool, StoreError> {
    let json = serde_json::to_string(state)?;
    let at = time::format(call.at);
    let caller = call.caller.map(E164::as_str);
    let values: [&dyn rusqlite::ToSql; 15] = [
        &call.sid,
        &call.line,
        &caller,
        &call.called,
        &state.language,
        &at,
        &call.status,
        &state.step,
        &state.node,
        &json,
        &state.outcome,
        &call.day,
        &call.open,
        &call.dialect,
        &call.trial,
    ];
    if !call.trial {
        drop_kept_day(conn, &call.day)?;
    }
    conn.prepare_cached(sql)?.execute(rusqlite::params_from_iter(values.iter().chain(more)))?;
    Ok(conn.changes() == 1)
}

/// Drops the figures kept for `day` (every scope and time zone), which a new call of that
/// day changes: they are computed again when next settled. A call arriving now is never
/// of a kept day (days are kept two days after they end); one stored late is. Trial calls
/// count in no figures.
fn drop_kept_day(conn: &Connection, day: &str) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM stats_call_days WHERE day = ?1")?.execute([day])?;
    Ok(())
}

/// Stores a new call with its first answer already logged (row `last_event`) and the
/// state and figures after it: one row for what [`insert`] then [`save_state`] write in
/// two. Returns false, changing nothing, when a row for the call exists (a placeholder
/// left by an early status callback, or the first webhook replayed): the caller then
/// takes the longer way.
///
/// # Errors
/// SQLite errors.
pub fn insert_answered(
    conn: &Connection,
    call: &NewCall<'_>,
    state: &CallState,
    last_event: i64,
) -> Result<bool, StoreError> {
    let t = &state.tally;
    store_new(
        conn,
        "INSERT INTO calls (sid, line, caller, called, language, started_at, status, step, node, state, outcome,
                            day, open_at_arrival, dialect, trial, menu_keys, invalid_inputs, silences,
                            transfers, transfers_answered, left_menu_at, last_event)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20,
                 CASE WHEN ?21 THEN ?6 END, ?22)
         ON CONFLICT (sid) DO NOTHING",
        call,
        state,
        &[&t.keys, &t.invalid, &t.silences, &t.transfers, &t.transfers_answered, &t.left_menu, &last_event],
    )
}

/// The step a stored call expects next, when it is stored with a step answered.
///
/// # Errors
/// SQLite errors.
pub fn expected_step(conn: &Connection, sid: &str) -> Result<Option<u32>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT step FROM calls WHERE sid = ?1 AND NOT (step = 0 AND node = '')")?
        .query_row([sid], |r| r.get(0))
        .optional()?)
}

/// Saves the state after a step, with the step log row of its answer. With `expected`,
/// only when the stored call is still at that step (returns false otherwise, changing
/// nothing): a state computed from memory never overwrites a newer one.
///
/// # Errors
/// SQLite errors.
pub fn save_state(
    conn: &Connection,
    sid: &str,
    state: &CallState,
    at: DateTime<Utc>,
    last_event: i64,
    expected: Option<u32>,
) -> Result<bool, StoreError> {
    let json = serde_json::to_string(state)?;
    let t = &state.tally;
    // One statement per webhook: this runs on the single writer for every step.
    conn.prepare_cached(SAVE_STATE)?.execute(params![
        sid,
        state.step,
        state.node,
        state.language,
        json,
        state.outcome,
        t.keys,
        t.invalid,
        t.silences,
        t.transfers,
        t.transfers_answered,
        t.left_menu,
        time::format(at),
        last_event,
        expected
    ])?;
    Ok(conn.changes() == 1)
}

/// The TwiML answered to step `step` of a call: what a replayed webhook gets again. The
/// last answer is found at once through `calls.last_event`; an older one (rare: the
/// provider repeats the webhook it got no answer to) among the log rows written since the
/// call arrived.
///
/// # Errors
/// SQLite errors.
pub fn response_of(
    conn: &Connection,
    call: &StoredCall,
    sid: &str,
    step: u32,
) -> Result<Option<String>, StoreError> {
    if let Some(event) = call.last_event {
        let last: Option<String> = conn
            .prepare_cached("SELECT response FROM events WHERE id = ?1 AND call_sid = ?2 AND step = ?3")?
            .query_row(params![event, sid, step], |r| r.get(0))
            .optional()?;
        if last.is_some() {
            return Ok(last);
        }
    }
    Ok(conn
        .prepare_cached(
            "SELECT response FROM events WHERE at >= ?1 AND call_sid = ?2 AND step = ?3 ORDER BY id DESC LIMIT 1",
        )?
        .query_row(params![call.started_at, sid, step], |r| r.get(0))
        .optional()?)
}

/// Logs a processed webhook; returns its row id.
///
/// # Errors
/// SQLite errors.
pub fn insert_event(conn: &Connection, e: &StepRecord<'_>) -> Result<i64, StoreError> {
    conn.prepare_cached(
        "INSERT INTO events (call_sid, step, kind, node, input, result, at, response)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        e.sid,
        e.step,
        e.kind,
        e.node,
        e.input,
        e.result,
        time::format(e.at),
        e.response
    ])?;
    Ok(conn.last_insert_rowid())
}

/// Removes a step log row written in the same transaction, for a step found stale.
///
/// # Errors
/// SQLite errors.
pub fn forget_event(conn: &Connection, id: i64) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM events WHERE id = ?1")?.execute([id])?;
    Ok(())
}

/// A status callback.
#[derive(Debug, Clone)]
pub struct StatusUpdate<'a> {
    /// CallSid.
    pub sid: &'a str,
    /// Flow id, for a call not seen before.
    pub line: &'a str,
    /// The number dialled.
    pub called: &'a str,
    /// `completed`, `busy`, …
    pub status: &'a str,
    /// `SequenceNumber`, when sent.
    pub sequence: Option<i64>,
    /// `CallDuration`, seconds.
    pub duration: Option<i64>,
    /// When it arrived.
    pub at: DateTime<Utc>,
    /// Its local date in the line's time zone (for a call not seen before).
    pub day: &'a str,
    /// Whether the call is over (the provider's dialect says which statuses are final).
    pub is_final: bool,
}

/// Records a status callback. Idempotent, and safe out of order: an older sequence
/// number never overwrites a newer one, and a final status is never undone. A call that
/// ends without an outcome was abandoned in the menu. Whole by itself: one statement, or
/// two in a savepoint for a call never seen.
///
/// # Errors
/// SQLite errors.
pub fn record_status(conn: &Connection, s: &StatusUpdate<'_>) -> Result<(), StoreError> {
    let at = time::format(s.at);
    let is_final = s.is_final;
    let sequence = s.sequence.unwrap_or(if is_final { i64::MAX } else { -1 });
    let update = || -> Result<usize, StoreError> {
        Ok(conn
            .prepare_cached(
                "UPDATE calls SET
                    status = ?2,
                    status_seq = ?3,
                    ended_at = CASE WHEN ?4 THEN COALESCE(ended_at, ?5) ELSE ended_at END,
                    duration = CASE WHEN ?4 THEN COALESCE(?6, duration) ELSE duration END,
                    outcome = CASE WHEN ?4 THEN COALESCE(outcome, 'abandoned') ELSE outcome END
                 WHERE sid = ?1
                   AND status_seq < ?3
                   AND (ended_at IS NULL OR ?4)",
            )?
            .execute(params![s.sid, s.status, sequence, is_final, at, s.duration])?)
    };
    // The call is almost always stored already; a status for a call never seen (it
    // ended before its first webhook reached us) leaves a placeholder, then applies.
    if update()? == 0 {
        super::atomically(conn, |conn| {
            conn.prepare_cached(
                "INSERT INTO calls (sid, line, called, started_at, day, status, state)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, '{}')
                 ON CONFLICT (sid) DO NOTHING",
            )?
            .execute(params![s.sid, s.line, s.called, at, s.day, s.status])?;
            if conn.changes() == 1 {
                drop_kept_day(conn, s.day)?;
                update()?;
            }
            Ok(())
        })?;
    }
    Ok(())
}

/// Sets the outcome of call `sid` (a volunteer's call about their missions is not a
/// resident's, nor abandoned).
///
/// # Errors
/// SQLite errors.
pub fn set_outcome(conn: &Connection, sid: &str, outcome: &str) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE calls SET outcome = ?2 WHERE sid = ?1")?.execute(params![sid, outcome])?;
    Ok(())
}

/// Calls started since `since` and not ended, for `/metrics`.
///
/// # Errors
/// SQLite errors.
pub fn in_progress_since(conn: &Connection, since: DateTime<Utc>) -> Result<i64, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT count(*) FROM calls WHERE ended_at IS NULL AND started_at >= ?1 AND NOT trial",
        )?
        .query_row([time::format(since)], |r| r.get(0))?)
}

/// Calls from `caller` that started since `since`, counted up to `limit`: the cost of a
/// call stays the same however often its number has called.
///
/// # Errors
/// SQLite errors.
pub fn count_from(
    conn: &Connection,
    caller: &E164,
    since: DateTime<Utc>,
    limit: i64,
) -> Result<i64, StoreError> {
    Ok(conn
        .prepare_cached(COUNT_FROM)?
        .query_row(params![caller.as_str(), time::format(since), limit], |r| r.get(0))?)
}

/// [`count_from`]'s question, answered from the callers' index alone.
const COUNT_FROM: &str = "SELECT count(*) FROM (SELECT 1 FROM calls WHERE caller = ?1 AND started_at >= ?2 AND NOT trial LIMIT ?3)";

/// A step's change of its call (`save_state`): with the kept-day trigger, on every step.
const SAVE_STATE: &str = "UPDATE calls SET step = ?2, node = ?3, language = ?4, state = ?5,
        outcome = COALESCE(?6, outcome),
        menu_keys = ?7, invalid_inputs = ?8, silences = ?9, transfers = ?10,
        transfers_answered = ?11,
        left_menu_at = CASE WHEN ?12 THEN COALESCE(left_menu_at, ?13) ELSE left_menu_at END,
        last_event = ?14
    WHERE sid = ?1 AND (?15 IS NULL OR step = ?15)";

/// Calls stored in all (the health check's question to the database).
///
/// # Errors
/// SQLite errors.
pub fn count(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn.prepare_cached("SELECT count(*) FROM calls")?.query_row([], |r| r.get(0))?)
}

#[cfg(test)]
mod tests {
    /// A database with the whole schema and its migrations, opened directly.
    fn migrated() -> (tempfile::TempDir, rusqlite::Connection) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("solidaire.db");
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        drop(runtime.block_on(async { crate::store::Store::open(&path) }).unwrap());
        let conn = rusqlite::Connection::open(&path).unwrap();
        (dir, conn)
    }

    #[test]
    fn a_steps_change_of_its_call_builds_no_temporary_btree() {
        // The kept-day trigger runs with every step; with `day IN (OLD.day, NEW.day)` it
        // built a temporary b-tree each time (migration 014).
        let (_dir, conn) = migrated();
        let program: Vec<String> = conn
            .prepare(&format!("EXPLAIN {}", super::SAVE_STATE))
            .unwrap()
            .query_map(rusqlite::params_from_iter(std::iter::repeat_n(rusqlite::types::Null, 15)), |r| {
                r.get(1)
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert!(program.iter().any(|op| op == "Program"), "the trigger runs: {program:?}");
        assert!(!program.iter().any(|op| op == "OpenEphemeral"), "{program:?}");
    }

    #[test]
    fn a_numbers_recent_calls_are_counted_from_the_index_alone() {
        let (_dir, conn) = migrated();
        let plan: Vec<String> = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {}", super::COUNT_FROM))
            .unwrap()
            .query_map(rusqlite::params!["+32470123456", "2026-11-23T09:50:00.000Z", 20], |r| r.get(3))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert!(plan.iter().any(|step| step.contains("USING COVERING INDEX calls_by_caller")), "{plan:?}");
    }
}
