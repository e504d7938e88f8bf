//! The JSON API of the volunteers' roster and of missions: `/api/volunteers`,
//! `/api/requests/{id}/matches|assign|find-volunteer`, `/api/missions`. Each handler
//! reads its input into a use-case of [`crate::ops::volunteers`] or
//! [`crate::ops::missions`] and renders the result; a wrong field is a 422 naming it
//! (`{"error": {"code": "invalid", "field": "postcode", "message": …}}`).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::api::body;
use super::errors::ApiError;
use super::session::ApiUser;
use super::state::AppState;
use crate::domain::RequestId;
use crate::domain::missions::MissionId;
use crate::domain::volunteers::{Entry, Volunteer, VolunteerId};
use crate::ops::Error;
use crate::ops::missions::{self, Step, View};
use crate::ops::volunteers::{self, Change};
use crate::phone::mask;
use crate::store::time;

/// Roster and mission routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/volunteers", get(list).post(add))
        .route("/api/volunteers/{id}", get(detail).patch(edit))
        .route("/api/volunteers/{id}/account", post(link_account))
        .route("/api/volunteers/{id}/{action}", post(change))
        .route("/api/requests/{id}/matches", get(matches))
        .route("/api/requests/{id}/assign", post(assign))
        .route("/api/requests/{id}/find-volunteer", post(find_volunteer))
        .route("/api/missions", get(list_missions))
        .route("/api/missions/{id}", get(mission))
        .route("/api/missions/{id}/{step}", post(step))
}

type Answer = Result<Response, ApiError>;

/// A volunteer as the roster shows them: the number masked (in full only in the CSV
/// export of the command line).
#[must_use]
pub fn volunteer_json(v: &Volunteer) -> Value {
    let p = &v.profile;
    json!({
        "id": v.id,
        "line": v.line,
        "name": v.display_name(),
        "name_recorded": v.name_recording_url.is_some(),
        "phone": v.phone.as_deref().map(mask),
        "postcode": p.postcode,
        "section": p.section,
        "languages": p.languages,
        "helps": p.helps,
        "availability": p.availability.to_string(),
        "radius_km": p.radius_km,
        "weekly_max": p.weekly_max,
        "on_duty": v.on_duty,
        "state": v.state,
        "consent": v.consent.as_ref().map(|(at, how)| json!({ "at": time::format(*at), "how": how })),
        "notes": v.notes,
        "created_at": time::format(v.created_at),
    })
}

fn id_of(text: &str, missing: Error) -> Result<i64, ApiError> {
    super::forms::id(text).ok_or(ApiError::Refused(missing))
}

