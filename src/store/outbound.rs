//! The calls the service places itself (`outbound_calls`): an outbox the worker empties
//! through the provider's REST API, then each call's life as its webhooks arrive. Named
//! operations only; what they mean is decided by [`crate::ops::calling`].

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{StoreError, time};
use crate::domain::missions::{MissionId, Phoning};
use crate::domain::volunteers::VolunteerId;
use crate::domain::{AgentId, RequestId};

/// Why the line rings someone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A mission offered to a volunteer.
    Offer,
    /// An agent's click-to-call: the agent first, then the resident.
    Agent,
    /// A volunteer calling the line about their missions (not placed by the service).
    Desk,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::Offer => "offer",
            Self::Agent => "agent",
            Self::Desk => "desk",
        }
    }
}

/// Where an outbound call is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Waiting for the worker (first try, or a retry after a 429 or 5xx).
    Queued,
    /// Handed to the provider; a crash now never sends it a second time.
    Sending,
    /// The provider took it: it rings.
    Placed,
    /// Someone answered.
    Answered,
    /// The volunteer accepted the mission, or the agent pressed 1.
    Accepted,
    /// Over ([`Outbound::outcome`] says how).
    Ended,
    /// Never placed: the provider refused it or the retries ran out.
    Failed,
}

impl State {
    /// The word stored.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sending => "sending",
            Self::Placed => "placed",
            Self::Answered => "answered",
            Self::Accepted => "accepted",
            Self::Ended => "ended",
            Self::Failed => "failed",
        }
    }

    fn parse(word: &str) -> Option<Self> {
        Some(match word {
            "queued" => Self::Queued,
            "sending" => Self::Sending,
            "placed" => Self::Placed,
            "answered" => Self::Answered,
            "accepted" => Self::Accepted,
            "ended" => Self::Ended,
            "failed" => Self::Failed,
            _ => return None,
        })
    }

    /// Not over yet: a round of offers waits for it.
    #[must_use]
    pub fn is_live(self) -> bool {
        !matches!(self, Self::Ended | Self::Failed)
    }
}

/// One outbound call.
#[derive(Debug, Clone)]
pub struct Outbound {
    /// Its number (in its webhooks' URLs).
    pub id: i64,
    /// The line it is placed from.
    pub line: String,
    /// Why.
    pub purpose: Purpose,
    /// The mission offered.
    pub mission: Option<MissionId>,
    /// The volunteer rung.
    pub volunteer: Option<VolunteerId>,
    /// The request an agent calls about.
    pub request: Option<RequestId>,
    /// The agent rung.
    pub agent: Option<AgentId>,
    /// The number rung (E.164).
    pub to: String,
    /// Where it is.
    pub state: State,
    /// Times handed to the provider.
    pub attempts: u32,
    /// The provider's call id.
    pub sid: Option<String>,
    /// How it ended, or what was answered.
    pub outcome: Option<String>,
    /// The provider's refusal.
    pub error: Option<String>,
    /// Webhooks answered so far.
    pub step: u32,
    /// The last answer sent.
    pub response: Option<String>,
    /// Questions left unanswered in a row.
    pub tries: u32,
    /// When it was decided.
    pub created_at: DateTime<Utc>,
}

const SELECT: &str = "SELECT id, line, purpose, mission_id, volunteer_id, request_id, agent_id, to_number,
        state, attempts, sid, outcome, error, step, response, tries, created_at FROM outbound_calls";

fn read(r: &Row<'_>) -> rusqlite::Result<Outbound> {
    let bad = |i: usize, text: &str| {
        rusqlite::Error::InvalidColumnType(i, text.to_owned(), rusqlite::types::Type::Text)
    };
    let purpose: String = r.get(2)?;
    let state: String = r.get(8)?;
    let created: String = r.get(16)?;
    Ok(Outbound {
        id: r.get(0)?,
        line: r.get(1)?,
        purpose: match purpose.as_str() {
            "offer" => Purpose::Offer,
            "agent" => Purpose::Agent,
            "desk" => Purpose::Desk,
            _ => return Err(bad(2, &purpose)),
        },
        mission: r.get::<_, Option<i64>>(3)?.map(MissionId),
        volunteer: r.get::<_, Option<i64>>(4)?.map(VolunteerId),
        request: r.get::<_, Option<i64>>(5)?.map(RequestId),
        agent: r.get::<_, Option<i64>>(6)?.map(AgentId),
        to: r.get(7)?,
        state: State::parse(&state).ok_or_else(|| bad(8, &state))?,
        attempts: r.get(9)?,
        sid: r.get(10)?,
        outcome: r.get(11)?,
        error: r.get(12)?,
        step: r.get(13)?,
        response: r.get(14)?,
        tries: r.get(15)?,
        created_at: time::parse(&created).ok_or_else(|| bad(16, &created))?,
    })
}

