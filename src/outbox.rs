//! The worker that places the service's own calls. It empties the outbox (rows written
//! by the decisions of [`crate::ops::calling`], in their transactions) through the
//! provider's REST API, off the webhooks' path:
//! - a row is marked `sending` on the writer before the request leaves, so a crash never
//!   sends it twice (at start, such a row counts as placed: its webhooks still find it);
//! - a 429, a 5xx or no answer puts it back with a growing delay, [`MAX_ATTEMPTS`] times;
//! - a 4xx is the provider's refusal: logged, and the mission moves on (or the agent's
//!   request says why);
//! - a call whose status never arrives is closed after [`STALE`].
//!
//! The same loop calls each mission's next round of offers once its calls are over.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use crate::clock::Clock;
use crate::ops::{Ops, calling};
use crate::phone::mask;
use crate::store::outbound::{self, Outbound, Purpose};
use crate::telephony::rest::{Api, Order, Refusal};

/// Times a call is handed to the provider before it is given up.
pub const MAX_ATTEMPTS: u32 = 5;
/// Calls handed to the provider at once.
const BATCH: u32 = 8;
/// A placed call that has not reported for this long is over.
pub const STALE: chrono::Duration = chrono::Duration::hours(2);
/// Seconds a volunteer's or an agent's phone rings.
pub const RING_SECONDS: u16 = 25;

/// The delay before attempt `attempts + 1`: 30 s, 1, 2, 4 minutes.
#[must_use]
pub fn backoff(attempts: u32) -> chrono::Duration {
    chrono::Duration::seconds(30 * (1 << attempts.saturating_sub(1).min(5)))
}

/// What the worker needs.
#[derive(Clone)]
pub struct Worker {
    /// The use-cases (the database, the flows, the wake-ups).
    pub ops: Ops,
    /// The provider's REST API.
    pub api: Api,
    /// The public base URL of our webhooks.
    pub base: String,
    /// The service's clock.
    pub clock: Arc<dyn Clock>,
    /// Counters for `/metrics`.
    pub counters: Arc<Counters>,
}

/// What the worker did since start, for `/metrics`.
#[derive(Debug, Default)]
pub struct Counters {
    /// Calls the provider took.
    pub placed: std::sync::atomic::AtomicU64,
    /// Attempts put back for later (429, 5xx, no answer).
    pub retried: std::sync::atomic::AtomicU64,
    /// Calls never placed (refused, or retries ran out).
    pub failed: std::sync::atomic::AtomicU64,
}

impl Worker {
    /// Runs until `stopping` turns true: wakes when the outbox changes, and every second.
    pub async fn run(self, mut stopping: tokio::sync::watch::Receiver<bool>) {
        let now = self.clock.now();
        match self.ops.store().write(move |c| outbound::recover_sending(c, now)).await {
            Ok(0) => {}
            Ok(n) => {
                tracing::warn!(calls = n, "calls being placed when the service stopped are not placed again");
            }
            Err(e) => tracing::error!(error = %e, "cannot read the outbox"),
        }
        while !*stopping.borrow() {
            if let Err(e) = self.tick().await {
                tracing::error!(error = %e, "placing calls failed; tried again in a second");
            }
            tokio::select! {
                _ = tokio::time::timeout(Duration::from_secs(1), self.ops.outbox_wait()) => {}
                _ = stopping.changed() => {}
            }
        }
    }

    /// One pass: the next rounds of offers, the calls due, the calls gone silent.
    ///
    /// # Errors
    /// The database's failure.
    pub async fn tick(&self) -> Result<(), crate::ops::Error> {
        calling::next_rounds(&self.ops).await?;
        let now = self.clock.now();
        let before = now - STALE;
        // Read first: an idle line costs the writer nothing (no transaction, no flush).
        let (due, stalled) = self
            .ops
            .store()
            .read(move |c| Ok((outbound::is_due(c, now)?, !outbound::stalled(c, before)?.is_empty())))
            .await?;
        if due {
            let claimed = self.ops.store().write(move |c| outbound::claim_due(c, now, BATCH)).await?;
            let placing: Vec<_> = claimed.into_iter().map(|call| self.place(call)).collect();
            futures_util::future::join_all(placing).await;
        }
        let withdraw = self.ops.store().read(outbound::to_withdraw).await?;
        for call in withdraw {
            self.withdraw(call).await;
        }
        if stalled {
            self.ops
                .store()
                .write(move |c| {
                    for call in outbound::stalled(c, before)? {
                        tracing::warn!(placed = call.id, "no status from the provider: the call is closed");
                        calling::ended(c, &call, "lost", now)?;
                    }
                    Ok(())
                })
                .await?;
            self.ops.outbox_changed();
        }
        Ok(())
    }

