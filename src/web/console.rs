//! The agents' console: the queue, one request, and account management for supervisors.
//! Every form carries the session's CSRF token; every change tells the other consoles,
//! which refresh their queue through `/console/events`.

use std::convert::Infallible;
use std::str::FromStr;

use axum::Router;
use axum::extract::{Form, Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{NaiveDateTime, TimeZone, Utc};
use serde::Deserialize;

use super::AppState;
use super::pages;
use super::session::{ConsoleUser, Viewer};
use crate::auth;
use crate::store::agents::{self, Role};
use crate::store::callbacks::{self, Actor, Filter, Outcome, Refusal};

/// Console routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console", get(queue))
        .route("/console/queue", get(queue_fragment))
        .route("/console/events", get(events))
        .route("/console/claim-next", post(claim_next))
        .route("/console/requests/{id}", get(request))
        .route("/console/requests/{id}/{action}", post(act))
        .route("/console/agents", get(agents_page).post(add_agent))
        .route("/console/agents/{login}/disable", post(disable_agent))
}

fn filter_of(query: Option<&str>, viewer: &Viewer) -> Filter {
    let mut filter = Filter::from_str(query.unwrap_or_default()).unwrap_or_default();
    filter.everything_active = viewer.agent.is_supervisor();
    filter
}

async fn queue(
    State(app): State<AppState>,
    ConsoleUser(viewer): ConsoleUser,
    RawQuery(query): RawQuery,
) -> Response {
    let filter = filter_of(query.as_deref(), &viewer);
    let now = app.clock.now();
    let agent = viewer.agent.id;
    let lists = {
        let filter = filter.clone();
        app.store
            .read(move |c| Ok((callbacks::held_by(c, agent, now)?, callbacks::list(c, &filter, now)?)))
            .await
    };
    match lists {
        Ok((mine, requests)) => {
            pages::queue_page(&viewer, &mine, &requests, &filter, &app.choices(), now).into_response()
        }
        Err(e) => pages::failure(&e),
    }
}

async fn queue_fragment(
    State(app): State<AppState>,
    ConsoleUser(viewer): ConsoleUser,
    RawQuery(query): RawQuery,
) -> Response {
    let filter = filter_of(query.as_deref(), &viewer);
    let now = app.clock.now();
    let listed = app.store.read(move |c| callbacks::list(c, &filter, now)).await;
    match listed {
        Ok(requests) => Html(pages::queue_table(&requests, &viewer, now).into_string()).into_response(),
        Err(e) => pages::failure(&e),
    }
}

/// A "changed" event whenever the queue changes; the page then fetches the table again.
async fn events(State(app): State<AppState>, ConsoleUser(_): ConsoleUser) -> impl IntoResponse {
    let changes = app.changes.subscribe();
    let stopping = app.stopping.clone();
    let stream =
        futures_util::stream::unfold((changes, stopping), |(mut changes, mut stopping)| async move {
            if *stopping.borrow() {
                return None;
            }
            tokio::select! {
                received = changes.recv() => match received {
                    Ok(()) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        Some((Ok::<_, Infallible>(Event::default().data("changed")), (changes, stopping)))
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => None,
                },
                _ = stopping.changed() => None,
            }
        });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

#[derive(Debug, Deserialize)]
struct ClaimNextForm {
    csrf: String,
    service: Option<String>,
    language: Option<String>,
    postcode: Option<String>,
}

fn refused(refusal: &Refusal, back: &str) -> Response {
    let status = match refusal {
        Refusal::NotFound => StatusCode::NOT_FOUND,
        Refusal::NotHolder => StatusCode::FORBIDDEN,
        Refusal::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
        Refusal::QueueEmpty | Refusal::NotAvailable => StatusCode::CONFLICT,
    };
    (status, pages::message("Not done", &refusal.to_string(), back)).into_response()
}

async fn claim_next(
    State(app): State<AppState>,
    ConsoleUser(viewer): ConsoleUser,
    Form(form): Form<ClaimNextForm>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return pages::csrf_refused();
    }
    let some = |v: Option<String>| v.filter(|v| !v.trim().is_empty());
    let filter = Filter {
        service: some(form.service),
        language: some(form.language),
        postcode: some(form.postcode),
        everything_active: false,
    };
    let (agent, lease, now) = (viewer.agent.id, app.lease(), app.clock.now());
    match app.queue_change(move |c| callbacks::claim_next(c, agent, &filter, lease, now)).await {
        Ok(Ok(id)) => Redirect::to(&format!("/console/requests/{id}")).into_response(),
        Ok(Err(refusal)) => refused(&refusal, "/console"),
        Err(e) => pages::failure(&e),
    }
}

