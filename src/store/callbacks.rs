//! The callback queue: requests registered by the voice line, claimed by agents under a
//! lease, worked to an outcome. Every change is kept in `callback_history` with who and
//! when. All writes run on the single writer, inside its transaction, so a claim is
//! atomic: two agents racing for one request cannot both get it.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};
use rusqlite::{Connection, OptionalExtension, Row, named_params, params};
use serde::Serialize;

use super::{StoreError, time};
use crate::flow::engine::CallbackDraft;

/// Requests from the same number for the same service within this window are merged.
pub const MERGE_WINDOW: Duration = Duration::hours(24);

/// Stores the request a call asked for, and returns its number. A replayed webhook finds
/// its own request again; a second call from the same number for the same service while
/// the first request is still open joins it (the earliest age is kept, both calls linked).
///
/// # Errors
/// SQLite errors.
pub fn register(
    conn: &Connection,
    sid: &str,
    line: &str,
    draft: &CallbackDraft,
    at: DateTime<Utc>,
) -> Result<i64, StoreError> {
    let known: Option<i64> = conn
        .prepare_cached("SELECT request_id FROM callback_calls WHERE call_sid = ?1")?
        .query_row([sid], |r| r.get(0))
        .optional()?;
    if let Some(id) = known {
        return Ok(id);
    }
    let now = time::format(at);
    let since = time::format(at - MERGE_WINDOW);
    let earlier: Option<i64> = conn
        .prepare_cached(
            "SELECT id FROM callback_requests
             WHERE phone = ?1 AND service = ?2 AND state IN ('open', 'claimed') AND created_at >= ?3
             ORDER BY created_at LIMIT 1",
        )?
        .query_row(params![draft.phone.as_str(), draft.service, since], |r| r.get(0))
        .optional()?;
    let answers = serde_json::to_string(&draft.answers)?;
    let id = if let Some(id) = earlier {
        conn.prepare_cached(
            "UPDATE callback_requests SET
                priority = max(priority, ?2),
                postcode = COALESCE(?3, postcode),
                answers = json_patch(answers, ?4),
                recording_url = COALESCE(?5, recording_url),
                recording_seconds = COALESCE(?6, recording_seconds)
             WHERE id = ?1",
        )?
        .execute(params![
            id,
            draft.priority.rank(),
            draft.postcode,
            answers,
            draft.recording_url,
            draft.recording_seconds
        ])?;
        history(conn, id, None, "merged", "the same number asked again", at)?;
        id
    } else {
        conn.prepare_cached(
            "INSERT INTO callback_requests
                (call_sid, line, service, language, phone, postcode, priority, answers,
                 recording_url, recording_seconds, not_before, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11)",
        )?
        .execute(params![
            sid,
            line,
            draft.service,
            draft.language,
            draft.phone.as_str(),
            draft.postcode,
            draft.priority.rank(),
            answers,
            draft.recording_url,
            draft.recording_seconds,
            now,
        ])?;
        let id = conn.last_insert_rowid();
        history(conn, id, None, "created", "", at)?;
        id
    };
    conn.prepare_cached("INSERT INTO callback_calls (request_id, call_sid) VALUES (?1, ?2)")?
        .execute(params![id, sid])?;
    Ok(id)
}

fn history(
    conn: &Connection,
    request: i64,
    agent: Option<i64>,
    action: &str,
    detail: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO callback_history (request_id, agent_id, action, detail, at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![request, agent, action, detail, time::format(at)])?;
    Ok(())
}

/// What an agent did when calling back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Reached; nothing more to do.
    ReachedResolved,
    /// Reached; to be called again at this time.
    ReachedFollowUp(DateTime<Utc>),
    /// Nobody answered.
    NoAnswer,
    /// Busy.
    Busy,
    /// An answering machine.
    Voicemail,
    /// Someone else's number.
    WrongNumber,
    /// The caller no longer needs help.
    NoLongerNeeded,
    /// Handed to a partner service.
    Referred(String),
}

