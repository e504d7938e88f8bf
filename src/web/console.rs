//! The agents' console: the queue, one request, and account management for supervisors.
//! Every form carries the session's CSRF token; each handler reads its form into a
//! use-case's command ([`crate::ops`]) and answers with a page or a redirect; every change
//! tells the other consoles, which refresh their queue through `/console/events`.

use crate::i18n::trf;
use std::convert::Infallible;

use axum::Router;
use axum::extract::{Form, Path, RawQuery, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::errors::PageError;
use super::forms;
use super::pages;
use super::session::{ConsoleSupervisor, ConsoleUser};
use super::state::AppState;
use super::viewer::Viewer;
use crate::domain::queue::Filter;
use crate::domain::{Outcome, Priority, RequestId};
use crate::ops::agents::{self, Manager};
use crate::ops::queue::{self, Command, Done};
use crate::ops::{Error, Supervisor};

/// Console routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console", get(queue_page))
        .route("/console/queue", get(queue_fragment))
        .route("/console/events", get(events))
        .route("/console/claim-next", post(claim_next))
        .route("/console/requests/{id}", get(request))
        .route("/console/requests/{id}/{action}", post(act))
        .route("/console/agents", get(agents_page).post(add_agent))
        .route("/console/agents/{login}/disable", post(disable_agent))
        .route("/console/agents/{login}/phone", post(set_phone))
        .route("/console/language", post(choose_language))
}

type Page = Result<Response, PageError>;

/// The console's filter: a supervisor sees every active request.
fn filter_of(query: Option<&str>) -> Filter {
    Filter { everything_active: true, ..forms::filter(query) }
}

async fn queue_page(
    State(app): State<AppState>,
    ConsoleUser(viewer): ConsoleUser,
    RawQuery(query): RawQuery,
) -> Page {
    let filter = filter_of(query.as_deref());
    let mine = queue::held(&app.ops, viewer.actor()).await?;
    let requests = queue::list(&app.ops, viewer.actor(), filter.clone()).await?;
    Ok(pages::queue_page(&viewer, &mine, &requests, &filter, &app.choices(), app.ops.now()).into_response())
}

async fn queue_fragment(
    State(app): State<AppState>,
    ConsoleUser(viewer): ConsoleUser,
    RawQuery(query): RawQuery,
) -> Page {
    let requests = queue::list(&app.ops, viewer.actor(), filter_of(query.as_deref())).await?;
    Ok(Html(pages::queue_table(&requests, &viewer, app.ops.now()).into_string()).into_response())
}

