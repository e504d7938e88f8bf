//! The line: one voice webhook from start to end, whatever the provider. The calls in
//! progress are kept in memory as stored ([`LiveCalls`]): for the next step of a known call, [`plan`] runs the engine and
//! renders the TwiML on the async workers, and [`apply`] only logs the step and saves the
//! state on the writer — if the stored call is still at that step, else the webhook is
//! handled in full from the database ([`handle`]). A step that registers a request runs
//! its registration inside the writer's transaction, which commits (and is flushed)
//! before the answer leaves: a caller never hears "registered" for a request that is not
//! on disk. Each step's answer is stored, so a replayed webhook gets the same answer and
//! changes nothing.

pub mod live;
pub mod outbound;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use rusqlite::Connection;

pub use live::{Known, Live, LiveCalls};

use crate::flow::engine::{self, Action, Effect, Event, Turn};
use crate::flow::{Flow, Flows, Registers};
use crate::ops::queue;
use crate::phone::{E164, mask, spell_digits};
use crate::sounds::{Library, Slot};
use crate::store::calls::{self, NewCall, StepRecord};
use crate::store::{StoreError, atomically};
use crate::telephony::Dialect;
use crate::telephony::twiml::{Links, Voices};

/// Which webhook arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    /// `POST /voice/incoming`: a call arrives.
    Incoming,
    /// A `<Gather>` action: keys pressed.
    Gather,
    /// The `<Redirect>` after a `<Gather>` or `<Record>`: nothing was pressed or said.
    Silence,
    /// A `<Dial>` action: the transfer ended.
    Dial,
    /// A `<Record>` action: the message was recorded.
    Record,
}

impl Hook {
    /// Reads the last segment of a webhook path.
    #[must_use]
    pub fn from_path(name: &str) -> Option<Self> {
        Some(match name {
            "incoming" => Self::Incoming,
            "gather" => Self::Gather,
            "silence" => Self::Silence,
            "dial" => Self::Dial,
            "record" => Self::Record,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Self::Incoming => "incoming",
            Self::Gather => "gather",
            Self::Silence => "silence",
            Self::Dial => "dial",
            Self::Record => "record",
        }
    }
}

/// A voice webhook, read from its parameters.
#[derive(Debug, Clone)]
pub struct Request {
    /// The provider's dialect, from the webhook's route.
    pub dialect: Dialect,
    /// Which hook.
    pub hook: Hook,
    /// CallSid, already checked.
    pub sid: String,
    /// The step carried in the URL (`?s=`), absent on `/voice/incoming`.
    pub step: Option<u32>,
    /// `From`, as sent.
    pub from: String,
    /// The caller ID read from `From` (parsed before the request reaches the writer).
    pub caller: Option<E164>,
    /// `To`, as sent.
    pub to: String,
    /// `CallStatus`, as sent.
    pub status: String,
    /// What the caller did (absent on `/voice/incoming`).
    pub event: Option<Event>,
    /// Public base URL for the links in the answer.
    pub base: String,
    /// When it arrived (for a trial, the time it pretends to be).
    pub at: DateTime<Utc>,
    /// A supervisor trying the line from the console: the same steps, but what they would
    /// register is discarded, the call counts nowhere, and a volunteer's number does not
    /// open their missions' menu.
    pub trial: bool,
}

/// The answer to a webhook.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The answer, in the call's dialect.
    pub body: String,
    /// A callback request was registered (the queue changed).
    pub registered: bool,
    /// The call as stored after this webhook.
    pub known: Option<Known>,
    /// For a trial: what the answer does, as the engine said it (none for a replay).
    pub actions: Option<Vec<Action>>,
    /// For a trial: what would have been registered, discarded.
    pub discarded: Vec<Discarded>,
}

impl Reply {
    fn said(body: String, actions: Option<Vec<Action>>) -> Self {
        Self { body, registered: false, known: None, actions, discarded: Vec::new() }
    }
}

