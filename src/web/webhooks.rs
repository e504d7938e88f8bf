//! The providers' webhooks: Twilio's and SignalWire's under `/voice/`, Telnyx's under
//! `/voice/telnyx/`, jambonz's under `/voice/jambonz/`, each read in its provider's
//! dialect ([`Dialect`], from the route). Every request is checked against its
//! provider's signature (refused while that provider's secret is unset, unless the
//! service runs in declared development mode), read into a [`line::Request`], planned
//! here with what is known of the call and applied on the database writer. Whatever fails
//! inside, the caller hears a valid answer: an apology and the fallback number, never a
//! 5xx or an empty body.

use std::time::Duration;

use axum::Router;
use axum::extract::{FromRequestParts, MatchedPath, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;

use super::guard;
use super::state::AppState;
use crate::flow::engine::{Event, Speech};
use crate::flow::prompts;
use crate::line::{self, Hook, outbound};
use crate::phone::mask;
use crate::store::calls::{self, StatusUpdate};
use crate::telephony::{Dialect, Inbound, Params, Unreadable, jambonz, signature, telnyx, twiml, unix_now};

/// Largest webhook body accepted; the provider's are under 2 KiB.
const MAX_BODY: usize = 64 * 1024;
/// Time allowed to the database writer to start one webhook's step; the provider gives
/// up after 15 s.
const STEP_BUDGET: Duration = Duration::from_secs(5);

/// Voice routes, the same under each dialect's prefix.
pub fn router() -> Router<AppState> {
    Dialect::ALL.into_iter().fold(Router::new(), |router, dialect| {
        let at = |path: &str| format!("{}{path}", dialect.prefix());
        router
            .route(&at("/incoming"), post(incoming))
            .route(&at("/status"), post(status))
            .route(&at("/{hook}"), post(step))
            .route(&at("/out/{id}/status"), post(placed_status))
            .route(&at("/out/{id}/{hook}"), post(placed_step))
    })
}

/// A webhook whose signature has been checked, put in the request by [`guard`].
#[derive(Clone)]
pub struct Webhook {
    /// The provider's dialect, from the route.
    pub dialect: Dialect,
    /// What it says.
    pub call: Inbound,
    /// The host it was sent to, for links when no public URL is set.
    pub host: Option<String>,
}

impl FromRequestParts<AppState> for Webhook {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Self::Rejection> {
        parts.extensions.remove::<Self>().ok_or_else(|| {
            (StatusCode::INTERNAL_SERVER_ERROR, "webhook not read by its guard\n").into_response()
        })
    }
}

/// The webhooks' layer, in this order, so that what costs the service something comes
/// last:
/// 1. a request for a provider whose secret is unset is refused (`403`), unless in
///    development mode; with a secret, one without its signature header is refused
///    before its body is read;
/// 2. the body is read within [`guard::BODY_DEADLINE`] (`408`) and [`MAX_BODY`] (`413`),
///    in the dialect's content type (`400` for another);
/// 3. its signature is checked (`403`), then it is read (`400` when it names no call);
/// 4. only then does it take one of the webhooks' places in flight (`503` beyond). Its
///    handling has no deadline of its own: the step it writes has one to start
///    ([`STEP_BUDGET`]), and once started it is waited for, so that the caller hears what
///    was stored.
///
/// A flood of unsigned or slow requests therefore holds connections, never the places of
/// the provider's genuine webhooks. The metrics and the one header the provider needs
/// are set here too (as separate layers they would cost more than a step's own work).
pub async fn guard(State(app): State<AppState>, request: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let route = request.extensions().get::<MatchedPath>().cloned();
    let (mut parts, body) = request.into_parts();
    let mut response = match read(&app, &parts, body).await {
        Err(refusal) => refusal,
        Ok(webhook) => match app.in_flight.webhooks.try_acquire() {
            Err(_) => guard::overloaded(parts.uri.path()),
            Ok(_place) => {
                parts.extensions.insert(webhook);
                let span = tracing::info_span!("request", method = %parts.method, route = route.as_ref().map_or("", |r| r.as_str()));
                let request = Request::from_parts(parts, axum::body::Body::empty());
                tracing::Instrument::instrument(next.run(request), span).await
            }
        },
    };
    if let Some(route) = route {
        app.metrics.observe(route.as_str(), response.status().as_u16(), started.elapsed().as_secs_f64());
    }
    // The provider is not a browser: no page policy, but nothing it may keep (an answer
    // can hold the caller's number, read back to them).
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// How a provider's webhooks are signed, from the settings.
enum Signing<'a> {
    /// HMAC-SHA1 of the public URL and the form (Twilio's auth token, SignalWire's
    /// signing key: either may sign).
    Twilio { secrets: Vec<&'a str>, base: &'a str },
    /// Ed25519 of the timestamp and the body, with Telnyx's public key.
    Telnyx(&'a [u8; 32]),
    /// HMAC-SHA256 of the timestamp and the body, with the jambonz application's secret.
    Jambonz(&'a str),
}

impl<'a> Signing<'a> {
    /// How `dialect`'s webhooks are signed; `None` when its secret is unset.
    fn of(settings: &'a crate::settings::Settings, dialect: Dialect) -> Option<Self> {
        match dialect {
            Dialect::Twilio => {
                let secrets: Vec<&str> = [&settings.twilio_auth_token, &settings.signalwire_signing_key]
                    .into_iter()
                    .flatten()
                    .map(crate::settings::Secret::expose)
                    .collect();
                let base = settings.public_url.as_deref()?;
                (!secrets.is_empty()).then_some(Self::Twilio { secrets, base })
            }
            Dialect::Telnyx => settings.telnyx_public_key.as_ref().map(Self::Telnyx),
            Dialect::Jambonz => settings.jambonz_webhook_secret.as_ref().map(|s| Self::Jambonz(s.expose())),
        }
    }

    /// The signature header, when the request has it.
    fn header<'h>(&self, headers: &'h HeaderMap) -> Option<&'h str> {
        let names: &[&str] = match self {
            Self::Twilio { .. } => &["x-twilio-signature", "x-signalwire-signature"],
            Self::Telnyx(_) => &[telnyx::SIGNATURE_HEADER],
            Self::Jambonz(_) => &["jambonz-signature"],
        };
        names.iter().find_map(|name| headers.get(*name)).and_then(|v| v.to_str().ok())
    }

    /// Whether `given` signs this request.
    fn is_valid(&self, parts: &Parts, given: &str, body: &[u8], form: Option<&Params>) -> bool {
        let now = unix_now();
        match self {
            Self::Twilio { secrets, base } => {
                let url = format!("{base}{}", parts.uri.path_and_query().map_or("", |p| p.as_str()));
                let pairs: Vec<(&str, &str)> = form.map(|f| f.iter().collect()).unwrap_or_default();
                secrets.iter().any(|secret| signature::is_valid(secret, &url, &pairs, given))
            }
            Self::Telnyx(key) => {
                let timestamp = parts
                    .headers
                    .get(telnyx::TIMESTAMP_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default();
                telnyx::is_valid(key, timestamp, given, body, now)
            }
            Self::Jambonz(secret) => jambonz::is_valid(secret, given, body, now),
        }
    }
}

/// Reads and checks a webhook (steps 1 to 3 of [`guard`]).
async fn read(app: &AppState, parts: &Parts, body: axum::body::Body) -> Result<Webhook, Response> {
    let path = parts.uri.path();
    let refuse = |status: StatusCode, reason: &str| {
        tracing::warn!(path = %path, %reason, "webhook refused");
        (status, format!("{reason}\n")).into_response()
    };
    let dialect = Dialect::of_path(path);
    let signing = Signing::of(&app.settings, dialect);
    let given = match &signing {
        None if !app.settings.development => {
            return Err(refuse(
                StatusCode::FORBIDDEN,
                &format!("{} webhooks are refused: the provider's secret is not set", dialect.name()),
            ));
        }
        None => None,
        Some(signing) => Some(
            signing.header(&parts.headers).ok_or_else(|| refuse(StatusCode::FORBIDDEN, "no signature"))?,
        ),
    };
    let bytes = guard::read_body(body, MAX_BODY).await.map_err(IntoResponse::into_response)?;
    if let Some(given_type) = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) {
        let essence = given_type.split(';').next().unwrap_or_default().trim();
        if !essence.eq_ignore_ascii_case(dialect.body_type()) {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                &format!("{} webhooks are {}, not {essence}", dialect.name(), dialect.body_type()),
            ));
        }
    }
    let form = match dialect {
        Dialect::Twilio | Dialect::Telnyx => Some(
            Params::parse(&bytes)
                .map_err(|_| refuse(StatusCode::BAD_REQUEST, "webhook body is not UTF-8"))?,
        ),
        Dialect::Jambonz => None,
    };
    if let (Some(signing), Some(given)) = (&signing, given) {
        if !signing.is_valid(parts, given, &bytes, form.as_ref()) {
            return Err(refuse(StatusCode::FORBIDDEN, "invalid signature"));
        }
    }
    let call = match &form {
        Some(form) => Inbound::from_form(form),
        None => dialect.read(&bytes),
    }
    .map_err(|e| match e {
        Unreadable::NoCall => refuse(StatusCode::BAD_REQUEST, "missing or malformed call id"),
        Unreadable::Body(why) => refuse(StatusCode::BAD_REQUEST, why),
    })?;
    let host = parts.headers.get(header::HOST).and_then(|h| h.to_str().ok()).map(str::to_owned);
    Ok(Webhook { dialect, call, host })
}

