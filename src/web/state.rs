//! What every handler can reach: the settings, the database, the flows and recordings in
//! force, the use-cases, the clock, and the counters of the HTTP layer.

use std::sync::{Arc, RwLock};

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
    pub flows: crate::flow::InForce,
    /// The recorded prompts in force; replaced whole when the sounds folder changes.
    pub sounds: RwLock<Arc<crate::sounds::Library>>,
    /// The time source.
    pub clock: Arc<dyn Clock>,
    /// The use-cases of the people who work the line.
    pub ops: crate::ops::Ops,
    /// Becomes true when the service is shutting down (long-lived streams end).
    pub stopping: tokio::sync::watch::Receiver<bool>,
    /// Counters for `/metrics`.
    pub metrics: super::counters::Metrics,
    /// The cap on requests in flight.
    pub in_flight: super::counters::InFlight,
    /// The calls in progress, as stored after their last webhook.
    pub live: crate::line::LiveCalls,
    /// The worker placing the service's own calls, when it places any.
    pub outbox: Option<crate::outbox::Worker>,
}

impl App {
    /// The flows in force now.
    ///
    /// # Panics
    /// If a thread panicked while swapping flows (it cannot: the swap is one assignment).
    #[must_use]
    pub fn flows(&self) -> Arc<Flows> {
        self.flows.get()
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
        let library = match crate::sounds::Library::load(root) {
            Ok(library) => library,
            Err(e) => {
                tracing::warn!(folder = %root.display(), error = %e, "cannot read the sounds folder: the recordings in force stay");
                return false;
            }
        };
        tracing::info!(folder = %root.display(), recordings = library.len(), "recorded prompts read");
        *self.sounds.write().expect("sounds lock poisoned") = Arc::new(library);
        true
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

    /// Puts new flows in force.
    ///
    /// # Panics
    /// As [`App::flows`].
    pub fn replace_flows(&self, flows: Flows) {
        self.flows.replace(flows);
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