/// What a trial call would have registered, shown to the supervisor and discarded.
#[derive(Debug, Clone)]
pub struct Discarded {
    /// The number it would have had (the next real request may take it).
    pub id: i64,
    /// A volunteer's sign-up rather than a callback request.
    pub volunteer: bool,
    /// What the caller left.
    pub draft: engine::CallbackDraft,
}

/// How a webhook will be handled, decided on the async workers from what is known of
/// the call.
#[derive(Debug)]
pub enum Plan {
    /// Everything on the writer, from the stored call: a call this process has not seen
    /// (or has forgotten), a replayed webhook, a line that is gone.
    Full,
    /// A new call: its first answer, computed.
    Start {
        /// The engine's turn.
        turn: Turn,
        /// The TwiML, when the turn stores nothing it must refer to.
        body: Option<String>,
    },
    /// The next step of a known call, computed.
    Step {
        /// The call's flow id.
        line: String,
        /// The engine's turn.
        turn: Turn,
        /// The step the stored call must still be at.
        expected: u32,
        /// The TwiML, when the turn stores nothing it must refer to.
        body: Option<String>,
    },
}

/// Decides how to handle a webhook and, when the call is new or known, runs the engine
/// and renders the answer (off the writer).
#[must_use]
pub fn plan(flows: &Flows, sounds: &Library, known: Option<&Known>, req: &Request) -> Plan {
    match (known, req.hook, &req.event) {
        (None, Hook::Incoming, _) => {
            let flow = flows.for_called(&req.to);
            let turn = engine::start(flow, req.caller.clone(), req.at);
            let body = turn.effects.is_empty().then(|| render(flow, sounds, req, &turn));
            Plan::Start { turn, body }
        }
        (Some(call), hook, Some(event)) if hook != Hook::Incoming => {
            let expected = call.state.step;
            if req.step.is_some_and(|carried| carried != expected) {
                return Plan::Full;
            }
            let Some(flow) = flows.get(&call.line) else { return Plan::Full };
            let turn = engine::advance(flow, call.state.clone(), event, req.at);
            let body = turn.effects.is_empty().then(|| render(flow, sounds, req, &turn));
            Plan::Step { line: call.line.clone(), turn, expected, body }
        }
        _ => Plan::Full,
    }
}

/// Runs a [`Plan`] inside the writer's transaction; returns the TwiML to answer. A plan
/// made from memory that no longer matches the stored call (another process wrote it,
/// a replay after a restart) is dropped and the webhook handled in full. Whatever fails
/// leaves nothing behind: a new call, or the next step of a known one, that registers
/// nothing writes its log row and then its call's row (and removes the log row if the
/// call's cannot be written); everything else runs in a savepoint.
///
/// # Errors
/// Any store failure; the caller answers with the apology instead.
pub fn apply(
    conn: &Connection,
    flows: &Flows,
    sounds: &Library,
    req: &Request,
    plan: Plan,
) -> Result<Reply, StoreError> {
    match plan {
        // An answer ready means nothing to register: two rows, no savepoint.
        Plan::Step { line, turn, expected, body: Some(body) } => {
            match flows.get(&line).map(|flow| {
                finish_if_still_at(conn, Answer { flow, sounds, req }, turn, expected, Some(body))
            }) {
                Some(Err(StoreError::Stale)) | None => {
                    atomically(conn, |conn| handle(conn, flows, sounds, req))
                }
                Some(done) => done,
            }
        }
        Plan::Start { turn, body } => start(conn, flows, sounds, req, turn, body),
        plan => atomically(conn, |conn| apply_in_full(conn, flows, sounds, req, plan)),
    }
}

