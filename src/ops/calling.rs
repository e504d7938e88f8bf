//! Calling out: the service rings people itself, from the line's number.
//! - **Missions offered by phone.** A mission the line offers ([`start_rounds`], or
//!   automatically for a kind of help marked `missions = true`) is offered to the best
//!   matches a few at a time ([`ROUND`]); the first to press 1 takes it, a later 1 hears
//!   it is taken. When a round ends without a taker the next is called ([`next_rounds`]);
//!   after the last candidate the mission is called off and its request goes back to the
//!   agents' queue, with why in both histories. A volunteer is never phoned outside their
//!   availability, off duty, while their calls are paused, or twice for one mission.
//! - **Click-to-call** ([`call_request`]): the agent holding a request is rung first, and
//!   the resident only after the agent pressed 1; an unanswered resident counts as an
//!   attempt, with the queue's back-off.
//!
//! Every call is decided by writing an outbox row in the decision's own transaction; the
//! worker ([`crate::outbox`]) places it through the provider's REST API. What the people
//! on those calls press is decided in [`super::keypad`], on the writer, from their
//! webhooks.

use chrono::{DateTime, Datelike, Timelike, Utc};
use rusqlite::Connection;

use super::missions::{Among, line_flow, match_in};
use super::volunteers::Door;
use super::{Actor, Error, Ops, Result, change};
use crate::domain::RequestId;
use crate::domain::missions::{MissionId, MissionState, Phoning};
use crate::domain::volunteers::VolunteerId;
use crate::flow::Flow;
use crate::store::missions as rows;
use crate::store::outbound::{self, NewOutbound, Outbound, Purpose};
use crate::store::{StoreError, callbacks};

/// Volunteers rung at once for one mission.
pub const ROUND: usize = 3;
/// Refuses a use-case that places calls when the service places none.
fn calling_on(ops: &Ops) -> Result<()> {
    if ops.calling { Ok(()) } else { Err(Error::CallingOff) }
}

/// Offers mission `id` to `volunteers` (the first to accept takes it). Each must be a
/// match: active, on duty, near enough, free, and not asked too often this month. When
/// the service places calls, they are rung at once; naming nobody then has the line
/// phone the best matches, round after round ([`start_rounds`]).
///
/// # Errors
/// [`Error::NoSuchMission`], [`Error::WrongState`] for a mission no longer looking, or a
/// volunteer who is not a match (with why), the database's failure.
pub async fn offer(
    ops: &Ops,
    door: Door,
    id: MissionId,
    volunteers: Vec<VolunteerId>,
) -> Result<MissionState> {
    if volunteers.is_empty() {
        // Nobody named: the line phones the best matches, which it can only do when it
        // places calls ([`Error::CallingOff`] otherwise, naming the setting).
        return start_rounds(ops, door, id).await;
    }
    let (now, flows, calling) = (ops.now(), ops.flows(), ops.places_calls());
    let state = change(ops, move |c| {
        let coordinator = super::volunteers::coordinator(c, door)?;
        let mission = rows::get(c, id)?
            .filter(|m| coordinator.covers(&m.line, &m.postcode))
            .ok_or(Error::NoSuchMission)?;
        if !mission.state.may_become(MissionState::Offered) {
            return Err(Error::WrongState(format!("mission {id} is {}", mission.state)));
        }
        let flow = line_flow(&flows, &mission.line)?;
        let request = callbacks::get(c, mission.request, now)?.ok_or(Error::NoSuchRequest)?;
        let matching = match_in(c, Among::Only(&volunteers), flow, request, now)?;
        let paused = if calling {
            crate::store::volunteers::calls_paused(c, &mission.line, now)?
        } else {
            std::collections::HashSet::default()
        };
        for v in &volunteers {
            let Some((_, record)) = matching.matches.iter().find(|(m, _)| m.volunteer == *v) else {
                let why = matching.left_out.iter().find(|(x, _)| x.id == *v).map(|(_, w)| w.describe());
                return Err(Error::WrongState(format!(
                    "volunteer {v} is not a match: {}",
                    why.unwrap_or_else(|| "not on this line's roster".to_owned())
                )));
            };
            if calling {
                phoneable(record, flow, &paused, now).map_err(
                    |(NotNow::Never(why) | NotNow::Later(why))| {
                        Error::WrongState(format!("volunteer {v} cannot be phoned now: {why}"))
                    },
                )?;
            }
        }
        for (m, record) in &matching.matches {
            if rows::offer(c, id, m.volunteer, now)? {
                rows::note(c, id, coordinator.by(), Some(m.volunteer), "offered", "", now)?;
                if calling {
                    ring_volunteer(c, &mission, record, now)?;
                }
            }
        }
        if calling {
            // Only those named: then back to the coordinators.
            rows::set_phoning(c, id, Phoning::Named)?;
        }
        rows::set_state(c, &mission, MissionState::Offered, None, now)?;
        Ok(MissionState::Offered)
    })
    .await?;
    if calling {
        ops.outbox_changed();
    }
    Ok(state)
}

