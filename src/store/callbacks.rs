//! The callback queue's rows: `callback_requests`, the calls that asked for each
//! (`callback_calls`) and every change with who and when (`callback_history`). Named
//! operations only; what they mean and when they may run is decided by
//! [`crate::ops::queue`], inside the writer's transaction that it hands them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, named_params, params};

use super::{StoreError, time};
use crate::domain::queue::{Attempt, Filter, HistoryEntry, Request, RequestState};
use crate::domain::{AgentId, Priority, RequestId};
use crate::flow::engine::CallbackDraft;

/// The request a call already asked for (a replayed webhook).
///
/// # Errors
/// SQLite errors.
pub fn asked_by_call(conn: &Connection, sid: &str) -> Result<Option<RequestId>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT request_id FROM callback_calls WHERE call_sid = ?1")?
        .query_row([sid], |r| r.get(0).map(RequestId))
        .optional()?)
}

/// A request still to be worked, found by its number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Active {
    /// The request.
    pub id: RequestId,
    /// Whether its number was the caller ID of the call that made it.
    pub phone_is_caller_id: bool,
}

/// The earliest request still to be worked from `phone` for `service`, made since
/// `since`; one made from that caller ID first.
///
/// # Errors
/// SQLite errors.
pub fn active_from(
    conn: &Connection,
    phone: &str,
    service: &str,
    since: DateTime<Utc>,
) -> Result<Option<Active>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT id, phone_is_caller_id FROM callback_requests
             WHERE phone = ?1 AND service = ?2 AND state IN ('open', 'claimed') AND created_at >= ?3
             ORDER BY phone_is_caller_id DESC, created_at LIMIT 1",
        )?
        .query_row(params![phone, service, time::format(since)], |r| {
            Ok(Active { id: RequestId(r.get(0)?), phone_is_caller_id: r.get(1)? })
        })
        .optional()?)
}

/// Adds what a later call said to request `id`: the higher priority, and its postcode,
/// answers and message only where the request has none (what the first call said is
/// never replaced; the later call's own words are kept with its link, [`link_call`]).
///
/// # Errors
/// SQLite errors.
pub fn add_to(conn: &Connection, id: RequestId, draft: &CallbackDraft) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE callback_requests SET
            priority = max(priority, ?2),
            postcode = COALESCE(postcode, ?3),
            answers = json_patch(?4, answers),
            recording_url = COALESCE(recording_url, ?5),
            recording_seconds = CASE WHEN recording_url IS NULL THEN ?6 ELSE recording_seconds END,
            help = COALESCE(help, ?7)
         WHERE id = ?1",
    )?
    .execute(params![
        id.0,
        draft.priority.rank(),
        draft.postcode,
        serde_json::to_string(&draft.answers)?,
        draft.recording_url,
        draft.recording_seconds,
        draft.help
    ])?;
    Ok(())
}

/// Stores a new request from call `sid` on `line`.
///
/// # Errors
/// SQLite errors.
pub fn insert(
    conn: &Connection,
    sid: &str,
    line: &str,
    draft: &CallbackDraft,
    at: DateTime<Utc>,
) -> Result<RequestId, StoreError> {
    conn.prepare_cached(
        "INSERT INTO callback_requests
            (call_sid, line, service, language, phone, phone_is_caller_id, postcode, priority, answers,
             recording_url, recording_seconds, not_before, created_at, help)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12, ?13)",
    )?
    .execute(params![
        sid,
        line,
        draft.service,
        draft.language,
        draft.phone.as_str(),
        draft.phone_is_caller_id,
        draft.postcode,
        draft.priority.rank(),
        serde_json::to_string(&draft.answers)?,
        draft.recording_url,
        draft.recording_seconds,
        time::format(at),
        draft.help,
    ])?;
    Ok(RequestId(conn.last_insert_rowid()))
}