/// A call to place.
#[derive(Debug, Clone)]
pub struct NewOutbound<'a> {
    /// The line it is placed from.
    pub line: &'a str,
    /// Why.
    pub purpose: Purpose,
    /// The mission offered.
    pub mission: Option<MissionId>,
    /// The volunteer rung.
    pub volunteer: Option<VolunteerId>,
    /// The request an agent calls about.
    pub request: Option<RequestId>,
    /// The agent rung.
    pub agent: Option<AgentId>,
    /// The number rung (E.164).
    pub to: &'a str,
}

/// Writes a call into the outbox, due at once.
///
/// # Errors
/// SQLite errors.
pub fn insert(conn: &Connection, new: &NewOutbound<'_>, at: DateTime<Utc>) -> Result<i64, StoreError> {
    let at = time::format(at);
    conn.prepare_cached(
        "INSERT INTO outbound_calls (line, purpose, mission_id, volunteer_id, request_id, agent_id, to_number,
             state, next_try_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'queued', ?8, ?8)",
    )?
    .execute(params![
        new.line,
        new.purpose.as_str(),
        new.mission.map(|m| m.0),
        new.volunteer.map(|v| v.0),
        new.request.map(|r| r.0),
        new.agent.map(|a| a.0),
        new.to,
        at
    ])?;
    Ok(conn.last_insert_rowid())
}

/// A volunteer's call to the line about `mission` (the first of theirs), answered at
/// once: its steps are taken as a placed call's.
///
/// # Errors
/// SQLite errors.
pub fn insert_desk(
    conn: &Connection,
    line: &str,
    volunteer: VolunteerId,
    mission: MissionId,
    from: &str,
    sid: &str,
    at: DateTime<Utc>,
) -> Result<i64, StoreError> {
    let at = time::format(at);
    conn.prepare_cached(
        "INSERT INTO outbound_calls (line, purpose, mission_id, volunteer_id, to_number, state, sid, next_try_at,
             created_at, answered_at)
         VALUES (?1, 'desk', ?2, ?3, ?4, 'answered', ?5, ?6, ?6, ?6)",
    )?
    .execute(params![line, mission.0, volunteer.0, from, sid, at])?;
    Ok(conn.last_insert_rowid())
}

/// The mission a volunteer's call to the line is about now.
///
/// # Errors
/// SQLite errors.
pub fn set_mission(conn: &Connection, id: i64, mission: MissionId) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE outbound_calls SET mission_id = ?2 WHERE id = ?1")?
        .execute(params![id, mission.0])?;
    Ok(())
}

/// The call with the provider's id `sid`.
///
/// # Errors
/// SQLite errors.
pub fn by_sid(conn: &Connection, sid: &str) -> Result<Option<Outbound>, StoreError> {
    Ok(conn.prepare_cached(&format!("{SELECT} WHERE sid = ?1"))?.query_row([sid], read).optional()?)
}

/// Call `id`.
///
/// # Errors
/// SQLite errors.
pub fn get(conn: &Connection, id: i64) -> Result<Option<Outbound>, StoreError> {
    Ok(conn.prepare_cached(&format!("{SELECT} WHERE id = ?1"))?.query_row([id], read).optional()?)
}

