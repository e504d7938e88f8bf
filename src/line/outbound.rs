//! The calls the line places itself, from their webhooks (`/voice/out/{id}/…`): what the
//! person rung hears, what their keys do, and the call's end. An offer call asks the
//! volunteer (1 accept, 2 decline, 3 pause their calls for a week) and, once accepted,
//! offers to put them through to the resident; an agent's click-to-call asks the agent to
//! press 1 before the resident is rung, so a voicemail is never put through. Whoever is
//! put through sees the line's number, never the other's.
//!
//! Each webhook moves the call one step on the writer ([`outbound::advance`]); the
//! answer is stored, so a replayed webhook gets it again and changes nothing.

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use crate::domain::places::Places;
use crate::flow::Flow;
use crate::flow::engine::{Action, Speech};
use crate::flow::prompts as p;
use crate::ops::calling;
use crate::ops::keypad::{self, Answer};
use crate::phone::{E164, spell_digits};
use crate::sounds::{Library, Slot};
use crate::store::outbound::{self, Change, Outbound, Purpose, State};
use crate::store::{StoreError, callbacks, missions};
use crate::telephony::Dialect;
use crate::telephony::twiml::{Links, Voices};

/// A webhook of a placed call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    /// The person answered (the call's `Url`).
    Answer,
    /// Keys pressed.
    Gather,
    /// Nothing pressed.
    Silence,
    /// The resident's leg ended.
    Dial,
}

impl Hook {
    /// Reads the last segment of the path.
    #[must_use]
    pub fn from_path(name: &str) -> Option<Self> {
        Some(match name {
            "answer" => Self::Answer,
            "gather" => Self::Gather,
            "silence" => Self::Silence,
            "dial" => Self::Dial,
            _ => return None,
        })
    }
}

/// A webhook of call `id`, read from its parameters.
#[derive(Debug, Clone)]
pub struct Request {
    /// The provider's dialect, from the webhook's route.
    pub dialect: Dialect,
    /// The outbound call (from the URL).
    pub id: i64,
    /// `CallSid`: it must be the call's own.
    pub sid: String,
    /// Which hook.
    pub hook: Hook,
    /// The step carried in the URL (`?s=`), absent on the answer.
    pub step: Option<u32>,
    /// `Digits`.
    pub digits: Option<String>,
    /// `AnsweredBy` (answering-machine detection).
    pub answered_by: Option<String>,
    /// `DialCallStatus`.
    pub dial_status: Option<String>,
    /// Public base URL for the links.
    pub base: String,
    /// When it arrived.
    pub at: DateTime<Utc>,
}

/// Questions asked before the line says goodbye.
const TRIES: u32 = 3;
/// Seconds to wait for a key.
const KEY_TIMEOUT: u8 = 6;
/// Seconds the resident's phone rings.
const RING: u16 = 30;

/// Whether `AnsweredBy` says a machine took the call.
fn is_machine(answered_by: Option<&str>) -> bool {
    answered_by.is_some_and(|a| a.starts_with("machine") || a == "fax")
}

/// What the person rung is told, in the call's language, with the line's voices.
struct Words<'a> {
    flow: &'a Flow,
    language: String,
}

impl Words<'_> {
    /// Prompt `id`, its placeholders filled (then spoken, never its recording).
    fn say(&self, id: &str, fill: &[(&str, &str)]) -> Speech {
        let text = self.flow.text(id, &self.language).unwrap_or_default();
        if crate::flow::prompts::is_dynamic(text) {
            let mut text = text.to_owned();
            for (name, value) in fill {
                text = text.replace(&format!("{{{name}}}"), value);
            }
            Speech { text, language: self.language.clone(), prompt: None }
        } else {
            Speech { text: text.to_owned(), language: self.language.clone(), prompt: Some(id.to_owned()) }
        }
    }

    fn goodbye(&self, id: &str) -> Vec<Action> {
        vec![Action::Say(self.say(id, &[])), Action::Hangup]
    }
}

/// A question answered with one key.
fn ask(speech: Vec<Speech>) -> Action {
    Action::Gather { speech, num_digits: Some(1), finish_on_key: None, timeout: KEY_TIMEOUT }
}

