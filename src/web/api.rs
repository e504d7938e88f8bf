//! The JSON API under `/api/`: the console's operations for scripts and other tools.
//! Authenticated by the session cookie (changes then need `X-CSRF-Token`) or
//! `Authorization: Bearer <token>`. Errors are `{"error": {"code", "message"}}` with a
//! stable code.

use std::str::FromStr;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::AppState;
use super::session::{ApiUser, Viewer};
use crate::phone::mask;
use crate::store::StoreError;
use crate::store::agents;
use crate::store::callbacks::{self, Actor, Filter, Outcome, QueueResult, Refusal, Request};

/// API routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/requests", get(list))
        .route("/api/requests/claim-next", post(claim_next))
        .route("/api/requests/{id}", get(detail))
        .route("/api/requests/{id}/history", get(history))
        .route("/api/requests/{id}/{action}", post(act))
        .route("/api/agents", get(list_agents).post(add_agent))
        .route("/api/agents/{login}/disable", post(disable_agent))
}

/// A JSON error with a stable code.
#[must_use]
pub fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({ "error": { "code": code, "message": message } }))).into_response()
}

fn store_error(e: &StoreError) -> Response {
    tracing::error!(error = %e, "API: store failure");
    error(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "the database is unavailable")
}

fn refusal(r: &Refusal) -> Response {
    let status = match r {
        Refusal::NotFound => StatusCode::NOT_FOUND,
        Refusal::NotHolder => StatusCode::FORBIDDEN,
        Refusal::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
        Refusal::QueueEmpty | Refusal::NotAvailable => StatusCode::CONFLICT,
    };
    error(status, r.code(), &r.to_string())
}

fn answer<T>(result: QueueResult<T>, ok: impl FnOnce(T) -> Response) -> Response {
    match result {
        Ok(Ok(value)) => ok(value),
        Ok(Err(r)) => refusal(&r),
        Err(e) => store_error(&e),
    }
}

fn forbidden_unless_supervisor(viewer: &Viewer) -> Option<Response> {
    (!viewer.agent.is_supervisor()).then(|| error(StatusCode::FORBIDDEN, "forbidden", "supervisors only"))
}

/// A request as the viewer may see it: the full number, the answers and the voice
/// message only for the agent holding it.
#[must_use]
pub fn view(r: &Request, viewer: &Viewer) -> Value {
    let holder = r.holder.as_ref().is_some_and(|(id, _)| *id == viewer.agent.id);
    json!({
        "id": r.id,
        "line": r.line,
        "service": r.service,
        "language": r.language,
        "postcode": r.postcode,
        "priority": r.priority,
        "state": r.state,
        "attempts": r.attempts,
        "max_attempts": r.max_attempts,
        "not_before": r.not_before,
        "created_at": r.created_at,
        "held_by": r.holder.as_ref().map(|(_, login)| login),
        "lease_until": r.lease_until,
        "closed_reason": r.closed_reason,
        "phone": r.phone.as_deref().map(|p| if holder { p.to_owned() } else { mask(p) }),
        "answers": if holder { r.answers.clone() } else { Value::Null },
        "recording_url": if holder { r.recording_url.clone() } else { None },
    })
}

fn body<T: DeserializeOwned + Default>(bytes: &[u8]) -> Result<T, Box<Response>> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(bytes)
        .map_err(|e| Box::new(error(StatusCode::BAD_REQUEST, "bad_json", &e.to_string())))
}

async fn list(State(app): State<AppState>, ApiUser(viewer): ApiUser, RawQuery(q): RawQuery) -> Response {
    let query = q.unwrap_or_default();
    let mut filter = Filter::from_str(&query).unwrap_or_default();
    filter.everything_active = viewer.agent.is_supervisor()
        && form_urlencoded::parse(query.as_bytes()).any(|(k, v)| k == "all" && v == "true");
    let now = app.clock.now();
    match app.store.read(move |c| callbacks::list(c, &filter, now)).await {
        Ok(requests) => {
            Json(json!({ "requests": requests.iter().map(|r| view(r, &viewer)).collect::<Vec<_>>() }))
                .into_response()
        }
        Err(e) => store_error(&e),
    }
}

async fn fetch(app: &AppState, viewer: &Viewer, id: i64) -> Response {
    let now = app.clock.now();
    match app.store.read(move |c| Ok((callbacks::get(c, id, now)?, callbacks::history_of(c, id)?))).await {
        Ok((Some(r), history)) => {
            Json(json!({ "request": view(&r, viewer), "history": history })).into_response()
        }
        Ok((None, _)) => refusal(&Refusal::NotFound),
        Err(e) => store_error(&e),
    }
}

async fn claim_next(
    State(app): State<AppState>,
    ApiUser(viewer): ApiUser,
    RawQuery(q): RawQuery,
) -> Response {
    let filter = Filter::from_str(q.as_deref().unwrap_or_default()).unwrap_or_default();
    let (agent, lease, now) = (viewer.agent.id, app.lease(), app.clock.now());
    match app.queue_change(move |c| callbacks::claim_next(c, agent, &filter, lease, now)).await {
        Ok(Ok(id)) => fetch(&app, &viewer, id).await,
        other => answer(other, |_: i64| StatusCode::NO_CONTENT.into_response()),
    }
}

