//! The path of a call, for supervisors, through two doors on the same use-cases
//! ([`crate::ops::calls`]): the console's *Calls* (`/console/calls`: a search by time and
//! the last digits of the number; `/console/calls/{sid}`: the call step by step) and the
//! JSON API (`GET /api/calls?around=…&digits=…`, `GET /api/calls/{sid}`). Numbers are
//! masked; another line's call answers 404.

use crate::i18n::{tr, trf};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use maud::html;
use serde::Deserialize;
use serde_json::{Value, json};

use super::errors::{ApiError, PageError};
use super::forms;
use super::pages::{layout, local};
use super::session::{ApiSupervisor, ConsoleSupervisor};
use super::state::AppState;
use crate::ops::agents::Manager;
use crate::ops::calls::{self, CallPath, Heard};
use crate::store::call_paths::CallSummary;
use crate::store::time;

/// Routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console/calls", get(search_page))
        .route("/console/calls/{sid}", get(path_page))
        .route("/api/calls", get(search_api))
        .route("/api/calls/{sid}", get(path_api))
}

#[derive(Debug, Deserialize)]
struct Search {
    /// `YYYY-MM-DDTHH:MM` in the line's time, or an RFC 3339 instant; now when absent.
    around: Option<String>,
    digits: Option<String>,
}

impl Search {
    fn around(&self, app: &AppState) -> DateTime<Utc> {
        let given = self.around.as_deref().map(str::trim).filter(|a| !a.is_empty());
        given
            .and_then(|a| time::parse(a).or_else(|| forms::local_time(Some(a), app.timezone())))
            .unwrap_or_else(|| app.ops.now())
    }
}

/// The caller as a supervisor may see them: masked, withheld, or anonymised.
fn caller(call: &CallSummary) -> String {
    match call.caller.as_deref() {
        Some(number) if number.starts_with('+') => crate::phone::mask(number),
        Some(_) => tr("(anonymised)").to_owned(),
        None => tr("withheld").to_owned(),
    }
}

fn call_json(call: &CallSummary) -> Value {
    json!({
        "sid": call.sid,
        "line": call.line,
        "caller": caller(call),
        "provider": call.dialect,
        "started_at": time::format(call.started_at),
        "ended_at": call.ended_at.map(time::format),
        "outcome": call.outcome,
        "trial": call.trial,
    })
}

async fn search_api(
    State(app): State<AppState>,
    ApiSupervisor(_, supervisor): ApiSupervisor,
    Query(search): Query<Search>,
) -> Result<Response, ApiError> {
    let around = search.around(&app);
    let found = calls::find(&app.ops, Manager::from(supervisor), around, search.digits.as_deref()).await?;
    Ok(Json(
        json!({ "around": time::format(around), "calls": found.iter().map(call_json).collect::<Vec<_>>() }),
    )
    .into_response())
}

async fn path_api(
    State(app): State<AppState>,
    ApiSupervisor(_, supervisor): ApiSupervisor,
    Path(sid): Path<String>,
) -> Result<Response, ApiError> {
    let CallPath { call, steps } = calls::path(&app.ops, Manager::from(supervisor), &sid).await?;
    let steps: Vec<Value> = steps
        .iter()
        .map(|s| {
            json!({
                "step": s.logged.step,
                "at": time::format(s.logged.at),
                "seconds_after": seconds(s.after),
                "kind": s.logged.kind,
                "node": s.logged.node,
                "input": s.logged.input,
                "result": s.logged.result,
                "heard": s.heard,
            })
        })
        .collect();
    let kept = !steps.is_empty();
    Ok(Json(json!({ "call": call_json(&call), "steps": steps, "steps_kept": kept })).into_response())
}

type Page = Result<Response, PageError>;