fn ring_volunteer(
    conn: &Connection,
    mission: &crate::domain::missions::Mission,
    volunteer: &crate::domain::volunteers::Volunteer,
    at: DateTime<Utc>,
) -> Result<()> {
    let phone = volunteer
        .phone
        .as_deref()
        .ok_or_else(|| Error::WrongState(format!("volunteer {} has no phone number", volunteer.id)))?;
    outbound::insert(
        conn,
        &NewOutbound {
            line: &mission.line,
            purpose: Purpose::Offer,
            mission: Some(mission.id),
            volunteer: Some(volunteer.id),
            request: Some(mission.request),
            agent: None,
            to: phone,
        },
        at,
    )?;
    rows::note(conn, mission.id, None, Some(volunteer.id), "phoned", "", at)?;
    Ok(())
}

/// The line offers mission `id` by phone to its best matches, a round at a time.
///
/// # Errors
/// [`Error::CallingOff`], [`Error::NoSuchMission`] (also outside a referent's
/// postcodes), [`Error::WrongState`] for a mission no longer looking.
pub async fn start_rounds(ops: &Ops, door: Door, id: MissionId) -> Result<MissionState> {
    calling_on(ops)?;
    let now = ops.now();
    let state = change(ops, move |c| {
        let k = super::volunteers::coordinator(c, door)?;
        let mission =
            rows::get(c, id)?.filter(|m| k.covers(&m.line, &m.postcode)).ok_or(Error::NoSuchMission)?;
        if !matches!(mission.state, MissionState::Proposed | MissionState::Offered) {
            return Err(Error::WrongState(format!("mission {id} is {}", mission.state)));
        }
        rows::set_phoning(c, id, Phoning::Rounds)?;
        rows::note(c, id, k.by(), None, "phoning", "the line calls the best matches, a few at a time", now)?;
        Ok(mission.state)
    })
    .await?;
    ops.outbox_changed();
    Ok(state)
}

/// Calls the next round of every mission whose round is over; a mission nobody is left
/// to call is handed back. Returns the calls decided.
///
/// # Errors
/// The database's failure.
pub async fn next_rounds(ops: &Ops) -> Result<usize> {
    let waiting = ops.store.read(outbound::waiting_rounds).await?;
    let mut decided = 0;
    for (id, how) in waiting {
        decided += round(ops, id, how).await?;
    }
    Ok(decided)
}

/// Whom the next round rings, and whether others could be rung at another hour.
struct Candidates {
    chosen: Vec<VolunteerId>,
    later: bool,
}

/// Whom the next round of mission `id` rings: the best matches not yet asked for it,
/// free now, whose calls are not paused (ranked off the writer, from the roster in
/// memory).
async fn candidates(ops: &Ops, id: MissionId) -> Result<Option<Candidates>> {
    let (now, flows, ops_in) = (ops.now(), ops.flows(), ops.clone());
    super::missions::read(ops, move |c| {
        let Some(mission) = rows::get(c, id)? else { return Ok(None) };
        let Some(request) = callbacks::get(c, mission.request, now)? else { return Ok(None) };
        let flow = line_flow(&flows, &mission.line)?;
        let paused = crate::store::volunteers::calls_paused(c, &mission.line, now)?;
        let matching = match_in(c, Among::Roster(&ops_in), flow, request, now)?;
        let (mut chosen, mut later) = (Vec::new(), false);
        for (m, v) in &matching.matches {
            if chosen.len() == ROUND {
                break;
            }
            if rows::was_offered_to(c, id, m.volunteer)? {
                continue;
            }
            match phoneable(v, flow, &paused, now) {
                Ok(()) => chosen.push(m.volunteer),
                Err(NotNow::Later(_)) => later = true,
                Err(NotNow::Never(_)) => {}
            }
        }
        Ok(Some(Candidates { chosen, later }))
    })
    .await
}

