//! Missions' rows: `missions`, the offers made to volunteers (`mission_offers`) and every
//! change with who and when (`mission_history`), and the counts matching needs (missions
//! this week, offers this month, who helped a resident). Named operations only; what
//! they mean is decided by [`crate::ops::missions`].

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, named_params, params};

use super::{StoreError, time};
use crate::domain::missions::{Mission, MissionId, MissionState, Phoning};
use crate::domain::volunteers::VolunteerId;
use crate::domain::{AgentId, RequestId};

const SELECT: &str = "SELECT id, request_id, line, help, postcode, language, state, volunteer_id,
        created_at, accepted_at, closed_at FROM missions";

fn read(r: &Row<'_>) -> rusqlite::Result<Mission> {
    let bad = |i: usize, text: &str| {
        rusqlite::Error::InvalidColumnType(i, text.to_owned(), rusqlite::types::Type::Text)
    };
    let state: String = r.get(6)?;
    let created: String = r.get(8)?;
    Ok(Mission {
        id: MissionId(r.get(0)?),
        request: RequestId(r.get(1)?),
        line: r.get(2)?,
        help: r.get(3)?,
        postcode: r.get(4)?,
        language: r.get(5)?,
        state: MissionState::parse(&state).map_err(|_| bad(6, &state))?,
        volunteer: r.get::<_, Option<i64>>(7)?.map(VolunteerId),
        created_at: time::parse(&created).ok_or_else(|| bad(8, &created))?,
        accepted_at: r.get_ref(9)?.as_str_or_null()?.and_then(time::parse),
        closed_at: r.get_ref(10)?.as_str_or_null()?.and_then(time::parse),
    })
}

/// What a new mission is for.
#[derive(Debug, Clone)]
pub struct NewMission<'a> {
    /// The request.
    pub request: RequestId,
    /// Its line.
    pub line: &'a str,
    /// The kind of help.
    pub help: &'a str,
    /// The resident's postcode.
    pub postcode: &'a str,
    /// The caller's language.
    pub language: &'a str,
}

/// Makes a proposed mission for a request and takes the request out of the agents' queue.
///
/// # Errors
/// SQLite errors (a second live mission for one request among them).
pub fn insert(conn: &Connection, new: &NewMission<'_>, at: DateTime<Utc>) -> Result<MissionId, StoreError> {
    conn.prepare_cached(
        "INSERT INTO missions (request_id, line, help, postcode, language, state, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, 'proposed', ?6)",
    )?
    .execute(params![
        new.request.0,
        new.line,
        new.help,
        new.postcode,
        new.language,
        time::format(at),
    ])?;
    let id = MissionId(conn.last_insert_rowid());
    conn.prepare_cached(
        "UPDATE callback_requests SET mission_id = ?2, state = 'open', claimed_by = NULL, lease_until = NULL
         WHERE id = ?1",
    )?
    .execute(params![new.request.0, id.0])?;
    Ok(id)
}

/// One mission.
///
/// # Errors
/// SQLite errors.
pub fn get(conn: &Connection, id: MissionId) -> Result<Option<Mission>, StoreError> {
    Ok(conn.prepare_cached(&format!("{SELECT} WHERE id = ?1"))?.query_row([id.0], read).optional()?)
}

/// Which missions a list shows.
#[derive(Debug, Clone, Default)]
pub struct MissionFilter {
    /// Only this state.
    pub state: Option<MissionState>,
    /// Only those of this volunteer (accepted, or offered to them).
    pub volunteer: Option<VolunteerId>,
    /// Only this request's.
    pub request: Option<RequestId>,
}

