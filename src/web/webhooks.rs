//! The provider's webhooks under `/voice/`. Every request is checked against its
//! signature (when a token is set), read into a [`line::Request`], planned here with
//! what is known of the call and applied on the database writer. Whatever fails inside,
//! the caller hears valid TwiML: an apology and the fallback number, never a 5xx or an
//! empty body.

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
use crate::telephony::{Params, is_call_sid, signature, twiml};

/// Largest webhook body accepted; the provider's are under 2 KiB.
const MAX_BODY: usize = 64 * 1024;
/// Time allowed to the database writer to start one webhook's step; the provider gives
/// up after 15 s.
const STEP_BUDGET: Duration = Duration::from_secs(5);

/// Voice routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/voice/incoming", post(incoming))
        .route("/voice/status", post(status))
        .route("/voice/{hook}", post(step))
        .route("/voice/out/{id}/status", post(placed_status))
        .route("/voice/out/{id}/{hook}", post(placed_step))
}

/// A webhook whose signature has been checked, put in the request by [`guard`].
#[derive(Clone)]
pub struct Webhook {
    /// Its form parameters.
    pub params: Params,
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
/// 1. with a token set, a request with no signature header is refused before its body
///    is read;
/// 2. the body is read within [`guard::BODY_DEADLINE`] (`408`) and [`MAX_BODY`] (`413`);
/// 3. its signature is checked (`403`);
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

/// Reads and checks a webhook (steps 1 to 3 of [`guard`]).
async fn read(app: &AppState, parts: &Parts, body: axum::body::Body) -> Result<Webhook, Response> {
    let refuse = |status: StatusCode, message: &'static str| (status, message).into_response();
    // Every secret a provider may sign with: Twilio's auth token, SignalWire's signing key.
    let secrets: Vec<&str> = [&app.settings.twilio_auth_token, &app.settings.signalwire_signing_key]
        .into_iter()
        .flatten()
        .map(crate::settings::Secret::expose)
        .collect();
    let signing = match &app.settings.public_url {
        Some(base) if !secrets.is_empty() => Some((secrets, base)),
        _ => None,
    };
    let given = signature_header(&parts.headers);
    if signing.is_some() && given.is_none() {
        tracing::warn!(path = %parts.uri.path(), "webhook refused: no signature");
        return Err(refuse(StatusCode::FORBIDDEN, "invalid signature\n"));
    }
    let bytes = guard::read_body(body, MAX_BODY).await.map_err(IntoResponse::into_response)?;
    let params =
        Params::parse(&bytes).map_err(|_| refuse(StatusCode::BAD_REQUEST, "webhook body is not UTF-8\n"))?;
    if let (Some((secrets, base)), Some(sig)) = (signing, given) {
        let url = format!("{base}{}", parts.uri.path_and_query().map_or("", |p| p.as_str()));
        let json = parts
            .headers
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
        let pairs: Vec<(&str, &str)> = params.iter().collect();
        let valid = secrets.iter().any(|secret| {
            if json {
                signature::is_valid_json(secret, &url, &bytes, sig)
            } else {
                signature::is_valid(secret, &url, &pairs, sig)
            }
        });
        if !valid {
            tracing::warn!(path = %parts.uri.path(), "webhook refused: bad signature");
            return Err(refuse(StatusCode::FORBIDDEN, "invalid signature\n"));
        }
    }
    let host = parts.headers.get(header::HOST).and_then(|h| h.to_str().ok()).map(str::to_owned);
    Ok(Webhook { params, host })
}

fn signature_header(headers: &HeaderMap) -> Option<&str> {
    ["x-twilio-signature", "x-signalwire-signature"]
        .iter()
        .find_map(|name| headers.get(*name))
        .and_then(|v| v.to_str().ok())
}

fn xml(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/xml")], body).into_response()
}

fn bad_request(message: &'static str) -> Response {
    (StatusCode::BAD_REQUEST, message).into_response()
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

fn event_of(hook: Hook, params: &Params) -> Option<Event> {
    Some(match hook {
        Hook::Incoming => return None,
        Hook::Gather => match params.get("Digits").map(str::trim) {
            Some(d) if !d.is_empty() => Event::Digits(d.to_owned()),
            _ => Event::Silence,
        },
        Hook::Silence => Event::Silence,
        Hook::Dial => Event::Dial(twiml::dial_status(params.get("DialCallStatus").unwrap_or("failed"))),
        Hook::Record => {
            let seconds = params.get("RecordingDuration").and_then(|d| d.parse().ok()).unwrap_or(0);
            match params.get("RecordingUrl") {
                Some(url) if !url.is_empty() && seconds > 0 => {
                    Event::Recorded { url: url.to_owned(), seconds }
                }
                _ => Event::Silence,
            }
        }
    })
}

async fn run(app: &AppState, hook: Hook, step: Option<u32>, webhook: Webhook) -> Response {
    let params = &webhook.params;
    let Some(sid) = params.get("CallSid").filter(|s| is_call_sid(s)) else {
        return bad_request("missing or malformed CallSid\n");
    };
    let base = base_url(app, &webhook);
    let flows = app.flows();
    let from = params.get("From").unwrap_or_default();
    // Parsing a number is the costliest part of a step: done here, on the async workers,
    // not on the single database writer.
    let caller = if hook == Hook::Incoming {
        crate::phone::E164::caller_id(from, flows.for_called(params.get("To").unwrap_or_default()).region)
    } else {
        None
    };
    let req = line::Request {
        hook,
        sid: sid.to_owned(),
        step,
        from: from.to_owned(),
        caller,
        to: params.get("To").unwrap_or_default().to_owned(),
        status: params.get("CallStatus").unwrap_or("in-progress").to_owned(),
        event: event_of(hook, params),
        base: base.clone(),
        at: app.clock.now(),
    };
    if hook == Hook::Incoming {
        tracing::info!(call = %req.sid, from = %mask(&req.from), to = %req.to, "call arrives");
    }
    let to = req.to.clone();
    // Webhooks of one call are handled one at a time; what is known of the call is
    // updated before the next can start.
    let entry = app.live.entry(sid);
    let mut live = entry.lock().await;
    let sounds = app.sounds();
    let plan = line::plan(&flows, &sounds, live.known.as_ref(), &req);
    let job = {
        let flows = std::sync::Arc::clone(&flows);
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
        Ok(reply) => {
            live.set(reply.known);
            if reply.registered {
                app.ops.queue_changed_on(&app.flows().for_called(&to).id);
            }
            xml(reply.body)
        }
        Err(e) => {
            live.set(None);
            tracing::error!(call = %sid, error = %e, "webhook failed: caller gets the apology");
            xml(apology(&flows, &app.sounds(), &base, &to))
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

/// A webhook of a call the service placed (`/voice/out/{id}/{hook}`).
async fn placed_step(
    State(app): State<AppState>,
    Path((id, name)): Path<(i64, String)>,
    Query(query): Query<StepQuery>,
    webhook: Webhook,
) -> Response {
    let Some(hook) = outbound::Hook::from_path(&name) else {
        return (StatusCode::NOT_FOUND, "no such webhook\n").into_response();
    };
    let params = &webhook.params;
    let base = base_url(&app, &webhook);
    let Some(sid) = params.get("CallSid").filter(|s| is_call_sid(s)) else {
        return bad_request("missing or malformed CallSid\n");
    };
    let req = outbound::Request {
        id,
        sid: sid.to_owned(),
        hook,
        step: query.s,
        digits: params.get("Digits").map(str::to_owned),
        answered_by: params.get("AnsweredBy").map(str::to_owned),
        dial_status: params.get("DialCallStatus").map(str::to_owned),
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
            xml(body)
        }
        Err(e) => {
            tracing::error!(placed = id, error = %e, "placed call's webhook failed: the person hears the apology");
            xml(apology(&flows, &sounds, &base, params.get("From").unwrap_or_default()))
        }
    }
}

/// The status callback of a call the service placed.
async fn placed_status(State(app): State<AppState>, Path(id): Path<i64>, webhook: Webhook) -> Response {
    let Some(sid) = webhook.params.get("CallSid").filter(|s| is_call_sid(s)).map(str::to_owned) else {
        return bad_request("missing or malformed CallSid\n");
    };
    let Some(call_status) = webhook.params.get("CallStatus").map(str::to_owned) else {
        return bad_request("missing CallStatus\n");
    };
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

/// The apology in the line's first language, then the fallback number.
fn apology(flows: &crate::flow::Flows, sounds: &crate::sounds::Library, base: &str, to: &str) -> String {
    let flow = flows.for_called(to);
    let language = flow.default_language().to_owned();
    let text = flow.text(prompts::APOLOGY, &language).unwrap_or_default().to_owned();
    let prompt = Some(prompts::APOLOGY.to_owned());
    twiml::announce(
        &[Speech { text, language, prompt }],
        twiml::Voices {
            voice: &|l| flow.voice(l),
            recording: &|l, p| sounds.url(base, crate::sounds::Slot::new(&flow.id, l, p)),
        },
        flow.fallback.as_ref(),
    )
}

async fn status(State(app): State<AppState>, webhook: Webhook) -> Response {
    let params = webhook.params;
    let Some(sid) = params.get("CallSid").filter(|s| is_call_sid(s)).map(str::to_owned) else {
        return bad_request("missing or malformed CallSid\n");
    };
    let Some(call_status) = params.get("CallStatus").map(str::to_owned) else {
        return bad_request("missing CallStatus\n");
    };
    let to = params.get("To").unwrap_or_default().to_owned();
    let flows = app.flows();
    let flow = flows.for_called(&to);
    let line = flow.id.clone();
    let sequence = params.get("SequenceNumber").and_then(|s| s.parse().ok());
    let duration = params.get("CallDuration").and_then(|s| s.parse().ok());
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
    match result {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => {
            // The provider does not retry; the failure is ours to see in the logs.
            tracing::error!(error = %e, "status callback not recorded");
            StatusCode::NO_CONTENT.into_response()
        }
    }
}