async fn detail(State(app): State<AppState>, ApiUser(viewer): ApiUser, Path(id): Path<i64>) -> Response {
    fetch(&app, &viewer, id).await
}

async fn history(State(app): State<AppState>, ApiUser(_): ApiUser, Path(id): Path<i64>) -> Response {
    match app.store.read(move |c| callbacks::history_of(c, id)).await {
        Ok(h) => Json(json!({ "history": h })).into_response(),
        Err(e) => store_error(&e),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionBody {
    outcome: Option<String>,
    note: Option<String>,
    follow_up: Option<DateTime<Utc>>,
    partner: Option<String>,
    priority: Option<i64>,
    reason: Option<String>,
    agent: Option<String>,
}

async fn act(
    State(app): State<AppState>,
    ApiUser(viewer): ApiUser,
    Path((id, action)): Path<(i64, String)>,
    bytes: Bytes,
) -> Response {
    let form: ActionBody = match body(&bytes) {
        Ok(f) => f,
        Err(response) => return *response,
    };
    let (me, supervisor, lease, now) =
        (viewer.agent.id, viewer.agent.is_supervisor(), app.lease(), app.clock.now());
    if matches!(action.as_str(), "priority" | "cancel" | "reassign") {
        if let Some(response) = forbidden_unless_supervisor(&viewer) {
            return response;
        }
    }
    match action.as_str() {
        "claim" => match app.queue_change(move |c| callbacks::claim(c, id, me, lease, now)).await {
            Ok(Ok(_)) => fetch(&app, &viewer, id).await,
            other => answer(other, |_| StatusCode::NO_CONTENT.into_response()),
        },
        "release" => {
            let actor = Actor { id: me, supervisor };
            answer(app.queue_change(move |c| callbacks::release(c, id, actor, now)).await, |()| {
                Json(json!({ "state": "open" })).into_response()
            })
        }
        "outcome" => {
            let outcome = match Outcome::parse(
                form.outcome.as_deref().unwrap_or_default(),
                form.follow_up,
                form.partner.as_deref(),
            ) {
                Ok(o) => o,
                Err(message) => return error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", &message),
            };
            let note = form.note.unwrap_or_default();
            answer(
                app.queue_change(move |c| callbacks::record_outcome(c, id, me, &outcome, &note, now)).await,
                |state| Json(json!({ "state": state })).into_response(),
            )
        }
        "priority" => {
            let priority = form.priority.unwrap_or(-1);
            answer(app.queue_change(move |c| callbacks::set_priority(c, id, me, priority, now)).await, |()| {
                Json(json!({ "priority": priority })).into_response()
            })
        }
        "cancel" => {
            let reason = form.reason.unwrap_or_default();
            answer(app.queue_change(move |c| callbacks::cancel(c, id, me, &reason, now)).await, |()| {
                Json(json!({ "state": "cancelled" })).into_response()
            })
        }
        "reassign" => {
            let login = form.agent.unwrap_or_default();
            let result = app
                .queue_change(move |c| match agents::by_login(c, &login)? {
                    Some((agent, _)) if !agent.disabled => {
                        callbacks::reassign(c, id, me, agent.id, lease, now).map(|r| r.map(|()| login))
                    }
                    _ => Ok(Err(Refusal::Invalid(format!("no active agent `{login}`")))),
                })
                .await;
            answer(result, |login| Json(json!({ "held_by": login })).into_response())
        }
        _ => error(StatusCode::NOT_FOUND, "not_found", "no such action"),
    }
}

async fn list_agents(State(app): State<AppState>, ApiUser(viewer): ApiUser) -> Response {
    if let Some(response) = forbidden_unless_supervisor(&viewer) {
        return response;
    }
    match app.store.read(agents::list).await {
        Ok(list) => Json(json!({ "agents": list })).into_response(),
        Err(e) => store_error(&e),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewAgent {
    login: String,
    role: String,
    password: String,
}

async fn add_agent(State(app): State<AppState>, ApiUser(viewer): ApiUser, bytes: Bytes) -> Response {
    if let Some(response) = forbidden_unless_supervisor(&viewer) {
        return response;
    }
    let new: NewAgent = match body(&bytes) {
        Ok(n) => n,
        Err(response) => return *response,
    };
    match super::console::create_agent(&app, new.login.trim().to_owned(), &new.role, new.password).await {
        Ok(Ok(id)) => {
            (StatusCode::CREATED, Json(json!({ "id": id, "login": new.login.trim() }))).into_response()
        }
        Ok(Err(problem)) => error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", &problem),
        Err(e) => store_error(&e),
    }
}

async fn disable_agent(
    State(app): State<AppState>,
    ApiUser(viewer): ApiUser,
    Path(login): Path<String>,
) -> Response {
    if let Some(response) = forbidden_unless_supervisor(&viewer) {
        return response;
    }
    match app.store.write(move |c| agents::disable(c, &login)).await {
        Ok(true) => Json(json!({ "disabled": true })).into_response(),
        Ok(false) => error(StatusCode::NOT_FOUND, "not_found", "no such agent"),
        Err(e) => store_error(&e),
    }
}