/// Whether a call is due by `now` in the outbox.
///
/// # Errors
/// SQLite errors.
pub fn is_due(conn: &Connection, now: DateTime<Utc>) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM outbound_calls WHERE state = 'queued' AND next_try_at <= ?1 LIMIT 1")?
        .query_row([time::format(now)], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Takes up to `limit` calls due by `now` out of the outbox for the worker: each becomes
/// `sending`, its attempts counted, in this transaction.
///
/// # Errors
/// SQLite errors.
pub fn claim_due(conn: &Connection, now: DateTime<Utc>, limit: u32) -> Result<Vec<Outbound>, StoreError> {
    let ids: Vec<i64> = conn
        .prepare_cached(
            "SELECT id FROM outbound_calls WHERE state = 'queued' AND next_try_at <= ?1 ORDER BY next_try_at, id LIMIT ?2",
        )?
        .query_map(params![time::format(now), limit], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut claimed = Vec::with_capacity(ids.len());
    for id in ids {
        conn.prepare_cached(
            "UPDATE outbound_calls SET state = 'sending', attempts = attempts + 1 WHERE id = ?1 AND state = 'queued'",
        )?
        .execute([id])?;
        claimed.extend(get(conn, id)?);
    }
    Ok(claimed)
}

/// The provider took call `id`, and named it `sid` when its answer did.
///
/// # Errors
/// SQLite errors.
pub fn placed(conn: &Connection, id: i64, sid: Option<&str>, at: DateTime<Utc>) -> Result<(), StoreError> {
    conn.prepare_cached(
        // Its first webhook may have come before this: the state it gave is kept.
        "UPDATE outbound_calls SET state = CASE WHEN state = 'sending' THEN 'placed' ELSE state END,
             sid = COALESCE(sid, ?2), placed_at = COALESCE(placed_at, ?3), error = NULL
         WHERE id = ?1",
    )?
    .execute(params![id, sid, time::format(at)])?;
    Ok(())
}

/// Call `id`, whose id at the provider was never recorded, is `sid` (its first webhook
/// says so).
///
/// # Errors
/// SQLite errors.
pub fn learn_sid(conn: &Connection, id: i64, sid: &str) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE outbound_calls SET sid = ?2 WHERE id = ?1 AND sid IS NULL")?
        .execute(params![id, sid])?;
    Ok(())
}

/// Call `id` goes back to the outbox, due at `next`, with why.
///
/// # Errors
/// SQLite errors.
pub fn retry_at(conn: &Connection, id: i64, next: DateTime<Utc>, error: &str) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE outbound_calls SET state = 'queued', next_try_at = ?2, error = ?3 WHERE id = ?1 AND state = 'sending'",
    )?
    .execute(params![id, time::format(next), error])?;
    Ok(())
}

/// Call `id` will not be placed: `error` says why.
///
/// # Errors
/// SQLite errors.
pub fn failed(conn: &Connection, id: i64, error: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE outbound_calls SET state = 'failed', outcome = 'failed', error = ?2, ended_at = ?3
         WHERE id = ?1 AND state IN ('queued', 'sending')",
    )?
    .execute(params![id, error, time::format(at)])?;
    Ok(())
}

/// Calls handed to the provider when the service stopped: whether it placed them is
/// unknown, so they are not sent again (a volunteer is never rung twice); their webhooks
/// still find them, and those that never report are closed by [`stalled`]'s sweep.
///
/// # Errors
/// SQLite errors.
pub fn recover_sending(conn: &Connection, at: DateTime<Utc>) -> Result<usize, StoreError> {
    Ok(conn
        .prepare_cached(
            "UPDATE outbound_calls SET state = 'placed', placed_at = ?1,
                 error = 'the service stopped while placing it: not placed again'
             WHERE state = 'sending'",
        )?
        .execute([time::format(at)])?)
}

/// Live calls that have not moved since `before` (a status callback that never came).
///
/// # Errors
/// SQLite errors.
pub fn stalled(conn: &Connection, before: DateTime<Utc>) -> Result<Vec<Outbound>, StoreError> {
    let rows = conn
        .prepare_cached(&format!(
            "{SELECT} WHERE state IN ('placed', 'answered', 'accepted')
                 AND COALESCE(bridged_at, answered_at, placed_at, created_at) < ?1"
        ))?
        .query_map([time::format(before)], read)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// A webhook of call `id` moves it from step `step`: its new state, what was answered
/// and the answer sent. `false` if the call is no longer at that step (a replay).
///
/// # Errors
/// SQLite errors.
pub fn advance(conn: &Connection, id: i64, step: u32, change: &Change<'_>) -> Result<bool, StoreError> {
    let at = time::format(change.at);
    let n = conn
        .prepare_cached(
            "UPDATE outbound_calls SET step = step + 1, state = ?3, outcome = COALESCE(?4, outcome),
                 response = ?5, tries = ?6,
                 answered_at = CASE WHEN ?9 OR ?3 IN ('answered', 'accepted') THEN COALESCE(answered_at, ?7) ELSE answered_at END,
                 bridged_at = CASE WHEN ?8 THEN COALESCE(bridged_at, ?7) ELSE bridged_at END,
                 ended_at = CASE WHEN ?3 = 'ended' THEN COALESCE(ended_at, ?7) ELSE ended_at END
             WHERE id = ?1 AND step = ?2",
        )?
        .execute(params![
            id,
            step,
            change.state.as_str(),
            change.outcome,
            change.response,
            change.tries,
            at,
            change.bridged,
            change.answered
        ])?;
    Ok(n > 0)
}

/// What a webhook changes on a call.
#[derive(Debug, Clone)]
pub struct Change<'a> {
    /// The new state.
    pub state: State,
    /// What was answered, if that changed.
    pub outcome: Option<&'a str>,
    /// The answer sent.
    pub response: &'a str,
    /// Questions left unanswered in a row.
    pub tries: u32,
    /// The person was put through.
    pub bridged: bool,
    /// A person answered (not a machine), whatever they then heard.
    pub answered: bool,
    /// When.
    pub at: DateTime<Utc>,
}

