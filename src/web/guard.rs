//! What protects the service from overload and the console from the browser's dangers:
//! a cap on requests in flight (beyond it `503` with `Retry-After`, and the provider calls
//! the number's fallback URL), and security headers on every page (a strict
//! Content-Security-Policy, no framing, and no caching of pages with personal data). The
//! provider's webhooks have all their guards in one layer ([`voice`]) and only the header
//! a TwiML answer needs: no caching.

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

/// Middleware: refuses work beyond the cap. Event streams of open consoles are not
/// counted (they last as long as the page).
pub async fn cap(State(app): State<AppState>, request: Request, next: Next) -> Response {
    if request.uri().path() == "/console/events" {
        return next.run(request).await;
    }
    let Some(_permit) = app.in_flight.0.try_acquire().ok() else { return overloaded(request.uri().path()) };
    next.run(request).await
}

fn overloaded(path: &str) -> Response {
    tracing::warn!(path, "overloaded: request refused with 503");
    (StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, "1")], "overloaded, try again\n").into_response()
}

/// Middleware of the provider's webhooks: the request cap, the deadline, the metrics and
/// the one header they need, in one layer (it runs for every step of every call; as
/// separate layers they cost more than the step's own work on the async workers).
pub async fn voice(State(app): State<AppState>, request: Request, next: Next) -> Response {
    let Some(_permit) = app.in_flight.0.try_acquire().ok() else { return overloaded(request.uri().path()) };
    let started = std::time::Instant::now();
    let route = request.extensions().get::<axum::extract::MatchedPath>().cloned();
    let span = tracing::info_span!("request", method = %request.method(), route = route.as_ref().map_or("", |r| r.as_str()));
    let mut response =
        within(REQUEST_TIMEOUT, tracing::Instrument::instrument(next.run(request), span)).await;
    if let Some(route) = route {
        app.metrics.observe(route.as_str(), response.status().as_u16(), started.elapsed().as_secs_f64());
    }
    // The provider is not a browser: no page policy, but nothing it may keep (an answer
    // can hold the caller's number, read back to them).
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Time allowed to a request, its body included.
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// Time allowed to a prompt upload (a supervisor's uplink may be slow).
pub const UPLOAD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

/// The time allowed to a request: [`UPLOAD_TIMEOUT`] for prompt uploads, else
/// [`REQUEST_TIMEOUT`].
#[must_use]
pub fn deadline_for(method: &axum::http::Method, path: &str) -> std::time::Duration {
    if method == axum::http::Method::POST && path.starts_with("/console/prompts/") {
        UPLOAD_TIMEOUT
    } else {
        REQUEST_TIMEOUT
    }
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
