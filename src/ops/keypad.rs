//! What the people on the line's calls decide with their keypad, on the writer, from
//! their webhooks: a volunteer offered a mission accepts it (the first wins), declines it
//! or pauses their calls; the resident's leg of a put-through ends; a volunteer calling
//! the line reports a mission done or not done. The calls themselves are decided and
//! placed by [`super::calling`].

use chrono::{DateTime, Duration, Utc};
use rusqlite::Connection;

use super::{Actor, Error};
use crate::domain::missions::{MissionState, Phoning};
use crate::domain::queue::Outcome;
use crate::domain::volunteers::VolunteerId;
use crate::store::missions as rows;
use crate::store::outbound::{self, Outbound};
use crate::store::{StoreError, agents, callbacks};

/// How long a volunteer who pressed 3 is not phoned.
pub const PAUSE: Duration = Duration::days(7);

/// What a volunteer's 1 did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// The mission is theirs.
    Accepted,
    /// Someone else was first, or it was called off.
    Taken,
}

/// Whether the volunteer on `call` may still take its mission.
///
/// # Errors
/// SQLite errors.
pub fn still_offered(conn: &Connection, call: &Outbound) -> Result<bool, StoreError> {
    let (Some(m), Some(v)) = (call.mission, call.volunteer) else { return Ok(false) };
    let live = rows::get(conn, m)?.is_some_and(|m| m.state == MissionState::Offered);
    Ok(live && rows::is_offered_to(conn, m, v)?)
}

/// The volunteer on `call` pressed 1: the first takes the mission.
///
/// # Errors
/// SQLite errors.
pub fn accept(conn: &Connection, call: &Outbound, at: DateTime<Utc>) -> Result<Answer, StoreError> {
    let (Some(id), Some(v)) = (call.mission, call.volunteer) else { return Ok(Answer::Taken) };
    if !still_offered(conn, call)? {
        rows::answer_offers(conn, id, v, "taken", None)?;
        return Ok(Answer::Taken);
    }
    let Some(mission) = rows::get(conn, id)? else { return Ok(Answer::Taken) };
    rows::answer_offers(conn, id, v, "accepted", Some("taken"))?;
    rows::set_state(conn, &mission, MissionState::Accepted, Some(v), at)?;
    rows::set_phoning(conn, id, Phoning::No)?;
    // The others' phones stop ringing: nobody answers to hear it is taken.
    outbound::withdraw_ringing(conn, id)?;
    rows::note(conn, id, None, Some(v), "accepted", "by phone", at)?;
    callbacks::note(
        conn,
        mission.request,
        None,
        "mission",
        &format!("mission {id}: accepted by volunteer {v} by phone"),
        at,
    )?;
    Ok(Answer::Accepted)
}

/// The volunteer on `call` did not take the offer: `answer` is `declined`, `paused`
/// (their calls paused for [`PAUSE`]), or how the call went (`no-answer`, `busy`,
/// `machine`, …). An offer already answered keeps its answer.
///
/// # Errors
/// SQLite errors.
pub fn turned_down(
    conn: &Connection,
    call: &Outbound,
    answer: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let (Some(id), Some(v)) = (call.mission, call.volunteer) else { return Ok(()) };
    if !rows::is_offered_to(conn, id, v)? {
        return Ok(());
    }
    let stored = if answer == "paused" { "declined" } else { answer };
    rows::answer_offers(conn, id, v, stored, None)?;
    if answer == "paused" {
        crate::store::volunteers::pause_calls(conn, v, at + PAUSE)?;
    }
    let action = match answer {
        "declined" | "paused" => "declined",
        _ => "not reached",
    };
    let detail = match answer {
        "declined" => "by phone".to_owned(),
        "paused" => "by phone; calls paused for a week".to_owned(),
        other => format!("by phone: {other}"),
    };
    rows::note(conn, id, None, Some(v), action, &detail, at)
}

