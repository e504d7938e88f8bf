//! The JSON API under `/api/`: the console's operations for scripts and other tools.
//! Authenticated by the session cookie (changes then need `X-CSRF-Token`) or
//! `Authorization: Bearer <token>`. Each handler reads its input into a use-case's
//! command ([`crate::ops`]) and renders the result; errors are [`ApiError`]s,
//! `{"error": {"code", "message"}}` with a stable code.

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

use super::errors::ApiError;
use super::forms;
use super::session::{ApiSupervisor, ApiUser};
use super::state::AppState;
use crate::domain::queue::Request;
use crate::domain::{Outcome, Priority, RequestId};
use crate::ops::agents::{self, Manager};
use crate::ops::queue::{self, Command, Done};
use crate::ops::{Actor, Error};
use crate::phone::mask;
use crate::store::time;

/// API routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/requests", get(list))
        .route("/api/requests/claim-next", post(claim_next))
        .route("/api/requests/{id}", get(detail))
        .route("/api/requests/{id}/history", get(history))
        .route("/api/requests/{id}/call", post(call))
        .route("/api/requests/{id}/{action}", post(act))
        .route("/api/agents", get(list_agents).post(add_agent))
        .route("/api/agents/{login}/disable", post(disable_agent))
}

type Answer = Result<Response, ApiError>;

/// A request as `actor` may see it: the full number, the answers and the voice message
/// only for the agent holding it.
#[must_use]
pub fn view(r: &Request, actor: Actor) -> Value {
    let holder = queue::shows_contact(r, actor);
    json!({
        "id": r.id,
        "line": r.line,
        "service": r.service,
        "language": r.language,
        "postcode": r.postcode,
        "priority": r.priority.rank(),
        "state": r.state,
        "attempts": r.attempts,
        "max_attempts": r.max_attempts,
        "not_before": time::format(r.not_before),
        "created_at": time::format(r.created_at),
        "held_by": r.holder.as_ref().map(|(_, login)| login),
        "lease_until": r.lease_until.map(time::format),
        "closed_reason": r.closed_reason,
        "phone": r.phone.as_deref().map(|p| if holder { p.to_owned() } else { mask(p) }),
        "answers": if holder { r.answers.clone() } else { Value::Null },
        "recording_url": if holder { r.recording_url.clone() } else { None },
        // Like the answers it comes from; coordinators see it to match the request.
        "help": if holder || crate::ops::missions::coordinates(actor) { r.help.clone() } else { None },
        "mission": r.mission,
        "neighbourhood": r.neighbourhood,
        "reserved_until": r.reserved_until.map(time::format),
    })
}

/// Reads a JSON body (an empty one is the defaults).
pub(super) fn body<T: DeserializeOwned + Default>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(bytes).map_err(|e| ApiError::BadRequest("bad_json", e.to_string()))
}

async fn list(State(app): State<AppState>, ApiUser(viewer): ApiUser, RawQuery(q): RawQuery) -> Answer {
    let actor = viewer.actor();
    let requests = queue::list(&app.ops, actor, forms::filter(q.as_deref())).await?;
    Ok(Json(json!({ "requests": requests.iter().map(|r| view(r, actor)).collect::<Vec<_>>() }))
        .into_response())
}

async fn one(app: &AppState, actor: Actor, id: RequestId) -> Answer {
    let detail = queue::get(&app.ops, actor, id).await?;
    let mut request = view(&detail.request, actor);
    if queue::shows_contact(&detail.request, actor) {
        let calls: Vec<Value> = detail
            .calls
            .iter()
            .map(|c| {
                json!({
                    "at": c.at.map(time::format),
                    "postcode": c.postcode,
                    "answers": c.answers,
                    "recording_url": c.recording_url,
                })
            })
            .collect();
        request["calls"] = Value::from(calls);
    }
    Ok(Json(json!({ "request": request, "history": detail.history })).into_response())
}