/// The turn a webhook gives: what is said and the call's next state.
struct Turn {
    actions: Vec<Action>,
    state: State,
    outcome: Option<&'static str>,
    tries: u32,
    bridged: bool,
}

impl Turn {
    fn to(state: State, actions: Vec<Action>) -> Self {
        Self { actions, state, outcome: None, tries: 0, bridged: false }
    }

    fn ending(outcome: &'static str, actions: Vec<Action>) -> Self {
        Self { actions, state: State::Ended, outcome: Some(outcome), tries: 0, bridged: false }
    }

    fn with(mut self, outcome: &'static str) -> Self {
        self.outcome = Some(outcome);
        self
    }
}

/// Answers a webhook of a placed call; returns the TwiML.
///
/// # Errors
/// Any store failure; the person then hears the apology.
pub fn handle(
    conn: &Connection,
    flows: &crate::flow::Flows,
    sounds: &Library,
    req: &Request,
) -> Result<String, StoreError> {
    let hang_up = || Ok(req.dialect.hang_up());
    let Some(call) = outbound::get(conn, req.id)? else { return hang_up() };
    match &call.sid {
        Some(sid) if *sid != req.sid => {
            tracing::warn!(placed = call.id, "webhook of a placed call from another call: refused");
            return hang_up();
        }
        // A call recovered after a crash learns its id from its first webhook.
        None => outbound::learn_sid(conn, call.id, &req.sid)?,
        Some(_) => {}
    }
    let carried = match req.hook {
        Hook::Answer => 0,
        _ => req.step.unwrap_or(call.step),
    };
    if carried + 1 == call.step {
        if let Some(previous) = &call.response {
            tracing::info!(placed = call.id, step = carried, "replayed webhook: same answer again");
            return Ok(previous.clone());
        }
    }
    let Some(flow) = flows.get(&call.line) else { return hang_up() };
    if carried != call.step || !call.state.is_live() {
        return hang_up();
    }
    let turn = match call.purpose {
        Purpose::Offer => offer_turn(conn, flow, &call, req)?,
        Purpose::Agent => agent_turn(conn, flow, &call, req)?,
        Purpose::Desk => desk_turn(conn, flow, &call, req)?,
    };
    let body = req.dialect.render(
        &turn.actions,
        Voices {
            voice: &|lang| flow.voice(lang),
            recording: &|lang, prompt| sounds.url(&req.base, Slot::new(&flow.id, lang, prompt)),
        },
        Links { base: &req.base, step: call.step + 1, placed: Some(call.id), prefix: req.dialect.prefix() },
    );
    let change = Change {
        state: turn.state,
        outcome: turn.outcome,
        response: &body,
        tries: turn.tries,
        bridged: turn.bridged,
        answered: req.hook == Hook::Answer && !is_machine(req.answered_by.as_deref()),
        at: req.at,
    };
    outbound::advance(conn, call.id, call.step, &change)?;
    tracing::debug!(placed = call.id, step = call.step, state = turn.state.as_str(), "placed call step");
    Ok(body)
}

/// The resident's number: request `id`'s.
fn resident(
    conn: &Connection,
    id: Option<crate::domain::RequestId>,
    at: DateTime<Utc>,
) -> Result<Option<E164>, StoreError> {
    let Some(id) = id else { return Ok(None) };
    Ok(callbacks::get(conn, id, at)?.and_then(|r| r.phone).and_then(|n| E164::from_e164(&n).ok()))
}

fn put_through(words: &Words<'_>, flow: &Flow, resident: E164) -> Vec<Action> {
    vec![
        Action::Say(words.say(p::PUTTING_THROUGH, &[])),
        Action::Dial { number: resident, timeout: RING, caller_id: calling::line_number(flow).cloned() },
    ]
}

/// The resident's leg ended with `DialCallStatus` `status`: put through (then `done`
/// is said), or `unanswered`.
fn dial_ended(words: &Words<'_>, status: &str, done: &str, unanswered: Turn) -> Turn {
    if status == "completed" {
        let mut turn = Turn::ending("bridged", words.goodbye(done));
        turn.bridged = true;
        turn
    } else {
        unanswered
    }
}

