//! Missions: a request that a neighbour can do is handed to volunteers. The voice line
//! makes one at once for the kinds of help its flow marks so ([`propose_if_wanted`]); a
//! coordinator asks for one ("find a volunteer"), reads a request's best matches with
//! the reasons, and assigns it or offers it to a few volunteers (the first to accept
//! takes it). The volunteer, or the coordinator, reports it done or not done; a mission
//! that ends without being done gives its request back to the agents' queue.
//!
//! Privacy: before acceptance a volunteer sees the neighbourhood (postcode and sections),
//! the kind of help and the time, never the resident's number or message; after, only the
//! volunteer who has the mission sees them ([`View::contact`]).

use std::sync::Arc;

use chrono::{DateTime, Datelike, Timelike, Utc};
use rusqlite::Connection;

use super::volunteers::{Coordinator, Door, coordinator};
use super::{Actor, Error, Ops, Result, change};
use crate::domain::matching::{Candidate, LeftOut, Match, Need, Rules, rank};
use crate::domain::missions::{Mission, MissionId, MissionState};
use crate::domain::places::Places;
use crate::domain::queue::Request;
use crate::domain::volunteers::{Volunteer, VolunteerId, VolunteerState};
use crate::domain::{RequestId, Role};
use crate::flow::Flow;
use crate::store::missions::{self as rows, MissionEvent, MissionFilter, NewMission};
use crate::store::volunteers::{self as roster, RosterFilter};
use crate::store::{StoreError, callbacks};

/// How many of the volunteers left out a request's matches list, nearest first.
pub const MAX_LEFT_OUT: usize = 30;

/// A request's matches: who can take it, best first, and who cannot, with why.
#[derive(Debug, Clone)]
pub struct Matching {
    /// The request.
    pub request: Request,
    /// Its live mission, if any.
    pub mission: Option<Mission>,
    /// The volunteers who can take it, best first, with their records.
    pub matches: Vec<(Match, Volunteer)>,
    /// The nearest of those left out ([`MAX_LEFT_OUT`] at most), with why.
    pub left_out: Vec<(Volunteer, LeftOut)>,
}

/// Where, what and when a request needs, in `flow`'s terms.
fn need_of<'a>(flow: &Flow, request: &'a Request, now: DateTime<Utc>) -> Result<Need<'a>> {
    let help = request.help.as_deref().ok_or_else(|| {
        Error::WrongState(format!(
            "request {} names no kind of help: no volunteer can be matched",
            request.id
        ))
    })?;
    let postcode = request.postcode.as_deref().ok_or_else(|| {
        Error::WrongState(format!("request {} has no postcode: no volunteer can be matched", request.id))
    })?;
    let point = Places::builtin().find(postcode).map_err(Error::WrongState)?.centre;
    let local = request.not_before.max(now).with_timezone(&flow.schedule.timezone());
    let minute = u16::try_from(local.hour() * 60 + local.minute()).unwrap_or(0);
    Ok(Need { help, point, language: &request.language, when: (local.weekday(), minute) })
}

/// The request, if `coordinator` handles its postcode.
fn request_for(
    conn: &Connection,
    coordinator: &Coordinator,
    id: RequestId,
    now: DateTime<Utc>,
) -> Result<Request> {
    let request = callbacks::get(conn, id, now)?.ok_or(Error::NoSuchRequest)?;
    if coordinator.covers(&request.line, request.postcode.as_deref().unwrap_or_default()) {
        Ok(request)
    } else {
        Err(Error::NoSuchRequest)
    }
}

