//! Who is asking: console sessions (cookie) and API tokens (`Authorization: Bearer`), the
//! login and logout pages, and CSRF protection. Session cookies are HttpOnly,
//! SameSite=Strict, Secure behind https, and end after `session_idle_minutes` idle.

use std::time::Duration;

use axum::Router;
use axum::{Extension, Form};
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::cookies::{cookie, set_cookie};
use super::errors::{ApiError, PageError};
use super::pages;
use super::state::AppState;
use super::viewer::{Viewer, constant_time_eq};
use crate::auth as tokens;
use crate::i18n::{tr, trf};
use crate::ops::{Error, Supervisor, auth};
use crate::store::StoreError;
use crate::store::agents;

/// The session cookie.
pub const COOKIE: &str = "solidaire_session";
/// The cookie that protects the login form itself.
const LOGIN_COOKIE: &str = "solidaire_login";
/// Pause after a failed login: guessing passwords becomes slow.
const FAILED_LOGIN_PAUSE: Duration = Duration::from_secs(1);

/// Login and logout.
pub fn router() -> Router<AppState> {
    Router::new().route("/login", get(login_page).post(login)).route("/logout", post(logout))
}

/// Finds who sent the request, ending a session that was idle too long.
async fn identify(app: &AppState, headers: &HeaderMap) -> Result<Option<Viewer>, StoreError> {
    let now = app.clock.now();
    if let Some(token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        let digest = tokens::digest(token.trim());
        let agent = app.store.read(move |c| agents::by_token(c, &digest)).await?;
        return Ok(agent.map(|agent| Viewer { agent, csrf: None, session: None, line_names: Vec::new() }));
    }
    let Some(value) = cookie(headers, COOKIE) else { return Ok(None) };
    let digest = tokens::digest(value);
    let found = {
        let digest = digest.clone();
        app.store.read(move |c| agents::session(c, &digest)).await?
    };
    let Some(session) = found else { return Ok(None) };
    let idle = chrono::Duration::minutes(i64::from(app.settings.session_idle_minutes));
    if now - session.last_seen > idle {
        let digest = digest.clone();
        app.store.write(move |c| agents::end_session(c, &digest)).await?;
        tracing::info!(agent = %session.agent.login, "session ended after inactivity");
        return Ok(None);
    }
    if now - session.last_seen > chrono::Duration::seconds(30) {
        let digest = digest.clone();
        app.store.write(move |c| agents::touch_session(c, &digest, now)).await?;
    }
    Ok(Some(Viewer {
        agent: session.agent,
        csrf: Some(session.csrf),
        session: Some(digest),
        line_names: Vec::new(),
    }))
}

/// A console page's viewer; anyone else is sent to the login page.
pub struct ConsoleUser(pub Viewer);

impl FromRequestParts<AppState> for ConsoleUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Self::Rejection> {
        match identify(app, &parts.headers).await {
            Ok(Some(mut viewer)) => {
                let lines = crate::ops::lines::worked_on(&app.ops, viewer.actor())
                    .await
                    .map_err(|e| PageError::from(e).into_response())?;
                viewer.line_names = lines.into_iter().map(|(_, name)| name).collect();
                Ok(Self(viewer))
            }
            Ok(None) => Err(Redirect::to("/login").into_response()),
            Err(e) => Err(PageError::from(e).into_response()),
        }
    }
}

/// An API caller; anyone else gets `401`. A cookie-authenticated change must carry the
/// session's CSRF token in `X-CSRF-Token`.
pub struct ApiUser(pub Viewer);

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Self::Rejection> {
        let viewer = identify(app, &parts.headers).await?.ok_or(ApiError::Unauthenticated)?;
        let safe = matches!(parts.method, Method::GET | Method::HEAD);
        let given = parts.headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).unwrap_or_default();
        if !safe && !viewer.csrf_ok(given) {
            return Err(ApiError::Csrf);
        }
        Ok(Self(viewer))
    }
}

/// A console page only supervisors may see: anyone else logged in is refused once, here.
pub struct ConsoleSupervisor(pub Viewer, pub Supervisor);

impl FromRequestParts<AppState> for ConsoleSupervisor {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Self::Rejection> {
        let ConsoleUser(viewer) = ConsoleUser::from_request_parts(parts, app).await?;
        match viewer.actor().supervisor() {
            Ok(supervisor) => Ok(Self(viewer, supervisor)),
            Err(refusal) => Err(PageError::from(refusal).into_response()),
        }
    }
}