impl Outcome {
    /// The stable name (`no_answer`).
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::ReachedResolved => "reached_resolved",
            Self::ReachedFollowUp(_) => "reached_follow_up",
            Self::NoAnswer => "no_answer",
            Self::Busy => "busy",
            Self::Voicemail => "voicemail",
            Self::WrongNumber => "wrong_number",
            Self::NoLongerNeeded => "no_longer_needed",
            Self::Referred(_) => "referred",
        }
    }

    /// Every outcome name with its label, for forms.
    pub const CHOICES: &[(&'static str, &'static str)] = &[
        ("reached_resolved", "Reached – resolved"),
        ("reached_follow_up", "Reached – follow-up (give a date)"),
        ("no_answer", "No answer"),
        ("busy", "Busy"),
        ("voicemail", "Voicemail"),
        ("wrong_number", "Wrong number"),
        ("no_longer_needed", "No longer needed"),
        ("referred", "Referred to a partner (name it)"),
    ];

    /// Reads an outcome from its name and the extra it needs.
    ///
    /// # Errors
    /// An unknown name, a follow-up without a date, a referral without a partner.
    pub fn parse(
        name: &str,
        follow_up: Option<DateTime<Utc>>,
        partner: Option<&str>,
    ) -> Result<Self, String> {
        Ok(match name {
            "reached_resolved" => Self::ReachedResolved,
            "reached_follow_up" => Self::ReachedFollowUp(follow_up.ok_or("a follow-up needs a date")?),
            "no_answer" => Self::NoAnswer,
            "busy" => Self::Busy,
            "voicemail" => Self::Voicemail,
            "wrong_number" => Self::WrongNumber,
            "no_longer_needed" => Self::NoLongerNeeded,
            "referred" => match partner.map(str::trim) {
                Some(p) if !p.is_empty() => Self::Referred(p.to_owned()),
                _ => return Err("a referral needs the partner's name".to_owned()),
            },
            other => return Err(format!("unknown outcome `{other}`")),
        })
    }
}

/// When a request that was not reached comes back, by attempts made so far.
#[must_use]
pub fn back_off(attempts: i64) -> Duration {
    match attempts {
        ..=1 => Duration::minutes(30),
        2 => Duration::hours(2),
        _ => Duration::hours(24),
    }
}

/// A request as the console shows it. `phone` is the full number: the web layer masks it
/// for everyone but the holder of the claim.
#[derive(Debug, Clone, Serialize)]
pub struct Request {
    /// The request number.
    pub id: i64,
    /// Flow id.
    pub line: String,
    /// Service (menu).
    pub service: String,
    /// Caller's language.
    pub language: String,
    /// Postcode, when asked.
    pub postcode: Option<String>,
    /// 0 normal, 1 high, 2 urgent.
    pub priority: i64,
    /// E.164; `None` once anonymised.
    pub phone: Option<String>,
    /// Answers given on the line.
    pub answers: serde_json::Value,
    /// Voice message.
    pub recording_url: Option<String>,
    /// `open`, `claimed`, `done`, `unreachable`, `cancelled` (a lapsed claim reads `open`).
    pub state: String,
    /// Attempts made.
    pub attempts: i64,
    /// Attempts allowed.
    pub max_attempts: i64,
    /// Not shown before.
    pub not_before: String,
    /// Registered at.
    pub created_at: String,
    /// Holder of the claim (id, login) while the lease runs.
    pub holder: Option<(i64, String)>,
    /// End of the lease.
    pub lease_until: Option<String>,
    /// Last outcome or cancel reason.
    pub closed_reason: Option<String>,
}

const SELECT: &str = "SELECT r.id, r.line, r.service, r.language, r.postcode, r.priority, r.phone, r.answers,
        r.recording_url, r.state, r.attempts, r.max_attempts, r.not_before, r.created_at,
        r.claimed_by, a.login, r.lease_until, r.closed_reason
    FROM callback_requests r LEFT JOIN agents a ON a.id = r.claimed_by";

fn read_request(row: &Row<'_>, now: &str) -> rusqlite::Result<Request> {
    let state: String = row.get(9)?;
    let lease_until: Option<String> = row.get(16)?;
    let lapsed = state == "claimed" && lease_until.as_deref().is_none_or(|l| l <= now);
    let holder = match (row.get::<_, Option<i64>>(14)?, row.get::<_, Option<String>>(15)?) {
        (Some(id), Some(login)) if !lapsed && state == "claimed" => Some((id, login)),
        _ => None,
    };
    Ok(Request {
        id: row.get(0)?,
        line: row.get(1)?,
        service: row.get(2)?,
        language: row.get(3)?,
        postcode: row.get(4)?,
        priority: row.get(5)?,
        phone: row.get(6)?,
        answers: serde_json::from_str(&row.get::<_, String>(7)?).unwrap_or_default(),
        recording_url: row.get(8)?,
        state: if lapsed { "open".to_owned() } else { state },
        attempts: row.get(10)?,
        max_attempts: row.get(11)?,
        not_before: row.get(12)?,
        created_at: row.get(13)?,
        holder,
        lease_until: if lapsed { None } else { lease_until },
        closed_reason: row.get(17)?,
    })
}