/// A new call. The usual one, whose first answer registers nothing and which is neither
/// to an ended line nor from a volunteer with missions, is stored as two rows, its first
/// answer's log row then the call's, with no savepoint (one cost a tenth of the whole
/// webhook); any other, or one whose row exists already, in full.
fn start(
    conn: &Connection,
    flows: &Flows,
    sounds: &Library,
    req: &Request,
    turn: Turn,
    body: Option<String>,
) -> Result<Reply, StoreError> {
    let flow = flows.for_called(&req.to);
    if let Some(number) = req.caller.as_ref().filter(|_| !req.trial) {
        warn_on_repeated_calls(conn, number, req.at)?;
    }
    if !turn.effects.is_empty() || special(conn, flow, req)?.is_some() {
        return atomically(conn, |conn| start_in_full(conn, flows, sounds, req, turn, body));
    }
    let (turn, body) = with_notice(conn, flow, turn, body, req.at)?;
    let call = new_call(flow, req, req.caller.as_ref());
    match store_turn(conn, Answer { flow, sounds, req }, turn, 0, body, Save::New(&call)) {
        Err(StoreError::Stale) => atomically(conn, |conn| {
            // The same first turn again: the engine's start depends on nothing else.
            let turn = engine::start(flow, req.caller.clone(), req.at);
            start_in_full(conn, flows, sounds, req, turn, None)
        }),
        done => done,
    }
}

/// A new call stored, then answered, in the savepoint [`apply`] opened.
fn start_in_full(
    conn: &Connection,
    flows: &Flows,
    sounds: &Library,
    req: &Request,
    turn: Turn,
    body: Option<String>,
) -> Result<Reply, StoreError> {
    let flow = flows.for_called(&req.to);
    if !calls::insert(conn, &new_call(flow, req, req.caller.as_ref()), &turn.state)? {
        return handle(conn, flows, sounds, req);
    }
    if let Some(reply) = special_call(conn, flows, sounds, flow, req)? {
        return Ok(reply);
    }
    let (turn, body) = with_notice(conn, flow, turn, body, req.at)?;
    finish(conn, Answer { flow, sounds, req }, turn, 0, body)
}

/// A new call that does not start the menus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Special {
    /// To a line whose service has ended.
    Ended,
    /// From a volunteer with missions in hand. A trial is never one: it would act on them.
    Volunteer,
}

/// Which [`Special`] call this new call is, if any: read only, so that it can be asked
/// before the call is stored.
fn special(conn: &Connection, flow: &Flow, req: &Request) -> Result<Option<Special>, StoreError> {
    if flow.end_of_service().is_some() && crate::store::lines::is_ended(conn, &flow.id, req.at)? {
        return Ok(Some(Special::Ended));
    }
    match req.caller.as_ref().filter(|_| !req.trial) {
        Some(caller) if crate::ops::keypad::recognise(conn, &flow.id, caller)?.is_some() => {
            Ok(Some(Special::Volunteer))
        }
        _ => Ok(None),
    }
}

fn apply_in_full(
    conn: &Connection,
    flows: &Flows,
    sounds: &Library,
    req: &Request,
    plan: Plan,
) -> Result<Reply, StoreError> {
    match plan {
        Plan::Full => handle(conn, flows, sounds, req),
        Plan::Start { turn, body } => start_in_full(conn, flows, sounds, req, turn, body),
        // A step that registers a request: checked before it does.
        Plan::Step { line, turn, expected, body } => match flows.get(&line) {
            Some(flow) if calls::expected_step(conn, &req.sid)? == Some(expected) => {
                finish(conn, Answer { flow, sounds, req }, turn, expected, body)
            }
            _ => handle(conn, flows, sounds, req),
        },
    }
}