/// A volunteer's leg to the resident ended: noted in the mission's history.
fn volunteer_dialled(
    conn: &Connection,
    words: &Words<'_>,
    call: &Outbound,
    req: &Request,
) -> Result<Turn, StoreError> {
    let status = req.dial_status.as_deref().unwrap_or("failed");
    keypad::volunteer_put_through(conn, call, status, req.at)?;
    let unanswered = Turn::to(State::Ended, words.goodbye(p::PUT_THROUGH_FAILED));
    Ok(dial_ended(words, status, p::PUT_THROUGH_DONE, unanswered))
}

/// A question not answered: asked again, or goodbye after [`TRIES`].
fn again(call: &Outbound, question: Action, gave_up: impl FnOnce() -> Turn) -> Turn {
    if call.tries + 1 >= TRIES {
        return gave_up();
    }
    let mut turn = Turn::to(call.state, vec![question]);
    turn.tries = call.tries + 1;
    turn
}

fn offer_turn(conn: &Connection, flow: &Flow, call: &Outbound, req: &Request) -> Result<Turn, StoreError> {
    let mission = match call.mission {
        Some(m) => missions::get(conn, m)?,
        None => None,
    };
    let Some(mission) = mission else { return Ok(Turn::ending("taken", vec![Action::Hangup])) };
    let words = Words { flow, language: mission.language.clone() };
    let neighbourhood = Places::builtin()
        .find(&mission.postcode)
        .map_or_else(|_| mission.postcode.clone(), crate::domain::places::Postcode::label);
    let help = flow.help_label(&mission.help, &mission.language).to_owned();
    let offer = ask(vec![
        words.say(
            p::OFFER_INTRO,
            &[("line", &flow.file.line.name), ("place", &neighbourhood), ("help", &help)],
        ),
        words.say(p::OFFER_KEYS, &[]),
    ]);
    let accepted = ask(vec![words.say(p::OFFER_ACCEPTED, &[])]);
    let taken = || Turn::ending("taken", words.goodbye(p::OFFER_TAKEN));
    let digits = req.digits.as_deref().map(str::trim);
    Ok(match (call.state, req.hook) {
        (_, Hook::Answer) if is_machine(req.answered_by.as_deref()) => {
            keypad::turned_down(conn, call, "machine", req.at)?;
            Turn::ending("machine", vec![Action::Hangup])
        }
        (_, Hook::Answer) => {
            if keypad::still_offered(conn, call)? {
                Turn::to(State::Answered, vec![offer])
            } else {
                keypad::turned_down(conn, call, "taken", req.at)?;
                taken()
            }
        }
        (State::Answered, Hook::Gather) if digits == Some("1") => match keypad::accept(conn, call, req.at)? {
            Answer::Accepted => Turn::to(State::Accepted, vec![accepted]).with("accepted"),
            Answer::Taken => taken(),
        },
        (State::Answered, Hook::Gather) if digits == Some("2") => {
            keypad::turned_down(conn, call, "declined", req.at)?;
            Turn::ending("declined", words.goodbye(p::OFFER_DECLINED))
        }
        (State::Answered, Hook::Gather) if digits == Some("3") => {
            keypad::turned_down(conn, call, "paused", req.at)?;
            Turn::ending("paused", words.goodbye(p::OFFER_PAUSED))
        }
        (State::Answered, Hook::Gather | Hook::Silence) => {
            if !keypad::still_offered(conn, call)? {
                keypad::turned_down(conn, call, "taken", req.at)?;
                return Ok(taken());
            }
            let gave_up = || Turn::ending("no-input", words.goodbye(p::CALL_GOODBYE));
            let turn = again(call, offer, gave_up);
            if turn.state == State::Ended {
                keypad::turned_down(conn, call, "no-input", req.at)?;
            }
            turn
        }
        (State::Accepted, Hook::Gather) if digits == Some("1") => match resident(conn, call.request, req.at)?
        {
            Some(number) => Turn::to(State::Accepted, put_through(&words, flow, number)),
            None => Turn::to(State::Ended, words.goodbye(p::PUT_THROUGH_FAILED)),
        },
        (State::Accepted, Hook::Gather | Hook::Silence) => {
            again(call, accepted, || Turn::to(State::Ended, words.goodbye(p::CALL_GOODBYE)))
        }
        (State::Accepted, Hook::Dial) => volunteer_dialled(conn, &words, call, req)?,
        _ => Turn::to(call.state, vec![Action::Hangup]),
    })
}

