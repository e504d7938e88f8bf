//! `GET /metrics` in Prometheus text format: webhooks by route and status, webhook
//! latency, calls in progress, the callback queue by state, the writer's batch sizes and
//! database errors.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::state::AppState;
use crate::store::{BATCH_BUCKETS, callbacks, calls};

/// Upper bounds of the latency histogram, seconds.
const LATENCY_BUCKETS: [f64; 12] =
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

/// Counters kept by the HTTP layer.
#[derive(Debug, Default)]
pub struct Metrics {
    webhooks: Mutex<BTreeMap<(String, u16), u64>>,
    latency: [AtomicU64; 12],
    latency_count: AtomicU64,
    latency_micros: AtomicU64,
}

impl Metrics {
    /// Counts a webhook answered.
    pub fn observe(&self, route: &str, status: u16, seconds: f64) {
        if let Ok(mut map) = self.webhooks.lock() {
            // A handful of routes and statuses: found without allocating a key.
            match map.iter_mut().find(|((r, s), _)| r == route && *s == status) {
                Some((_, n)) => *n += 1,
                None => {
                    map.insert((route.to_owned(), status), 1);
                }
            }
        }
        for (bucket, bound) in self.latency.iter().zip(LATENCY_BUCKETS) {
            if seconds <= bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        self.latency_micros.fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
    }
}

/// Routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

async fn metrics(State(app): State<AppState>) -> Response {
    let mut out = String::new();
    let m = &app.metrics;
    out.push_str("# HELP solidaire_webhooks_total Voice webhooks answered, by route and HTTP status.\n# TYPE solidaire_webhooks_total counter\n");
    if let Ok(map) = m.webhooks.lock() {
        for ((route, status), n) in map.iter() {
            let _ = writeln!(out, "solidaire_webhooks_total{{route=\"{route}\",status=\"{status}\"}} {n}");
        }
    }
    out.push_str("# HELP solidaire_webhook_seconds Time to answer a voice webhook.\n# TYPE solidaire_webhook_seconds histogram\n");
    for (bucket, bound) in m.latency.iter().zip(LATENCY_BUCKETS) {
        let _ = writeln!(
            out,
            "solidaire_webhook_seconds_bucket{{le=\"{bound}\"}} {}",
            bucket.load(Ordering::Relaxed)
        );
    }
    let count = m.latency_count.load(Ordering::Relaxed);
    let _ = writeln!(out, "solidaire_webhook_seconds_bucket{{le=\"+Inf\"}} {count}");
    #[allow(clippy::cast_precision_loss)]
    let sum = m.latency_micros.load(Ordering::Relaxed) as f64 / 1e6;
    let _ = writeln!(out, "solidaire_webhook_seconds_sum {sum}\nsolidaire_webhook_seconds_count {count}");

    let _ = writeln!(
        out,
        "# HELP solidaire_calls_in_memory Calls whose state is kept in memory (a webhook in the last hour, not ended).\n# TYPE solidaire_calls_in_memory gauge\nsolidaire_calls_in_memory {}",
        app.live.len()
    );
    let w = app.store.stats();
    out.push_str("# HELP solidaire_db_write_batch_size Jobs committed together by the database writer.\n# TYPE solidaire_db_write_batch_size histogram\n");
    for (bucket, bound) in w.batch_sizes.iter().zip(BATCH_BUCKETS) {
        let _ = writeln!(
            out,
            "solidaire_db_write_batch_size_bucket{{le=\"{bound}\"}} {}",
            bucket.load(Ordering::Relaxed)
        );
    }
    let batches = w.batches.load(Ordering::Relaxed);
    let _ = writeln!(out, "solidaire_db_write_batch_size_bucket{{le=\"+Inf\"}} {batches}");
    let _ = writeln!(
        out,
        "solidaire_db_write_batch_size_sum {}\nsolidaire_db_write_batch_size_count {batches}",
        w.jobs.load(Ordering::Relaxed)
    );
    let _ = writeln!(
        out,
        "# HELP solidaire_db_errors_total Failed database writes and commits.\n# TYPE solidaire_db_errors_total counter\nsolidaire_db_errors_total {}",
        w.errors.load(Ordering::Relaxed)
    );
    let _ = writeln!(
        out,
        "# HELP solidaire_db_syncs_total Flushes of the database log to the disk before promises were answered.\n# TYPE solidaire_db_syncs_total counter\nsolidaire_db_syncs_total {}",
        w.syncs.load(Ordering::Relaxed)
    );

    // Calls still in progress: started in the last four hours and not ended.
    let since = app.clock.now() - chrono::Duration::hours(4);
    let gauges = app
        .store
        .read(move |c| Ok((calls::in_progress_since(c, since)?, callbacks::active_by_state(c)?)))
        .await;
    match gauges {
        Ok((in_progress, states)) => {
            let _ = writeln!(
                out,
                "# HELP solidaire_calls_in_progress Calls started in the last 4 hours and not ended.\n# TYPE solidaire_calls_in_progress gauge\nsolidaire_calls_in_progress {in_progress}"
            );
            out.push_str("# HELP solidaire_callback_requests Callback requests waiting or being worked, by state.\n# TYPE solidaire_callback_requests gauge\n");
            for state in ["open", "claimed"] {
                let n = states.iter().find(|(s, _)| s == state).map_or(0, |(_, n)| *n);
                let _ = writeln!(out, "solidaire_callback_requests{{state=\"{state}\"}} {n}");
            }
        }
        Err(e) => tracing::error!(error = %e, "metrics: database unavailable"),
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}
