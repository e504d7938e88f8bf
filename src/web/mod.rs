//! HTTP: the provider's voice webhooks, health, and prompt audio. Each area has its own
//! `router()`; [`router`] merges them over the shared [`AppState`].

pub mod health;
pub mod voice;

use std::sync::{Arc, RwLock};

use axum::Router;
use tower_http::services::ServeDir;

use crate::clock::Clock;
use crate::flow::Flows;
use crate::settings::Settings;
use crate::store::Store;

/// What every handler can reach.
pub struct App {
    /// Checked settings.
    pub settings: Settings,
    /// The database.
    pub store: Store,
    /// The flows in force; replaced whole on reload.
    pub flows: RwLock<Arc<Flows>>,
    /// The time source.
    pub clock: Arc<dyn Clock>,
}

impl App {
    /// The flows in force now.
    ///
    /// # Panics
    /// If a thread panicked while swapping flows (it cannot: the swap is one assignment).
    #[must_use]
    pub fn flows(&self) -> Arc<Flows> {
        Arc::clone(&self.flows.read().expect("flows lock poisoned"))
    }

    /// Puts new flows in force.
    ///
    /// # Panics
    /// As [`App::flows`].
    pub fn replace_flows(&self, flows: Flows) {
        *self.flows.write().expect("flows lock poisoned") = Arc::new(flows);
    }
}

/// Shared state of the routers.
#[derive(Clone)]
pub struct AppState(pub Arc<App>);

impl std::ops::Deref for AppState {
    type Target = App;

    fn deref(&self) -> &App {
        &self.0
    }
}

/// The whole HTTP service.
pub fn router(state: AppState) -> Router {
    let sounds = ServeDir::new(&state.settings.sounds);
    Router::new()
        .merge(voice::router())
        .merge(health::router())
        .nest_service("/sounds", sounds)
        .layer(tower_http::trace::TraceLayer::new_for_http().make_span_with(
            |req: &axum::http::Request<_>| {
                let route = req
                    .extensions()
                    .get::<axum::extract::MatchedPath>()
                    .map_or_else(|| req.uri().path().to_owned(), |p| p.as_str().to_owned());
                tracing::info_span!("request", method = %req.method(), route = %route)
            },
        ))
        .with_state(state)
}
