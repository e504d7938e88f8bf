//! A phone in the page: a supervisor tries a line from the console
//! (`/console/lines/{line}/try`). The call goes through the same steps as a caller's
//! ([`webhooks::take_step`], the engine, the store), in Twilio's dialect as if it had
//! come from the line's number; the page shows what the line says, plays its recordings
//! and offers the keypad, silence, the result of a transfer and the hang-up. The caller
//! ID is the supervisor's choice (or withheld), and so is the time it pretends to be (to
//! try closed hours and holidays). Such a call is marked as a trial: it counts in no
//! statistics, what it would register is shown and discarded, and its path can be read
//! like any call's.

use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Duration, NaiveDateTime, TimeZone as _, Utc};
use maud::{Markup, html};
use serde::Deserialize;

use super::errors::PageError;
use super::pages::{layout, local};
use super::session::ConsoleSupervisor;
use super::state::AppState;
use super::viewer::Viewer;
use super::webhooks::{self, Reported};
use crate::flow::Flow;
use crate::flow::engine::{Action, DialStatus, Event, Speech};
use crate::i18n::{tr, trf};
use crate::line::{self, Discarded, Hook, Reply};
use crate::ops::agents::Manager;
use crate::phone::{E164, mask};
use crate::sounds::Slot;
use crate::telephony::{Dialect, twiml};

type Page = Result<Response, PageError>;

/// The caller ID a provider sends for a withheld number.
const WITHHELD: &str = "anonymous";
/// How long a message "left" from the page lasts.
const MESSAGE_SECONDS: u32 = 10;
/// The format of the page's date-and-time field.
const PRETEND_FORMAT: &str = "%Y-%m-%dT%H:%M";

/// Routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console/lines/{line}/try", get(dial_page).post(start))
        .route("/console/lines/{line}/try/{sid}", post(press))
}

async fn dial_page(
    State(app): State<AppState>,
    ConsoleSupervisor(viewer, supervisor): ConsoleSupervisor,
    Path(line): Path<String>,
) -> Page {
    let flow = crate::ops::lines::to_try(&app.ops, Manager::from(supervisor), &line)
        .await
        .map_err(PageError::back_to("/console/lines"))?;
    let at = app.ops.now().with_timezone(&flow.schedule.timezone()).format(PRETEND_FORMAT).to_string();
    Ok(dial_form(
        &viewer,
        &flow,
        &StartForm { from: String::new(), withheld: None, at, csrf: String::new() },
        None,
    ))
}

fn dial_form(viewer: &Viewer, flow: &Flow, form: &StartForm, problem: Option<&str>) -> Response {
    let title = trf("Try {line}", &[("line", &flow.file.line.name)]);
    let tz = flow.schedule.timezone();
    layout(
        &title,
        Some(viewer),
        &html! {
            h1 { (title) }
            p { (tr("Call the line from this page: you hear its prompts, press its keys and see where each answer leads, through the same steps as a caller's call. A trial counts in no statistics, and a request it registers is shown to you and discarded: it never reaches the agents' queue.")) }
            @if let Some(problem) = problem { p.notice role="alert" { (problem) } }
            form method="post" action={ "/console/lines/" (flow.id) "/try" } {
                input type="hidden" name="csrf" value=(viewer.csrf.as_deref().unwrap_or_default());
                p {
                    label for="from" { (tr("Caller ID")) }
                    input #from name="from" type="tel" autocomplete="off" value=(form.from) aria-describedby="from-hint";
                    span.hint #from-hint { (tr("The number the line sees, as a caller would dial from it (+32 470 12 34 56, 0470 12 34 56)."))}
                }
                p {
                    label {
                        input name="withheld" type="checkbox" value="on" checked[form.withheld.is_some()];
                        " " (tr("Withheld number"))
                    }
                }
                p {
                    label for="at" { (tr("Pretend it is")) }
                    input #at name="at" type="datetime-local" value=(form.at) required aria-describedby="at-hint";
                    span.hint #at-hint { (trf("In the line's time zone ({tz}): to try closed hours and holidays.", &[("tz", &tz.name())])) }
                }
                button type="submit" { (tr("Call")) }
            }
            p { a href={ "/console/lines/" (flow.id) } { (tr("Back to the menus")) } }
        },
    )
    .into_response()
}