/// Which requests a list shows.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only this service.
    pub service: Option<String>,
    /// Only this language.
    pub language: Option<String>,
    /// Only this postcode.
    pub postcode: Option<String>,
    /// Also requests held by others and those not due yet (supervisors).
    pub everything_active: bool,
}

/// The queue: open requests whose time has come, highest priority then oldest first; with
/// `everything_active`, also the claimed ones and those scheduled later.
///
/// # Errors
/// SQLite errors.
pub fn list(conn: &Connection, filter: &Filter, at: DateTime<Utc>) -> Result<Vec<Request>, StoreError> {
    let now = time::format(at);
    let sql = format!(
        "{SELECT}
         WHERE (:all AND r.state IN ('open', 'claimed')
                OR (r.state = 'open' OR (r.state = 'claimed' AND r.lease_until <= :now)) AND r.not_before <= :now)
           AND (:service IS NULL OR r.service = :service)
           AND (:language IS NULL OR r.language = :language)
           AND (:postcode IS NULL OR r.postcode = :postcode)
         ORDER BY r.priority DESC, r.created_at, r.id
         LIMIT 500"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(
        named_params! {
            ":all": filter.everything_active,
            ":now": now,
            ":service": filter.service,
            ":language": filter.language,
            ":postcode": filter.postcode,
        },
        |r| read_request(r, &now),
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The requests `agent` holds now.
///
/// # Errors
/// SQLite errors.
pub fn held_by(conn: &Connection, agent: i64, at: DateTime<Utc>) -> Result<Vec<Request>, StoreError> {
    let now = time::format(at);
    let sql = format!(
        "{SELECT} WHERE r.state = 'claimed' AND r.claimed_by = ?1 AND r.lease_until > ?2 ORDER BY r.lease_until"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![agent, now], |r| read_request(r, &now))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// One request.
///
/// # Errors
/// SQLite errors.
pub fn get(conn: &Connection, id: i64, at: DateTime<Utc>) -> Result<Option<Request>, StoreError> {
    let now = time::format(at);
    let sql = format!("{SELECT} WHERE r.id = ?1");
    Ok(conn.prepare_cached(&sql)?.query_row([id], |r| read_request(r, &now)).optional()?)
}

/// One line of a request's history.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryEntry {
    /// When.
    pub at: String,
    /// Who (`None`: the line itself).
    pub agent: Option<String>,
    /// What.
    pub action: String,
    /// Details (outcome, note, reason).
    pub detail: String,
}

/// A request's history, oldest first.
///
/// # Errors
/// SQLite errors.
pub fn history_of(conn: &Connection, id: i64) -> Result<Vec<HistoryEntry>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT h.at, a.login, h.action, h.detail FROM callback_history h
         LEFT JOIN agents a ON a.id = h.agent_id WHERE h.request_id = ?1 ORDER BY h.id",
    )?;
    let rows = stmt.query_map([id], |r| {
        Ok(HistoryEntry { at: r.get(0)?, agent: r.get(1)?, action: r.get(2)?, detail: r.get(3)? })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Why a queue operation was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No such request.
    NotFound,
    /// Nothing in the queue (claim next).
    QueueEmpty,
    /// Someone holds it, or it is closed or not due yet.
    NotAvailable,
    /// Only the holder may do this.
    NotHolder,
    /// Bad input.
    Invalid(String),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFound => f.write_str("no such request"),
            Self::QueueEmpty => f.write_str("no request is waiting"),
            Self::NotAvailable => f.write_str("this request is held by someone else, closed, or not due yet"),
            Self::NotHolder => f.write_str("only the agent holding the request can do this"),
            Self::Invalid(m) => f.write_str(m),
        }
    }
}

impl Refusal {
    /// A stable code for the API.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::QueueEmpty => "queue_empty",
            Self::NotAvailable => "not_available",
            Self::NotHolder => "not_holder",
            Self::Invalid(_) => "invalid",
        }
    }
}

/// A queue operation's result: done, or refused for a reason the agent should see.
pub type QueueResult<T> = Result<Result<T, Refusal>, StoreError>;

fn claim_row(
    conn: &Connection,
    id: i64,
    agent: i64,
    lease: Duration,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let previous: Option<i64> = conn
        .prepare_cached("SELECT claimed_by FROM callback_requests WHERE id = ?1 AND state = 'claimed'")?
        .query_row([id], |r| r.get(0))
        .optional()?
        .flatten();
    if let Some(previous) = previous {
        history(conn, id, Some(previous), "lease_expired", "", at)?;
    }
    conn.prepare_cached(
        "UPDATE callback_requests SET state = 'claimed', claimed_by = ?2, lease_until = ?3 WHERE id = ?1",
    )?
    .execute(params![id, agent, time::format(at + lease)])?;
    history(conn, id, Some(agent), "claimed", "", at)?;
    Ok(())
}

