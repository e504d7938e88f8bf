//! The path of a call, for supervisors: the call and each of its steps from the step log
//! (node, what the caller heard, the key, silence or transfer result, the time it took),
//! for as long as the retention keeps them; found by id (a request links its calls) or by
//! time and the last digits of the caller's number. Another line's call is no call.

use chrono::{DateTime, Duration, Utc};

use super::agents::Manager;
use super::{Error, Ops, Result};
use crate::phone::mask_spoken_numbers;
use crate::simulate::Verb;
use crate::store::call_paths::{self as rows, CallSummary, PathStep};
use crate::telephony::Dialect;

/// Calls shown at most by one search.
pub const FOUND_AT_MOST: u32 = 50;

/// Something the caller heard.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Heard {
    /// Said by the provider's voice.
    Spoken {
        /// The words.
        text: String,
    },
    /// A recording played.
    Recording {
        /// Its address.
        url: String,
        /// The prompt it records, when its address names one.
        prompt: Option<String>,
        /// That prompt's text in its language today, from the flow.
        text: Option<String>,
    },
}

/// One step, as a supervisor reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The step as logged.
    pub logged: PathStep,
    /// What the caller heard in the answer.
    pub heard: Vec<Heard>,
    /// Time since the step before (since the arrival, for the first).
    pub after: Duration,
}

/// A call and its path.
#[derive(Debug, Clone)]
pub struct CallPath {
    /// The call.
    pub call: CallSummary,
    /// Its steps in order (none once the retention purge has removed them).
    pub steps: Vec<Step>,
}

/// The trial call `sid` from the console, when `by` works on its line (see
/// [`crate::line::Request::trial`]).
///
/// # Errors
/// [`Error::NoSuchCall`] for an unknown call, another line's, or a caller's real call;
/// the database's failure.
pub async fn trial(ops: &Ops, by: Manager, sid: &str) -> Result<CallSummary> {
    let mine = by.lines(ops).await?;
    let sid = sid.to_owned();
    ops.store
        .read(move |c| rows::call(c, &sid))
        .await?
        .filter(|call| call.trial && mine.covers(&call.line))
        .ok_or(Error::NoSuchCall)
}

/// The call `sid` and its path, when `by` works on its line. Every number in it (typed,
/// or read back to the caller) is masked but its last two digits.
///
/// # Errors
/// [`Error::NoSuchCall`] for an unknown call or another line's; the database's failure.
pub async fn path(ops: &Ops, by: Manager, sid: &str) -> Result<CallPath> {
    let mine = by.lines(ops).await?;
    let sid = sid.to_owned();
    let (call, steps) = ops
        .store
        .read(move |c| {
            let Some(call) = rows::call(c, &sid)? else { return Ok(None) };
            let steps = rows::steps(c, &call)?;
            Ok(Some((call, steps)))
        })
        .await?
        .filter(|(call, _)| mine.covers(&call.line))
        .ok_or(Error::NoSuchCall)?;
    let flows = ops.flows();
    let flow = flows.get(&call.line);
    let dialect = Dialect::from_name(&call.dialect).unwrap_or(Dialect::Twilio);
    let mut before = call.started_at;
    let steps = steps
        .into_iter()
        .map(|logged| {
            let after = (logged.at - before).max(Duration::zero());
            before = logged.at;
            let heard = heard(dialect, &logged.response, flow.map(AsRef::as_ref));
            // A number typed, or read back to the caller, is shown masked.
            let logged = PathStep {
                input: mask_spoken_numbers(&logged.input),
                result: mask_spoken_numbers(&logged.result),
                ..logged
            };
            Step { logged, heard, after }
        })
        .collect();
    Ok(CallPath { call, steps })
}

/// Calls of `by`'s lines that arrived within half an hour of `around`, newest first; with
/// `digits` (the last two to eight digits of the caller's number, as masked numbers show
/// them), only those.
///
/// # Errors
/// [`Error::Invalid`] for digits that are not 2 to 8 digits; the database's failure.
pub async fn find(
    ops: &Ops,
    by: Manager,
    around: DateTime<Utc>,
    digits: Option<&str>,
) -> Result<Vec<CallSummary>> {
    let digits = digits.map(str::trim).filter(|d| !d.is_empty()).map(str::to_owned);
    if let Some(d) = &digits {
        if !(2..=8).contains(&d.len()) || !d.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::Invalid(format!("`{d}`: give the last 2 to 8 digits of the number")));
        }
    }
    let mine = by.lines(ops).await?;
    let lines = mine.named().map(<[String]>::to_vec);
    let span = (around - Duration::minutes(30), around + Duration::minutes(30));
    Ok(ops
        .store
        .read(move |c| rows::between(c, lines.as_deref(), span, digits.as_deref(), FOUND_AT_MOST))
        .await?)
}

/// What a caller heard in `response`, read as the provider reads it; a recording named by
/// its prompt and that prompt's text on `flow`.
fn heard(dialect: Dialect, response: &str, flow: Option<&crate::flow::Flow>) -> Vec<Heard> {
    let verbs = match dialect {
        Dialect::Jambonz => crate::simulate::parse_jambonz(response),
        Dialect::Twilio | Dialect::Telnyx => crate::simulate::parse(response),
    }
    .unwrap_or_default();
    let mut heard = Vec::new();
    let mut add = |verb: &Verb| match verb {
        Verb::Say { text, .. } => heard.push(Heard::Spoken { text: mask_spoken_numbers(text) }),
        Verb::Play(url) => {
            // `…/sounds/{line}/{language}/{prompt}.wav?v=…`
            let slot = url.split("/sounds/").nth(1).and_then(|p| p.split('?').next()).and_then(|p| {
                let mut parts = p.strip_suffix(".wav")?.split('/');
                Some((parts.next()?.to_owned(), parts.next()?.to_owned(), parts.next()?.to_owned()))
            });
            let text =
                slot.as_ref().and_then(|(_, lang, prompt)| flow?.text(prompt, lang)).map(str::to_owned);
            heard.push(Heard::Recording { url: url.clone(), prompt: slot.map(|(_, _, p)| p), text });
        }
        _ => {}
    };
    for verb in &verbs {
        match verb {
            Verb::Gather { prompts, .. } => prompts.iter().for_each(&mut add),
            other => add(other),
        }
    }
    heard
}