#[derive(Debug, Deserialize)]
struct StartForm {
    csrf: String,
    #[serde(default)]
    from: String,
    withheld: Option<String>,
    #[serde(default)]
    at: String,
}

/// The call arrives: a fresh trial call, its first answer shown.
async fn start(
    State(app): State<AppState>,
    ConsoleSupervisor(viewer, supervisor): ConsoleSupervisor,
    Path(line): Path<String>,
    headers: HeaderMap,
    Form(form): Form<StartForm>,
) -> Page {
    let flow = crate::ops::lines::to_try(&app.ops, Manager::from(supervisor), &line)
        .await
        .map_err(PageError::back_to("/console/lines"))?;
    if !viewer.csrf_ok(&form.csrf) {
        return Err(PageError::Csrf);
    }
    let tz = flow.schedule.timezone();
    let Some(pretended) = NaiveDateTime::parse_from_str(&form.at, PRETEND_FORMAT)
        .ok()
        .and_then(|t| tz.from_local_datetime(&t).earliest())
    else {
        return Ok(dial_form(&viewer, &flow, &form, Some(tr("Give the date and time to pretend."))));
    };
    let from = if form.withheld.is_some() || form.from.trim().is_empty() {
        WITHHELD.to_owned()
    } else {
        form.from.trim().to_owned()
    };
    let caller = E164::caller_id(&from, flow.region);
    if caller.is_none() && from != WITHHELD {
        return Ok(dial_form(&viewer, &flow, &form, Some(tr("This caller ID is not a phone number."))));
    }
    let now = app.ops.now();
    let shift = (pretended.with_timezone(&Utc) - now).num_seconds();
    let sid = format!("TR{}", &crate::auth::digest(&crate::auth::new_token())[..32]);
    tracing::info!(by = %viewer.agent.login, call = %sid, line = %flow.id, "a trial call from the console");
    let to = flow.numbers.first().map_or_else(String::new, |n| n.as_str().to_owned());
    let req = line::Request {
        dialect: Dialect::Twilio,
        hook: Hook::Incoming,
        sid: sid.clone(),
        step: None,
        from,
        caller,
        to,
        status: "ringing".to_owned(),
        event: None,
        base: base(&app, &headers),
        at: now + Duration::seconds(shift),
        trial: true,
    };
    go_on(&app, &viewer, &flow, Trial { sid, shift, from: req.from.clone(), did: None }, req).await
}

#[derive(Debug, Deserialize)]
struct PressForm {
    csrf: String,
    /// The step the page was at.
    s: u32,
    /// Seconds between the time pretended and the real one.
    shift: i64,
    /// The caller ID the trial uses, for the page.
    from: String,
    /// What the supervisor did (keys when absent: a key of the keypad was pressed).
    press: Option<String>,
    #[serde(default)]
    keys: String,
    /// The keypad's key pressed, after the keys typed.
    key: Option<String>,
}

