//! Start-up: load the flows, open the database, bind the listener, serve until told to
//! stop, and keep the flows fresh (SIGHUP or a changed file reloads them, after
//! validation; an invalid edit keeps the flows in force and says why).

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use tokio::net::TcpListener;

use crate::clock::Clock;
use crate::flow::{FlowError, Flows, load};
use crate::settings::Settings;
use crate::store::{Store, StoreError};
use crate::web::{self, App, AppState};

/// Why the service did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A flow file is wrong.
    #[error("invalid flows:\n{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Flows(Vec<FlowError>),
    /// The database cannot be opened or migrated.
    #[error("database {path}: {source}")]
    Store {
        /// The file.
        path: PathBuf,
        /// Why.
        source: StoreError,
    },
    /// Calling out is set up but HTTPS to the provider is not possible.
    #[error("calling out (twilio_account_sid): {0}")]
    Calling(std::io::Error),
    /// The address is taken or not ours.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// Loads the flows the settings name: the flows folder, or the flow bundled in the binary
/// when the default folder does not exist. Returns the folder to watch, if any.
///
/// # Errors
/// Every problem in every flow file.
pub fn load_flows(settings: &Settings) -> Result<(Flows, Option<PathBuf>), Vec<FlowError>> {
    let (flows, watch) = load_flows_quick(settings)?;
    let errors = flows.numbering_plan_errors();
    if errors.is_empty() { Ok((flows, watch)) } else { Err(errors) }
}

/// [`load_flows`] without the numbering-plan check of the flows' numbers, which
/// [`Application::build`] runs on a thread of its own so that start-up does not wait for
/// the plan's metadata.
fn load_flows_quick(settings: &Settings) -> Result<(Flows, Option<PathBuf>), Vec<FlowError>> {
    if !settings.flows_named && !settings.flows.exists() {
        tracing::info!(folder = %settings.flows.display(), "no flows folder: using the bundled flow");
        return Ok((Flows::bundled(), None));
    }
    load::load_dir_quick(&settings.flows).map(|f| (f, Some(settings.flows.clone())))
}

/// Checks the flows' numbers against the numbering plan off the start path. A number with
/// the right shape that no plan knows is logged as an error for the team (calls still
/// run; `solidaire flows check` and any reload refuse it). Loading the plan here also
/// spares the first caller that wait.
fn check_numbering_plan_later(flows: Flows) {
    let spawned = std::thread::Builder::new().name("solidaire-plan-check".to_owned()).spawn(move || {
        for error in flows.numbering_plan_errors() {
            tracing::error!("{error} (run `solidaire flows check`)");
        }
    });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot start the numbering-plan check");
    }
}