/// An API call only supervisors may make.
pub struct ApiSupervisor(pub Viewer, pub Supervisor);

impl FromRequestParts<AppState> for ApiSupervisor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Self::Rejection> {
        let ApiUser(viewer) = ApiUser::from_request_parts(parts, app).await?;
        let supervisor = viewer.actor().supervisor()?;
        Ok(Self(viewer, supervisor))
    }
}

#[derive(Debug, Deserialize)]
struct LoginQuery {
    #[serde(default)]
    failed: bool,
}

async fn login_page(
    State(app): State<AppState>,
    axum::extract::Query(q): axum::extract::Query<LoginQuery>,
) -> Response {
    let token = tokens::new_token();
    let lines: Vec<String> = app.flows().iter().map(|f| f.file.line.name.clone()).collect();
    let mut response = pages::login(&token, q.failed, &lines).into_response();
    response.headers_mut().insert(header::SET_COOKIE, set_cookie(&app, LOGIN_COOKIE, &token, Some(900)));
    response
}

#[derive(Deserialize)]
struct LoginForm {
    login: String,
    password: String,
    csrf: String,
}

/// The address a login comes from: the peer's, or, when the peer is a proxy on this
/// machine (Caddy in `deploy/`), the last address of its `X-Forwarded-For`.
fn client_address(headers: &HeaderMap, peer: Option<IpAddr>) -> Option<IpAddr> {
    let forwarded = || {
        headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .next_back()
            .and_then(|a| a.trim().parse().ok())
    };
    match peer {
        Some(peer) if peer.is_loopback() => forwarded().or(Some(peer)),
        other => other,
    }
}

async fn login(
    State(app): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if expected.is_empty() || !constant_time_eq(expected.as_bytes(), form.csrf.as_bytes()) {
        return (
            StatusCode::FORBIDDEN,
            pages::message(tr("Form expired"), tr("Please go back and log in again."), "/login"),
        )
            .into_response();
    }
    let address = client_address(&headers, peer.map(|Extension(ConnectInfo(p))| p.ip()));
    let session = match auth::log_in(&app.ops, &form.login, form.password, address).await {
        Ok(session) => session,
        Err(Error::BadLogin) => {
            tracing::warn!(login = %form.login.trim(), address = ?address, "failed login");
            tokio::time::sleep(FAILED_LOGIN_PAUSE).await;
            return Redirect::to("/login?failed=true").into_response();
        }
        Err(Error::TooManyAttempts(wait)) => {
            tracing::warn!(login = %form.login.trim(), address = ?address, "login refused: too many attempts");
            let minutes = (wait.num_seconds() + 59) / 60;
            let text = trf(
                "Too many attempts. Please wait {minutes} minute(s), then log in again.",
                &[("minutes", &minutes)],
            );
            let mut response =
                (StatusCode::TOO_MANY_REQUESTS, pages::message(tr("Too many attempts"), &text, "/login"))
                    .into_response();
            if let Ok(value) = HeaderValue::from_str(&wait.num_seconds().max(1).to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            return response;
        }
        Err(e) => return PageError::from(e).into_response(),
    };
    let (agent, token) = (session.agent, session.token);
    tracing::info!(agent = %agent.login, "logged in");
    // The account's language follows it to this browser; none: the browser's own.
    let lang = match crate::ops::agents::language(&app.ops, agent.id).await {
        Ok(lang) => lang,
        Err(e) => return PageError::from(e).into_response(),
    };
    let mut response = Redirect::to("/console").into_response();
    let headers = response.headers_mut();
    headers.append(header::SET_COOKIE, super::language::cookie_for(&app, lang));
    headers.append(header::SET_COOKIE, set_cookie(&app, COOKIE, &token, None));
    headers.append(header::SET_COOKIE, set_cookie(&app, LOGIN_COOKIE, "", Some(0)));
    response
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn logout(
    State(app): State<AppState>,
    ConsoleUser(viewer): ConsoleUser,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return PageError::Csrf.into_response();
    }
    if let Some(digest) = viewer.session.clone() {
        if let Err(e) = app.store.write(move |c| agents::end_session(c, &digest)).await {
            return PageError::from(e).into_response();
        }
    }
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().insert(header::SET_COOKIE, set_cookie(&app, COOKIE, "", Some(0)));
    response
}