/// Why a volunteer who matches is not rung now.
enum NotNow {
    /// No number, or calls paused: not before long.
    Never(String),
    /// Not at this hour: later today or another day.
    Later(String),
}

/// Whether volunteer `v` may be rung now: a number, calls not paused, free at this time
/// of the week (in the line's time zone); one who gave no availability, within the line's
/// calling hours.
fn phoneable(
    v: &crate::domain::volunteers::Volunteer,
    flow: &Flow,
    paused: &std::collections::HashSet<VolunteerId>,
    now: DateTime<Utc>,
) -> Result<(), NotNow> {
    let local = now.with_timezone(&flow.schedule.timezone());
    let minute = u16::try_from(local.hour() * 60 + local.minute()).unwrap_or(0);
    let (from, until) = flow.file.line.volunteering.calling_hours();
    let availability = &v.profile.availability;
    if v.phone.is_none() {
        Err(NotNow::Never("no phone number".to_owned()))
    } else if paused.contains(&v.id) {
        Err(NotNow::Never("they asked not to be phoned this week".to_owned()))
    } else if !availability.covers(local.weekday(), minute) {
        Err(NotNow::Later(format!("not free at this hour ({availability})")))
    } else if availability.is_any_hour() && !(from..until).contains(&minute) {
        Err(NotNow::Later(format!(
            "outside the line's calling hours ({:02}:{:02}-{:02}:{:02})",
            from / 60,
            from % 60,
            until / 60,
            until % 60
        )))
    } else {
        Ok(())
    }
}

async fn round(ops: &Ops, id: MissionId, how: Phoning) -> Result<usize> {
    let found = if how == Phoning::Rounds {
        candidates(ops, id).await?
    } else {
        Some(Candidates { chosen: Vec::new(), later: false })
    };
    let Some(Candidates { chosen, later }) = found else { return Ok(0) };
    if chosen.is_empty() && later {
        // Nobody to ring at this hour, someone later (the morning): the mission waits.
        return Ok(0);
    }
    let (now, flows) = (ops.now(), ops.flows());
    let rung = change(ops, move |c| {
        // Checked again on the writer: the mission may have been taken, called off or
        // started another round since the candidates were read.
        let Some(mission) = rows::get(c, id)? else { return Ok(0) };
        let current = rows::phoning(c, id)?;
        if current != how
            || !matches!(mission.state, MissionState::Proposed | MissionState::Offered)
            || outbound::mission_has_live_call(c, id)?
        {
            return Ok(0);
        }
        let flow = line_flow(&flows, &mission.line)?;
        let request = callbacks::get(c, mission.request, now)?.ok_or(Error::NoSuchRequest)?;
        let matching = match_in(c, Among::Only(&chosen), flow, request, now)?;
        let mut rung = 0;
        for (m, v) in &matching.matches {
            if rows::offer(c, id, m.volunteer, now)? {
                ring_volunteer(c, &mission, v, now)?;
                rung += 1;
            }
        }
        if rung > 0 {
            rows::set_state(c, &mission, MissionState::Offered, None, now)?;
            return Ok(rung);
        }
        hand_back(c, &mission, how, now)?;
        Ok(0)
    })
    .await?;
    if rung == 0 {
        ops.queue_changed();
    } else {
        ops.outbox_changed();
    }
    Ok(rung)
}

/// Nobody (else) to call for `mission`: rounds give it back to the coordinators and the
/// request to the agents' queue; named volunteers give it back to the coordinators.
fn hand_back(
    conn: &Connection,
    mission: &crate::domain::missions::Mission,
    how: Phoning,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    rows::set_phoning(conn, mission.id, Phoning::No)?;
    let calls = outbound::of_mission(conn, mission.id)?;
    let summary = summarise(&calls);
    if how == Phoning::Named {
        if mission.state == MissionState::Offered {
            rows::set_state(conn, mission, MissionState::Proposed, None, at)?;
        }
        rows::note(conn, mission.id, None, None, "nobody accepted", &summary, at)?;
        return Ok(());
    }
    rows::set_state(conn, mission, MissionState::Cancelled, None, at)?;
    rows::note(conn, mission.id, None, None, "nobody accepted", &summary, at)?;
    callbacks::note(
        conn,
        mission.request,
        None,
        "mission",
        &format!("mission {}: nobody accepted by phone ({summary}): back in the queue", mission.id),
        at,
    )
}