/// An answer in the call's dialect.
fn answer(dialect: Dialect, body: String) -> Response {
    ([(header::CONTENT_TYPE, dialect.content_type())], body).into_response()
}

#[derive(Debug, Deserialize)]
struct StepQuery {
    s: Option<u32>,
}

async fn incoming(State(app): State<AppState>, hook: Webhook) -> Response {
    run(&app, Hook::Incoming, None, hook).await
}

async fn step(
    State(app): State<AppState>,
    Path(name): Path<String>,
    Query(query): Query<StepQuery>,
    hook: Webhook,
) -> Response {
    match Hook::from_path(&name) {
        Some(h) if h != Hook::Incoming => run(&app, h, query.s, hook).await,
        _ => (StatusCode::NOT_FOUND, "no such webhook\n").into_response(),
    }
}

fn event_of(hook: Hook, call: &Inbound) -> Option<Event> {
    Some(match hook {
        Hook::Incoming => return None,
        Hook::Gather => match call.digits.as_deref().map(str::trim) {
            Some(d) if !d.is_empty() => Event::Digits(d.to_owned()),
            _ => Event::Silence,
        },
        Hook::Silence => Event::Silence,
        Hook::Dial => Event::Dial(twiml::dial_status(call.dial_status.as_deref().unwrap_or("failed"))),
        Hook::Record => match &call.recording {
            Some((url, seconds)) if *seconds > 0 => Event::Recorded { url: url.clone(), seconds: *seconds },
            _ => Event::Silence,
        },
    })
}