fn agent_turn(conn: &Connection, flow: &Flow, call: &Outbound, req: &Request) -> Result<Turn, StoreError> {
    let words = Words { flow, language: flow.default_language().to_owned() };
    let number = call.request.map(|r| spell_digits(&r.0.to_string())).unwrap_or_default();
    let question = ask(vec![words.say(p::AGENT_CALL, &[("request", &number)])]);
    let digits = req.digits.as_deref().map(str::trim);
    Ok(match (call.state, req.hook) {
        (_, Hook::Answer) => Turn::to(State::Answered, vec![question]),
        (State::Answered, Hook::Gather) if digits == Some("1") => match resident(conn, call.request, req.at)?
        {
            Some(number) => Turn::to(State::Accepted, put_through(&words, flow, number)),
            None => Turn::ending("no-number", words.goodbye(p::CALL_GOODBYE)),
        },
        (State::Answered, Hook::Gather | Hook::Silence) => {
            again(call, question, || Turn::ending("no-input", words.goodbye(p::CALL_GOODBYE)))
        }
        (State::Accepted, Hook::Dial) => {
            let status = req.dial_status.as_deref().unwrap_or("failed");
            keypad::agent_put_through(conn, call, status, req.at)?;
            dial_ended(
                &words,
                status,
                p::CALL_GOODBYE,
                Turn::ending("resident unanswered", words.goodbye(p::AGENT_UNANSWERED)),
            )
        }
        _ => Turn::to(call.state, vec![Action::Hangup]),
    })
}

/// A volunteer calling the line: their missions in hand, one at a time, with what they
/// can do about it.
fn desk_turn(conn: &Connection, flow: &Flow, call: &Outbound, req: &Request) -> Result<Turn, StoreError> {
    let Some(v) = call.volunteer else { return Ok(Turn::to(State::Ended, vec![Action::Hangup])) };
    let mine = keypad::missions_in_hand(conn, v)?;
    let current = mine.iter().position(|m| Some(m.id) == call.mission);
    let language = mine.first().map_or_else(|| flow.default_language().to_owned(), |m| m.language.clone());
    let words = Words { flow, language };
    let menu = |at: usize, welcome: bool| -> Action {
        let m = &mine[at];
        let place = Places::builtin()
            .find(&m.postcode)
            .map_or_else(|_| m.postcode.clone(), crate::domain::places::Postcode::label);
        let number = spell_digits(&m.id.0.to_string());
        let mut speech = Vec::new();
        if welcome {
            speech.push(words.say(p::VOLUNTEER_WELCOME, &[("line", &flow.file.line.name)]));
        }
        speech.push(words.say(
            p::VOLUNTEER_MISSION,
            &[("mission", &number), ("help", flow.help_label(&m.help, &m.language)), ("place", &place)],
        ));
        speech.push(words.say(p::VOLUNTEER_KEYS, &[]));
        ask(speech)
    };
    // After a report or "next": the following mission, or goodbye when none is left.
    let move_to = |after: Option<usize>, reported: bool| -> Result<Turn, StoreError> {
        let remaining: Vec<usize> = (0..mine.len()).filter(|&i| Some(i) != after || !reported).collect();
        let next = match after {
            Some(i) => remaining.iter().copied().find(|&j| j > i).or_else(|| remaining.first().copied()),
            None => remaining.first().copied(),
        };
        let mut actions = Vec::new();
        if reported {
            actions.push(Action::Say(words.say(p::VOLUNTEER_REPORTED, &[])));
        }
        match next {
            Some(j) if Some(j) != after || !reported => {
                outbound::set_mission(conn, call.id, mine[j].id)?;
                actions.push(menu(j, false));
                Ok(Turn::to(State::Answered, actions))
            }
            _ => {
                actions.extend(words.goodbye(p::CALL_GOODBYE));
                Ok(Turn::ending("reported", actions))
            }
        }
    };
    let digits = req.digits.as_deref().map(str::trim);
    let Some(at) = current else {
        // The mission talked about was closed meanwhile (by a coordinator).
        return move_to(None, false);
    };
    Ok(match (call.state, req.hook) {
        (_, Hook::Answer) => Turn::to(State::Answered, vec![menu(at, true)]),
        (State::Answered, Hook::Gather) if digits == Some("1") => {
            match resident(conn, Some(mine[at].request), req.at)? {
                Some(number) => Turn::to(State::Accepted, put_through(&words, flow, number)),
                None => Turn::to(State::Answered, vec![menu(at, false)]),
            }
        }
        (State::Answered, Hook::Gather) if matches!(digits, Some("2" | "3")) => {
            let done = digits == Some("2");
            let reported = keypad::report(conn, call, done, req.at)?;
            move_to(Some(at), reported)?
        }
        (State::Answered, Hook::Gather) if digits == Some("4") => move_to(Some(at), false)?,
        (State::Answered, Hook::Gather) if digits == Some("0") => {
            // The line's usual menu, from its start, for the same call.
            let mut turn = Turn::ending("menu", Vec::new());
            turn.actions.push(Action::Redirect(format!("{}{}/incoming", req.base, req.dialect.prefix())));
            turn
        }
        (State::Answered, Hook::Gather | Hook::Silence) => {
            again(call, menu(at, false), || Turn::ending("no-input", words.goodbye(p::CALL_GOODBYE)))
        }
        (State::Accepted, Hook::Dial) => volunteer_dialled(conn, &words, call, req)?,
        _ => Turn::to(call.state, vec![Action::Hangup]),
    })
}