/// The supervisor answers the line: keys, silence, a transfer's result, a message, or the
/// end of the call.
async fn press(
    State(app): State<AppState>,
    ConsoleSupervisor(viewer, supervisor): ConsoleSupervisor,
    Path((line, sid)): Path<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<PressForm>,
) -> Page {
    let by = Manager::from(supervisor);
    let back = format!("/console/lines/{line}/try");
    let call = crate::ops::calls::trial(&app.ops, by, &sid)
        .await
        .ok()
        .filter(|c| c.line == line)
        .ok_or(crate::ops::Error::NoSuchCall)
        .map_err(PageError::back_to(&back))?;
    let flow =
        crate::ops::lines::to_try(&app.ops, by, &call.line).await.map_err(PageError::back_to(&back))?;
    if !viewer.csrf_ok(&form.csrf) {
        return Err(PageError::Csrf);
    }
    let mut trial = Trial { sid: sid.clone(), shift: form.shift, from: form.from.clone(), did: None };
    let to = flow.numbers.first().map_or_else(String::new, |n| n.as_str().to_owned());
    let (hook, event) = match form.press.as_deref().unwrap_or("keys") {
        "keys" => {
            let mut keys = form.keys.trim().to_owned();
            keys.push_str(form.key.as_deref().unwrap_or_default());
            // The key that ends the input is not part of it, as with a provider.
            let keys = keys.trim_end_matches('#');
            if keys.is_empty() {
                (Hook::Silence, Event::Silence)
            } else {
                (Hook::Gather, Event::Digits(keys.to_owned()))
            }
        }
        "silence" => (Hook::Silence, Event::Silence),
        "message" => (Hook::Record, Event::Recorded { url: String::new(), seconds: MESSAGE_SECONDS }),
        "hangup" => {
            hang_up(&app, &sid, &to).await;
            let shown = Shown { viewer: &viewer, flow: &flow, sounds: &app.sounds(), now: app.ops.now() };
            return Ok(phone_page(shown, &trial, None, &[], &[]));
        }
        result => (Hook::Dial, Event::Dial(twiml::dial_status(result))),
    };
    trial.did = Some(match &event {
        Event::Digits(keys) => trf("You pressed {keys}.", &[("keys", keys)]),
        Event::Silence => tr("You said nothing.").to_owned(),
        Event::Recorded { seconds, .. } => trf("You left a message of {seconds} s.", &[("seconds", seconds)]),
        Event::Dial(status) => match status {
            DialStatus::Completed => tr("The person answers"),
            DialStatus::Busy => tr("The line is busy"),
            DialStatus::NoAnswer => tr("Nobody answers"),
            DialStatus::Failed | DialStatus::Canceled => tr("The transfer failed."),
        }
        .to_owned(),
    });
    let req = line::Request {
        dialect: Dialect::Twilio,
        hook,
        sid,
        step: Some(form.s),
        from: form.from,
        caller: None,
        to,
        status: "in-progress".to_owned(),
        event: Some(event),
        base: base(&app, &headers),
        at: app.ops.now() + Duration::seconds(form.shift),
        trial: true,
    };
    go_on(&app, &viewer, &flow, trial, req).await
}

/// What the page carries from one step to the next.
struct Trial {
    sid: String,
    shift: i64,
    from: String,
    /// What the supervisor did last, for the page.
    did: Option<String>,
}

async fn go_on(app: &AppState, viewer: &Viewer, flow: &Flow, trial: Trial, req: line::Request) -> Page {
    let to = req.to.clone();
    let flows = app.flows();
    let Reply { known, actions, discarded, .. } = webhooks::take_step(app, &flows, req).await?;
    let actions = actions.unwrap_or_default();
    let waiting = actions
        .iter()
        .any(|a| matches!(a, Action::Gather { .. } | Action::Dial { .. } | Action::Record { .. }));
    let step = known.filter(|_| waiting).map(|k| k.state.step);
    if step.is_none() {
        // The line hung up: the call ends as a provider would report it.
        hang_up(app, &trial.sid, &to).await;
    }
    let shown = Shown { viewer, flow, sounds: &app.sounds(), now: app.ops.now() };
    Ok(phone_page(shown, &trial, step, &actions, &discarded))
}

/// Where the phone is shown: to whom, for which line, with which recordings, when.
#[derive(Clone, Copy)]
struct Shown<'a> {
    viewer: &'a Viewer,
    flow: &'a Flow,
    sounds: &'a crate::sounds::Library,
    now: DateTime<Utc>,
}