/// "3 volunteers called: 1 no-answer, 2 declined".
fn summarise(calls: &[Outbound]) -> String {
    let mut outcomes: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for c in calls {
        *outcomes.entry(c.outcome.as_deref().unwrap_or("no answer")).or_default() += 1;
    }
    let parts: Vec<String> = outcomes.iter().map(|(o, n)| format!("{n} {o}")).collect();
    if calls.is_empty() {
        "no volunteer could be called".to_owned()
    } else {
        format!("{} volunteers called: {}", calls.len(), parts.join(", "))
    }
}

/// Click-to-call: rings the agent holding request `id` on their own phone; once they
/// press 1, the resident is rung with the line's number shown.
///
/// # Errors
/// [`Error::CallingOff`], [`Error::NoSuchRequest`], [`Error::NotHolder`],
/// [`Error::WrongState`] for an account without a phone, a request without a number, or
/// a call already on its way.
pub async fn call_request(ops: &Ops, actor: Actor, id: RequestId) -> Result<i64> {
    let actor = actor.staff()?;
    calling_on(ops)?;
    let now = ops.now();
    let placed = change(ops, move |c| {
        let request = callbacks::get(c, id, now)?.ok_or(Error::NoSuchRequest)?;
        if !request.is_held_by(actor.id) {
            return Err(Error::NotHolder);
        }
        if request.phone.is_none() {
            return Err(Error::WrongState(format!("request {id} has no number to call")));
        }
        let phone = crate::store::agents::phone(c, actor.id)?.ok_or_else(|| {
            Error::WrongState(
                "your account has no phone number to ring: a supervisor sets it (`solidaire agents phone LOGIN NUMBER`)"
                    .to_owned(),
            )
        })?;
        if outbound::request_has_live_call(c, id)? {
            return Err(Error::WrongState(format!("a call about request {id} is already on its way")));
        }
        let call = outbound::insert(
            c,
            &NewOutbound {
                line: &request.line,
                purpose: Purpose::Agent,
                mission: None,
                volunteer: None,
                request: Some(id),
                agent: Some(actor.id),
                to: &phone,
            },
            now,
        )?;
        callbacks::note(c, id, Some(actor.id), "call", "the line rings your phone, then the resident", now)?;
        Ok(call)
    })
    .await?;
    ops.outbox_changed();
    Ok(placed)
}

/// The provider refused `call` or it could not be placed: its offer or request says why.
///
/// # Errors
/// SQLite errors.
pub fn not_placed(
    conn: &Connection,
    call: &Outbound,
    why: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    outbound::failed(conn, call.id, why, at)?;
    match call.purpose {
        Purpose::Offer => super::keypad::turned_down(conn, call, &format!("not placed: {why}"), at),
        Purpose::Agent => match call.request {
            Some(id) => callbacks::note(conn, id, call.agent, "call", &format!("not placed: {why}"), at),
            None => Ok(()),
        },
        Purpose::Desk => Ok(()),
    }
}

/// The provider says `call` is over with `status` (its final `CallStatus`): an offer not
/// answered by then was not reached.
///
/// # Errors
/// SQLite errors.
pub fn ended(
    conn: &Connection,
    call: &Outbound,
    status: &str,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    if !outbound::end(conn, call.id, status, at)? {
        return Ok(false);
    }
    match call.purpose {
        // Answered, then hung up without a key: not reached either.
        Purpose::Offer => {
            super::keypad::turned_down(
                conn,
                call,
                if status == "completed" { "hung up" } else { status },
                at,
            )?;
        }
        Purpose::Agent if call.state == outbound::State::Placed || call.state == outbound::State::Sending => {
            if let Some(id) = call.request {
                callbacks::note(
                    conn,
                    id,
                    call.agent,
                    "call",
                    &format!("your phone did not answer ({status})"),
                    at,
                )?;
            }
        }
        Purpose::Agent | Purpose::Desk => {}
    }
    Ok(true)
}

/// The line's own number, shown on the calls it places.
#[must_use]
pub fn line_number(flow: &Flow) -> Option<&crate::phone::E164> {
    flow.numbers.first()
}