/// A "changed" event whenever the queue changes; the page then fetches the table again.
/// Tells the console when its queue changed: only for the lines the account works on
/// (another city's activity is none of its business), and for changes whose line is not
/// known.
async fn events(
    State(app): State<AppState>,
    ConsoleUser(viewer): ConsoleUser,
) -> Result<impl IntoResponse, PageError> {
    let mine: Vec<String> =
        crate::ops::lines::worked_on(&app.ops, viewer.actor()).await?.into_iter().map(|(id, _)| id).collect();
    let changes = app.ops.subscribe();
    let stopping = app.stopping.clone();
    let state = (changes, stopping, mine);
    let stream = futures_util::stream::unfold(state, |(mut changes, mut stopping, mine)| async move {
        loop {
            if *stopping.borrow() {
                return None;
            }
            tokio::select! {
                received = changes.recv() => match received {
                    Ok(Some(line)) if !mine.contains(&line) => {}
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        let event = Ok::<_, Infallible>(Event::default().data("changed"));
                        return Some((event, (changes, stopping, mine)));
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                },
                _ = stopping.changed() => return None,
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

#[derive(Debug, Deserialize)]
struct ClaimNextForm {
    csrf: String,
    service: Option<String>,
    language: Option<String>,
    postcode: Option<String>,
}

async fn claim_next(
    State(app): State<AppState>,
    ConsoleUser(viewer): ConsoleUser,
    Form(form): Form<ClaimNextForm>,
) -> Page {
    if !viewer.csrf_ok(&form.csrf) {
        return Err(PageError::Csrf);
    }
    let some = |v: Option<String>| v.filter(|v| !v.trim().is_empty());
    let filter = Filter {
        service: some(form.service),
        language: some(form.language),
        postcode: some(form.postcode),
        everything_active: false,
        ..Filter::default()
    };
    let done = queue::apply(&app.ops, viewer.actor(), Command::ClaimNext(filter)).await?;
    Ok(redirect(&done))
}

/// The request named in a path (one that is not a number is no request either).
fn request_id(text: &str) -> Result<RequestId, PageError> {
    forms::request_id(text).ok_or_else(|| PageError::back_to("/console")(crate::ops::Error::NoSuchRequest))
}

async fn request(
    State(app): State<AppState>,
    ConsoleUser(viewer): ConsoleUser,
    Path(id): Path<String>,
) -> Page {
    let detail = queue::get(&app.ops, viewer.actor(), request_id(&id)?).await?;
    // Only a supervisor reassigns, and so needs the accounts to choose from.
    let agents: Vec<crate::domain::Agent> = match viewer.actor().supervisor() {
        Ok(supervisor) => agents::list(&app.ops, supervisor.into())
            .await?
            .into_iter()
            .filter(|a| a.lines.is_empty() || a.lines.contains(&detail.request.line))
            .map(|a| a.agent)
            .collect(),
        Err(_) => Vec::new(),
    };
    let calling = app.ops.places_calls();
    Ok(pages::request_page(&viewer, &detail, &agents, calling, app.timezone(), app.ops.now()).into_response())
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

/// Reads `/console/requests/{id}/{action}` and its form into a command.
fn command(app: &AppState, id: RequestId, action: &str, form: ActionForm) -> Result<Command, Error> {
    Ok(match action {
        "claim" => Command::Claim(id),
        "release" => Command::Release(id),
        "outcome" => {
            let follow_up = forms::local_time(form.follow_up.as_deref(), app.timezone());
            let outcome = Outcome::parse(
                form.outcome.as_deref().unwrap_or_default(),
                follow_up,
                form.partner.as_deref(),
            )
            .map_err(Error::Invalid)?;
            Command::Outcome { id, outcome, note: form.note.unwrap_or_default() }
        }
        "priority" => Command::SetPriority {
            id,
            priority: Priority::from_rank(form.priority.unwrap_or_default()).map_err(Error::Invalid)?,
        },
        "cancel" => Command::Cancel { id, reason: form.reason.unwrap_or_default() },
        "reassign" => Command::Reassign { id, to: form.agent.unwrap_or_default() },
        _ => return Err(Error::NoSuchRequest),
    })
}

/// Where the console goes after a change: back to the queue once the agent is done with
/// the request, else to the request.
fn redirect(done: &Done) -> Response {
    match done {
        Done::Released(_) | Done::Worked(..) => Redirect::to("/console"),
        Done::Claimed(id) | Done::Prioritised(id, _) | Done::Cancelled(id) | Done::Reassigned(id, _) => {
            Redirect::to(&format!("/console/requests/{id}"))
        }
    }
    .into_response()
}

async fn act(
    State(app): State<AppState>,
    ConsoleUser(viewer): ConsoleUser,
    Path((id, action)): Path<(String, String)>,
    Form(form): Form<ActionForm>,
) -> Page {
    if !viewer.csrf_ok(&form.csrf) {
        return Err(PageError::Csrf);
    }
    let id = request_id(&id)?;
    let back = format!("/console/requests/{id}");
    if action == "call" {
        // Click-to-call: the line rings the agent's phone; the page shows it in the history.
        crate::ops::calling::call_request(&app.ops, viewer.actor(), id)
            .await
            .map_err(PageError::back_to(&back))?;
        return Ok(Redirect::to(&back).into_response());
    }
    let command = command(&app, id, &action, form).map_err(PageError::back_to(&back))?;
    let done = queue::apply(&app.ops, viewer.actor(), command).await.map_err(PageError::back_to(&back))?;
    Ok(redirect(&done))
}

async fn agents_list(app: &AppState, viewer: &Viewer, supervisor: Supervisor, notice: Option<&str>) -> Page {
    let list = agents::list(&app.ops, supervisor.into()).await?;
    let lines = crate::ops::lines::worked_on(&app.ops, viewer.actor()).await?;
    let every = lines.len() == app.flows().iter().count()
        && Manager::from(supervisor).lines(&app.ops).await?.named().is_none();
    Ok(pages::agents_page(viewer, &list, &lines, every, notice).into_response())
}

async fn agents_page(
    State(app): State<AppState>,
    ConsoleSupervisor(viewer, supervisor): ConsoleSupervisor,
) -> Page {
    agents_list(&app, &viewer, supervisor, None).await
}

/// The new-account form: its fields, each `line` ticked.
#[derive(Debug, Default)]
struct NewAgent {
    csrf: String,
    login: String,
    role: String,
    password: String,
    phone: String,
    lines: Vec<String>,
    postcodes: String,
    neighbourhoods: String,
}

impl NewAgent {
    fn parse(body: &[u8]) -> Self {
        let mut form = Self::default();
        for (key, value) in form_urlencoded::parse(body) {
            let value = value.into_owned();
            match key.as_ref() {
                "csrf" => form.csrf = value,
                "login" => form.login = value,
                "role" => form.role = value,
                "password" => form.password = value,
                "phone" => form.phone = value,
                "line" => form.lines.push(value),
                "postcodes" => form.postcodes = value,
                "neighbourhoods" => form.neighbourhoods = value,
                _ => {}
            }
        }
        form
    }
}

#[derive(Debug, Deserialize)]
struct PhoneForm {
    csrf: String,
    phone: String,
}

/// Sets (or, empty, removes) the phone an account's click-to-call rings.
async fn set_phone(
    State(app): State<AppState>,
    ConsoleSupervisor(viewer, supervisor): ConsoleSupervisor,
    Path(login): Path<String>,
    Form(form): Form<PhoneForm>,
) -> Page {
    if !viewer.csrf_ok(&form.csrf) {
        return Err(PageError::Csrf);
    }
    let notice = match agents::set_phone(&app.ops, Manager::from(supervisor), &login, Some(&form.phone)).await
    {
        Ok(Some(shown)) => {
            trf("{login}'s click-to-call rings {phone}.", &[("login", &login), ("phone", &shown)])
        }
        Ok(None) => trf("{login} has no phone for click-to-call.", &[("login", &login)]),
        Err(Error::Store(e)) => return Err(e.into()),
        Err(refusal) => refusal.to_string(),
    };
    agents_list(&app, &viewer, supervisor, Some(&notice)).await
}

async fn add_agent(
    State(app): State<AppState>,
    ConsoleSupervisor(viewer, supervisor): ConsoleSupervisor,
    body: axum::body::Bytes,
) -> Page {
    let form = NewAgent::parse(&body);
    if !viewer.csrf_ok(&form.csrf) {
        return Err(PageError::Csrf);
    }
    let login = form.login.trim().to_owned();
    let by = Manager::from(supervisor);
    let added = agents::add(
        &app.ops,
        by,
        &login,
        &form.role,
        form.password,
        Some(&form.phone),
        &form.lines,
        agents::Referent {
            postcodes: crate::domain::volunteers::split_list(&form.postcodes),
            neighbourhoods: crate::domain::volunteers::split_list(&form.neighbourhoods),
        },
    )
    .await;
    let notice = match added {
        Ok(_) => {
            tracing::info!(by = %viewer.agent.login, login = %login, "account added");
            trf("Account {login} added.", &[("login", &login)])
        }
        Err(Error::Store(e)) => return Err(e.into()),
        Err(refusal) => refusal.to_string(),
    };
    agents_list(&app, &viewer, supervisor, Some(&notice)).await
}

#[derive(Debug, Deserialize)]
struct CsrfOnly {
    csrf: String,
}

async fn disable_agent(
    State(app): State<AppState>,
    ConsoleSupervisor(viewer, supervisor): ConsoleSupervisor,
    Path(login): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Page {
    if !viewer.csrf_ok(&form.csrf) {
        return Err(PageError::Csrf);
    }
    agents::disable(&app.ops, supervisor.into(), &login)
        .await
        .map_err(PageError::back_to("/console/agents"))?;
    tracing::info!(by = %viewer.agent.login, login = %login, "account disabled");
    Ok(Redirect::to("/console/agents").into_response())
}

#[derive(Deserialize)]
struct LanguageChoice {
    csrf: String,
    /// `en`, `fr`, `nl`, or empty for the browser's.
    language: String,
}

/// Keeps the console's language an account chose, in its record and in this browser.
async fn choose_language(
    State(app): State<AppState>,
    ConsoleUser(viewer): ConsoleUser,
    headers: axum::http::HeaderMap,
    Form(form): Form<LanguageChoice>,
) -> Result<Response, PageError> {
    if !viewer.csrf_ok(&form.csrf) {
        return Err(PageError::Csrf);
    }
    let lang = crate::i18n::Lang::parse(&form.language);
    crate::ops::agents::set_language(&app.ops, viewer.actor(), lang).await?;
    // Back to the page the choice was made on, when it is one of the console's.
    let back = headers
        .get(axum::http::header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.find("/console").map(|at| r[at..].to_owned()))
        .filter(|path| !path.contains("//"))
        .unwrap_or_else(|| "/console".to_owned());
    let mut response = Redirect::to(&back).into_response();
    response.headers_mut().insert(axum::http::header::SET_COOKIE, super::language::cookie_for(&app, lang));
    Ok(response)
}