async fn hang_up(app: &AppState, sid: &str, to: &str) {
    app.live.forget(sid);
    let status = Reported {
        sid: sid.to_owned(),
        to: to.to_owned(),
        status: "completed".to_owned(),
        sequence: None,
        duration: None,
    };
    webhooks::record_status(app, status).await;
}

fn base(app: &AppState, headers: &HeaderMap) -> String {
    app.settings.public_url.clone().unwrap_or_else(|| {
        let host = headers.get(axum::http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
        format!("http://{host}")
    })
}

/// The phone: what the line said, what it would have registered, and what can be done
/// next (`step`: the call goes on at that step; `None`: it has ended).
fn phone_page(
    shown: Shown<'_>,
    trial: &Trial,
    step: Option<u32>,
    actions: &[Action],
    discarded: &[Discarded],
) -> Response {
    let Shown { viewer, flow, now, .. } = shown;
    let title = trf("Trying {line}", &[("line", &flow.file.line.name)]);
    let pretended = now + Duration::seconds(trial.shift);
    let csrf = viewer.csrf.as_deref().unwrap_or_default();
    let last = actions.iter().rev().find(|a| !matches!(a, Action::Say(_)));
    layout(
        &title,
        Some(viewer),
        &html! {
            h1 { (title) }
            dl.facts {
                dt { (tr("Caller ID")) }
                dd { @if trial.from == WITHHELD { (tr("withheld")) } @else { (trial.from) } }
                dt { (tr("Pretending it is")) } dd { (local(pretended, flow.schedule.timezone())) }
            }
            section.said aria-labelledby="said" aria-live="polite" {
                @if let Some(did) = &trial.did { p.hint { (did) } }
                h2 #said { (tr("The line says")) }
                @if actions.is_empty() && step.is_none() {
                    p { (tr("You hung up.")) }
                }
                ol {
                    @for action in actions { (said(shown, action)) }
                }
            }
            @for d in discarded { (discarded_request(d)) }
            @match (step, last) {
                (Some(step), Some(Action::Gather { num_digits, finish_on_key, .. })) => {
                    (keypad((flow, trial, step, csrf), *num_digits, *finish_on_key))
                }
                (Some(step), Some(Action::Dial { .. })) => {
                    (answers((flow, trial, step, csrf), &[("answered", tr("The person answers")), ("no-answer", tr("Nobody answers")), ("busy", tr("The line is busy"))]))
                }
                (Some(step), Some(Action::Record { .. })) => {
                    (answers((flow, trial, step, csrf), &[("message", tr("Leave a message")), ("silence", tr("Say nothing"))]))
                }
                _ => {
                    p.notice { (tr("The call has ended.")) }
                    p {
                        a href={ "/console/calls/" (trial.sid) } { (tr("See this call's path")) }
                        " · "
                        a href={ "/console/lines/" (flow.id) "/try" } { (tr("Call again")) }
                    }
                }
            }
        },
    )
    .into_response()
}

/// One thing the line does, as the page shows it.
fn said(shown: Shown<'_>, action: &Action) -> Markup {
    html! {
        @match action {
            Action::Say(speech) => (spoken(shown, speech)),
            Action::Gather { speech, num_digits, finish_on_key, timeout } => {
                @for s in speech { (spoken(shown, s)) }
                li.hint {
                    @match (num_digits, finish_on_key) {
                        (Some(1), _) => (tr("It waits for a key.")),
                        (Some(n), _) => (trf("It waits for {count} keys.", &[("count", n)])),
                        (None, Some(key)) => (trf("It waits for keys ended by {key}.", &[("key", key)])),
                        (None, None) => (tr("It waits for keys.")),
                    }
                    " " (trf("After {seconds} s of silence it takes it as no answer.", &[("seconds", timeout)]))
                }
            }
            Action::Dial { number, .. } => li.hint { (trf("It puts the call through to {number}.", &[("number", &mask(number.as_str()))])) },
            Action::Record { max_seconds } => li.hint { (trf("It records a message of up to {seconds} s, ended by #.", &[("seconds", max_seconds)])) },
            Action::Hangup => li.hint { (tr("It hangs up.")) },
            Action::Redirect(_) => li.hint { (tr("It goes on at another step.")) },
        }
    }
}

/// Words of the line: their text, and their recording played (or the voice that speaks
/// them).
fn spoken(shown: Shown<'_>, speech: &Speech) -> Markup {
    let flow = shown.flow;
    let recording =
        speech.prompt.as_deref().and_then(|p| shown.sounds.url("", Slot::new(&flow.id, &speech.language, p)));
    html! {
        li {
            span lang=(speech.language) { (speech.text) }
            @if let Some(url) = recording {
                " " audio.prompt controls preload="auto" src=(url) { }
            } @else {
                " " span.hint { (trf("(spoken by the provider's voice: {voice})", &[("voice", &flow.voice(&speech.language).voice.unwrap_or_else(|| tr("its default").to_owned()))])) }
            }
        }
    }
}

fn discarded_request(d: &Discarded) -> Markup {
    let draft = &d.draft;
    html! {
        section.discarded aria-labelledby={ "discarded-" (d.id) } {
            h2 id={ "discarded-" (d.id) } {
                @if d.volunteer { (trf("Volunteer {number} would have been signed up", &[("number", &d.id)])) }
                @else { (trf("Request {number} would have been registered", &[("number", &d.id)])) }
            }
            dl.facts {
                dt { (tr("Service")) } dd { (draft.service) }
                @if let Some(help) = &draft.help { dt { (tr("Help")) } dd { (help) } }
                @if let Some(postcode) = &draft.postcode { dt { (tr("Postcode")) } dd { (postcode) } }
                dt { (tr("Number to call")) } dd { (draft.phone.as_str()) }
                dt { (tr("Language")) } dd { (draft.language) }
            }
            p { (tr("Discarded: a trial never reaches the queue, the volunteers or the statistics.")) }
        }
    }
}

/// The hidden fields every answer carries.
fn carried(trial: &Trial, step: u32, csrf: &str) -> Markup {
    html! {
        input type="hidden" name="csrf" value=(csrf);
        input type="hidden" name="s" value=(step);
        input type="hidden" name="shift" value=(trial.shift);
        input type="hidden" name="from" value=(trial.from);
    }
}

/// Where an answer goes: the line, the trial, its step, the session's CSRF token.
type To<'a> = (&'a Flow, &'a Trial, u32, &'a str);

