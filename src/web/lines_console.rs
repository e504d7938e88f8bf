//! The supervisors' page of the lines: each line's numbers and service, the audit log of
//! its ends and reopenings, and the forms to end it (now or from a date) or reopen it.

use axum::Router;
use axum::extract::{Form, Path, State};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use maud::html;
use serde::Deserialize;

use super::errors::PageError;
use super::pages::{layout, local};
use super::session::ConsoleSupervisor;
use super::state::AppState;
use crate::ops::agents::Manager;
use crate::ops::lines::{self, Service};

type Page = Result<axum::response::Response, PageError>;

/// Routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/console/lines", get(page)).route("/console/lines/{line}/{action}", post(change))
}

async fn page(State(app): State<AppState>, ConsoleSupervisor(viewer, supervisor): ConsoleSupervisor) -> Page {
    let all = lines::list(&app.ops, Manager::from(supervisor)).await?;
    let tz = app.timezone();
    let csrf = viewer.csrf.clone().unwrap_or_default();
    Ok(layout(
        "Lines",
        Some(&viewer),
        &html! {
            h1 { "Lines" }
            p { "Ending a line's service: its callers hear its end-of-service message from the next call, and nothing else; the agents go on with its open requests. Reopening brings the menus back at once." }
            @for line in &all {
                section aria-labelledby={ "line-" (line.id) } {
                    h2 id={ "line-" (line.id) } { (line.name) " (" (line.id) ")" }
                    dl.facts {
                        dt { "Numbers" } dd { (line.numbers.join(", ")) }
                        dt { "Service" }
                        dd {
                            @match line.service {
                                Service::Open => "open",
                                Service::Ends(at) => { "ends on " (local(at, tz)) }
                                Service::Ended(at) => strong { "ended since " (local(at, tz)) },
                            }
                        }
                    }
                    @if line.service == Service::Open {
                        @if line.can_end {
                            form method="post" action={ "/console/lines/" (line.id) "/end" } {
                                input type="hidden" name="csrf" value=(csrf);
                                label for={ "from-" (line.id) } { "From (empty: now)" }
                                input id={ "from-" (line.id) } name="from" type="date";
                                button type="submit" { "End " (line.name) "'s service" }
                            }
                        } @else {
                            p { "Its flow declares no end-of-service message ([line.end_of_service]): it cannot be ended." }
                        }
                    } @else {
                        form method="post" action={ "/console/lines/" (line.id) "/reopen" } {
                            input type="hidden" name="csrf" value=(csrf);
                            button.primary type="submit" { "Reopen " (line.name) }
                        }
                    }
                    @if !line.history.is_empty() {
                        h3 { "Changes" }
                        ul {
                            @for c in &line.history {
                                li { (local(c.at, tz)) " · " (c.action) " · " (c.login.as_deref().unwrap_or("the command line")) " " (c.detail) }
                            }
                        }
                    }
                }
            }
        },
    )
    .into_response())
}

#[derive(Debug, Deserialize)]
struct ChangeForm {
    csrf: String,
    #[serde(default)]
    from: String,
}

async fn change(
    State(app): State<AppState>,
    ConsoleSupervisor(viewer, supervisor): ConsoleSupervisor,
    Path((line, action)): Path<(String, String)>,
    Form(form): Form<ChangeForm>,
) -> Page {
    if !viewer.csrf_ok(&form.csrf) {
        return Err(PageError::Csrf);
    }
    let back = "/console/lines";
    let by = Manager::from(supervisor);
    match action.as_str() {
        "end" => {
            let from = match form.from.trim() {
                "" => None,
                day => Some(
                    chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
                        .map_err(|_| {
                            crate::ops::Error::Invalid(format!("`{day}` is not a date (YYYY-MM-DD)"))
                        })
                        .map_err(PageError::back_to(back))?,
                ),
            };
            lines::end(&app.ops, by, &line, from).await.map_err(PageError::back_to(back))?;
            tracing::info!(by = %viewer.agent.login, line = %line, "line's service ended from the console");
        }
        "reopen" => {
            lines::reopen(&app.ops, by, &line).await.map_err(PageError::back_to(back))?;
            tracing::info!(by = %viewer.agent.login, line = %line, "line reopened from the console");
        }
        _ => return Err(PageError::from(crate::ops::Error::Invalid("no such action".to_owned()))),
    }
    Ok(Redirect::to(back).into_response())
}