async fn list(State(app): State<AppState>, ApiUser(viewer): ApiUser, RawQuery(q): RawQuery) -> Answer {
    let filter = super::forms::roster_filter(q.as_deref()).map_err(|e| ApiError::BadRequest("invalid", e))?;
    let roster = volunteers::list(&app.ops, viewer.actor().into(), filter).await?;
    Ok(Json(json!({ "volunteers": roster.iter().map(volunteer_json).collect::<Vec<_>>() })).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewVolunteer {
    name: String,
    phone: String,
    postcode: String,
    section: Option<String>,
    #[serde(default)]
    helps: Vec<String>,
    #[serde(default)]
    languages: Vec<String>,
    #[serde(default)]
    availability: String,
    radius_km: Option<f64>,
    weekly_max: Option<u32>,
    consent: Option<String>,
    #[serde(default)]
    notes: String,
    line: Option<String>,
}

async fn add(State(app): State<AppState>, ApiUser(viewer): ApiUser, bytes: Bytes) -> Answer {
    let new: NewVolunteer = body(&bytes)?;
    let entry = Entry {
        name: new.name,
        phone: new.phone,
        postcode: new.postcode,
        section: new.section,
        helps: new.helps,
        languages: new.languages,
        availability: new.availability,
        radius_km: new.radius_km,
        weekly_max: new.weekly_max,
        consent_how: new.consent,
        notes: new.notes,
    };
    let id = volunteers::add(&app.ops, viewer.actor().into(), new.line.as_deref(), entry).await?;
    tracing::info!(by = %viewer.agent.login, volunteer = id.0, "volunteer added");
    let detail = volunteers::get(&app.ops, viewer.actor().into(), id).await?;
    Ok((StatusCode::CREATED, Json(json!({ "volunteer": volunteer_json(&detail.volunteer) }))).into_response())
}

async fn detail(State(app): State<AppState>, ApiUser(viewer): ApiUser, Path(id): Path<String>) -> Answer {
    let id = VolunteerId(id_of(&id, Error::NoSuchVolunteer)?);
    let detail = volunteers::get(&app.ops, viewer.actor().into(), id).await?;
    let missions: Vec<Value> =
        detail.missions.iter().map(|m| json!({ "id": m.id, "state": m.state, "help": m.help })).collect();
    Ok(Json(json!({
        "volunteer": volunteer_json(&detail.volunteer),
        "history": detail.history,
        "missions": missions,
    }))
    .into_response())
}

async fn edit(
    State(app): State<AppState>,
    ApiUser(viewer): ApiUser,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Answer {
    let id = VolunteerId(id_of(&id, Error::NoSuchVolunteer)?);
    let changes: crate::domain::volunteers::Edit = body(&bytes)?;
    volunteers::edit(&app.ops, viewer.actor().into(), id, changes).await?;
    tracing::info!(by = %viewer.agent.login, volunteer = id.0, "volunteer edited");
    let detail = volunteers::get(&app.ops, viewer.actor().into(), id).await?;
    Ok(Json(json!({ "volunteer": volunteer_json(&detail.volunteer) })).into_response())
}

async fn change(
    State(app): State<AppState>,
    ApiUser(viewer): ApiUser,
    Path((id, action)): Path<(String, String)>,
) -> Answer {
    let id = VolunteerId(id_of(&id, Error::NoSuchVolunteer)?);
    let what = Change::parse(&action).ok_or(ApiError::NotFound("no such action"))?;
    let state = volunteers::set(&app.ops, viewer.actor().into(), id, what).await?;
    tracing::info!(by = %viewer.agent.login, volunteer = id.0, action = %action, "volunteer changed");
    let on_duty = match what {
        Change::OnDuty => true,
        Change::OffDuty => false,
        _ => volunteers::get(&app.ops, viewer.actor().into(), id).await?.volunteer.on_duty,
    };
    Ok(Json(json!({ "state": state, "on_duty": on_duty })).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountBody {
    login: String,
}

async fn link_account(
    State(app): State<AppState>,
    ApiUser(viewer): ApiUser,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Answer {
    let id = VolunteerId(id_of(&id, Error::NoSuchVolunteer)?);
    let form: AccountBody = body(&bytes)?;
    volunteers::link_account(&app.ops, viewer.actor().into(), id, &form.login).await?;
    tracing::info!(by = %viewer.agent.login, volunteer = id.0, login = %form.login, "volunteer's account linked");
    Ok(Json(json!({ "volunteer": id, "login": form.login })).into_response())
}

fn request_of(text: &str) -> Result<RequestId, ApiError> {
    Ok(RequestId(id_of(text, Error::NoSuchRequest)?))
}

async fn matches(State(app): State<AppState>, ApiUser(viewer): ApiUser, Path(id): Path<String>) -> Answer {
    let matching = missions::matches(&app.ops, viewer.actor().into(), request_of(&id)?).await?;
    let matches: Vec<Value> = matching
        .matches
        .iter()
        .map(|(m, v)| {
            json!({
                "volunteer": m.volunteer,
                "name": v.display_name(),
                "postcode": v.profile.postcode,
                "distance_km": m.distance_km,
                "score": m.score,
                "reasons": m.reasons,
            })
        })
        .collect();
    let left_out: Vec<Value> = matching
        .left_out
        .iter()
        .map(|(v, why)| json!({ "volunteer": v.id, "name": v.display_name(), "reason": why.describe() }))
        .collect();
    Ok(Json(json!({
        "request": matching.request.id,
        "help": matching.request.help,
        "mission": matching.mission.as_ref().map(|m| json!({ "id": m.id, "state": m.state })),
        "matches": matches,
        "left_out": left_out,
    }))
    .into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AssignBody {
    volunteer: Option<i64>,
}

async fn assign(
    State(app): State<AppState>,
    ApiUser(viewer): ApiUser,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Answer {
    let id = request_of(&id)?;
    let form: AssignBody = body(&bytes)?;
    let volunteer =
        form.volunteer.ok_or_else(|| ApiError::BadRequest("invalid", "name the `volunteer`".to_owned()))?;
    let mission = missions::assign(&app.ops, viewer.actor().into(), id, VolunteerId(volunteer)).await?;
    tracing::info!(by = %viewer.agent.login, request = id.0, mission = mission.0, volunteer, "mission assigned");
    mission_answer(&app, &viewer, mission, StatusCode::OK).await
}

async fn find_volunteer(
    State(app): State<AppState>,
    ApiUser(viewer): ApiUser,
    Path(id): Path<String>,
) -> Answer {
    let id = request_of(&id)?;
    let mission = missions::find_volunteer(&app.ops, viewer.actor().into(), id).await?;
    tracing::info!(by = %viewer.agent.login, request = id.0, mission = mission.0, "mission proposed");
    mission_answer(&app, &viewer, mission, StatusCode::CREATED).await
}

async fn mission_answer(
    app: &AppState,
    viewer: &super::viewer::Viewer,
    id: MissionId,
    status: StatusCode,
) -> Answer {
    let view = missions::get(&app.ops, viewer.actor().into(), id).await?;
    Ok((status, Json(json!({ "mission": mission_json(&view) }))).into_response())
}

/// A mission as the person asking may see it: the contact only for its volunteer.
#[must_use]
pub fn mission_json(v: &View) -> Value {
    let m = &v.mission;
    let mut out = json!({
        "id": m.id,
        "request": m.request,
        "line": m.line,
        "help": m.help,
        "help_label": v.help,
        "postcode": m.postcode,
        "neighbourhood": v.neighbourhood,
        "language": m.language,
        "state": m.state,
        "volunteer": m.volunteer,
        "created_at": time::format(m.created_at),
        "accepted_at": m.accepted_at.map(time::format),
        "closed_at": m.closed_at.map(time::format),
    });
    if let Some(contact) = &v.contact {
        out["contact"] = json!({ "phone": contact.phone, "recording_url": contact.recording_url });
    }
    if !v.history.is_empty() {
        out["history"] = json!(v.history);
    }
    out
}

async fn list_missions(
    State(app): State<AppState>,
    ApiUser(viewer): ApiUser,
    RawQuery(q): RawQuery,
) -> Answer {
    let state = super::forms::mission_state(q.as_deref()).map_err(|e| ApiError::BadRequest("invalid", e))?;
    let views = missions::list(&app.ops, viewer.actor().into(), state).await?;
    Ok(Json(json!({ "missions": views.iter().map(mission_json).collect::<Vec<_>>() })).into_response())
}

async fn mission(State(app): State<AppState>, ApiUser(viewer): ApiUser, Path(id): Path<String>) -> Answer {
    let id = MissionId(id_of(&id, Error::NoSuchMission)?);
    mission_answer(&app, &viewer, id, StatusCode::OK).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct StepBody {
    note: Option<String>,
    volunteers: Option<Vec<i64>>,
}

async fn step(
    State(app): State<AppState>,
    ApiUser(viewer): ApiUser,
    Path((id, step)): Path<(String, String)>,
    bytes: Bytes,
) -> Answer {
    let id = MissionId(id_of(&id, Error::NoSuchMission)?);
    let form: StepBody = body(&bytes)?;
    let door = viewer.actor().into();
    let state = if step == "offer" {
        let to = form.volunteers.unwrap_or_default().into_iter().map(VolunteerId).collect();
        crate::ops::calling::offer(&app.ops, door, id, to).await?
    } else {
        let step = Step::parse(&step).ok_or(ApiError::NotFound("no such step"))?;
        missions::step(&app.ops, door, id, step, form.note.unwrap_or_default()).await?
    };
    tracing::info!(by = %viewer.agent.login, mission = id.0, state = %state, "mission changed");
    mission_answer(&app, &viewer, id, StatusCode::OK).await
}