async fn run(app: &AppState, hook: Hook, step: Option<u32>, webhook: Webhook) -> Response {
    let dialect = webhook.dialect;
    let base = base_url(app, &webhook);
    let call = webhook.call;
    let flows = app.flows();
    // Parsing a number is the costliest part of a step: done here, on the async workers,
    // not on the single database writer.
    let caller = if hook == Hook::Incoming {
        crate::phone::E164::caller_id(&call.from, flows.for_called(&call.to).region)
    } else {
        None
    };
    let req = line::Request {
        dialect,
        hook,
        event: event_of(hook, &call),
        sid: call.sid,
        step,
        from: call.from,
        caller,
        to: call.to,
        status: call.call_status.unwrap_or_else(|| "in-progress".to_owned()),
        base: base.clone(),
        at: app.clock.now(),
        trial: false,
    };
    if hook == Hook::Incoming {
        tracing::info!(call = %req.sid, provider = dialect.name(), from = %mask(&req.from), to = %req.to, "call arrives");
    }
    let (sid, to) = (req.sid.clone(), req.to.clone());
    match take_step(app, &flows, req).await {
        Ok(reply) => answer(dialect, reply.body),
        Err(e) => {
            tracing::error!(call = %sid, error = %e, "webhook failed: caller gets the apology");
            answer(dialect, apology(dialect, &flows, &app.sounds(), &base, &to))
        }
    }
}