/// Ranks the line's roster for a request.
/// Whom a matching ranks: the line's whole roster (a read, from the copy in memory), or
/// only the volunteers a coordinator named (inside the writer's transaction, which must
/// not read thousands of rows while every call's step waits behind it).
#[derive(Clone, Copy)]
pub(super) enum Among<'a> {
    Roster(&'a Ops),
    Only(&'a [VolunteerId]),
}

pub(super) fn match_in(
    conn: &Connection,
    among: Among<'_>,
    flow: &Flow,
    request: Request,
    now: DateTime<Utc>,
) -> Result<Matching> {
    let need = need_of(flow, &request, now)?;
    let roster = match among {
        Among::Roster(ops) => ops.roster.all(conn)?,
        Among::Only(ids) => {
            let mut named = Vec::new();
            for id in ids {
                named.extend(roster::get(conn, *id)?);
            }
            Arc::new(named)
        }
    };
    let loads = rows::loads(conn, &request.line, request.phone.as_deref(), now)?;
    let candidates: Vec<Candidate<'_>> = roster
        .iter()
        .filter(|v| v.line == request.line && v.state != VolunteerState::Left)
        .map(|v| {
            let load = loads.get(&v.id).copied().unwrap_or_default();
            Candidate {
                volunteer: v,
                missions_this_week: load.missions_this_week,
                offers_this_month: load.offers_this_month,
                helped_before: load.helped_before,
            }
        })
        .collect();
    let rules = Rules { offers_per_month: flow.file.line.volunteering.offers_per_month };
    let (matches, left_out) = rank(&need, &candidates, rules);
    let matches = matches
        .into_iter()
        .map(|m| (candidates[m.index].volunteer.clone(), m))
        .map(|(v, m)| (m, v))
        .collect();
    // The nearest of those left out say why a neighbour was not chosen; the whole roster
    // would drown them.
    let left_out = left_out
        .into_iter()
        .take(MAX_LEFT_OUT)
        .map(|e| (candidates[e.index].volunteer.clone(), e.why))
        .collect();
    let mission = live_mission(conn, request.id)?;
    Ok(Matching { request, mission, matches, left_out })
}

fn live_mission(conn: &Connection, request: RequestId) -> Result<Option<Mission>, StoreError> {
    let all = rows::list(conn, &MissionFilter { request: Some(request), ..MissionFilter::default() })?;
    Ok(all.into_iter().find(|m| m.state.is_live()))
}

pub(super) fn line_flow<'a>(flows: &'a crate::flow::Flows, line: &str) -> Result<&'a Flow> {
    flows
        .get(line)
        .map(AsRef::as_ref)
        .ok_or_else(|| Error::WrongState(format!("line `{line}` is no longer served")))
}

/// The best matches of request `id`, with the reasons, and who is left out and why.
///
/// # Errors
/// [`Error::NoSuchRequest`] (also outside a referent's postcodes), [`Error::WrongState`]
/// for a request without a kind of help or a postcode, the database's failure.
pub async fn matches(ops: &Ops, door: Door, id: RequestId) -> Result<Matching> {
    let now = ops.now();
    let flows = ops.flows();
    let ops_in = ops.clone();
    read(ops, move |c| {
        let coordinator = coordinator(c, door)?;
        let request = request_for(c, &coordinator, id, now)?;
        let flow = flows.get(&request.line).ok_or(Error::NoSuchRequest)?;
        match_in(c, Among::Roster(&ops_in), flow, request, now)
    })
    .await
}

