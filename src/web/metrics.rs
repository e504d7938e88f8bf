//! `GET /metrics` in Prometheus text format: webhooks by route and status, webhook
//! latency, calls in progress, the callback queue by state, the writer's batch sizes and
//! database errors.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::state::AppState;
use crate::store::{BATCH_BUCKETS, callbacks, calls};

/// Routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

async fn metrics(State(app): State<AppState>) -> Response {
    let mut out = String::new();
    let m = &app.metrics;
    m.write_webhooks(&mut out);

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
    if let Some(worker) = &app.outbox {
        let c = &worker.counters;
        out.push_str("# HELP solidaire_outbound_calls_total What the worker did with the calls the service places, since start.\n# TYPE solidaire_outbound_calls_total counter\n");
        for (what, n) in [("placed", &c.placed), ("retried", &c.retried), ("failed", &c.failed)] {
            let _ = writeln!(
                out,
                "solidaire_outbound_calls_total{{result=\"{what}\"}} {}",
                n.load(Ordering::Relaxed)
            );
        }
        match app.store.read(crate::store::outbound::by_state).await {
            Ok(states) => {
                out.push_str("# HELP solidaire_outbound_calls Calls the service placed or will place, by state.\n# TYPE solidaire_outbound_calls gauge\n");
                for state in ["queued", "sending", "placed", "answered", "accepted", "ended", "failed"] {
                    let n = states.iter().find(|(s, _)| s == state).map_or(0, |(_, n)| *n);
                    let _ = writeln!(out, "solidaire_outbound_calls{{state=\"{state}\"}} {n}");
                }
            }
            Err(e) => tracing::error!(error = %e, "metrics: database unavailable"),
        }
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}
