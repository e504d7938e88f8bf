//! What the HTTP layer counts and limits, kept in the shared state: the webhooks
//! answered and their latency (for `/metrics`), and the requests in flight (for the cap).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Semaphore;

/// Requests allowed in flight at once. The provider's webhooks and everything else
/// (console, API, health, sounds) each have their own places, so that a flood of one
/// cannot starve the other. A place is taken once the request is read (and a webhook's
/// signature checked): a client slow to send holds a connection, never a place.
#[derive(Debug, Clone)]
pub struct InFlight {
    /// Places of signed webhooks.
    pub webhooks: Arc<Semaphore>,
    /// Places of every other request.
    pub others: Arc<Semaphore>,
}

impl InFlight {
    /// `places` for each of the two kinds.
    #[must_use]
    pub fn new(places: usize) -> Self {
        Self { webhooks: Arc::new(Semaphore::new(places)), others: Arc::new(Semaphore::new(places)) }
    }
}

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

    /// Writes the webhook counters and the latency histogram in Prometheus text.
    pub fn write_webhooks(&self, out: &mut String) {
        out.push_str("# HELP solidaire_webhooks_total Voice webhooks answered, by route and HTTP status.\n# TYPE solidaire_webhooks_total counter\n");
        if let Ok(map) = self.webhooks.lock() {
            for ((route, status), n) in map.iter() {
                let _ =
                    writeln!(out, "solidaire_webhooks_total{{route=\"{route}\",status=\"{status}\"}} {n}");
            }
        }
        out.push_str("# HELP solidaire_webhook_seconds Time to answer a voice webhook.\n# TYPE solidaire_webhook_seconds histogram\n");
        for (bucket, bound) in self.latency.iter().zip(LATENCY_BUCKETS) {
            let _ = writeln!(
                out,
                "solidaire_webhook_seconds_bucket{{le=\"{bound}\"}} {}",
                bucket.load(Ordering::Relaxed)
            );
        }
        let count = self.latency_count.load(Ordering::Relaxed);
        let _ = writeln!(out, "solidaire_webhook_seconds_bucket{{le=\"+Inf\"}} {count}");
        #[allow(clippy::cast_precision_loss)]
        let sum = self.latency_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "solidaire_webhook_seconds_sum {sum}\nsolidaire_webhook_seconds_count {count}");
    }
}