async fn request(
    State(app): State<AppState>,
    ConsoleUser(viewer): ConsoleUser,
    Path(id): Path<i64>,
) -> Response {
    let now = app.clock.now();
    let found = app
        .store
        .read(move |c| Ok((callbacks::get(c, id, now)?, callbacks::history_of(c, id)?, agents::list(c)?)))
        .await;
    match found {
        Ok((Some(r), history, agents)) => {
            pages::request_page(&viewer, &r, &history, &agents, app.timezone(), now).into_response()
        }
        Ok((None, _, _)) => refused(&Refusal::NotFound, "/console"),
        Err(e) => pages::failure(&e),
    }
}

#[derive(Debug, Deserialize)]
struct ActionForm {
    csrf: String,
    outcome: Option<String>,
    note: Option<String>,
    follow_up: Option<String>,
    partner: Option<String>,
    agent: Option<String>,
    priority: Option<i64>,
    reason: Option<String>,
}

/// Reads a `datetime-local` value in the line's time zone.
fn local_time(value: Option<&str>, tz: chrono_tz::Tz) -> Option<chrono::DateTime<Utc>> {
    let value = value?.trim();
    let naive = NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M").ok()?;
    tz.from_local_datetime(&naive).earliest().map(|t| t.with_timezone(&Utc))
}

async fn act(
    State(app): State<AppState>,
    ConsoleUser(viewer): ConsoleUser,
    Path((id, action)): Path<(i64, String)>,
    Form(form): Form<ActionForm>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return pages::csrf_refused();
    }
    let back = format!("/console/requests/{id}");
    let now = app.clock.now();
    let me = viewer.agent.id;
    let supervisor = viewer.agent.is_supervisor();
    let lease = app.lease();
    let done: callbacks::QueueResult<&'static str> = match action.as_str() {
        "claim" => {
            app.queue_change(move |c| callbacks::claim(c, id, me, lease, now).map(|r| r.map(|_| "request")))
                .await
        }
        "release" => {
            let actor = Actor { id: me, supervisor };
            app.queue_change(move |c| callbacks::release(c, id, actor, now).map(|r| r.map(|()| "queue")))
                .await
        }
        "outcome" => {
            let follow_up = local_time(form.follow_up.as_deref(), app.timezone());
            match Outcome::parse(
                form.outcome.as_deref().unwrap_or_default(),
                follow_up,
                form.partner.as_deref(),
            ) {
                Ok(outcome) => {
                    let note = form.note.unwrap_or_default();
                    app.queue_change(move |c| {
                        callbacks::record_outcome(c, id, me, &outcome, &note, now).map(|r| r.map(|_| "queue"))
                    })
                    .await
                }
                Err(message) => Ok(Err(Refusal::Invalid(message))),
            }
        }
        "priority" | "cancel" | "reassign" if !supervisor => Ok(Err(Refusal::NotHolder)),
        "priority" => {
            let priority = form.priority.unwrap_or_default();
            app.queue_change(move |c| {
                callbacks::set_priority(c, id, me, priority, now).map(|r| r.map(|()| "request"))
            })
            .await
        }
        "cancel" => {
            let reason = form.reason.unwrap_or_default();
            app.queue_change(move |c| {
                callbacks::cancel(c, id, me, &reason, now).map(|r| r.map(|()| "request"))
            })
            .await
        }
        "reassign" => {
            let login = form.agent.unwrap_or_default();
            app.queue_change(move |c| match agents::by_login(c, &login)? {
                Some((agent, _)) if !agent.disabled => {
                    callbacks::reassign(c, id, me, agent.id, lease, now).map(|r| r.map(|()| "request"))
                }
                _ => Ok(Err(Refusal::Invalid(format!("no active agent `{login}`")))),
            })
            .await
        }
        _ => Ok(Err(Refusal::NotFound)),
    };
    match done {
        Ok(Ok("queue")) => Redirect::to("/console").into_response(),
        Ok(Ok(_)) => Redirect::to(&back).into_response(),
        Ok(Err(refusal)) => refused(&refusal, &back),
        Err(e) => pages::failure(&e),
    }
}

