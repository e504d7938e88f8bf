//! The callback queue's use-cases: the voice line registers requests ([`register`]);
//! agents read the queue and work it with a [`Command`] applied by [`apply`]. Every
//! change is written to the request's history with who and when.

use chrono::{DateTime, Duration, Utc};
use rusqlite::Connection;

use super::{Actor, Error, Ops, Result, Supervisor, change};
use crate::domain::queue::{Filter, HistoryEntry, MAX_CLAIMS, MERGE_WINDOW, Request, RequestState};
use crate::domain::{Outcome, Priority, RequestId};
use crate::flow::engine::CallbackDraft;
use crate::store::callbacks::CallWords;
use crate::store::{StoreError, agents, callbacks, time};

/// Something an agent or a supervisor does to the queue.
#[derive(Debug, Clone)]
pub enum Command {
    /// Take the first request due within the filter.
    ClaimNext(Filter),
    /// Take this request, if nobody holds it and it is due.
    Claim(RequestId),
    /// Give a held request back to the queue (its holder, or a supervisor).
    Release(RequestId),
    /// Report how calling back went (the holder).
    Outcome {
        /// Which request.
        id: RequestId,
        /// What happened.
        outcome: Outcome,
        /// The agent's note.
        note: String,
    },
    /// Supervisors: change the priority of a request still to be worked.
    SetPriority {
        /// Which request.
        id: RequestId,
        /// The new priority.
        priority: Priority,
    },
    /// Supervisors: close a request with a reason.
    Cancel {
        /// Which request.
        id: RequestId,
        /// Why (required).
        reason: String,
    },
    /// Supervisors: hand a request to another agent, with a fresh lease.
    Reassign {
        /// Which request.
        id: RequestId,
        /// The agent's login.
        to: String,
    },
}

/// What a [`Command`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Done {
    /// The request is the actor's now.
    Claimed(RequestId),
    /// The request is back in the queue.
    Released(RequestId),
    /// The outcome is recorded; the request is now in this state.
    Worked(RequestId, RequestState),
    /// The priority is changed.
    Prioritised(RequestId, Priority),
    /// The request is closed.
    Cancelled(RequestId),
    /// The request is held by this agent now.
    Reassigned(RequestId, String),
}

impl Done {
    /// The request it was done to.
    #[must_use]
    pub fn request(&self) -> RequestId {
        match self {
            Self::Claimed(id)
            | Self::Released(id)
            | Self::Worked(id, _)
            | Self::Prioritised(id, _)
            | Self::Cancelled(id)
            | Self::Reassigned(id, _) => *id,
        }
    }
}

/// Carries out `command` for `actor`, atomically, and tells the consoles of its line.
///
/// # Errors
/// A refusal (see [`Error`]) or the database's failure.
pub async fn apply(ops: &Ops, actor: Actor, command: Command) -> Result<Done> {
    let actor = actor.staff()?;
    let (now, lease) = (ops.now(), ops.lease);
    let done = match command {
        Command::ClaimNext(filter) => change(ops, move |c| claim_next(c, actor, &filter, lease, now)).await,
        Command::Claim(id) => change(ops, move |c| claim(c, actor, id, lease, now)).await,
        Command::Release(id) => change(ops, move |c| release(c, actor, id, now)).await,
        Command::Outcome { id, outcome, note } => {
            change(ops, move |c| record_outcome(c, actor, id, &outcome, &note, now)).await
        }
        Command::SetPriority { id, priority } => {
            let supervisor = actor.supervisor()?;
            change(ops, move |c| set_priority(c, supervisor, id, priority, now)).await
        }
        Command::Cancel { id, reason } => {
            let supervisor = actor.supervisor()?;
            change(ops, move |c| cancel(c, supervisor, id, &reason, now)).await
        }
        Command::Reassign { id, to } => {
            let supervisor = actor.supervisor()?;
            change(ops, move |c| reassign(c, supervisor, id, &to, lease, now)).await
        }
    }?;
    let id = done.request();
    match ops.store.read(move |c| callbacks::get(c, id, now)).await {
        Ok(Some(request)) => ops.queue_changed_on(&request.line),
        _ => ops.queue_changed(),
    }
    Ok(done)
}