/// Runs a read that may refuse.
pub(super) async fn read<T, F>(ops: &Ops, f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> Result<T> + Send + 'static,
{
    ops.store
        .read(move |c| match f(c) {
            Err(Error::Store(e)) => Err(e),
            decided => Ok(decided),
        })
        .await?
}

/// Makes a proposed mission for request `id` if a volunteer can take it: it leaves the
/// agents' queue. Refused for a request already served by a mission, closed, or held.
fn propose(
    conn: &Connection,
    flow: &Flow,
    request: &Request,
    by: Option<crate::domain::AgentId>,
    at: DateTime<Utc>,
) -> Result<MissionId> {
    if let Some(m) = live_mission(conn, request.id)? {
        return Err(Error::WrongState(format!("request {} already has mission {}", request.id, m.id)));
    }
    if !request.state.is_active() {
        return Err(Error::WrongState(format!("request {} is {}", request.id, request.state)));
    }
    if let Some((_, login)) = &request.holder {
        return Err(Error::WrongState(format!(
            "request {} is being called back by {login}: they can give it back first",
            request.id
        )));
    }
    let need = need_of(flow, request, at)?;
    let new = NewMission {
        request: request.id,
        line: &request.line,
        help: need.help,
        postcode: request.postcode.as_deref().unwrap_or_default(),
        language: &request.language,
    };
    let id = rows::insert(conn, &new, at)?;
    rows::note(conn, id, by, None, "proposed", "", at)?;
    callbacks::note(conn, request.id, by, "mission", &format!("mission {id}: looking for a volunteer"), at)?;
    Ok(id)
}

/// After the voice line registered request `id` for the kind of help `asked`: a request
/// for a kind that the flow hands to volunteers (`missions = true`) becomes a mission at
/// once, unless it has one or no volunteer could be matched (no postcode).
///
/// # Errors
/// The database's failure.
pub fn propose_if_wanted(
    conn: &Connection,
    flow: &Flow,
    id: RequestId,
    asked: Option<&str>,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    // Most requests are for agents: decided without reading anything.
    if !asked.and_then(|h| flow.help(h)).is_some_and(|h| h.missions) {
        return Ok(());
    }
    let Some(request) = callbacks::get(conn, id, at)? else { return Ok(()) };
    let wanted = request.help.as_deref().and_then(|h| flow.help(h)).is_some_and(|h| h.missions);
    if !wanted || request.mission.is_some() || request.postcode.is_none() {
        return Ok(());
    }
    match propose(conn, flow, &request, None, at) {
        // The line offers it by phone when it places calls (else coordinators do).
        Ok(m) => rows::set_phoning(conn, m, crate::domain::missions::Phoning::Rounds),
        Err(Error::WrongState(_)) => Ok(()),
        Err(Error::Store(e)) => Err(e),
        Err(other) => {
            tracing::warn!(request = id.0, problem = %other, "no mission made");
            Ok(())
        }
    }
}

/// "Find a volunteer": makes a mission for request `id`; the request leaves the queue.
///
/// # Errors
/// As [`matches`], and [`Error::WrongState`] for a request that has a mission already
/// or is closed.
pub async fn find_volunteer(ops: &Ops, door: Door, id: RequestId) -> Result<MissionId> {
    let now = ops.now();
    let flows = ops.flows();
    let done = change(ops, move |c| {
        let coordinator = coordinator(c, door)?;
        let request = request_for(c, &coordinator, id, now)?;
        let flow = flows.get(&request.line).ok_or(Error::NoSuchRequest)?;
        propose(c, flow, &request, coordinator.by(), now)
    })
    .await?;
    ops.queue_changed();
    Ok(done)
}

/// Assigns request `id` to `volunteer`: a coordinator who arranged it with them. The
/// mission (made if there is none) is accepted by that volunteer; every open offer of it
/// is answered `taken`.
///
/// # Errors
/// As [`find_volunteer`], [`Error::NoSuchVolunteer`], and [`Error::WrongState`] for a
/// volunteer who is not active or a mission another volunteer has.
pub async fn assign(ops: &Ops, door: Door, id: RequestId, volunteer: VolunteerId) -> Result<MissionId> {
    let now = ops.now();
    let flows = ops.flows();
    let done = change(ops, move |c| {
        let coordinator = coordinator(c, door)?;
        let request = request_for(c, &coordinator, id, now)?;
        let flow = line_flow(&flows, &request.line)?;
        let v =
            roster::get(c, volunteer)?.filter(|v| v.line == request.line).ok_or(Error::NoSuchVolunteer)?;
        if v.state != VolunteerState::Active {
            return Err(Error::WrongState(format!("volunteer {volunteer} is {}", v.state)));
        }
        let mission = if let Some(m) = live_mission(c, id)? {
            m
        } else {
            let m = propose(c, flow, &request, coordinator.by(), now)?;
            rows::get(c, m)?.ok_or(Error::NoSuchMission)?
        };
        if mission.state == MissionState::Accepted {
            return Err(Error::WrongState(format!(
                "mission {} is accepted already: cancel it first",
                mission.id
            )));
        }
        let matching = match_in(c, Among::Only(&[volunteer]), flow, request, now)?;
        let detail = if let Some((m, _)) = matching.matches.iter().find(|(m, _)| m.volunteer == volunteer) {
            m.reasons.join(" · ")
        } else {
            let why = matching.left_out.iter().find(|(v, _)| v.id == volunteer).map(|(_, w)| w.describe());
            format!("not among the matches: {}", why.unwrap_or_default())
        };
        rows::offer(c, mission.id, volunteer, now)?;
        rows::answer_offers(c, mission.id, volunteer, "accepted", Some("taken"))?;
        rows::set_state(c, &mission, MissionState::Accepted, Some(volunteer), now)?;
        rows::note(c, mission.id, coordinator.by(), Some(volunteer), "assigned", &detail, now)?;
        callbacks::note(
            c,
            id,
            coordinator.by(),
            "mission",
            &format!("mission {}: assigned to volunteer {volunteer}", mission.id),
            now,
        )?;
        Ok(mission.id)
    })
    .await?;
    ops.queue_changed();
    Ok(done)
}

/// How a mission ends, or what its volunteer says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The volunteer takes an offer (the first to accept wins).
    Accept,
    /// The volunteer turns an offer down.
    Decline,
    /// Done.
    Done,
    /// Could not be done: the request goes back to the queue.
    NotDone,
    /// A coordinator calls it off (the request goes back to the queue); the volunteer
    /// who has it gives it back (it looks for someone else).
    Cancel,
}