const AVAILABLE: &str =
    "(state = 'open' OR (state = 'claimed' AND lease_until <= :now)) AND not_before <= :now";

/// Claims the first request of the queue (within `filter`) for `agent`.
///
/// # Errors
/// SQLite errors.
pub fn claim_next(
    conn: &Connection,
    agent: i64,
    filter: &Filter,
    lease: Duration,
    at: DateTime<Utc>,
) -> QueueResult<i64> {
    let now = time::format(at);
    let sql = format!(
        "SELECT id FROM callback_requests WHERE {AVAILABLE}
           AND (:service IS NULL OR service = :service)
           AND (:language IS NULL OR language = :language)
           AND (:postcode IS NULL OR postcode = :postcode)
         ORDER BY priority DESC, created_at, id LIMIT 1"
    );
    let id: Option<i64> = conn
        .prepare_cached(&sql)?
        .query_row(
            named_params! {":now": now, ":service": filter.service, ":language": filter.language, ":postcode": filter.postcode},
            |r| r.get(0),
        )
        .optional()?;
    let Some(id) = id else { return Ok(Err(Refusal::QueueEmpty)) };
    claim_row(conn, id, agent, lease, at)?;
    Ok(Ok(id))
}

/// Claims request `id` for `agent`, if nobody holds it and it is due.
///
/// # Errors
/// SQLite errors.
pub fn claim(conn: &Connection, id: i64, agent: i64, lease: Duration, at: DateTime<Utc>) -> QueueResult<i64> {
    let now = time::format(at);
    let sql = format!("SELECT count(*) FROM callback_requests WHERE id = :id AND {AVAILABLE}");
    let available: i64 =
        conn.prepare_cached(&sql)?.query_row(named_params! {":id": id, ":now": now}, |r| r.get(0))?;
    if available == 0 {
        let exists = get(conn, id, at)?.is_some();
        return Ok(Err(if exists { Refusal::NotAvailable } else { Refusal::NotFound }));
    }
    claim_row(conn, id, agent, lease, at)?;
    Ok(Ok(id))
}

/// Who is acting, and with which rights.
#[derive(Debug, Clone, Copy)]
pub struct Actor {
    /// Agent id.
    pub id: i64,
    /// Supervisors may act on requests they do not hold.
    pub supervisor: bool,
}

fn held(conn: &Connection, id: i64, actor: Actor, at: DateTime<Utc>) -> QueueResult<Request> {
    let Some(request) = get(conn, id, at)? else { return Ok(Err(Refusal::NotFound)) };
    match &request.holder {
        Some((holder, _)) if *holder == actor.id || actor.supervisor => Ok(Ok(request)),
        _ => Ok(Err(Refusal::NotHolder)),
    }
}

/// Gives a claimed request back to the queue (its holder, or a supervisor).
///
/// # Errors
/// SQLite errors.
pub fn release(conn: &Connection, id: i64, actor: Actor, at: DateTime<Utc>) -> QueueResult<()> {
    if let Err(refusal) = held(conn, id, actor, at)? {
        return Ok(Err(refusal));
    }
    conn.prepare_cached(
        "UPDATE callback_requests SET state = 'open', claimed_by = NULL, lease_until = NULL WHERE id = ?1",
    )?
    .execute([id])?;
    history(conn, id, Some(actor.id), "released", "", at)?;
    Ok(Ok(()))
}