/// Runs one step of a call on the writer and answers it: the providers' webhooks and the
/// console's trial calls alike.
///
/// # Errors
/// Any store failure (nothing of the step is kept); the caller hears the apology.
pub(super) async fn take_step(
    app: &AppState,
    flows: &std::sync::Arc<crate::flow::Flows>,
    req: line::Request,
) -> Result<line::Reply, crate::store::StoreError> {
    // Webhooks of one call are handled one at a time; what is known of the call is
    // updated before the next can start.
    let entry = app.live.entry(&req.sid);
    let mut live = entry.lock().await;
    let sounds = app.sounds();
    let plan = line::plan(flows, &sounds, live.known.as_ref(), &req);
    let (to, trial) = (req.to.clone(), req.trial);
    let job = {
        let flows = std::sync::Arc::clone(flows);
        // Only a step that registered a request waits for the disk: the caller hears
        // "registered" only once it would survive a power cut. A step the writer cannot
        // start within the budget is dropped unrun: the caller hears the apology and
        // nothing is stored; one that has started is waited for, and its answer told.
        app.store.write_step_before(Some(std::time::Instant::now() + STEP_BUDGET), move |conn| {
            line::apply(conn, &flows, &sounds, &req, plan).map(|reply| {
                let promise = reply.registered;
                (reply, promise)
            })
        })
    };
    match job.await {
        Ok(mut reply) => {
            // A trial's page carries the step it is at.
            live.set(if trial { reply.known.clone() } else { reply.known.take() });
            if reply.registered {
                app.ops.queue_changed_on(&flows.for_called(&to).id);
            }
            Ok(reply)
        }
        Err(e) => {
            live.set(None);
            Err(e)
        }
    }
}

/// The public base URL of the links in an answer: the configured one, else the Host
/// header's (development).
fn base_url(app: &AppState, webhook: &Webhook) -> String {
    app.settings
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", webhook.host.as_deref().unwrap_or("localhost")))
}

/// A webhook of a call the service placed, or of a volunteer's call about their missions
/// (`…/out/{id}/{hook}`).
async fn placed_step(
    State(app): State<AppState>,
    Path((id, name)): Path<(i64, String)>,
    Query(query): Query<StepQuery>,
    webhook: Webhook,
) -> Response {
    let Some(hook) = outbound::Hook::from_path(&name) else {
        return (StatusCode::NOT_FOUND, "no such webhook\n").into_response();
    };
    let base = base_url(&app, &webhook);
    let Webhook { dialect, call, .. } = webhook;
    let from = call.from.clone();
    let req = outbound::Request {
        dialect,
        id,
        sid: call.sid,
        hook,
        step: query.s,
        digits: call.digits,
        answered_by: call.answered_by,
        dial_status: call.dial_status,
        base: base.clone(),
        at: app.clock.now(),
    };
    let (flows, sounds) = (app.flows(), app.sounds());
    let job = {
        let (flows, sounds) = (std::sync::Arc::clone(&flows), sounds.clone());
        app.store.write_step_before(Some(std::time::Instant::now() + STEP_BUDGET), move |conn| {
            crate::store::atomically(conn, |conn| outbound::handle(conn, &flows, &sounds, &req))
                .map(|body| (body, false))
        })
    };
    match job.await {
        Ok(body) => {
            // An answer may end a round of offers or hand a mission back.
            app.ops.outbox_changed();
            app.ops.queue_changed();
            answer(dialect, body)
        }
        Err(e) => {
            tracing::error!(placed = id, error = %e, "placed call's webhook failed: the person hears the apology");
            answer(dialect, apology(dialect, &flows, &sounds, &base, &from))
        }
    }
}