impl Step {
    /// Reads `accept`, `decline`, `done`, `not-done`, `cancel`.
    #[must_use]
    pub fn parse(word: &str) -> Option<Self> {
        Some(match word {
            "accept" => Self::Accept,
            "decline" => Self::Decline,
            "done" => Self::Done,
            "not-done" | "not_done" => Self::NotDone,
            "cancel" => Self::Cancel,
            _ => return None,
        })
    }
}

/// Who is acting on a mission: a coordinator, or the volunteer themself.
enum Acting {
    Coordinator(Coordinator),
    Volunteer(Box<Volunteer>),
}

fn acting(conn: &Connection, door: Door) -> Result<Acting> {
    if let Door::Account(actor) = door {
        if actor.role() == Role::Volunteer {
            let me = roster::by_account(conn, actor.id)?.ok_or(Error::NoSuchMission)?;
            return Ok(Acting::Volunteer(Box::new(me)));
        }
    }
    coordinator(conn, door).map(Acting::Coordinator)
}

/// Carries out `step` on mission `id` for `door`, with a line in its history.
///
/// # Errors
/// [`Error::NoSuchMission`] (also one this account may not see), [`Error::WrongState`]
/// for a step its state does not allow, the database's failure.
pub async fn step(ops: &Ops, door: Door, id: MissionId, step: Step, note: String) -> Result<MissionState> {
    let now = ops.now();
    let done = change(ops, move |c| {
        let mission = rows::get(c, id)?.ok_or(Error::NoSuchMission)?;
        let who = acting(c, door)?;
        let (by, volunteer, next) = match (&who, step) {
            (Acting::Volunteer(me), Step::Accept | Step::Decline) => {
                if mission.state != MissionState::Offered || !rows::is_offered_to(c, id, me.id)? {
                    return Err(if visible_to(c, &mission, me)? { taken(&mission) } else { Error::NoSuchMission });
                }
                if step == Step::Decline {
                    rows::answer_offers(c, id, me.id, "declined", None)?;
                    rows::note(c, id, None, Some(me.id), "declined", note.trim(), now)?;
                    return Ok(mission.state);
                }
                rows::answer_offers(c, id, me.id, "accepted", Some("taken"))?;
                (None, Some(me.id), MissionState::Accepted)
            }
            (Acting::Volunteer(me), _) => {
                if mission.volunteer != Some(me.id) {
                    return Err(if visible_to(c, &mission, me)? { taken(&mission) } else { Error::NoSuchMission });
                }
                let next = match step {
                    Step::Done => MissionState::Done,
                    Step::NotDone => MissionState::NotDone,
                    _ => MissionState::Proposed,
                };
                (None, if next == MissionState::Proposed { None } else { Some(me.id) }, next)
            }
            (Acting::Coordinator(k), _) => {
                if !k.covers(&mission.line, &mission.postcode) {
                    return Err(Error::NoSuchMission);
                }
                let next = match step {
                    Step::Done => MissionState::Done,
                    Step::NotDone => MissionState::NotDone,
                    Step::Cancel => MissionState::Cancelled,
                    Step::Accept | Step::Decline => {
                        return Err(Error::Invalid("only the volunteer offered a mission accepts or declines it; a coordinator assigns".to_owned()));
                    }
                };
                (k.by(), mission.volunteer, next)
            }
        };
        if !mission.state.may_become(next) {
            return Err(Error::WrongState(format!("mission {id} is {}: it cannot become {next}", mission.state)));
        }
        rows::set_state(c, &mission, next, volunteer, now)?;
        let action = match (step, next) {
            (Step::Cancel, MissionState::Proposed) => "given back",
            _ => next.as_str(),
        };
        let actor_volunteer = if let Acting::Volunteer(me) = &who { Some(me.id) } else { volunteer };
        rows::note(c, id, by, actor_volunteer, action, note.trim(), now)?;
        let told = match next {
            MissionState::NotDone | MissionState::Cancelled => format!("mission {id} {action}: back in the queue"),
            _ => format!("mission {id} {action}"),
        };
        callbacks::note(c, mission.request, by, "mission", &told, now)?;
        Ok(next)
    })
    .await?;
    ops.queue_changed();
    Ok(done)
}