/// Anonymises what is older than `retention_days` (whole local days of the default line).
///
/// # Errors
/// Store errors.
pub async fn purge(
    store: &Store,
    flows: &Flows,
    retention_days: u32,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<crate::store::purge::Purged, StoreError> {
    use chrono::TimeZone as _;
    let tz = flows.for_called("").schedule.timezone();
    let first_kept = now.with_timezone(&tz).date_naive() - chrono::Duration::days(i64::from(retention_days));
    let midnight = first_kept.and_hms_opt(0, 0, 0).unwrap_or_default();
    let cutoff = tz.from_local_datetime(&midnight).earliest().map_or(now, |t| t.with_timezone(&chrono::Utc));
    let day = first_kept.to_string();
    let purged = store.write(move |c| crate::store::purge::purge(c, &day, cutoff)).await?;
    tracing::info!(before = %first_kept, calls = purged.calls, events = purged.events, requests = purged.requests, "retention purge");
    Ok(purged)
}

/// Keeps the call figures of every settled day, for each line and for every line
/// together, a week at a time (each week a short write), so that statistics over long
/// ranges read them instead of every call.
///
/// # Errors
/// Store errors.
pub async fn settle_statistics(
    store: &Store,
    flows: &Flows,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<usize, StoreError> {
    let default_tz = flows.default_line().schedule.timezone();
    let scopes =
        flows.iter().map(|f| (Some(f.id.clone()), f.schedule.timezone())).chain([(None, default_tz)]);
    let mut settled = 0;
    for (line, tz) in scopes {
        let today = now.with_timezone(&tz).date_naive();
        loop {
            // Read first: an hour with nothing to keep costs the writer nothing.
            let scope = line.clone();
            let pending =
                store.read(move |c| crate::stats::unsettled(c, scope.as_deref(), tz, today, 1)).await?;
            if pending.is_empty() {
                break;
            }
            let scope = line.clone();
            let n = store.write(move |c| crate::stats::settle(c, scope.as_deref(), tz, today, 7)).await?;
            if n == 0 {
                break;
            }
            settled += n;
            // Room for the webhooks between two weeks.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    Ok(settled)
}

/// Keeps the settled days' statistics at start and every hour.
async fn settle_hourly(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tick.tick().await;
        let flows = state.flows();
        match settle_statistics(&state.store, &flows, state.clock.now()).await {
            Ok(0) => {}
            Ok(days) => tracing::info!(days, "statistics of settled days kept"),
            Err(e) => {
                tracing::error!(error = %e, "keeping the settled days' statistics failed; tried again in an hour");
            }
        }
    }
}

/// Runs the purge at start and every six hours.
async fn purge_daily(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(6 * 3600));
    loop {
        tick.tick().await;
        let flows = state.flows();
        if let Err(e) = purge(&state.store, &flows, state.settings.retention_days, state.clock.now()).await {
            tracing::error!(error = %e, "retention purge failed; it will be tried again");
        }
    }
}

/// The service, built and bound, not yet serving.
pub struct Application {
    listener: TcpListener,
    state: AppState,
    watch: Option<PathBuf>,
    stop: tokio::sync::watch::Sender<bool>,
}

impl Application {
    /// Builds everything the service needs; binds `settings.listen` (port 0 picks one).
    ///
    /// # Errors
    /// A bad flow, an unusable database, an address that cannot be bound.
    pub async fn build(settings: Settings, clock: Arc<dyn Clock>) -> Result<Self, StartError> {
        let (flows, watch) = load_flows_quick(&settings).map_err(StartError::Flows)?;
        check_numbering_plan_later(flows.clone());
        let store = Store::open_with(&settings.database, settings.checkpoints)
            .map_err(|source| StartError::Store { path: settings.database.clone(), source })?;
        let listener = TcpListener::bind(settings.listen)
            .await
            .map_err(|source| StartError::Bind { addr: settings.listen, source })?;
        for (provider, set) in [
            (
                "Twilio and SignalWire",
                settings.twilio_auth_token.is_some() || settings.signalwire_signing_key.is_some(),
            ),
            ("Telnyx", settings.telnyx_public_key.is_some()),
            ("jambonz", settings.jambonz_webhook_secret.is_some()),
        ] {
            match (set, settings.development) {
                (true, _) => tracing::info!(provider, "webhooks checked against their signature"),
                (false, true) => tracing::warn!(
                    provider,
                    "DEVELOPMENT MODE: this provider's webhooks are accepted unsigned; anyone can drive the line"
                ),
                (false, false) => {
                    tracing::info!(provider, "no secret set: this provider's webhooks are all refused");
                }
            }
        }
        for flow in flows.iter() {
            tracing::info!(line = %flow.id, name = %flow.file.line.name, numbers = flow.numbers.len(), "flow loaded");
        }
        let sounds = crate::sounds::Library::load(&settings.sounds).unwrap_or_else(|e| {
            tracing::error!(folder = %settings.sounds.display(), error = %e, "cannot read the sounds folder: every prompt is spoken until it can be read");
            crate::sounds::Library::default()
        });
        for folder in sounds.misplaced() {
            tracing::warn!(folder = %folder.display(), "recordings outside a line's folder are never played: move them to <sounds>/<line>/<language>/");
        }
        let max_in_flight = usize::try_from(settings.max_in_flight).unwrap_or(512);
        let lease = chrono::Duration::minutes(i64::from(settings.lease_minutes));
        let flows = crate::flow::InForce::new(flows);
        let api = crate::telephony::rest::Api::from_settings(&settings).map_err(StartError::Calling)?;
        let ops = crate::ops::Ops::new(store.clone(), Arc::clone(&clock), lease, flows.clone())
            .calling_out(api.is_some());
        let outbox = api.map(|api| {
            tracing::info!(api = %api.calls_url(), "calling out: the service places calls through the provider");
            crate::outbox::Worker {
                ops: ops.clone(),
                api,
                base: settings.public_url.clone().unwrap_or_default(),
                clock: Arc::clone(&clock),
                counters: Arc::default(),
            }
        });
        let (stop, stopping) = tokio::sync::watch::channel(false);
        let app = App {
            settings,
            store,
            flows,
            sounds: RwLock::new(Arc::new(sounds)),
            clock,
            ops,
            stopping,
            metrics: crate::web::counters::Metrics::default(),
            in_flight: crate::web::counters::InFlight::new(max_in_flight),
            live: crate::line::LiveCalls::default(),
            outbox,
        };
        Ok(Self { listener, state: AppState(Arc::new(app)), watch, stop })
    }

    /// The port bound (useful with port 0).
    #[must_use]
    pub fn port(&self) -> u16 {
        self.listener.local_addr().map_or(0, |a| a.port())
    }

    /// The shared state, for tools that drive the service in-process.
    #[must_use]
    pub fn state(&self) -> AppState {
        self.state.clone()
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight.
    ///
    /// # Errors
    /// When the server fails.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        if let Some(dir) = self.watch {
            tokio::spawn(watch_flows(self.state.clone(), dir));
        }
        tokio::spawn(purge_daily(self.state.clone()));
        tokio::spawn(settle_hourly(self.state.clone()));
        tokio::spawn(watch_sounds(self.state.clone()));
        tokio::spawn(forget_idle_calls(self.state.clone()));
        if let Some(worker) = self.state.outbox.clone() {
            tokio::spawn(worker.run(self.state.stopping.clone()));
        }
        let addr = self.listener.local_addr()?;
        tracing::info!(%addr, "solidaire is listening");
        let stop = self.stop;
        let shutdown = async move {
            shutdown.await;
            // Ends the consoles' event streams, so the graceful shutdown can complete.
            let _ = stop.send(true);
        };
        let max_connections = usize::try_from(self.state.settings.max_connections).unwrap_or(4096);
        web::serve::serve(self.listener, web::router(self.state), max_connections, shutdown).await
    }
}

/// A call without a webhook for this long is no longer kept in memory.
const IDLE_CALL: Duration = Duration::from_secs(3600);

/// Keeps in memory only the calls that may still send a webhook soon; the others are
/// read from the database if they do.
async fn forget_idle_calls(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tick.tick().await;
        let forgotten = state.live.forget_idle(IDLE_CALL);
        if forgotten > 0 {
            tracing::debug!(forgotten, "idle calls no longer kept in memory");
        }
    }
}