/// The status callback of a call the service placed.
async fn placed_status(State(app): State<AppState>, Path(id): Path<i64>, webhook: Webhook) -> Response {
    let Some(call_status) = webhook.call.call_status else {
        return bad_request("missing CallStatus\n");
    };
    let sid = webhook.call.sid;
    let at = app.clock.now();
    let result = app
        .store
        .write_step(move |conn| {
            crate::store::atomically(conn, |conn| outbound::status(conn, id, &sid, &call_status, at))
                .map(|changed| (changed, false))
        })
        .await;
    match result {
        Ok(changed) => {
            if changed {
                app.ops.outbox_changed();
            }
        }
        Err(e) => tracing::error!(placed = id, error = %e, "placed call's status not recorded"),
    }
    StatusCode::NO_CONTENT.into_response()
}

fn bad_request(message: &'static str) -> Response {
    (StatusCode::BAD_REQUEST, message).into_response()
}

/// The apology in the line's first language, then the fallback number.
fn apology(
    dialect: Dialect,
    flows: &crate::flow::Flows,
    sounds: &crate::sounds::Library,
    base: &str,
    to: &str,
) -> String {
    let flow = flows.for_called(to);
    let language = flow.default_language().to_owned();
    let text = flow.text(prompts::APOLOGY, &language).unwrap_or_default().to_owned();
    let prompt = Some(prompts::APOLOGY.to_owned());
    dialect.announce(
        &[Speech { text, language, prompt }],
        twiml::Voices {
            voice: &|l| flow.voice(l),
            recording: &|l, p| sounds.url(base, crate::sounds::Slot::new(&flow.id, l, p)),
        },
        flow.fallback.as_ref(),
    )
}

async fn status(State(app): State<AppState>, webhook: Webhook) -> Response {
    let call = webhook.call;
    let Some(call_status) = call.call_status else {
        return bad_request("missing CallStatus\n");
    };
    record_status(
        &app,
        Reported {
            sid: call.sid,
            to: call.to,
            status: call_status,
            sequence: call.sequence,
            duration: call.duration,
        },
    )
    .await;
    StatusCode::NO_CONTENT.into_response()
}

/// A call's status, as its provider reports it.
pub(super) struct Reported {
    pub sid: String,
    pub to: String,
    pub status: String,
    pub sequence: Option<i64>,
    pub duration: Option<i64>,
}

/// Records a call's status (a final one ends it): the providers' status callbacks and the
/// end of the console's trial calls alike.
pub(super) async fn record_status(app: &AppState, reported: Reported) {
    let Reported { sid, to, status: call_status, sequence, duration } = reported;
    let flows = app.flows();
    let flow = flows.for_called(&to);
    let line = flow.id.clone();
    let at = app.clock.now();
    let day = at.with_timezone(&flow.schedule.timezone()).date_naive().to_string();
    let is_final = twiml::is_final_status(&call_status);
    if is_final {
        app.live.forget(&sid);
    }
    // A call's status is its log, like its steps: committed before the answer, not
    // waited for on the disk (the provider does not retry a status callback anyway).
    let result = app
        .store
        .write_step(move |conn| {
            // A final status (one a call) also ends a volunteer's call to the line: both
            // in a savepoint. Any other is one statement, whole by itself.
            let record = |conn: &rusqlite::Connection| {
                calls::record_status(
                    conn,
                    &StatusUpdate {
                        sid: &sid,
                        line: &line,
                        called: &to,
                        status: &call_status,
                        sequence,
                        duration,
                        at,
                        day: &day,
                        is_final,
                    },
                )?;
                outbound::ended_by_sid(conn, &sid, &call_status, at)
            };
            if is_final { crate::store::atomically(conn, record) } else { record(conn) }.map(|()| ((), false))
        })
        .await;
    if let Err(e) = result {
        // The provider does not retry; the failure is ours to see in the logs.
        tracing::error!(error = %e, "status callback not recorded");
    }
}