    /// Asks the provider to stop ringing `call` (its mission was taken); asked once.
    async fn withdraw(&self, call: Outbound) {
        let Some(sid) = call.sid.clone() else { return };
        match self.api.cancel(&sid).await {
            Ok(()) => tracing::info!(placed = call.id, "call cancelled: the mission was taken"),
            Err(e) => {
                tracing::warn!(placed = call.id, problem = %e, "the provider did not cancel a call: it may still ring");
            }
        }
        let id = call.id;
        if let Err(e) = self.ops.store().write(move |c| outbound::withdrawn(c, id)).await {
            tracing::error!(placed = id, error = %e, "a cancelled call was not recorded");
        }
    }

    async fn place(&self, call: Outbound) {
        if call.purpose == Purpose::Offer {
            // Taken or called off while it waited in the outbox: not rung at all.
            let probe = call.clone();
            let wanted = self.ops.store().read(move |c| crate::ops::keypad::still_offered(c, &probe)).await;
            if matches!(wanted, Ok(false)) {
                let (id, now) = (call.id, self.clock.now());
                if let Err(e) = self.ops.store().write(move |c| outbound::end(c, id, "taken", now)).await {
                    tracing::error!(placed = id, error = %e, "a call no longer needed was not recorded");
                }
                return;
            }
        }
        let flows = self.ops.flows();
        let from = flows.get(&call.line).and_then(|f| calling::line_number(f)).map(|n| n.as_str().to_owned());
        let result = match from {
            None => Err(Refusal::Refused {
                status: 0,
                code: None,
                message: format!("line `{}` has no number to call from", call.line),
            }),
            Some(from) => {
                // Answered in the dialect of the provider that places it.
                let out = format!("{}{}/out/{}", self.base, self.api.dialect().prefix(), call.id);
                let order = Order {
                    to: call.to.clone(),
                    from,
                    url: format!("{out}/answer"),
                    status_callback: format!("{out}/status"),
                    timeout: RING_SECONDS,
                    // A volunteer's voicemail must not take a mission; an agent presses 1.
                    machine_detection: call.purpose == Purpose::Offer,
                };
                self.api.place(&order).await
            }
        };
        let now = self.clock.now();
        let id = call.id;
        let to = mask(&call.to);
        let written = match result {
            Ok(sid) => {
                self.counters.placed.fetch_add(1, Relaxed);
                tracing::info!(placed = id, to = %to, sid = sid.as_deref().unwrap_or("given later"), "call placed");
                self.ops.store().write(move |c| outbound::placed(c, id, sid.as_deref(), now)).await
            }
            Err(Refusal::Retry(why)) if call.attempts < MAX_ATTEMPTS => {
                self.counters.retried.fetch_add(1, Relaxed);
                let next = now + backoff(call.attempts);
                tracing::warn!(placed = id, to = %to, attempt = call.attempts, problem = %why, "call not placed yet: tried again later");
                self.ops.store().write(move |c| outbound::retry_at(c, id, next, &why)).await
            }
            Err(refusal) => {
                self.counters.failed.fetch_add(1, Relaxed);
                let why = match &refusal {
                    Refusal::Retry(why) => format!("given up after {} attempts: {why}", call.attempts),
                    Refusal::Refused { .. } => refusal.to_string(),
                };
                tracing::error!(placed = id, to = %to, problem = %why, "call not placed");
                let result = self.ops.store().write(move |c| calling::not_placed(c, &call, &why, now)).await;
                self.ops.queue_changed();
                self.ops.outbox_changed();
                result
            }
        };
        if let Err(e) = written {
            tracing::error!(placed = id, error = %e, "the outcome of placing a call was not recorded");
        }
    }
}