fn taken(mission: &Mission) -> Error {
    Error::WrongState(format!("mission {} is {} and no longer yours to answer", mission.id, mission.state))
}

/// Whether volunteer `me` was ever offered mission `m` (or had it).
fn visible_to(conn: &Connection, m: &Mission, me: &Volunteer) -> Result<bool, StoreError> {
    Ok(m.volunteer == Some(me.id) || rows::was_offered_to(conn, m.id, me.id)?)
}

/// A mission as someone may see it.
#[derive(Debug, Clone)]
pub struct View {
    /// The mission.
    pub mission: Mission,
    /// "4020 Bressoux, Jupille-Sur-Meuse, Liège, Wandre": the neighbourhood.
    pub neighbourhood: String,
    /// The kind of help, in the mission's language.
    pub help: String,
    /// The resident's number and voice message: only for the volunteer who has it.
    pub contact: Option<Contact>,
    /// The history (for coordinators; a volunteer gets none).
    pub history: Vec<MissionEvent>,
}

/// How to reach the resident.
#[derive(Debug, Clone)]
pub struct Contact {
    /// E.164.
    pub phone: Option<String>,
    /// The voice message left on the line.
    pub recording_url: Option<String>,
}

fn view(
    conn: &Connection,
    flows: &crate::flow::Flows,
    m: Mission,
    mine: bool,
    history: bool,
    now: DateTime<Utc>,
) -> Result<View> {
    let neighbourhood = Places::builtin()
        .find(&m.postcode)
        .map_or_else(|_| m.postcode.clone(), crate::domain::places::Postcode::label);
    let help =
        flows.get(&m.line).map_or_else(|| m.help.clone(), |f| f.help_label(&m.help, &m.language).to_owned());
    let contact = if mine && m.state == MissionState::Accepted {
        callbacks::get(conn, m.request, now)?
            .map(|r| Contact { phone: r.phone, recording_url: r.recording_url })
    } else {
        None
    };
    let history = if history { rows::history_of(conn, m.id)? } else { Vec::new() };
    Ok(View { mission: m, neighbourhood, help, contact, history })
}

/// The missions `door` may see in `state`: a coordinator's within their postcodes, a
/// volunteer's own and those offered to them.
///
/// # Errors
/// [`Error::CoordinatorsOnly`] for an agent, the database's failure.
pub async fn list(ops: &Ops, door: Door, state: Option<MissionState>) -> Result<Vec<View>> {
    let (now, flows) = (ops.now(), ops.flows());
    read(ops, move |c| {
        let (filter, me) = match acting(c, door)? {
            Acting::Volunteer(me) => {
                (MissionFilter { state, volunteer: Some(me.id), ..MissionFilter::default() }, Some(me))
            }
            Acting::Coordinator(k) => {
                let all = rows::list(c, &MissionFilter { state, ..MissionFilter::default() })?;
                return all
                    .into_iter()
                    .filter(|m| k.covers(&m.line, &m.postcode))
                    .map(|m| view(c, &flows, m, false, false, now))
                    .collect();
            }
        };
        let mine = rows::list(c, &filter)?;
        mine.into_iter()
            .map(|m| {
                let has_it = me.as_ref().is_some_and(|v| m.volunteer == Some(v.id));
                view(c, &flows, m, has_it, false, now)
            })
            .collect()
    })
    .await
}

