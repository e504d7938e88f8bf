//! One voice webhook from start to end, inside one write transaction: find the call, run
//! the engine, store the callback request it asks for, log the step, save the state and
//! render the TwiML. Because the transaction commits before the answer leaves, a caller
//! never hears "registered" for a request that is not on disk; because each step's
//! answer is stored, a replayed webhook gets the same answer and changes nothing.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use crate::flow::engine::{self, Action, Effect, Event, Turn};
use crate::flow::{Flow, Flows};
use crate::phone::{E164, mask, spell_digits};
use crate::sounds::Library;
use crate::store::StoreError;
use crate::store::callbacks;
use crate::store::calls::{self, NewCall, StepRecord};
use crate::telephony::twiml::{self, Links, Voices};

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
    /// When it arrived.
    pub at: DateTime<Utc>,
}

/// The answer to a webhook.
#[derive(Debug, Clone)]
pub struct Reply {
    /// TwiML.
    pub body: String,
    /// A callback request was registered (the queue changed).
    pub registered: bool,
}

/// Handles one webhook; returns the TwiML to answer.
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
        Some(call) if !call.placeholder => {
            let expected = call.state.step;
            let carried = match req.hook {
                Hook::Incoming => 0,
                _ => req.step.unwrap_or(expected),
            };
            if carried < expected {
                if let Some(previous) = calls::response_of(conn, &call, &req.sid, carried)? {
                    tracing::info!(call = %req.sid, step = carried, "replayed webhook: same answer again");
                    return Ok(Reply { body: previous, registered: false });
                }
            }
            let turn = match (&req.event, carried == expected) {
                (Some(event), true) => engine::advance(flow, call.state, event, req.at),
                _ => engine::repeat(flow, call.state, req.at),
            };
            finish(conn, flow, sounds, req, turn, expected, None)
        }
        _ => {
            let caller = req.caller.clone();
            if let Some(number) = &caller {
                warn_on_repeated_calls(conn, number, req.at)?;
            }
            let turn = engine::start(flow, caller.clone(), req.at);
            let day = req.at.with_timezone(&flow.schedule.timezone()).date_naive().to_string();
            let open = flow.schedule.is_open(req.at);
            let new = NewCall {
                sid: &req.sid,
                line: &flow.id,
                caller: caller.as_ref(),
                called: &req.to,
                status: &req.status,
                at: req.at,
                day: &day,
                open,
            };
            finish(conn, flow, sounds, req, turn, 0, Some(&new))
        }
    }
}

fn finish(
    conn: &Connection,
    flow: &Arc<Flow>,
    sounds: &Library,
    req: &Request,
    mut turn: Turn,
    step: u32,
    new_call: Option<&NewCall<'_>>,
) -> Result<Reply, StoreError> {
    // The call row first: callback requests refer to it.
    if let Some(call) = new_call {
        calls::insert(conn, call, &turn.state)?;
    }
    for effect in &turn.effects {
        match effect {
            Effect::RegisterCallback(draft) => {
                let id = callbacks::register(conn, &req.sid, &flow.id, draft, req.at)?;
                tracing::info!(call = %req.sid, request = id, service = %draft.service, phone = %draft.phone, "callback request registered");
                fill_request_number(&mut turn.actions, id);
            }
        }
    }
    let body = twiml::render(
        &turn.actions,
        Voices {
            voice: &|lang| flow.voice(lang),
            recording: &|lang, prompt| sounds.url(&req.base, lang, prompt),
        },
        Links { base: &req.base, step: turn.state.step },
    );
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
    calls::save_state(conn, &req.sid, &turn.state, req.at, event)?;
    tracing::debug!(call = %req.sid, step, node = %turn.node, input = %input, result = %turn.result, "step");
    Ok(Reply { body, registered: !turn.effects.is_empty() })
}

/// Calls from one number in the flood window after which supervisors are warned.
pub const FLOOD_CALLS: i64 = 20;
/// The flood window.
pub const FLOOD_WINDOW: chrono::Duration = chrono::Duration::minutes(10);

/// A number calling again and again is logged once for supervisors as it crosses
/// [`FLOOD_CALLS`]. It is still answered (a person in distress may call often); its
/// requests cannot fill the queue, since asks for one service merge into one request.
fn warn_on_repeated_calls(conn: &Connection, number: &E164, at: DateTime<Utc>) -> Result<(), StoreError> {
    let recent: i64 =
        conn.prepare_cached("SELECT count(*) FROM calls WHERE caller = ?1 AND started_at >= ?2")?.query_row(
            rusqlite::params![number.as_str(), crate::store::time::format(at - FLOOD_WINDOW)],
            |r| r.get(0),
        )?;
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