/// Puts recordings added, replaced or removed in the sounds folder in force on the next
/// call (checked every two seconds; an upload from the console does it at once).
async fn watch_sounds(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    tick.tick().await;
    loop {
        tick.tick().await;
        let app = state.clone();
        if let Err(e) = tokio::task::spawn_blocking(move || app.refresh_sounds(false)).await {
            tracing::error!(error = %e, "reading the sounds folder failed");
        }
    }
}

/// What changes when a flow file is edited, added or removed.
fn fingerprint(dir: &Path) -> Vec<(PathBuf, Option<SystemTime>, u64)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "toml"))
        .map(|e| {
            let meta = e.metadata().ok();
            (e.path(), meta.as_ref().and_then(|m| m.modified().ok()), meta.map_or(0, |m| m.len()))
        })
        .collect();
    files.sort();
    files
}

/// Reloads the flows on SIGHUP and when a file in `dir` changes.
async fn watch_flows(state: AppState, dir: PathBuf) {
    let mut last = fingerprint(&dir);
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    #[cfg(unix)]
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    loop {
        #[cfg(unix)]
        let forced = if let Some(h) = hangup.as_mut() {
            tokio::select! { _ = tick.tick() => false, _ = h.recv() => true }
        } else {
            tick.tick().await;
            false
        };
        #[cfg(not(unix))]
        let forced = {
            tick.tick().await;
            false
        };
        let now = fingerprint(&dir);
        if !forced && now == last {
            continue;
        }
        last = now;
        let reloaded = {
            let dir = dir.clone();
            tokio::task::spawn_blocking(move || load::load_dir(&dir)).await
        };
        match reloaded {
            Ok(Ok(flows)) => {
                state.replace_flows(flows);
                tracing::info!(folder = %dir.display(), "flows reloaded");
            }
            Ok(Err(errors)) => {
                for e in &errors {
                    tracing::error!(problem = %e, "flow edit refused; the previous flows stay in force");
                }
            }
            Err(e) => tracing::error!(error = %e, "flow reload failed"),
        }
    }
}