/// Names request `id`'s neighbourhood, kept for its referents until `reserved_until`
/// (a request that already has one keeps it).
///
/// # Errors
/// SQLite errors.
pub fn set_neighbourhood(
    conn: &Connection,
    id: RequestId,
    neighbourhood: &str,
    reserved_until: DateTime<Utc>,
) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE callback_requests SET neighbourhood = ?2, reserved_until = ?3 WHERE id = ?1 AND neighbourhood IS NULL",
        params![id.0, neighbourhood, time::format(reserved_until)],
    )?;
    Ok(())
}

/// Whether request `id` is open to `viewer` now (see [`OPEN_TO_VIEWER`]).
///
/// # Errors
/// SQLite errors.
pub fn open_to(
    conn: &Connection,
    id: RequestId,
    viewer: AgentId,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let sql = format!("SELECT {OPEN_TO_VIEWER} FROM callback_requests r WHERE r.id = :id");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(named_params! { ":id": id.0, ":viewer": viewer.0, ":now": time::format(at) }, |r| r.get(0))
        .optional()?
        .unwrap_or(false))
}

/// Links call `sid` to request `id`, with what it said.
///
/// # Errors
/// SQLite errors.
pub fn link_call(
    conn: &Connection,
    id: RequestId,
    sid: &str,
    draft: &CallbackDraft,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO callback_calls (request_id, call_sid, at, postcode, answers, recording_url, recording_seconds)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        id.0,
        sid,
        time::format(at),
        draft.postcode,
        serde_json::to_string(&draft.answers)?,
        draft.recording_url,
        draft.recording_seconds,
    ])?;
    Ok(())
}

/// What one call of a request said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallWords {
    /// The call (its path is in the step log).
    pub call_sid: String,
    /// When it registered (absent for requests older than this record).
    pub at: Option<DateTime<Utc>>,
    /// Its postcode.
    pub postcode: Option<String>,
    /// Its answers.
    pub answers: BTreeMap<String, String>,
    /// Its voice message.
    pub recording_url: Option<String>,
}

