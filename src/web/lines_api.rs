//! The lines in the JSON API, for supervisors: `GET /api/lines` (each line with its
//! service, notice, hours and audit log), `POST /api/lines/{line}/end` (`{"from":
//! "YYYY-MM-DD"}`, optional), `…/reopen`, `…/notice` (`{"texts": {"fr": "…"}, "until":
//! "YYYY-MM-DD", "from": …}`) and `…/notice/remove`: the console's *Lines* and `solidaire
//! lines`, through the same use-cases. A line the account does not work on answers 404.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use chrono::{NaiveDate, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::api::body;
use super::errors::ApiError;
use super::session::ApiSupervisor;
use super::state::AppState;
use crate::ops::agents::Manager;
use crate::ops::lines::{self, Line, Service};
use crate::store::time;

/// Routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/lines", get(list))
        .route("/api/lines/{line}/end", post(end))
        .route("/api/lines/{line}/reopen", post(reopen))
        .route("/api/lines/{line}/notice", post(notice))
        .route("/api/lines/{line}/notice/remove", post(remove_notice))
        .route("/api/lines/{line}/prompts/{lang}/{prompt}", post(prompt_text))
}

type Answer = Result<Response, ApiError>;

const DAYS: [&str; 7] = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];

fn view(line: &Line, now: chrono::DateTime<Utc>) -> Value {
    let (state, at) = match line.service {
        Service::Open => ("open", None),
        Service::Ends(at) => ("ends", Some(time::format(at))),
        Service::Ended(at) => ("ended", Some(time::format(at))),
    };
    let tz = line.schedule.timezone();
    let week: serde_json::Map<String, Value> =
        DAYS.iter().zip(line.schedule.week()).map(|(d, ranges)| ((*d).to_owned(), json!(ranges))).collect();
    let holidays: Vec<String> =
        line.schedule.holidays_from(now.with_timezone(&tz).date_naive()).map(|d| d.to_string()).collect();
    json!({
        "id": line.id,
        "name": line.name,
        "numbers": line.numbers,
        "languages": line.languages,
        "service": { "state": state, "at": at },
        "can_end": line.can_end,
        "notice": line.notice.as_ref().map(|n| json!({
            "texts": n.texts,
            "starts_at": time::format(n.starts_at),
            "ends_at": time::format(n.ends_at),
        })),
        "hours": {
            "timezone": tz.name(),
            "open_now": line.schedule.is_open(now),
            "week": week,
            "holidays": holidays,
        },
        "history": line.history.iter().map(|c| json!({
            "action": c.action,
            "by": c.login,
            "detail": c.detail,
            "at": time::format(c.at),
        })).collect::<Vec<_>>(),
    })
}

/// The line `id` as `by` sees it, after a change.
async fn one(app: &AppState, by: Manager, id: &str) -> Answer {
    let all = lines::list(&app.ops, by).await?;
    let line = all.iter().find(|l| l.id == id).ok_or(crate::ops::Error::NoSuchLine)?;
    Ok(Json(json!({ "line": view(line, app.ops.now()) })).into_response())
}

async fn list(State(app): State<AppState>, ApiSupervisor(_, supervisor): ApiSupervisor) -> Answer {
    let all = lines::list(&app.ops, Manager::from(supervisor)).await?;
    let now = app.ops.now();
    Ok(Json(json!({ "lines": all.iter().map(|l| view(l, now)).collect::<Vec<_>>() })).into_response())
}

fn day(field: &str, text: Option<&str>) -> Result<Option<NaiveDate>, ApiError> {
    text.map(|d| {
        NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").map_err(|_| {
            ApiError::from(crate::ops::Error::Invalid(format!("`{field}`: `{d}` is not a date (YYYY-MM-DD)")))
        })
    })
    .transpose()
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct EndBody {
    from: Option<String>,
}

async fn end(
    State(app): State<AppState>,
    ApiSupervisor(viewer, supervisor): ApiSupervisor,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Answer {
    let input: EndBody = body(&bytes)?;
    let from = day("from", input.from.as_deref())?;
    let by = Manager::from(supervisor);
    lines::end(&app.ops, by, &id, from).await?;
    tracing::info!(by = %viewer.agent.login, line = %id, "line's service ended from the API");
    one(&app, by, &id).await
}

async fn reopen(
    State(app): State<AppState>,
    ApiSupervisor(viewer, supervisor): ApiSupervisor,
    Path(id): Path<String>,
) -> Answer {
    let by = Manager::from(supervisor);
    lines::reopen(&app.ops, by, &id).await?;
    tracing::info!(by = %viewer.agent.login, line = %id, "line reopened from the API");
    one(&app, by, &id).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoticeBody {
    #[serde(default)]
    texts: std::collections::BTreeMap<String, String>,
    from: Option<String>,
    until: Option<String>,
}

async fn notice(
    State(app): State<AppState>,
    ApiSupervisor(_, supervisor): ApiSupervisor,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Answer {
    let input: NoticeBody = body(&bytes)?;
    let from = day("from", input.from.as_deref())?;
    let until = day("until", input.until.as_deref())?.ok_or_else(|| {
        ApiError::from(crate::ops::Error::Invalid("`until`: give the day the notice ends".to_owned()))
    })?;
    let by = Manager::from(supervisor);
    lines::set_notice(&app.ops, by, &id, input.texts, from, until).await?;
    one(&app, by, &id).await
}

async fn remove_notice(
    State(app): State<AppState>,
    ApiSupervisor(_, supervisor): ApiSupervisor,
    Path(id): Path<String>,
) -> Answer {
    let by = Manager::from(supervisor);
    lines::clear_notice(&app.ops, by, &id).await?;
    one(&app, by, &id).await
}

#[derive(Debug, Default, Deserialize)]
struct TextBody {
    text: String,
}

/// `POST /api/lines/{line}/prompts/{lang}/{prompt}` `{"text": "…"}`: the prompt's new
/// words, written in the flow file once the flows' check passes (`422 invalid` with every
/// problem otherwise).
async fn prompt_text(
    State(app): State<AppState>,
    ApiSupervisor(viewer, supervisor): ApiSupervisor,
    Path((id, lang, prompt)): Path<(String, String, String)>,
    bytes: Bytes,
) -> Answer {
    let input: TextBody = body(&bytes)?;
    lines::set_prompt_text(&app.ops, Manager::from(supervisor), &id, &lang, &prompt, &input.text).await?;
    tracing::info!(by = %viewer.agent.login, line = %id, %lang, %prompt, "prompt text changed from the API");
    let flows = app.flows();
    let text = flows.get(&id).and_then(|f| f.text(&prompt, &lang)).unwrap_or_default();
    Ok(Json(json!({ "line": id, "language": lang, "prompt": prompt, "text": text })).into_response())
}