/// Records the outcome of an attempt by the holder. Not reached (no answer, busy,
/// voicemail): back to the queue after a back-off, or closed as unreachable once the
/// attempts are used up.
///
/// # Errors
/// SQLite errors.
pub fn record_outcome(
    conn: &Connection,
    id: i64,
    agent: i64,
    outcome: &Outcome,
    note: &str,
    at: DateTime<Utc>,
) -> QueueResult<String> {
    let request = match held(conn, id, Actor { id: agent, supervisor: false }, at)? {
        Ok(r) => r,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let attempts = request.attempts + 1;
    let now = time::format(at);
    let (state, not_before, detail) = match outcome {
        Outcome::ReachedResolved => ("done", None, String::new()),
        Outcome::ReachedFollowUp(when) => {
            if *when <= at {
                return Ok(Err(Refusal::Invalid("the follow-up date must be in the future".to_owned())));
            }
            ("open", Some(*when), format!("follow-up {}", time::format(*when)))
        }
        Outcome::NoAnswer | Outcome::Busy | Outcome::Voicemail => {
            if attempts >= request.max_attempts {
                ("unreachable", None, format!("attempt {attempts} of {}", request.max_attempts))
            } else {
                (
                    "open",
                    Some(at + back_off(attempts)),
                    format!("attempt {attempts} of {}", request.max_attempts),
                )
            }
        }
        Outcome::WrongNumber | Outcome::NoLongerNeeded => ("cancelled", None, String::new()),
        Outcome::Referred(partner) => ("done", None, format!("partner: {partner}")),
    };
    let closed = matches!(state, "done" | "unreachable" | "cancelled");
    conn.prepare_cached(
        "UPDATE callback_requests SET
            state = ?2, attempts = ?3, claimed_by = NULL, lease_until = NULL,
            first_attempt_at = COALESCE(first_attempt_at, ?4),
            not_before = COALESCE(?5, not_before),
            closed_at = CASE WHEN ?6 THEN ?4 ELSE NULL END,
            closed_reason = ?7
         WHERE id = ?1",
    )?
    .execute(params![id, state, attempts, now, not_before.map(time::format), closed, outcome.name()])?;
    let mut detail = [outcome.name().to_owned(), detail, note.trim().to_owned()]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    if state == "unreachable" {
        detail.push_str("; closed as unreachable");
    }
    history(conn, id, Some(agent), "outcome", &detail, at)?;
    Ok(Ok(state.to_owned()))
}

/// Supervisor: changes the priority.
///
/// # Errors
/// SQLite errors.
pub fn set_priority(
    conn: &Connection,
    id: i64,
    supervisor: i64,
    priority: i64,
    at: DateTime<Utc>,
) -> QueueResult<()> {
    if !(0..=2).contains(&priority) {
        return Ok(Err(Refusal::Invalid("priority is 0 (normal), 1 (high) or 2 (urgent)".to_owned())));
    }
    let changed = conn
        .prepare_cached(
            "UPDATE callback_requests SET priority = ?2 WHERE id = ?1 AND state IN ('open', 'claimed')",
        )?
        .execute(params![id, priority])?;
    if changed == 0 {
        return Ok(Err(Refusal::NotFound));
    }
    history(conn, id, Some(supervisor), "priority", &priority.to_string(), at)?;
    Ok(Ok(()))
}

/// Supervisor: closes a request with a reason.
///
/// # Errors
/// SQLite errors.
pub fn cancel(
    conn: &Connection,
    id: i64,
    supervisor: i64,
    reason: &str,
    at: DateTime<Utc>,
) -> QueueResult<()> {
    if reason.trim().is_empty() {
        return Ok(Err(Refusal::Invalid("cancelling needs a reason".to_owned())));
    }
    let changed = conn
        .prepare_cached(
            "UPDATE callback_requests SET state = 'cancelled', claimed_by = NULL, lease_until = NULL,
                closed_at = ?2, closed_reason = 'cancelled'
             WHERE id = ?1 AND state IN ('open', 'claimed')",
        )?
        .execute(params![id, time::format(at)])?;
    if changed == 0 {
        return Ok(Err(Refusal::NotFound));
    }
    history(conn, id, Some(supervisor), "cancelled", reason.trim(), at)?;
    Ok(Ok(()))
}

/// Supervisor: hands a request to another agent, with a fresh lease.
///
/// # Errors
/// SQLite errors.
pub fn reassign(
    conn: &Connection,
    id: i64,
    supervisor: i64,
    to: i64,
    lease: Duration,
    at: DateTime<Utc>,
) -> QueueResult<()> {
    let changed = conn
        .prepare_cached(
            "UPDATE callback_requests SET state = 'claimed', claimed_by = ?2, lease_until = ?3
             WHERE id = ?1 AND state IN ('open', 'claimed')",
        )?
        .execute(params![id, to, time::format(at + lease)])?;
    if changed == 0 {
        return Ok(Err(Refusal::NotFound));
    }
    let login: String = conn.query_row("SELECT login FROM agents WHERE id = ?1", [to], |r| r.get(0))?;
    history(conn, id, Some(supervisor), "reassigned", &format!("to {login}"), at)?;
    Ok(Ok(()))
}

impl FromStr for Filter {
    type Err = std::convert::Infallible;

    /// Reads `service=…&language=…&postcode=…`; empty values mean "any".
    fn from_str(query: &str) -> Result<Self, Self::Err> {
        let mut filter = Self::default();
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            let v = Some(v.trim().to_owned()).filter(|v| !v.is_empty());
            match k.as_ref() {
                "service" => filter.service = v,
                "language" => filter.language = v,
                "postcode" => filter.postcode = v,
                _ => {}
            }
        }
        Ok(filter)
    }
}
