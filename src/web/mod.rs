//! HTTP: the provider's voice webhooks, health and metrics, prompt audio, the agents'
//! console (login, pages, event stream), the JSON API and statistics. Each area has its
//! own `router()`; [`router`] merges them over the shared [`AppState`] and adds the
//! guards (request cap, body limit, timeout, security headers; the webhooks' in one layer).

pub mod api;
pub mod assets;
pub mod calls;
pub mod charts;
pub mod console;
pub mod cookies;
pub mod counters;
pub mod errors;
pub mod flow_graph;
pub mod forms;
pub mod guard;
pub mod health;
pub mod language;
pub mod lines_api;
pub mod lines_console;
pub mod map;
pub mod metrics;
pub mod pages;
pub mod prompts;
pub mod roster;
pub mod roster_console;
pub mod serve;
pub mod session;
pub mod sounds;
pub mod state;
pub mod stats;
pub mod trial;
pub mod viewer;
pub mod webhooks;

use axum::Router;

pub use state::{App, AppState};

/// The whole HTTP service.
pub fn router(state: AppState) -> Router {
    // The webhooks have their guards in one layer of their own (see `webhooks::guard`).
    let webhooks =
        webhooks::router().route_layer(axum::middleware::from_fn_with_state(state.clone(), webhooks::guard));
    let rest = Router::new()
        .merge(health::router())
        .merge(session::router())
        .merge(console::router())
        .merge(prompts::router())
        .merge(api::router())
        .merge(roster::router())
        .merge(roster_console::router())
        .merge(lines_console::router())
        .merge(trial::router())
        .merge(lines_api::router())
        .merge(calls::router())
        .merge(assets::router())
        .merge(stats::router())
        .merge(metrics::router())
        .merge(sounds::router())
        .layer(axum::middleware::from_fn(language::within))
        .layer(axum::middleware::from_fn(guard::headers))
        .layer(axum::extract::DefaultBodyLimit::max(guard::MAX_BODY))
        .layer(axum::middleware::from_fn(guard::deadline))
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard::cap))
        .layer(tower_http::trace::TraceLayer::new_for_http().make_span_with(
            |req: &axum::http::Request<_>| {
                let route = req
                    .extensions()
                    .get::<axum::extract::MatchedPath>()
                    .map_or_else(|| req.uri().path().to_owned(), |p| p.as_str().to_owned());
                tracing::info_span!("request", method = %req.method(), route = %route)
            },
        ));
    Router::new().merge(webhooks).merge(rest).with_state(state)
}