async fn claim_next(State(app): State<AppState>, ApiUser(viewer): ApiUser, RawQuery(q): RawQuery) -> Answer {
    let command = Command::ClaimNext(forms::filter(q.as_deref()));
    let Done::Claimed(id) = queue::apply(&app.ops, viewer.actor(), command).await? else {
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    one(&app, viewer.actor(), id).await
}

/// The request named in a path: one that is not a number is no request either (the JSON
/// error, not axum's plain-text rejection).
fn request_id(text: &str) -> Result<RequestId, ApiError> {
    forms::request_id(text).ok_or(ApiError::Refused(crate::ops::Error::NoSuchRequest))
}

async fn detail(State(app): State<AppState>, ApiUser(viewer): ApiUser, Path(id): Path<String>) -> Answer {
    one(&app, viewer.actor(), request_id(&id)?).await
}

async fn history(State(app): State<AppState>, ApiUser(viewer): ApiUser, Path(id): Path<String>) -> Answer {
    let history = queue::history(&app.ops, viewer.actor(), request_id(&id)?).await?;
    Ok(Json(json!({ "history": history })).into_response())
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

/// Reads `/api/requests/{id}/{action}` and its body into a command.
fn command(id: RequestId, action: &str, form: ActionBody) -> Result<Command, ApiError> {
    Ok(match action {
        "claim" => Command::Claim(id),
        "release" => Command::Release(id),
        "outcome" => Command::Outcome {
            id,
            outcome: Outcome::parse(
                form.outcome.as_deref().unwrap_or_default(),
                form.follow_up,
                form.partner.as_deref(),
            )
            .map_err(Error::Invalid)?,
            note: form.note.unwrap_or_default(),
        },
        "priority" => Command::SetPriority {
            id,
            priority: Priority::from_rank(form.priority.unwrap_or(-1)).map_err(Error::Invalid)?,
        },
        "cancel" => Command::Cancel { id, reason: form.reason.unwrap_or_default() },
        "reassign" => Command::Reassign { id, to: form.agent.unwrap_or_default() },
        _ => return Err(ApiError::NotFound("no such action")),
    })
}

async fn act(
    State(app): State<AppState>,
    ApiUser(viewer): ApiUser,
    Path((id, action)): Path<(String, String)>,
    bytes: Bytes,
) -> Answer {
    let actor = viewer.actor();
    let id = request_id(&id)?;
    let command = command(id, &action, body(&bytes)?)?;
    Ok(match queue::apply(&app.ops, actor, command).await? {
        Done::Claimed(id) => return one(&app, actor, id).await,
        Done::Released(_) => Json(json!({ "state": "open" })),
        Done::Worked(_, state) => Json(json!({ "state": state })),
        Done::Prioritised(_, priority) => Json(json!({ "priority": priority.rank() })),
        Done::Cancelled(_) => Json(json!({ "state": "cancelled" })),
        Done::Reassigned(_, login) => Json(json!({ "held_by": login })),
    }
    .into_response())
}

/// Click-to-call: the line rings the agent holding the request, then the resident.
async fn call(State(app): State<AppState>, ApiUser(viewer): ApiUser, Path(id): Path<String>) -> Answer {
    let id = request_id(&id)?;
    let placed = crate::ops::calling::call_request(&app.ops, viewer.actor(), id).await?;
    tracing::info!(by = %viewer.agent.login, request = id.0, placed, "click-to-call");
    Ok((StatusCode::ACCEPTED, Json(json!({ "call": placed, "state": "queued" }))).into_response())
}

async fn list_agents(State(app): State<AppState>, ApiSupervisor(_, supervisor): ApiSupervisor) -> Answer {
    let list = agents::list(&app.ops, supervisor.into()).await?;
    Ok(Json(json!({ "agents": list })).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewAgent {
    login: String,
    role: String,
    password: String,
    phone: Option<String>,
    #[serde(default)]
    lines: Vec<String>,
    /// A referent's postcodes.
    #[serde(default)]
    postcodes: Vec<String>,
    /// A referent's neighbourhoods (of its one line).
    #[serde(default)]
    neighbourhoods: Vec<String>,
}

async fn add_agent(
    State(app): State<AppState>,
    ApiSupervisor(viewer, supervisor): ApiSupervisor,
    bytes: Bytes,
) -> Answer {
    let new: NewAgent = body(&bytes)?;
    let id = agents::add(
        &app.ops,
        Manager::from(supervisor),
        &new.login,
        &new.role,
        new.password,
        new.phone.as_deref(),
        &new.lines,
        agents::Referent { postcodes: new.postcodes, neighbourhoods: new.neighbourhoods },
    )
    .await?;
    tracing::info!(by = %viewer.agent.login, login = %new.login.trim(), "account added");
    Ok((StatusCode::CREATED, Json(json!({ "id": id, "login": new.login.trim() }))).into_response())
}

async fn disable_agent(
    State(app): State<AppState>,
    ApiSupervisor(viewer, supervisor): ApiSupervisor,
    Path(login): Path<String>,
) -> Answer {
    agents::disable(&app.ops, supervisor.into(), &login).await?;
    tracing::info!(by = %viewer.agent.login, login = %login, "account disabled");
    Ok(Json(json!({ "disabled": true })).into_response())
}