/// Missions within `filter`, newest first (500 at most).
///
/// # Errors
/// SQLite errors.
pub fn list(conn: &Connection, filter: &MissionFilter) -> Result<Vec<Mission>, StoreError> {
    let sql = format!(
        "{SELECT} WHERE (:state IS NULL OR state = :state)
           AND (:request IS NULL OR request_id = :request)
           AND (:volunteer IS NULL OR volunteer_id = :volunteer
                OR (state = 'offered' AND EXISTS (SELECT 1 FROM mission_offers o
                    WHERE o.mission_id = missions.id AND o.volunteer_id = :volunteer AND o.answer IS NULL)))
         ORDER BY id DESC LIMIT 500"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(
        named_params! {
            ":state": filter.state.map(MissionState::as_str),
            ":request": filter.request.map(|r| r.0),
            ":volunteer": filter.volunteer.map(|v| v.0),
        },
        read,
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Moves a mission to `state` (with its volunteer, for an acceptance); a mission that no
/// longer serves its request gives the request back to the queue, one done closes it.
///
/// # Errors
/// SQLite errors.
pub fn set_state(
    conn: &Connection,
    m: &Mission,
    state: MissionState,
    volunteer: Option<VolunteerId>,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let at = time::format(at);
    conn.prepare_cached(
        "UPDATE missions SET state = ?2, volunteer_id = ?3,
            accepted_at = CASE WHEN ?2 = 'accepted' THEN ?4 WHEN ?2 = 'proposed' THEN NULL ELSE accepted_at END,
            closed_at = CASE WHEN ?2 IN ('done', 'not_done', 'cancelled') THEN ?4 ELSE NULL END
         WHERE id = ?1",
    )?
    .execute(params![m.id.0, state.as_str(), volunteer.map(|v| v.0), at])?;
    match state {
        MissionState::Done => {
            conn.prepare_cached(
                "UPDATE callback_requests SET mission_id = NULL, state = 'done', closed_at = ?2,
                    closed_reason = 'mission_done', claimed_by = NULL, lease_until = NULL
                 WHERE id = ?1",
            )?
            .execute(params![m.request.0, at])?;
        }
        MissionState::NotDone | MissionState::Cancelled => {
            conn.prepare_cached("UPDATE callback_requests SET mission_id = NULL WHERE id = ?1")?
                .execute([m.request.0])?;
        }
        _ => {}
    }
    Ok(())
}

/// Records an offer of mission `m` to `volunteer` (a second offer to the same one is
/// the same offer).
///
/// # Errors
/// SQLite errors.
pub fn offer(
    conn: &Connection,
    m: MissionId,
    volunteer: VolunteerId,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO mission_offers (mission_id, volunteer_id, at) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![m.0, volunteer.0, time::format(at)])?;
    Ok(n > 0)
}

/// Whether `volunteer` was ever offered `m` (whatever the answer).
///
/// # Errors
/// SQLite errors.
pub fn was_offered_to(conn: &Connection, m: MissionId, volunteer: VolunteerId) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM mission_offers WHERE mission_id = ?1 AND volunteer_id = ?2")?
        .query_row(params![m.0, volunteer.0], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Whether `volunteer` has an unanswered offer of `m`.
///
/// # Errors
/// SQLite errors.
pub fn is_offered_to(conn: &Connection, m: MissionId, volunteer: VolunteerId) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT 1 FROM mission_offers WHERE mission_id = ?1 AND volunteer_id = ?2 AND answer IS NULL",
        )?
        .query_row(params![m.0, volunteer.0], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Records `volunteer`'s answer to an offer of `m`; with `others`, the answer given to
/// every other unanswered offer of it (`taken` once someone accepted).
///
/// # Errors
/// SQLite errors.
pub fn answer_offers(
    conn: &Connection,
    m: MissionId,
    volunteer: VolunteerId,
    answer: &str,
    others: Option<&str>,
) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE mission_offers SET answer = ?3 WHERE mission_id = ?1 AND volunteer_id = ?2")?
        .execute(params![m.0, volunteer.0, answer])?;
    if let Some(others) = others {
        conn.prepare_cached(
            "UPDATE mission_offers SET answer = ?3 WHERE mission_id = ?1 AND volunteer_id <> ?2 AND answer IS NULL",
        )?
        .execute(params![m.0, volunteer.0, others])?;
    }
    Ok(())
}

/// Writes a line of a mission's history.
///
/// # Errors
/// SQLite errors.
pub fn note(
    conn: &Connection,
    m: MissionId,
    by: Option<AgentId>,
    volunteer: Option<VolunteerId>,
    action: &str,
    detail: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO mission_history (mission_id, agent_id, volunteer_id, action, detail, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![m.0, by.map(|a| a.0), volunteer.map(|v| v.0), action, detail, time::format(at)])?;
    Ok(())
}

/// One line of a mission's history.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MissionEvent {
    /// When.
    pub at: String,
    /// The account that did it, if any.
    pub agent: Option<String>,
    /// The volunteer it concerns, if any.
    pub volunteer: Option<VolunteerId>,
    /// What happened.
    pub action: String,
    /// Details.
    pub detail: String,
}