/// Handles one webhook from the stored call alone (see [`Plan::Full`]).
///
/// # Errors
/// Any store failure; the caller answers with the apology instead.
pub fn handle(
    conn: &Connection,
    flows: &Flows,
    sounds: &Library,
    req: &Request,
) -> Result<Reply, StoreError> {
    let stored = calls::find(conn, &req.sid)?;
    let flow = stored
        .as_ref()
        .filter(|c| !c.placeholder)
        .and_then(|c| flows.get(&c.line))
        .unwrap_or_else(|| flows.for_called(&req.to));
    match stored {
        Some(call) if !call.placeholder && call.dialect != req.dialect.name() => {
            tracing::warn!(call = %req.sid, stored = %call.dialect, came = req.dialect.name(), "a call's webhook from another provider's route: hung up");
            Ok(Reply::said(req.dialect.hang_up(), None))
        }
        Some(call) if !call.placeholder => {
            let expected = call.state.step;
            let carried = match req.hook {
                Hook::Incoming => 0,
                _ => req.step.unwrap_or(expected),
            };
            if carried < expected {
                if let Some(previous) = calls::response_of(conn, &call, &req.sid, carried)? {
                    tracing::info!(call = %req.sid, step = carried, "replayed webhook: same answer again");
                    let known = Known { line: flow.id.clone(), state: call.state };
                    return Ok(Reply { known: Some(known), ..Reply::said(previous, None) });
                }
            }
            let turn = match (&req.event, carried == expected) {
                (Some(event), true) => engine::advance(flow, call.state, event, req.at),
                _ => engine::repeat(flow, call.state, req.at),
            };
            finish(conn, Answer { flow, sounds, req }, turn, expected, None)
        }
        _ => {
            let caller = req.caller.clone();
            if let Some(number) = caller.as_ref().filter(|_| !req.trial) {
                warn_on_repeated_calls(conn, number, req.at)?;
            }
            let turn = engine::start(flow, caller.clone(), req.at);
            calls::insert(conn, &new_call(flow, req, caller.as_ref()), &turn.state)?;
            if let Some(reply) = special_call(conn, flows, sounds, flow, req)? {
                return Ok(reply);
            }
            let (turn, _) = with_notice(conn, flow, turn, None, req.at)?;
            finish(conn, Answer { flow, sounds, req }, turn, 0, None)
        }
    }
}

/// The first turn of a call, after the line's notice when one is on (said in every
/// language of the line; its answer then rendered again).
fn with_notice(
    conn: &Connection,
    flow: &Flow,
    mut turn: engine::Turn,
    body: Option<String>,
    at: DateTime<Utc>,
) -> Result<(engine::Turn, Option<String>), StoreError> {
    let Some(texts) = crate::store::lines::notice_at(conn, &flow.id, at)? else { return Ok((turn, body)) };
    let mut actions: Vec<Action> = flow
        .languages
        .iter()
        .filter_map(|lang| texts.get(lang).map(|text| (lang, text)))
        .map(|(lang, text)| {
            Action::Say(engine::Speech { text: text.clone(), language: lang.clone(), prompt: None })
        })
        .collect();
    actions.append(&mut turn.actions);
    turn.actions = actions;
    Ok((turn, None))
}

/// A new call that does not start the menus: to a line whose service has ended (its
/// message in every language, then its transfer if any), or from a volunteer with
/// missions in hand (their own menu, [`outbound::desk`], whose later webhooks are under
/// `/voice/out/`). The call is stored already.
fn special_call(
    conn: &Connection,
    flows: &Flows,
    sounds: &Library,
    flow: &Flow,
    req: &Request,
) -> Result<Option<Reply>, StoreError> {
    let ended = match special(conn, flow, req)? {
        None => return Ok(None),
        Some(Special::Volunteer) => {
            let Some(caller) = req.caller.as_ref() else { return Ok(None) };
            let body = outbound::desk(
                conn,
                flows,
                sounds,
                flow,
                (&req.sid, caller),
                (req.dialect, &req.base),
                req.at,
            )?;
            return Ok(body.map(|body| Reply::said(body, None)));
        }
        Some(Special::Ended) => flow.end_of_service(),
    };
    let Some((prompt, then)) = ended else { return Ok(None) };
    let speech: Vec<engine::Speech> = flow
        .languages
        .iter()
        .map(|lang| engine::Speech {
            text: flow.text(prompt, lang).unwrap_or_default().to_owned(),
            language: lang.clone(),
            prompt: Some(prompt.to_owned()),
        })
        .collect();
    let voices = Voices {
        voice: &|lang| flow.voice(lang),
        recording: &|lang, prompt| sounds.url(&req.base, Slot::new(&flow.id, lang, prompt)),
    };
    calls::set_outcome(conn, &req.sid, "informed")?;
    tracing::info!(call = %req.sid, line = %flow.id, "a call to a line whose service has ended");
    let body = req.dialect.announce(&speech, voices, then);
    let actions = req.trial.then(|| {
        let then = match then {
            Some(number) => Action::Dial { number: number.clone(), timeout: 30, caller_id: None },
            None => Action::Hangup,
        };
        speech.into_iter().map(Action::Say).chain([then]).collect()
    });
    Ok(Some(Reply::said(body, actions)))
}