/// The provider says call `id` is over (`status` is its final `CallStatus`); an outcome
/// already given (declined, accepted, …) is kept. `false` if it had ended already.
///
/// # Errors
/// SQLite errors.
pub fn end(conn: &Connection, id: i64, status: &str, at: DateTime<Utc>) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached(
            "UPDATE outbound_calls SET state = 'ended', outcome = COALESCE(outcome, ?2), ended_at = ?3
             WHERE id = ?1 AND state NOT IN ('ended', 'failed')",
        )?
        .execute(params![id, status, time::format(at)])?;
    Ok(n > 0)
}

/// The calls of mission `m` still ringing (nobody answered yet) are to be cancelled:
/// someone else took it.
///
/// # Errors
/// SQLite errors.
pub fn withdraw_ringing(conn: &Connection, m: MissionId) -> Result<usize, StoreError> {
    Ok(conn
        .prepare_cached(
            "UPDATE outbound_calls SET withdraw = 1 WHERE mission_id = ?1 AND purpose = 'offer'
                 AND state = 'placed' AND sid IS NOT NULL AND withdraw = 0",
        )?
        .execute([m.0])?)
}

/// Calls to cancel at the provider: still ringing when their mission was taken.
///
/// # Errors
/// SQLite errors.
pub fn to_withdraw(conn: &Connection) -> Result<Vec<Outbound>, StoreError> {
    let rows = conn
        .prepare_cached(&format!("{SELECT} WHERE withdraw = 1 AND state = 'placed'"))?
        .query_map([], read)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// The provider was asked to cancel call `id` (whatever it answered: it is not asked twice).
///
/// # Errors
/// SQLite errors.
pub fn withdrawn(conn: &Connection, id: i64) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE outbound_calls SET withdraw = 2 WHERE id = ?1")?.execute([id])?;
    Ok(())
}

/// Whether mission `m` has a call not over yet.
///
/// # Errors
/// SQLite errors.
pub fn mission_has_live_call(conn: &Connection, m: MissionId) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT 1 FROM outbound_calls WHERE mission_id = ?1
                 AND state IN ('queued', 'sending', 'placed', 'answered', 'accepted') LIMIT 1",
        )?
        .query_row([m.0], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Missions the line is offering by phone (with how: see
/// [`crate::ops::calling::Phoning`]) that wait for their next round: no call of theirs is
/// live.
///
/// # Errors
/// SQLite errors.
pub fn waiting_rounds(conn: &Connection) -> Result<Vec<(MissionId, Phoning)>, StoreError> {
    let ids = conn
        .prepare_cached(
            "SELECT m.id, m.phoning FROM missions m WHERE m.phoning <> 0 AND m.state IN ('proposed', 'offered')
                 AND NOT EXISTS (SELECT 1 FROM outbound_calls o WHERE o.mission_id = m.id
                     AND o.state IN ('queued', 'sending', 'placed', 'answered', 'accepted'))
             ORDER BY m.id",
        )?
        .query_map([], |r| Ok((MissionId(r.get(0)?), Phoning::of(r.get(1)?))))?
        .collect::<Result<_, _>>()?;
    Ok(ids)
}

/// Whether request `r` has an agent's call not over yet.
///
/// # Errors
/// SQLite errors.
pub fn request_has_live_call(conn: &Connection, r: RequestId) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT 1 FROM outbound_calls WHERE request_id = ?1 AND purpose = 'agent'
                 AND state IN ('queued', 'sending', 'placed', 'answered', 'accepted') LIMIT 1",
        )?
        .query_row([r.0], |_| Ok(()))
        .optional()?
        .is_some())
}

/// The calls of mission `m`, oldest first.
///
/// # Errors
/// SQLite errors.
pub fn of_mission(conn: &Connection, m: MissionId) -> Result<Vec<Outbound>, StoreError> {
    let rows = conn
        .prepare_cached(&format!("{SELECT} WHERE mission_id = ?1 ORDER BY id"))?
        .query_map([m.0], read)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Calls by state, for `/metrics`.
///
/// # Errors
/// SQLite errors.
pub fn by_state(conn: &Connection) -> Result<Vec<(String, i64)>, StoreError> {
    let rows = conn
        .prepare_cached("SELECT state, count(*) FROM outbound_calls GROUP BY state ORDER BY state")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}