/// The queue as `actor` may see it: requests due, within `filter`; a supervisor who asks
/// for everything active also gets those held by others and those scheduled later.
///
/// # Errors
/// The database's failure.
pub async fn list(ops: &Ops, actor: Actor, mut filter: Filter) -> Result<Vec<Request>> {
    let actor = actor.staff()?;
    filter.everything_active &= actor.is_supervisor();
    let now = ops.now();
    Ok(ops
        .store
        .read(move |c| {
            scoped(c, actor, &mut filter)?;
            callbacks::list(c, &filter, now)
        })
        .await?)
}

/// The requests `actor` holds now.
///
/// # Errors
/// The database's failure.
pub async fn held(ops: &Ops, actor: Actor) -> Result<Vec<Request>> {
    let actor = actor.staff()?;
    let now = ops.now();
    Ok(ops.store.read(move |c| callbacks::held_by(c, actor.id, now)).await?)
}

/// One request and its history, as `actor` may see it (a referent, only within their
/// postcodes).
///
/// # Errors
/// [`Error::NoSuchRequest`], [`Error::StaffOnly`] for a volunteer, or the database's failure.
pub async fn get(ops: &Ops, actor: Actor, id: RequestId) -> Result<Detail> {
    let actor = actor.staff()?;
    let now = ops.now();
    let (request, history, calls) = ops
        .store
        .read(move |c| {
            let scope = super::volunteers::scope_of(c, actor)?;
            let Some(request) = callbacks::get(c, id, now)?.filter(|r| scope.covers_request(r)) else {
                return Ok((None, Vec::new(), Vec::new()));
            };
            Ok((Some(request), callbacks::history_of(c, id)?, callbacks::words_of(c, id)?))
        })
        .await?;
    Ok(Detail { request: request.ok_or(Error::NoSuchRequest)?, history, calls })
}

/// Limits `filter` to what `actor` sees: their lines, a referent's postcodes.
fn scoped(conn: &Connection, actor: Actor, filter: &mut Filter) -> Result<(), StoreError> {
    let scope = super::volunteers::scope_of(conn, actor)?;
    filter.postcodes = scope.postcodes;
    filter.lines = scope.lines.named().map(<[String]>::to_vec);
    filter.neighbourhoods = scope.neighbourhoods.into_iter().map(|(_, n)| n).collect();
    filter.viewer = Some(actor.id);
    Ok(())
}

/// Request `id`, if `actor` sees it (their lines, a referent's postcodes): another line's
/// request is no request at all.
///
/// # Errors
/// [`Error::NoSuchRequest`], the database's failure.
pub(super) fn visible(conn: &Connection, actor: Actor, id: RequestId, at: DateTime<Utc>) -> Result<Request> {
    let scope = super::volunteers::scope_of(conn, actor)?;
    callbacks::get(conn, id, at)?.filter(|r| scope.covers_request(r)).ok_or(Error::NoSuchRequest)
}

/// Request `id`, if it is on one of `actor`'s lines (a claim held or supervised).
fn on_lines(conn: &Connection, actor: Actor, id: RequestId, at: DateTime<Utc>) -> Result<Request> {
    let lines = super::lines_of(conn, actor)?;
    callbacks::get(conn, id, at)?.filter(|r| lines.covers(&r.line)).ok_or(Error::NoSuchRequest)
}

/// A request with its history and what each of its calls said.
#[derive(Debug, Clone)]
pub struct Detail {
    /// The request.
    pub request: Request,
    /// Its history, oldest first.
    pub history: Vec<HistoryEntry>,
    /// What each call said, first call first (shown, like the answers, only to whom
    /// [`shows_contact`] allows).
    pub calls: Vec<CallWords>,
}

/// A request's history, oldest first, as `actor` may see it.
///
/// # Errors
/// As [`get`].
pub async fn history(ops: &Ops, actor: Actor, id: RequestId) -> Result<Vec<HistoryEntry>> {
    Ok(get(ops, actor, id).await?.history)
}

/// Whether `actor` may see the caller's full number, answers and voice message: only
/// while holding the claim (the agent who is calling back).
#[must_use]
pub fn shows_contact(request: &Request, actor: Actor) -> bool {
    request.is_held_by(actor.id)
}