/// The volunteer who accepted on `call` was put through to the resident (or not).
///
/// # Errors
/// SQLite errors.
pub fn volunteer_put_through(
    conn: &Connection,
    call: &Outbound,
    status: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let Some(id) = call.mission else { return Ok(()) };
    let detail = if status == "completed" {
        "the resident answered".to_owned()
    } else {
        format!("the resident did not answer ({status})")
    };
    rows::note(conn, id, None, call.volunteer, "put through", &detail, at)
}

/// The resident rung for the agent on `call` answered (`completed`) or not: an
/// unanswered one is an attempt, with the queue's back-off; an answered one waits for
/// the agent's outcome.
///
/// # Errors
/// SQLite errors.
pub fn agent_put_through(
    conn: &Connection,
    call: &Outbound,
    status: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let (Some(id), Some(agent)) = (call.request, call.agent) else { return Ok(()) };
    if status == "completed" {
        return callbacks::note(conn, id, Some(agent), "call", "put through to the resident", at);
    }
    let outcome = if status == "busy" { Outcome::Busy } else { Outcome::NoAnswer };
    let Some(account) = agents::get(conn, agent)? else { return Ok(()) };
    let actor = Actor::of(&account);
    let note = format!("click-to-call: {status}");
    match super::queue::record_outcome(conn, actor, id, &outcome, &note, at) {
        Ok(_) => Ok(()),
        Err(Error::Store(e)) => Err(e),
        // The claim ran out while the phone rang: the attempt is only noted.
        Err(other) => {
            callbacks::note(conn, id, Some(agent), "call", &format!("{note} (not recorded: {other})"), at)
        }
    }
}

/// The missions volunteer `v` has now (accepted, not yet reported), oldest first.
///
/// # Errors
/// SQLite errors.
pub fn missions_in_hand(
    conn: &Connection,
    v: VolunteerId,
) -> Result<Vec<crate::domain::missions::Mission>, StoreError> {
    let filter =
        rows::MissionFilter { state: Some(MissionState::Accepted), volunteer: Some(v), request: None };
    let mut mine: Vec<_> =
        rows::list(conn, &filter)?.into_iter().filter(|m| m.volunteer == Some(v)).collect();
    mine.sort_by_key(|m| m.id.0);
    Ok(mine)
}

/// The volunteer of `line` calling from `caller`, if they have missions in hand: they
/// get their own menu; anyone else (a resident calling back the line's number) the
/// usual one.
///
/// # Errors
/// SQLite errors.
pub fn recognise(
    conn: &Connection,
    line: &str,
    caller: &crate::phone::E164,
) -> Result<Option<(VolunteerId, Vec<crate::domain::missions::Mission>)>, StoreError> {
    let Some(v) = crate::store::volunteers::by_phone(conn, line, caller.as_str())? else { return Ok(None) };
    let mine = missions_in_hand(conn, v)?;
    Ok((!mine.is_empty()).then_some((v, mine)))
}

/// The volunteer on the line reports the mission of `call` done (`done`) or not done
/// (its request goes back to the agents' queue).
///
/// # Errors
/// SQLite errors.
pub fn report(conn: &Connection, call: &Outbound, done: bool, at: DateTime<Utc>) -> Result<bool, StoreError> {
    let (Some(id), Some(v)) = (call.mission, call.volunteer) else { return Ok(false) };
    let Some(mission) = rows::get(conn, id)? else { return Ok(false) };
    if mission.state != MissionState::Accepted || mission.volunteer != Some(v) {
        return Ok(false);
    }
    let next = if done { MissionState::Done } else { MissionState::NotDone };
    rows::set_state(conn, &mission, next, Some(v), at)?;
    rows::note(conn, id, None, Some(v), next.as_str(), "reported by phone", at)?;
    let told = if done {
        format!("mission {id} done (reported by phone)")
    } else {
        format!("mission {id} not done (reported by phone): back in the queue")
    };
    callbacks::note(conn, mission.request, None, "mission", &told, at)?;
    Ok(true)
}