fn new_call<'a>(flow: &'a Flow, req: &'a Request, caller: Option<&'a E164>) -> NewCall<'a> {
    NewCall {
        sid: &req.sid,
        line: &flow.id,
        caller,
        called: &req.to,
        status: &req.status,
        dialect: req.dialect.name(),
        at: req.at,
        day: req.at.with_timezone(&flow.schedule.timezone()).date_naive().to_string(),
        open: flow.schedule.is_open(req.at),
        trial: req.trial,
    }
}

fn render(flow: &Flow, sounds: &Library, req: &Request, turn: &Turn) -> String {
    req.dialect.render(
        &turn.actions,
        Voices {
            voice: &|lang| flow.voice(lang),
            recording: &|lang, prompt| sounds.url(&req.base, Slot::new(&flow.id, lang, prompt)),
        },
        Links { base: &req.base, step: turn.state.step, placed: None, prefix: req.dialect.prefix() },
    )
}

/// Where a turn is answered: the call's flow, the recordings in force, the webhook.
#[derive(Clone, Copy)]
struct Answer<'a> {
    flow: &'a Arc<Flow>,
    sounds: &'a Library,
    req: &'a Request,
}

/// Stores what a turn asks for, logs step `step` and saves the state.
fn finish(
    conn: &Connection,
    to: Answer<'_>,
    turn: Turn,
    step: u32,
    body: Option<String>,
) -> Result<Reply, StoreError> {
    store_turn(conn, to, turn, step, body, Save::State { expected: None })
}

/// As [`finish`], only if the stored call is still at step `step`
/// ([`StoreError::Stale`] otherwise, the log row removed): the next step of a call
/// computed from memory, outside a savepoint.
fn finish_if_still_at(
    conn: &Connection,
    to: Answer<'_>,
    turn: Turn,
    step: u32,
    body: Option<String>,
) -> Result<Reply, StoreError> {
    store_turn(conn, to, turn, step, body, Save::State { expected: Some(step) })
}

/// How [`store_turn`] saves the call after logging its step.
#[derive(Clone, Copy)]
enum Save<'a> {
    /// The stored call's state updated; with `expected`, only if it is still at that step.
    State { expected: Option<u32> },
    /// A new call's row written, only if none exists.
    New(&'a NewCall<'a>),
}

fn store_turn(
    conn: &Connection,
    to: Answer<'_>,
    mut turn: Turn,
    step: u32,
    body: Option<String>,
    save: Save<'_>,
) -> Result<Reply, StoreError> {
    let Answer { flow, sounds, req } = to;
    let mut discarded = Vec::new();
    for effect in &turn.effects {
        let Effect::RegisterCallback(draft) = effect;
        let id = if req.trial {
            // The same registration as a real call's, undone: the queue never sees it.
            let id = crate::store::discarded(conn, |conn| register(conn, flow, req, draft))?;
            tracing::info!(call = %req.sid, number = id, "a trial call's registration discarded");
            discarded.push(Discarded {
                id,
                volunteer: draft.registers == Registers::Volunteer,
                draft: draft.clone(),
            });
            id
        } else {
            register(conn, flow, req, draft)?
        };
        fill_request_number(&mut turn.actions, id);
    }
    let body = body.unwrap_or_else(|| render(flow, sounds, req, &turn));
    let input = describe(req);
    let event = calls::insert_event(
        conn,
        &StepRecord {
            sid: &req.sid,
            step,
            kind: req.hook.name(),
            node: &turn.node,
            input: &input,
            result: &turn.result,
            at: req.at,
            response: &body,
        },
    )?;
    let saved = match save {
        Save::State { expected } => calls::save_state(conn, &req.sid, &turn.state, req.at, event, expected),
        Save::New(call) => calls::insert_answered(conn, call, &turn.state, event),
    };
    match saved {
        Ok(true) => {}
        Ok(false) => {
            calls::forget_event(conn, event)?;
            return Err(StoreError::Stale);
        }
        Err(e) => {
            // Outside a savepoint, the log row would outlive the failed step.
            let _ = calls::forget_event(conn, event);
            return Err(e);
        }
    }
    tracing::debug!(call = %req.sid, step, node = %turn.node, input = %input, result = %turn.result, "step");
    let registered = !turn.effects.is_empty() && !req.trial;
    let actions = req.trial.then(|| std::mem::take(&mut turn.actions));
    let known = Known { line: flow.id.clone(), state: turn.state };
    Ok(Reply { body, registered, known: Some(known), actions, discarded })
}