fn keypad((flow, trial, step, csrf): To<'_>, digits: Option<u8>, finish: Option<char>) -> Markup {
    const KEYS: [&str; 12] = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"];
    html! {
        form.phone method="post" action={ "/console/lines/" (flow.id) "/try/" (trial.sid) }
            data-digits=(digits.unwrap_or(0)) data-finish=(finish.map(String::from).unwrap_or_default()) {
            (carried(trial, step, csrf))
            p {
                label for="keys" { (tr("Keys")) }
                input #keys name="keys" autocomplete="off" inputmode="numeric" pattern="[0-9*#]*" autofocus;
                // First in the form: the button Enter presses.
                button type="submit" name="press" value="keys" { (tr("Send")) }
            }
            div.keypad role="group" aria-label=(tr("Keypad")) {
                @for key in KEYS { button type="submit" name="key" value=(key) { (key) } }
            }
            p {
                button type="submit" name="press" value="silence" { (tr("Say nothing")) }
                " "
                button type="submit" name="press" value="hangup" { (tr("Hang up")) }
            }
        }
    }
}

fn answers((flow, trial, step, csrf): To<'_>, choices: &[(&str, &str)]) -> Markup {
    html! {
        form.phone method="post" action={ "/console/lines/" (flow.id) "/try/" (trial.sid) } {
            (carried(trial, step, csrf))
            p {
                @for (value, label) in choices { button type="submit" name="press" value=(value) { (label) } " " }
                button type="submit" name="press" value="hangup" { (tr("Hang up")) }
            }
        }
    }
}
