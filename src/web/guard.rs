//! What protects the service from overload and the console from the browser's dangers:
//! a deadline on reading a body, a cap on requests in flight (beyond it `503` with
//! `Retry-After`, and the provider calls the number's fallback URL), and security headers
//! on every page (a strict Content-Security-Policy, no framing, and no caching of pages
//! with personal data). The provider's webhooks have all their guards in one layer of
//! their own (`webhooks::guard`), with places in flight of their own.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::state::AppState;

/// The policy: everything from the service itself, no inline script or style, voice
/// messages from the provider's https storage.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   media-src 'self' https:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; \
                   form-action 'self'";

/// Largest body of a console or API request (forms, JSON); prompt uploads have their own.
pub const MAX_BODY: usize = 64 * 1024;

/// Time allowed to send a request's body: 64 KiB at 200 kbit/s. The provider sends its
/// 2 KiB in one packet; a browser's form is smaller still.
pub const BODY_DEADLINE: std::time::Duration = std::time::Duration::from_secs(3);

/// Why a body could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyError {
    /// Longer than allowed (`413`).
    TooLarge,
    /// Not sent within [`BODY_DEADLINE`] (`408`).
    TooSlow,
    /// The connection failed part-way (`400`).
    CutShort,
}

impl IntoResponse for BodyError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            Self::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "request body too large\n"),
            Self::TooSlow => (StatusCode::REQUEST_TIMEOUT, "request body took too long\n"),
            Self::CutShort => (StatusCode::BAD_REQUEST, "request body cut short\n"),
        };
        (status, message).into_response()
    }
}

/// Whether a body-read error is the limit's (rather than the connection's).
#[must_use]
pub fn is_too_large(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(e) = cause {
        if e.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        cause = e.source();
    }
    false
}

/// Reads a whole body of at most `limit` bytes within [`BODY_DEADLINE`]. A declared
/// length over the limit is refused before anything is read.
pub async fn read_body(body: axum::body::Body, limit: usize) -> Result<axum::body::Bytes, BodyError> {
    use axum::body::HttpBody as _;
    if body.size_hint().lower() > u64::try_from(limit).unwrap_or(u64::MAX) {
        return Err(BodyError::TooLarge);
    }
    match tokio::time::timeout(BODY_DEADLINE, axum::body::to_bytes(body, limit)).await {
        Err(_) => Err(BodyError::TooSlow),
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(e)) if is_too_large(&e) => Err(BodyError::TooLarge),
        Ok(Err(_)) => Err(BodyError::CutShort),
    }
}

/// Middleware of everything but the webhooks: reads the body within its deadline, then
/// takes one of the places in flight (beyond, `503`). Not counted: the event streams of
/// open consoles (they last as long as the page), the health check (it must tell a
/// database failure from a busy service) and prompt uploads, which stream under their
/// own deadline.
pub async fn cap(State(app): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if path == "/console/events" || path == "/healthz" {
        return next.run(request).await;
    }
    let request = if is_upload(request.method(), path) {
        request
    } else {
        let (parts, body) = request.into_parts();
        match read_body(body, MAX_BODY).await {
            Ok(bytes) => Request::from_parts(parts, axum::body::Body::from(bytes)),
            Err(e) => return e.into_response(),
        }
    };
    let Ok(_place) = app.in_flight.others.try_acquire() else { return overloaded(request.uri().path()) };
    next.run(request).await
}

/// `503` with `Retry-After`: the provider then calls the number's fallback URL.
pub fn overloaded(path: &str) -> Response {
    tracing::warn!(path, "overloaded: request refused with 503");
    (StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, "1")], "overloaded, try again\n").into_response()
}

fn is_upload(method: &axum::http::Method, path: &str) -> bool {
    method == axum::http::Method::POST && path.starts_with("/console/prompts/")
}

/// Time allowed to a request, its body included.
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// Time allowed to a prompt upload (a supervisor's uplink may be slow).
pub const UPLOAD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

/// The time allowed to a request: [`UPLOAD_TIMEOUT`] for prompt uploads, else
/// [`REQUEST_TIMEOUT`].
#[must_use]
pub fn deadline_for(method: &axum::http::Method, path: &str) -> std::time::Duration {
    if is_upload(method, path) { UPLOAD_TIMEOUT } else { REQUEST_TIMEOUT }
}

/// Middleware: `408` when a request (reading its body included) takes longer than its
/// deadline ([`deadline_for`]).
pub async fn deadline(request: Request, next: Next) -> Response {
    let limit = deadline_for(request.method(), request.uri().path());
    within(limit, next.run(request)).await
}

/// The answer, or `408` when it takes longer than `limit`.
async fn within(limit: std::time::Duration, answer: impl Future<Output = Response>) -> Response {
    match tokio::time::timeout(limit, answer).await {
        Ok(response) => response,
        Err(_) => (StatusCode::REQUEST_TIMEOUT, "request took too long\n").into_response(),
    }
}

/// Middleware: security headers.
pub async fn headers(request: Request, next: Next) -> Response {
    let private =
        ["/console", "/api/", "/login", "/logout"].iter().any(|p| request.uri().path().starts_with(p));
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    if private {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

#[cfg(test)]
mod tests {
    use axum::http::Method;

    use super::*;

    #[test]
    fn uploads_get_more_time_than_other_requests() {
        assert_eq!(deadline_for(&Method::POST, "/console/prompts/fr/greeting"), UPLOAD_TIMEOUT);
        assert_eq!(deadline_for(&Method::GET, "/console/prompts/fr/greeting"), REQUEST_TIMEOUT);
        assert_eq!(deadline_for(&Method::POST, "/voice/gather"), REQUEST_TIMEOUT);
        assert_eq!(deadline_for(&Method::POST, "/console/claim-next"), REQUEST_TIMEOUT);
    }
}