/// Answers a volunteer's call to the line (`sid`, from `caller`) with their own menu when
/// they have missions in hand, in the call's dialect with links from its base URL
/// (`answer`); `None` for anyone else. The call itself is stored already.
///
/// # Errors
/// Any store failure.
pub fn desk(
    conn: &Connection,
    flows: &crate::flow::Flows,
    sounds: &Library,
    flow: &Flow,
    call: (&str, &E164),
    answer: (Dialect, &str),
    at: DateTime<Utc>,
) -> Result<Option<String>, StoreError> {
    let (dialect, base) = answer;
    let (sid, caller) = call;
    let Some((v, mine)) = keypad::recognise(conn, &flow.id, caller)? else { return Ok(None) };
    let id = outbound::insert_desk(conn, &flow.id, v, mine[0].id, caller.as_str(), sid, at)?;
    crate::store::calls::set_outcome(conn, sid, "volunteer")?;
    tracing::info!(call = %sid, volunteer = v.0, missions = mine.len(), "a volunteer calls about their missions");
    let req = Request {
        dialect,
        id,
        sid: sid.to_owned(),
        hook: Hook::Answer,
        step: None,
        digits: None,
        answered_by: None,
        dial_status: None,
        base: base.to_owned(),
        at,
    };
    handle(conn, flows, sounds, &req).map(Some)
}

/// The line's status callback for call `sid`: a volunteer's call to the line ends too.
///
/// # Errors
/// Any store failure.
pub fn ended_by_sid(
    conn: &Connection,
    sid: &str,
    call_status: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    if !crate::telephony::twiml::is_final_status(call_status) {
        return Ok(());
    }
    if let Some(call) = outbound::by_sid(conn, sid)? {
        calling::ended(conn, &call, call_status, at)?;
    }
    Ok(())
}

/// The provider's status callback for call `id`: a final `CallStatus` ends it. Returns
/// whether that changed anything (a round may be over).
///
/// # Errors
/// Any store failure.
pub fn status(
    conn: &Connection,
    id: i64,
    sid: &str,
    call_status: &str,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    if !crate::telephony::twiml::is_final_status(call_status) {
        // A provider that did not name the call when it took it names it now (Telnyx's
        // `initiated`), so that it can be cancelled while it rings.
        outbound::learn_sid(conn, id, sid)?;
        return Ok(false);
    }
    match outbound::get(conn, id)? {
        // Another call's status says nothing of this one.
        Some(call) if call.sid.as_deref().is_some_and(|own| own != sid) => {
            tracing::warn!(placed = id, "status of a placed call from another call: ignored");
            Ok(false)
        }
        Some(call) => calling::ended(conn, &call, call_status, at),
        None => Ok(false),
    }
}