async fn agents_page(State(app): State<AppState>, ConsoleUser(viewer): ConsoleUser) -> Response {
    if !viewer.agent.is_supervisor() {
        return refused(&Refusal::NotHolder, "/console");
    }
    match app.store.read(agents::list).await {
        Ok(list) => pages::agents_page(&viewer, &list, None).into_response(),
        Err(e) => pages::failure(&e),
    }
}

#[derive(Debug, Deserialize)]
struct NewAgent {
    csrf: String,
    login: String,
    role: String,
    password: String,
}

/// Checks a login name: 2–64 letters, digits, `.`, `_` or `-`.
///
/// # Errors
/// What is wrong with it.
pub fn check_login(login: &str) -> Result<(), String> {
    let ok = (2..=64).contains(&login.len())
        && login.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err("a login has 2 to 64 letters, digits, dots, dashes or underscores".to_owned())
    }
}

/// Creates an account from the console or the API.
pub(crate) async fn create_agent(
    app: &AppState,
    login: String,
    role: &str,
    password: String,
) -> Result<Result<i64, String>, crate::store::StoreError> {
    let role = match Role::parse(role) {
        Ok(r) => r,
        Err(e) => return Ok(Err(e)),
    };
    if let Err(e) = check_login(&login) {
        return Ok(Err(e));
    }
    let hash = match tokio::task::spawn_blocking(move || auth::hash_password(&password)).await {
        Ok(Ok(hash)) => hash,
        Ok(Err(e)) => return Ok(Err(e)),
        Err(e) => return Ok(Err(e.to_string())),
    };
    let now = app.clock.now();
    app.store.write(move |c| agents::add(c, &login, role, &hash, now)).await
}

async fn add_agent(
    State(app): State<AppState>,
    ConsoleUser(viewer): ConsoleUser,
    Form(form): Form<NewAgent>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return pages::csrf_refused();
    }
    if !viewer.agent.is_supervisor() {
        return refused(&Refusal::NotHolder, "/console");
    }
    let login = form.login.trim().to_owned();
    let notice = match create_agent(&app, login.clone(), &form.role, form.password).await {
        Ok(Ok(_)) => {
            tracing::info!(by = %viewer.agent.login, login = %login, "account added");
            format!("Account {login} added.")
        }
        Ok(Err(problem)) => problem,
        Err(e) => return pages::failure(&e),
    };
    match app.store.read(agents::list).await {
        Ok(list) => pages::agents_page(&viewer, &list, Some(&notice)).into_response(),
        Err(e) => pages::failure(&e),
    }
}

#[derive(Debug, Deserialize)]
struct CsrfOnly {
    csrf: String,
}

async fn disable_agent(
    State(app): State<AppState>,
    ConsoleUser(viewer): ConsoleUser,
    Path(login): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return pages::csrf_refused();
    }
    if !viewer.agent.is_supervisor() {
        return refused(&Refusal::NotHolder, "/console");
    }
    let target = login.clone();
    match app.store.write(move |c| agents::disable(c, &target)).await {
        Ok(true) => {
            tracing::info!(by = %viewer.agent.login, login = %login, "account disabled");
            Redirect::to("/console/agents").into_response()
        }
        Ok(false) => refused(&Refusal::NotFound, "/console/agents"),
        Err(e) => pages::failure(&e),
    }
}
