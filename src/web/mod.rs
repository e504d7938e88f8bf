//! HTTP: the provider's voice webhooks, health and metrics, prompt audio, the agents'
//! console (login, pages, event stream), the JSON API and statistics. Each area has its
//! own `router()`; [`router`] merges them over the shared [`AppState`] and adds the
//! guards (request cap, body limit, timeout, security headers; the webhooks' in one layer).

pub mod api;
pub mod assets;
pub mod charts;
pub mod console;
pub mod guard;
pub mod health;
pub mod metrics;
pub mod pages;
pub mod prompts;
pub mod session;
pub mod sounds;
pub mod stats;
pub mod voice;

use std::sync::{Arc, RwLock};

use axum::Router;

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
    /// The recorded prompts in force; replaced whole when the sounds folder changes.
    pub sounds: RwLock<Arc<crate::sounds::Library>>,
    /// The time source.
    pub clock: Arc<dyn Clock>,
    /// Told whenever the callback queue changes (consoles refresh).
    pub changes: tokio::sync::broadcast::Sender<()>,
    /// Becomes true when the service is shutting down (long-lived streams end).
    pub stopping: tokio::sync::watch::Receiver<bool>,
    /// Counters for `/metrics`.
    pub metrics: metrics::Metrics,
    /// The cap on requests in flight.
    pub in_flight: guard::InFlight,
    /// The calls in progress, as stored after their last webhook.
    pub live: crate::voice::LiveCalls,
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

    /// The recorded prompts in force now.
    ///
    /// # Panics
    /// As [`App::flows`].
    #[must_use]
    pub fn sounds(&self) -> Arc<crate::sounds::Library> {
        Arc::clone(&self.sounds.read().expect("sounds lock poisoned"))
    }

    /// Reads the sounds folder again when it changed (or when `force`); returns whether
    /// the recordings in force changed.
    ///
    /// # Panics
    /// As [`App::flows`].
    pub fn refresh_sounds(&self, force: bool) -> bool {
        let root = &self.settings.sounds;
        if !force && !self.sounds().is_stale(root) {
            return false;
        }
        let library = crate::sounds::Library::load(root);
        tracing::info!(folder = %root.display(), recordings = library.len(), "recorded prompts read");
        *self.sounds.write().expect("sounds lock poisoned") = Arc::new(library);
        true
    }

    /// Tells the consoles that the queue changed.
    pub fn queue_changed(&self) {
        // No console listening is not an error.
        let _ = self.changes.send(());
    }

    /// Runs a change to the queue on the writer; tells the consoles when it happened.
    pub async fn queue_change<T, F>(&self, f: F) -> crate::store::callbacks::QueueResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Connection) -> crate::store::callbacks::QueueResult<T> + Send + 'static,
    {
        let result = self.store.write(f).await;
        if matches!(result, Ok(Ok(_))) {
            self.queue_changed();
        }
        result
    }

    /// Services and languages offered by the lines, for the console's filters.
    #[must_use]
    pub fn choices(&self) -> (Vec<String>, Vec<String>) {
        let flows = self.flows();
        let mut services = std::collections::BTreeSet::new();
        let mut languages = std::collections::BTreeSet::new();
        for flow in flows.iter() {
            for node in flow.file.nodes.values() {
                if let crate::flow::Node::Callback(c) = node {
                    services.insert(c.service.clone());
                }
            }
            languages.extend(flow.file.line.languages.iter().map(|l| l.get_ref().clone()));
        }
        (services.into_iter().collect(), languages.into_iter().collect())
    }

    /// The time zone of the default line, for times shown to people.
    #[must_use]
    pub fn timezone(&self) -> chrono_tz::Tz {
        self.flows().for_called("").schedule.timezone()
    }

    /// The lease of a claim.
    #[must_use]
    pub fn lease(&self) -> chrono::Duration {
        chrono::Duration::minutes(i64::from(self.settings.lease_minutes))
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
    // The webhooks have their guards in one layer of their own (see `guard::voice`).
    let webhooks =
        voice::router().route_layer(axum::middleware::from_fn_with_state(state.clone(), guard::voice));
    let rest = Router::new()
        .merge(health::router())
        .merge(session::router())
        .merge(console::router())
        .merge(prompts::router())
        .merge(api::router())
        .merge(assets::router())
        .merge(stats::router())
        .merge(metrics::router())
        .merge(sounds::router())
        .layer(axum::middleware::from_fn(guard::headers))
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024))
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