/// What each call of request `id` said, first call first.
///
/// # Errors
/// SQLite errors.
pub fn words_of(conn: &Connection, id: RequestId) -> Result<Vec<CallWords>, StoreError> {
    let mut statement = conn.prepare_cached(
        "SELECT at, postcode, answers, recording_url, call_sid FROM callback_calls WHERE request_id = ?1 ORDER BY rowid",
    )?;
    let rows = statement.query_map([id.0], |r| {
        let at: Option<String> = r.get(0)?;
        let answers: Option<String> = r.get(2)?;
        Ok(CallWords {
            call_sid: r.get(4)?,
            at: at.as_deref().and_then(time::parse),
            postcode: r.get(1)?,
            answers: answers.and_then(|a| serde_json::from_str(&a).ok()).unwrap_or_default(),
            recording_url: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Adds a line to a request's history.
///
/// # Errors
/// SQLite errors.
pub fn note(
    conn: &Connection,
    id: RequestId,
    agent: Option<AgentId>,
    action: &str,
    detail: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO callback_history (request_id, agent_id, action, detail, at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![id.0, agent.map(|a| a.0), action, detail, time::format(at)])?;
    Ok(())
}

const SELECT: &str = "SELECT r.id, r.line, r.service, r.language, r.postcode, r.priority, r.phone, r.answers,
        r.recording_url, r.state, r.attempts, r.max_attempts, r.not_before, r.created_at,
        r.claimed_by, a.login, r.lease_until, r.closed_reason, r.help, r.mission_id, r.neighbourhood,
        r.reserved_until
    FROM callback_requests r LEFT JOIN agents a ON a.id = r.claimed_by";

/// The conditions of a [`Filter`] on request `r` (with [`filter_params`]).
const FILTERED: &str = "(:service IS NULL OR r.service = :service)
           AND (:language IS NULL OR r.language = :language)
           AND (:postcode IS NULL OR r.postcode = :postcode)
           AND (:scope = '[]' OR r.postcode IN (SELECT value FROM json_each(:scope)))
           AND (:lines IS NULL OR r.line IN (SELECT value FROM json_each(:lines)))
           AND (:hoods = '[]' OR r.neighbourhood IN (SELECT value FROM json_each(:hoods)))";

/// Named parameters and their values.
type Params = Vec<(&'static str, Box<dyn rusqlite::ToSql>)>;

/// The values of [`FILTERED`]'s parameters, and `:now` and `:viewer`.
fn filter_params(filter: &Filter, at: DateTime<Utc>) -> Result<Params, StoreError> {
    Ok(vec![
        (":now", Box::new(time::format(at))),
        (":service", Box::new(filter.service.clone())),
        (":language", Box::new(filter.language.clone())),
        (":postcode", Box::new(filter.postcode.clone())),
        (":scope", Box::new(serde_json::to_string(&filter.postcodes)?)),
        (":lines", Box::new(filter.lines.as_ref().map(serde_json::to_string).transpose()?)),
        (":hoods", Box::new(serde_json::to_string(&filter.neighbourhoods)?)),
        (":viewer", Box::new(filter.viewer.map(|a| a.0))),
    ])
}

/// Whether request `r` is open to `:viewer` now (`:now`): not kept for the referents of
/// its neighbourhood, or kept no longer, or the viewer is one of them, or the
/// neighbourhood has no referent with an enabled account.
const OPEN_TO_VIEWER: &str = "(:viewer IS NULL OR r.reserved_until IS NULL OR r.reserved_until <= :now
        OR EXISTS (SELECT 1 FROM referent_neighbourhoods n
                   WHERE n.agent_id = :viewer AND n.line = r.line AND n.neighbourhood = r.neighbourhood)
        OR NOT EXISTS (SELECT 1 FROM referent_neighbourhoods n JOIN agents g ON g.id = n.agent_id
                       WHERE g.disabled = 0 AND n.line = r.line AND n.neighbourhood = r.neighbourhood))";

fn stored_time(row: &Row<'_>, i: usize) -> rusqlite::Result<DateTime<Utc>> {
    let text = row.get_ref(i)?.as_str()?;
    time::parse(text)
        .ok_or_else(|| rusqlite::Error::InvalidColumnType(i, text.to_owned(), rusqlite::types::Type::Text))
}

fn read_request(row: &Row<'_>, now: DateTime<Utc>) -> rusqlite::Result<Request> {
    let state: String = row.get(9)?;
    let holder = match (row.get::<_, Option<i64>>(14)?, row.get::<_, Option<String>>(15)?) {
        (Some(id), Some(login)) => Some((AgentId(id), login)),
        _ => None,
    };
    let request = Request {
        id: RequestId(row.get(0)?),
        line: row.get(1)?,
        service: row.get(2)?,
        language: row.get(3)?,
        postcode: row.get(4)?,
        priority: Priority::from_rank(row.get(5)?).unwrap_or_default(),
        phone: row.get(6)?,
        answers: serde_json::from_str(&row.get::<_, String>(7)?).unwrap_or_default(),
        recording_url: row.get(8)?,
        state: RequestState::parse(&state).ok_or_else(|| {
            rusqlite::Error::InvalidColumnType(9, state.clone(), rusqlite::types::Type::Text)
        })?,
        attempts: row.get(10)?,
        max_attempts: row.get(11)?,
        not_before: stored_time(row, 12)?,
        created_at: stored_time(row, 13)?,
        holder,
        lease_until: row.get_ref(16)?.as_str_or_null()?.and_then(time::parse),
        closed_reason: row.get(17)?,
        help: row.get(18)?,
        mission: row.get::<_, Option<i64>>(19)?.map(crate::domain::missions::MissionId),
        neighbourhood: row.get(20)?,
        reserved_until: row.get_ref(21)?.as_str_or_null()?.and_then(time::parse),
    };
    Ok(request.as_of(now))
}

/// The queue: open requests whose time has come, highest priority then oldest first; with
/// `everything_active`, also the claimed ones and those scheduled later.
///
/// # Errors
/// SQLite errors.
pub fn list(conn: &Connection, filter: &Filter, at: DateTime<Utc>) -> Result<Vec<Request>, StoreError> {
    let sql = format!(
        "{SELECT}
         WHERE (:all AND r.state IN ('open', 'claimed')
                OR (r.state = 'open' OR (r.state = 'claimed' AND r.lease_until <= :now)) AND r.not_before <= :now
                   AND r.mission_id IS NULL)
           AND {FILTERED}
           AND (:all OR {OPEN_TO_VIEWER})
         ORDER BY r.priority DESC, r.created_at, r.id
         LIMIT 500"
    );
    let mut values = filter_params(filter, at)?;
    values.push((":all", Box::new(filter.everything_active)));
    let named: Vec<(&str, &dyn rusqlite::ToSql)> = values.iter().map(|(k, v)| (*k, v.as_ref())).collect();
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(named.as_slice(), |r| read_request(r, at))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The requests `agent` holds now.
///
/// # Errors
/// SQLite errors.
pub fn held_by(conn: &Connection, agent: AgentId, at: DateTime<Utc>) -> Result<Vec<Request>, StoreError> {
    let sql = format!(
        "{SELECT} WHERE r.state = 'claimed' AND r.claimed_by = ?1 AND r.lease_until > ?2 ORDER BY r.lease_until"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![agent.0, time::format(at)], |r| read_request(r, at))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// One request, as it stands at `at`.
///
/// # Errors
/// SQLite errors.
pub fn get(conn: &Connection, id: RequestId, at: DateTime<Utc>) -> Result<Option<Request>, StoreError> {
    let sql = format!("{SELECT} WHERE r.id = ?1");
    Ok(conn.prepare_cached(&sql)?.query_row([id.0], |r| read_request(r, at)).optional()?)
}

/// A request's history, oldest first.
///
/// # Errors
/// SQLite errors.
pub fn history_of(conn: &Connection, id: RequestId) -> Result<Vec<HistoryEntry>, StoreError> {
    entries(
        conn,
        "SELECT h.at, a.login, h.action, h.detail FROM callback_history h
         LEFT JOIN agents a ON a.id = h.agent_id WHERE h.request_id = ?1 ORDER BY h.id",
        id.0,
    )
}

/// The history lines `sql` selects (`at`, login, action, detail) for the record `id`.
pub(super) fn entries(conn: &Connection, sql: &str, id: i64) -> Result<Vec<HistoryEntry>, StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map([id], |r| {
        Ok(HistoryEntry { at: r.get(0)?, agent: r.get(1)?, action: r.get(2)?, detail: r.get(3)? })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The first request of the queue within `filter` that nobody holds and whose time has
/// come: highest priority, then oldest.
///
/// # Errors
/// SQLite errors.
pub fn first_due(
    conn: &Connection,
    filter: &Filter,
    at: DateTime<Utc>,
) -> Result<Option<RequestId>, StoreError> {
    let sql = format!(
        "SELECT r.id FROM callback_requests r
         WHERE (r.state = 'open' OR (r.state = 'claimed' AND r.lease_until <= :now)) AND r.not_before <= :now
           AND r.mission_id IS NULL
           AND {FILTERED}
           AND {OPEN_TO_VIEWER}
         ORDER BY r.priority DESC, r.created_at, r.id LIMIT 1"
    );
    let values = filter_params(filter, at)?;
    let named: Vec<(&str, &dyn rusqlite::ToSql)> = values.iter().map(|(k, v)| (*k, v.as_ref())).collect();
    Ok(conn.prepare_cached(&sql)?.query_row(named.as_slice(), |r| r.get(0).map(RequestId)).optional()?)
}

/// Gives request `id` to `agent` until `until`.
///
/// # Errors
/// SQLite errors.
pub fn set_holder(
    conn: &Connection,
    id: RequestId,
    agent: AgentId,
    until: DateTime<Utc>,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE callback_requests SET state = 'claimed', claimed_by = ?2, lease_until = ?3 WHERE id = ?1",
    )?
    .execute(params![id.0, agent.0, time::format(until)])?;
    Ok(())
}

/// Puts request `id` back in the queue, held by nobody.
///
/// # Errors
/// SQLite errors.
pub fn set_open(conn: &Connection, id: RequestId) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE callback_requests SET state = 'open', claimed_by = NULL, lease_until = NULL WHERE id = ?1",
    )?
    .execute([id.0])?;
    Ok(())
}

/// Records an attempt's result on request `id` (see [`Attempt`]); `outcome` is kept as
/// the reason it was last closed or put back.
///
/// # Errors
/// SQLite errors.
pub fn set_attempt(
    conn: &Connection,
    id: RequestId,
    attempt: &Attempt,
    outcome: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let closed = !attempt.state.is_active();
    conn.prepare_cached(
        "UPDATE callback_requests SET
            state = ?2, attempts = ?3, claimed_by = NULL, lease_until = NULL,
            first_attempt_at = COALESCE(first_attempt_at, ?4),
            not_before = COALESCE(?5, not_before),
            closed_at = CASE WHEN ?6 THEN ?4 ELSE NULL END,
            closed_reason = ?7
         WHERE id = ?1",
    )?
    .execute(params![
        id.0,
        attempt.state.as_str(),
        attempt.attempts,
        time::format(at),
        attempt.not_before.map(time::format),
        closed,
        outcome
    ])?;
    Ok(())
}

/// Sets the priority of request `id` if it is still to be worked; returns whether it was.
///
/// # Errors
/// SQLite errors.
pub fn set_priority(conn: &Connection, id: RequestId, priority: Priority) -> Result<bool, StoreError> {
    let changed = conn
        .prepare_cached(
            "UPDATE callback_requests SET priority = ?2 WHERE id = ?1 AND state IN ('open', 'claimed')",
        )?
        .execute(params![id.0, priority.rank()])?;
    Ok(changed > 0)
}

/// Closes request `id` as cancelled if it is still to be worked; returns whether it was.
///
/// # Errors
/// SQLite errors.
pub fn set_cancelled(conn: &Connection, id: RequestId, at: DateTime<Utc>) -> Result<bool, StoreError> {
    let changed = conn
        .prepare_cached(
            "UPDATE callback_requests SET state = 'cancelled', claimed_by = NULL, lease_until = NULL,
                closed_at = ?2, closed_reason = 'cancelled'
             WHERE id = ?1 AND state IN ('open', 'claimed')",
        )?
        .execute(params![id.0, time::format(at)])?;
    Ok(changed > 0)
}

/// Hands request `id` to `agent` until `until` if it is still to be worked, whoever
/// holds it; returns whether it was.
///
/// # Errors
/// SQLite errors.
pub fn hand_to(
    conn: &Connection,
    id: RequestId,
    agent: AgentId,
    until: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let changed = conn
        .prepare_cached(
            "UPDATE callback_requests SET state = 'claimed', claimed_by = ?2, lease_until = ?3
             WHERE id = ?1 AND state IN ('open', 'claimed')",
        )?
        .execute(params![id.0, agent.0, time::format(until)])?;
    Ok(changed > 0)
}

/// Who held request `id` last, if it is marked claimed (the lease may have run out).
///
/// # Errors
/// SQLite errors.
pub fn last_holder(conn: &Connection, id: RequestId) -> Result<Option<AgentId>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT claimed_by FROM callback_requests WHERE id = ?1 AND state = 'claimed'")?
        .query_row([id.0], |r| r.get::<_, Option<i64>>(0))
        .optional()?
        .flatten()
        .map(AgentId))
}

/// Requests still to be worked, by state, for `/metrics`.
///
/// # Errors
/// SQLite errors.
pub fn active_by_state(conn: &Connection) -> Result<Vec<(String, i64)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT state, count(*) FROM callback_requests WHERE state IN ('open', 'claimed') GROUP BY state",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}