/// A mission's history, oldest first.
///
/// # Errors
/// SQLite errors.
pub fn history_of(conn: &Connection, m: MissionId) -> Result<Vec<MissionEvent>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT h.at, a.login, h.volunteer_id, h.action, h.detail FROM mission_history h
         LEFT JOIN agents a ON a.id = h.agent_id WHERE h.mission_id = ?1 ORDER BY h.id",
    )?;
    let rows = stmt.query_map([m.0], |r| {
        Ok(MissionEvent {
            at: r.get(0)?,
            agent: r.get(1)?,
            volunteer: r.get::<_, Option<i64>>(2)?.map(VolunteerId),
            action: r.get(3)?,
            detail: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// What matching counts about each volunteer of a line.
#[derive(Debug, Clone, Copy, Default)]
pub struct Load {
    /// Missions accepted since a week ago.
    pub missions_this_week: u32,
    /// Offers made since thirty days ago.
    pub offers_this_month: u32,
    /// Missions done for the same resident (phone) before.
    pub helped_before: u32,
}

/// The load of every volunteer of `line` who has any, as of `at`, for a resident
/// reached at `phone`.
///
/// # Errors
/// SQLite errors.
pub fn loads(
    conn: &Connection,
    line: &str,
    phone: Option<&str>,
    at: DateTime<Utc>,
) -> Result<HashMap<VolunteerId, Load>, StoreError> {
    let mut out: HashMap<VolunteerId, Load> = HashMap::new();
    let week = time::format(at - chrono::Duration::days(7));
    let month = time::format(at - chrono::Duration::days(30));
    let mut stmt = conn.prepare_cached(
        "SELECT volunteer_id, count(*) FROM missions
         WHERE line = ?1 AND volunteer_id IS NOT NULL AND accepted_at >= ?2 AND state IN ('accepted', 'done', 'not_done')
         GROUP BY volunteer_id",
    )?;
    for row in stmt.query_map(params![line, week], |r| Ok((r.get(0)?, r.get(1)?)))? {
        let (id, n): (i64, u32) = row?;
        out.entry(VolunteerId(id)).or_default().missions_this_week = n;
    }
    let mut stmt = conn.prepare_cached(
        "SELECT o.volunteer_id, count(*) FROM mission_offers o JOIN missions m ON m.id = o.mission_id
         WHERE m.line = ?1 AND o.at >= ?2 GROUP BY o.volunteer_id",
    )?;
    for row in stmt.query_map(params![line, month], |r| Ok((r.get(0)?, r.get(1)?)))? {
        let (id, n): (i64, u32) = row?;
        out.entry(VolunteerId(id)).or_default().offers_this_month = n;
    }
    if let Some(phone) = phone {
        let mut stmt = conn.prepare_cached(
            "SELECT m.volunteer_id, count(*) FROM missions m JOIN callback_requests r ON r.id = m.request_id
             WHERE m.line = ?1 AND r.phone = ?2 AND m.state = 'done' GROUP BY m.volunteer_id",
        )?;
        for row in stmt.query_map(params![line, phone], |r| Ok((r.get(0)?, r.get(1)?)))? {
            let (id, n): (i64, u32) = row?;
            out.entry(VolunteerId(id)).or_default().helped_before = n;
        }
    }
    Ok(out)
}

/// How the line offers mission `m` by phone, from now on.
///
/// # Errors
/// SQLite errors.
pub fn set_phoning(conn: &Connection, m: MissionId, how: Phoning) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE missions SET phoning = ?2 WHERE id = ?1")?
        .execute(params![m.0, how.code()])?;
    Ok(())
}

/// How the line offers mission `m` by phone.
///
/// # Errors
/// SQLite errors.
pub fn phoning(conn: &Connection, m: MissionId) -> Result<Phoning, StoreError> {
    Ok(Phoning::of(
        conn.prepare_cached("SELECT phoning FROM missions WHERE id = ?1")?
            .query_row([m.0], |r| r.get(0))
            .optional()?
            .unwrap_or(0),
    ))
}