/// Stores the request a call asked for, inside the voice step's transaction, and returns
/// its number. A replayed webhook finds its own request again. A second call from the
/// same caller ID for the same service within [`MERGE_WINDOW`], while the first request
/// (made from that caller ID too) is still to be worked, joins it: the earliest age is
/// kept, its words are added beside the first call's and fill only what it left empty.
/// A typed number is no proof: such a call makes a request of its own, and is told only
/// that one's number.
///
/// # Errors
/// The database's failure.
pub fn register(
    conn: &Connection,
    sid: &str,
    line: &str,
    draft: &CallbackDraft,
    at: DateTime<Utc>,
) -> Result<RequestId, StoreError> {
    if let Some(id) = callbacks::asked_by_call(conn, sid)? {
        return Ok(id);
    }
    let active = callbacks::active_from(conn, draft.phone.as_str(), &draft.service, at - MERGE_WINDOW)?;
    let id = match active {
        // The same caller ID asking again: its words are added to the first request's.
        Some(first) if first.phone_is_caller_id && draft.phone_is_caller_id => {
            callbacks::add_to(conn, first.id, draft)?;
            callbacks::note(
                conn,
                first.id,
                None,
                "merged",
                &format!("the same caller ID asked again: {}", said(draft)),
                at,
            )?;
            first.id
        }
        // A number typed, or a request made with one: a caller who did not prove the
        // number never touches that request nor learns its number. The agents see both.
        Some(other) => {
            let id = callbacks::insert(conn, sid, line, draft, at)?;
            callbacks::note(
                conn,
                id,
                None,
                "created",
                &format!("request {} is still open for this number", other.id),
                at,
            )?;
            id
        }
        None => {
            let id = callbacks::insert(conn, sid, line, draft, at)?;
            callbacks::note(conn, id, None, "created", "", at)?;
            id
        }
    };
    callbacks::link_call(conn, id, sid, draft, at)?;
    Ok(id)
}

/// Names the neighbourhood the caller chose (`set = { neighbourhood = "…" }`) on request
/// `id`: it is kept for that neighbourhood's referents for the line's
/// `referents_first_minutes` of opening time, then open to everyone working the line.
///
/// # Errors
/// The database's failure.
pub fn place_in_neighbourhood(
    conn: &Connection,
    flow: &crate::flow::Flow,
    id: RequestId,
    draft: &CallbackDraft,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let line = &flow.file.line;
    let Some(neighbourhood) =
        draft.answers.get("neighbourhood").filter(|n| line.neighbourhoods.contains_key(n.as_str()))
    else {
        return Ok(());
    };
    let until = flow.schedule.after_open_minutes(at, i64::from(*line.referents_first_minutes.get_ref()));
    callbacks::set_neighbourhood(conn, id, neighbourhood, until)
}

/// What a later call added, for the history.
fn said(draft: &CallbackDraft) -> String {
    let mut parts = Vec::new();
    if draft.recording_url.is_some() {
        parts.push("a voice message".to_owned());
    }
    if !draft.answers.is_empty() {
        parts.push(format!("{} answer(s)", draft.answers.len()));
    }
    if draft.postcode.is_some() {
        parts.push("a postcode".to_owned());
    }
    if parts.is_empty() { "nothing new".to_owned() } else { parts.join(", ") }
}

fn take(conn: &Connection, actor: Actor, id: RequestId, lease: Duration, at: DateTime<Utc>) -> Result<Done> {
    if callbacks::held_by(conn, actor.id, at)?.len() >= MAX_CLAIMS {
        return Err(Error::TooManyClaims);
    }
    if let Some(previous) = callbacks::last_holder(conn, id)? {
        callbacks::note(conn, id, Some(previous), "lease_expired", "", at)?;
    }
    callbacks::set_holder(conn, id, actor.id, at + lease)?;
    callbacks::note(conn, id, Some(actor.id), "claimed", "", at)?;
    Ok(Done::Claimed(id))
}

fn claim_next(
    conn: &Connection,
    actor: Actor,
    filter: &Filter,
    lease: Duration,
    at: DateTime<Utc>,
) -> Result<Done> {
    let mut filter = filter.clone();
    scoped(conn, actor, &mut filter)?;
    let id = callbacks::first_due(conn, &filter, at)?.ok_or(Error::QueueEmpty)?;
    take(conn, actor, id, lease, at)
}

fn claim(conn: &Connection, actor: Actor, id: RequestId, lease: Duration, at: DateTime<Utc>) -> Result<Done> {
    let request = visible(conn, actor, id, at)?;
    // Kept for its neighbourhood's referents: not yet for anyone else.
    if !request.is_due(at) || !callbacks::open_to(conn, id, actor.id, at)? {
        return Err(Error::NotAvailable);
    }
    take(conn, actor, id, lease, at)
}