/// One mission as `door` may see it: its contact only for the volunteer who has it.
///
/// # Errors
/// [`Error::NoSuchMission`] (also one this account may not see), the database's failure.
pub async fn get(ops: &Ops, door: Door, id: MissionId) -> Result<View> {
    let (now, flows) = (ops.now(), ops.flows());
    read(ops, move |c| {
        let m = rows::get(c, id)?.ok_or(Error::NoSuchMission)?;
        match acting(c, door)? {
            Acting::Volunteer(me) => {
                if !visible_to(c, &m, &me)? {
                    return Err(Error::NoSuchMission);
                }
                let mine = m.volunteer == Some(me.id);
                view(c, &flows, m, mine, false, now)
            }
            Acting::Coordinator(k) => {
                if !k.covers(&m.line, &m.postcode) {
                    return Err(Error::NoSuchMission);
                }
                view(c, &flows, m, false, true, now)
            }
        }
    })
    .await
}

/// Whether `actor` may read the roster and missions as a coordinator.
#[must_use]
pub fn coordinates(actor: Actor) -> bool {
    matches!(actor.role(), Role::Supervisor | Role::Admin | Role::Coordinator)
}

/// One postcode on the coordinators' map.
#[derive(Debug, Clone)]
pub struct Place {
    /// The postcode.
    pub postcode: String,
    /// Its sections, for the legend.
    pub label: String,
    /// Its centre.
    pub point: crate::domain::places::Point,
    /// Active volunteers living there.
    pub volunteers: u32,
    /// Of those, on duty now.
    pub on_duty: u32,
    /// Missions still looking for a volunteer (proposed or offered).
    pub open_missions: u32,
    /// Missions a volunteer has (accepted).
    pub accepted_missions: u32,
}

/// The place of `code` in `places`, added (with nothing counted) on first sight.
fn place_at<'a>(
    places: &'a mut std::collections::BTreeMap<String, Place>,
    code: &str,
) -> Option<&'a mut Place> {
    if !places.contains_key(code) {
        let p = Places::builtin().find(code).ok()?;
        places.insert(
            code.to_owned(),
            Place {
                postcode: code.to_owned(),
                label: p.label(),
                point: p.centre,
                volunteers: 0,
                on_duty: 0,
                open_missions: 0,
                accepted_missions: 0,
            },
        );
    }
    places.get_mut(code)
}

/// Postcodes a map draws even with nobody there: a town's neighbourhoods, not a country's.
const MAP_EMPTY_POSTCODES: usize = 60;

/// Line `line`'s volunteers and live missions by postcode (the default line's when
/// `None`), as `door` may see them, with every postcode the line serves when it serves a
/// town (so that a neighbourhood without anyone shows as such).
///
/// # Errors
/// [`Error::CoordinatorsOnly`], an unknown line, the database's failure.
pub async fn map(ops: &Ops, door: Door, line: Option<&str>) -> Result<Vec<Place>> {
    let flow = super::volunteers::line_of(ops, line)?;
    let served: Vec<String> = if flow.postcodes.len() <= MAP_EMPTY_POSTCODES {
        flow.postcodes.iter().cloned().collect()
    } else {
        Vec::new()
    };
    let line = flow.id.clone();
    read(ops, move |c| {
        let k = coordinator(c, door)?;
        let mut places: std::collections::BTreeMap<String, Place> = std::collections::BTreeMap::new();
        if !k.works_on(&line) {
            return Err(Error::NoSuchLine);
        }
        for code in served.iter().filter(|p| k.covers(&line, p)) {
            place_at(&mut places, code);
        }
        let filter = RosterFilter { line: Some(line.clone()), ..RosterFilter::default() };
        for v in roster::list(c, &filter)? {
            if v.state != VolunteerState::Active || !k.covers(&v.line, &v.profile.postcode) {
                continue;
            }
            if let Some(p) = place_at(&mut places, &v.profile.postcode) {
                p.volunteers += 1;
                p.on_duty += u32::from(v.on_duty);
            }
        }
        for m in rows::list(c, &MissionFilter::default())? {
            if !m.state.is_live() || m.line != line || !k.covers(&m.line, &m.postcode) {
                continue;
            }
            if let Some(p) = place_at(&mut places, &m.postcode) {
                if m.state == MissionState::Accepted {
                    p.accepted_missions += 1;
                } else {
                    p.open_missions += 1;
                }
            }
        }
        Ok(places.into_values().collect())
    })
    .await
}