/// Registers what a caller left: a volunteer's sign-up, or a callback request placed in
/// its neighbourhood and offered to volunteers when its help is one they take.
fn register(
    conn: &Connection,
    flow: &Flow,
    req: &Request,
    draft: &engine::CallbackDraft,
) -> Result<i64, StoreError> {
    if draft.registers == Registers::Volunteer {
        let id = crate::ops::volunteers::sign_up(conn, flow, &req.sid, draft, req.at)?;
        if !req.trial {
            tracing::info!(call = %req.sid, volunteer = id.0, phone = %draft.phone, "volunteer signed up by phone");
        }
        return Ok(id.0);
    }
    let id = queue::register(conn, &req.sid, &flow.id, draft, req.at)?;
    queue::place_in_neighbourhood(conn, flow, id, draft, req.at)?;
    crate::ops::missions::propose_if_wanted(conn, flow, id, draft.help.as_deref(), req.at)?;
    if !req.trial {
        tracing::info!(call = %req.sid, request = id.0, service = %draft.service, phone = %draft.phone, "callback request registered");
    }
    Ok(id.0)
}

/// Calls from one number in the flood window after which supervisors are warned.
pub const FLOOD_CALLS: i64 = 20;
/// The flood window.
pub const FLOOD_WINDOW: chrono::Duration = chrono::Duration::minutes(10);

/// A number calling again and again is logged once for supervisors as it crosses
/// [`FLOOD_CALLS`]. It is still answered (a person in distress may call often); its
/// requests cannot fill the queue, since asks for one service merge into one request.
fn warn_on_repeated_calls(conn: &Connection, number: &E164, at: DateTime<Utc>) -> Result<(), StoreError> {
    // Only the crossing matters: counting further would make a number that calls again
    // and again cost more with every call.
    let recent = calls::count_from(conn, number, at - FLOOD_WINDOW, FLOOD_CALLS)?;
    if recent + 1 == FLOOD_CALLS {
        tracing::warn!(caller = %number, calls = FLOOD_CALLS, minutes = FLOOD_WINDOW.num_minutes(), "one number is calling repeatedly");
    }
    Ok(())
}

fn fill_request_number(actions: &mut [Action], id: i64) {
    let spoken = spell_digits(&id.to_string());
    for action in actions {
        let speeches: &mut [engine::Speech] = match action {
            Action::Say(s) => std::slice::from_mut(s),
            Action::Gather { speech, .. } => speech,
            _ => continue,
        };
        for s in speeches {
            s.text = s.text.replace("{request}", &spoken);
        }
    }
}

/// What the caller did, for the event log; long digit strings (typed phone numbers) are
/// masked.
fn describe(req: &Request) -> String {
    match &req.event {
        None => "call".to_owned(),
        Some(Event::Digits(d)) if d.len() > 5 => mask(d),
        Some(Event::Digits(d)) => d.clone(),
        Some(Event::Silence) => "silence".to_owned(),
        Some(Event::Dial(status)) => format!("dial:{status:?}"),
        Some(Event::Recorded { seconds, .. }) => format!("recording:{seconds}s"),
    }
}