/// The request, if `actor` holds its claim.
fn held_request(conn: &Connection, actor: Actor, id: RequestId, at: DateTime<Utc>) -> Result<Request> {
    let request = on_lines(conn, actor, id, at)?;
    if request.is_held_by(actor.id) { Ok(request) } else { Err(Error::NotHolder) }
}

/// The request, if it is claimed and `actor` holds it or is a supervisor.
fn held_or_supervised(conn: &Connection, actor: Actor, id: RequestId, at: DateTime<Utc>) -> Result<Request> {
    let request = on_lines(conn, actor, id, at)?;
    let supervised = actor.is_supervisor() && request.holder.is_some();
    if request.is_held_by(actor.id) || supervised { Ok(request) } else { Err(Error::NotHolder) }
}

fn release(conn: &Connection, actor: Actor, id: RequestId, at: DateTime<Utc>) -> Result<Done> {
    held_or_supervised(conn, actor, id, at)?;
    callbacks::set_open(conn, id)?;
    callbacks::note(conn, id, Some(actor.id), "released", "", at)?;
    Ok(Done::Released(id))
}

pub(super) fn record_outcome(
    conn: &Connection,
    actor: Actor,
    id: RequestId,
    outcome: &Outcome,
    note: &str,
    at: DateTime<Utc>,
) -> Result<Done> {
    let request = held_request(conn, actor, id, at)?;
    let attempt = outcome.attempt(&request, note, at, time::format).map_err(Error::Invalid)?;
    callbacks::set_attempt(conn, id, &attempt, outcome.name(), at)?;
    callbacks::note(conn, id, Some(actor.id), "outcome", &attempt.detail, at)?;
    Ok(Done::Worked(id, attempt.state))
}

fn set_priority(
    conn: &Connection,
    supervisor: Supervisor,
    id: RequestId,
    priority: Priority,
    at: DateTime<Utc>,
) -> Result<Done> {
    on_lines(conn, supervisor.actor(), id, at)?;
    if !callbacks::set_priority(conn, id, priority)? {
        return Err(Error::NoSuchRequest);
    }
    callbacks::note(conn, id, Some(supervisor.id()), "priority", &priority.rank().to_string(), at)?;
    Ok(Done::Prioritised(id, priority))
}

fn cancel(
    conn: &Connection,
    supervisor: Supervisor,
    id: RequestId,
    reason: &str,
    at: DateTime<Utc>,
) -> Result<Done> {
    on_lines(conn, supervisor.actor(), id, at)?;
    if reason.trim().is_empty() {
        return Err(Error::Invalid("cancelling needs a reason".to_owned()));
    }
    // A mission serving it ends with it (before the request closes: ending a mission
    // gives its request back to the queue).
    if let Some(mission) = callbacks::get(conn, id, at)?.and_then(|r| r.mission) {
        if let Some(m) = crate::store::missions::get(conn, mission)? {
            crate::store::missions::set_state(
                conn,
                &m,
                crate::domain::missions::MissionState::Cancelled,
                m.volunteer,
                at,
            )?;
            crate::store::missions::note(
                conn,
                mission,
                Some(supervisor.id()),
                None,
                "cancelled",
                "the request was cancelled",
                at,
            )?;
        }
    }
    if !callbacks::set_cancelled(conn, id, at)? {
        return Err(Error::NoSuchRequest);
    }
    callbacks::note(conn, id, Some(supervisor.id()), "cancelled", reason.trim(), at)?;
    Ok(Done::Cancelled(id))
}

fn reassign(
    conn: &Connection,
    supervisor: Supervisor,
    id: RequestId,
    login: &str,
    lease: Duration,
    at: DateTime<Utc>,
) -> Result<Done> {
    let request = on_lines(conn, supervisor.actor(), id, at)?;
    let to = match agents::by_login(conn, login)? {
        Some((agent, _)) if !agent.disabled => agent,
        _ => return Err(Error::Invalid(format!("no active agent `{login}`"))),
    };
    if !super::lines_of(conn, super::Actor::of(&to))?.covers(&request.line) {
        return Err(Error::Invalid(format!("`{login}` does not work on line `{}`", request.line)));
    }
    if !callbacks::hand_to(conn, id, to.id, at + lease)? {
        return Err(Error::NoSuchRequest);
    }
    callbacks::note(conn, id, Some(supervisor.id()), "reassigned", &format!("to {}", to.login), at)?;
    Ok(Done::Reassigned(id, to.login))
}