async fn search_page(
    State(app): State<AppState>,
    ConsoleSupervisor(viewer, supervisor): ConsoleSupervisor,
    Query(search): Query<Search>,
) -> Page {
    let tz = app.timezone();
    let around = search.around(&app);
    let digits = search.digits.clone().unwrap_or_default();
    let found = calls::find(&app.ops, Manager::from(supervisor), around, Some(&digits))
        .await
        .map_err(PageError::back_to("/console/calls"))?;
    let value = around.with_timezone(&tz).format("%Y-%m-%dT%H:%M").to_string();
    Ok(layout(
        tr("Calls"),
        Some(&viewer),
        &html! {
            h1 { (tr("Calls")) }
            p { (tr("Find a call by the time it came in (half an hour either way) and, if you know them, the last digits of the caller's number. Each call's path shows every step: where the caller was, what they heard, what they pressed and how long it took.")) }
            form method="get" action="/console/calls" {
                label for="around" { (tr("Around")) }
                input #around name="around" type="datetime-local" value=(value);
                label for="digits" { (tr("Last digits of the number (optional)")) }
                input #digits name="digits" inputmode="numeric" value=(digits);
                button type="submit" { (tr("Find")) }
            }
            @if found.is_empty() {
                p { (tr("No call then.")) }
            } @else {
                table {
                    caption { (trf("{count} calls", &[("count", &found.len())])) }
                    thead { tr { th { (tr("Arrived")) } th { (tr("Line")) } th { (tr("Caller")) } th { (tr("Outcome")) } th { (tr("Path")) } } }
                    tbody {
                        @for call in &found {
                            tr {
                                td { (local(call.started_at, tz)) }
                                td { (call.line) }
                                td { (caller(call)) }
                                td {
                                    (call.outcome.as_deref().unwrap_or("—"))
                                    @if call.trial { " " span.hint { (tr("(a trial from the console)")) } }
                                }
                                td { a href={ "/console/calls/" (call.sid) } { (tr("See its path")) } }
                            }
                        }
                    }
                }
            }
        },
    )
    .into_response())
}

async fn path_page(
    State(app): State<AppState>,
    ConsoleSupervisor(viewer, supervisor): ConsoleSupervisor,
    Path(sid): Path<String>,
) -> Page {
    let tz = app.timezone();
    let CallPath { call, steps } = calls::path(&app.ops, Manager::from(supervisor), &sid)
        .await
        .map_err(PageError::back_to("/console/calls"))?;
    let seconds = |d: chrono::Duration| format!("+{:.1} s", seconds(d));
    Ok(layout(
        tr("Path of a call"),
        Some(&viewer),
        &html! {
            h1 { (tr("Path of a call")) }
            dl.facts {
                dt { (tr("Line")) } dd { (call.line) }
                dt { (tr("Arrived")) } dd { (local(call.started_at, tz)) }
                dt { (tr("Ended")) } dd { (call.ended_at.map_or_else(|| tr("not yet").to_owned(), |t| local(t, tz))) }
                dt { (tr("Caller")) } dd { (caller(&call)) }
                dt { (tr("Outcome")) } dd { (call.outcome.as_deref().unwrap_or("—")) }
                dt { (tr("Provider")) } dd { (call.dialect) }
                @if call.trial {
                    dt { (tr("Trial")) } dd { (tr("a supervisor trying the line from the console: not counted in the statistics")) }
                }
            }
            @if steps.is_empty() {
                p { (tr("Its steps are no longer kept: the retention purge has removed them.")) }
            } @else {
                table.path {
                    caption { (trf("{count} steps", &[("count", &steps.len())])) }
                    thead { tr { th { (tr("Time")) } th { (tr("Where")) } th { (tr("Heard")) } th { (tr("Did")) } th { (tr("Then")) } } }
                    tbody {
                        @for s in &steps {
                            tr {
                                td { (local(s.logged.at, tz)) " " span.hint { (seconds(s.after)) } }
                                td { code { (if s.logged.node.is_empty() { "—" } else { &s.logged.node }) } }
                                td {
                                    ul {
                                        @for heard in &s.heard {
                                            @match heard {
                                                Heard::Spoken { text } => li { (text) " " span.hint { (tr("(spoken)")) } },
                                                Heard::Recording { url, prompt, text } => li {
                                                    (text.as_deref().unwrap_or(url)) " "
                                                    span.hint { "(" (tr("recording")) (prompt.as_deref().map(|p| format!(" {p}")).unwrap_or_default()) ")" }
                                                },
                                            }
                                        }
                                    }
                                }
                                td { (s.logged.kind) ": " code { (if s.logged.input.is_empty() { "—" } else { &s.logged.input }) } }
                                td { (s.logged.result) }
                            }
                        }
                    }
                }
            }
            p { a href="/console/calls" { (tr("Find another call")) } }
        },
    )
    .into_response())
}

/// A duration in seconds, to the millisecond.
fn seconds(d: chrono::Duration) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let ms = d.num_milliseconds() as f64;
    ms / 1000.0
}
