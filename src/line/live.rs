//! The calls in progress this process knows, kept in memory as stored after their last
//! webhook: with them, the next step runs the engine on the async workers and leaves the
//! single database writer only its two rows to write.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use crate::flow::engine::CallState;

/// What this process knows of a call in progress: its line and the engine's state after
/// the last answer (as stored). With it, a step runs the engine on the async workers and
/// leaves the single writer only its two rows to write.
#[derive(Debug, Clone)]
pub struct Known {
    /// The flow id.
    pub line: String,
    /// The state after the last answer.
    pub state: CallState,
}

/// The calls in progress this process knows, by CallSid. Each is behind its own async
/// lock, held while a webhook of that call is handled: webhooks of one call run one after
/// the other (the provider waits for each answer; only its retries overlap), and a state
/// kept here is always the stored one. A call not here is read from the database.
#[derive(Debug)]
pub struct LiveCalls {
    shards: Box<[std::sync::Mutex<Shard>]>,
    hasher: std::collections::hash_map::RandomState,
}

/// Some of the calls, by CallSid, each behind its own lock.
type Shard = HashMap<String, Arc<tokio::sync::Mutex<Live>>>;

/// One call in [`LiveCalls`].
#[derive(Debug)]
pub struct Live {
    /// The call as stored, when known (else read from the database on its next webhook).
    pub known: Option<Known>,
    touched: Instant,
}

const SHARDS: usize = 16;
/// Calls kept in memory at most (about a kilobyte each); beyond, a call's webhooks are
/// handled from the database alone, as after a restart.
const MAX_LIVE: usize = 50_000;

impl Default for LiveCalls {
    fn default() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| std::sync::Mutex::default()).collect(),
            hasher: std::collections::hash_map::RandomState::new(),
        }
    }
}

impl LiveCalls {
    fn shard(&self, sid: &str) -> std::sync::MutexGuard<'_, Shard> {
        let spread =
            usize::try_from(std::hash::BuildHasher::hash_one(&self.hasher, sid) >> 32).unwrap_or_default();
        // A panic while holding a shard cannot leave a map half-changed: recover it.
        self.shards[spread % SHARDS].lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The call's entry, made empty when it is not known (and not kept when memory holds
    /// its share of calls already: it then stays unknown).
    #[must_use]
    pub fn entry(&self, sid: &str) -> Arc<tokio::sync::Mutex<Live>> {
        let mut shard = self.shard(sid);
        if let Some(live) = shard.get(sid) {
            return Arc::clone(live);
        }
        let live = Arc::new(tokio::sync::Mutex::new(Live { known: None, touched: Instant::now() }));
        if shard.len() < MAX_LIVE / SHARDS {
            shard.insert(sid.to_owned(), Arc::clone(&live));
        }
        live
    }

    /// Forgets a call (it ended).
    pub fn forget(&self, sid: &str) {
        self.shard(sid).remove(sid);
    }

    /// Forgets the calls without a webhook for `idle` (their end was never reported, or
    /// they wait on a long transfer: the database still has them); returns how many.
    pub fn forget_idle(&self, idle: std::time::Duration) -> usize {
        let mut forgotten = 0;
        for shard in &self.shards {
            let mut shard = shard.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let before = shard.len();
            // A call whose webhook is being handled is kept.
            shard.retain(|_, live| live.try_lock().map_or(true, |l| l.touched.elapsed() < idle));
            forgotten += before - shard.len();
        }
        forgotten
    }

    /// Calls known now.
    #[must_use]
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().unwrap_or_else(std::sync::PoisonError::into_inner).len()).sum()
    }

    /// No call known.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Live {
    /// Records what a webhook left (`None`: unknown, read it again next time).
    pub fn set(&mut self, known: Option<Known>) {
        self.known = known;
        self.touched = Instant::now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> Known {
        Known { line: "liege".to_owned(), state: CallState::default() }
    }

    #[tokio::test]
    async fn calls_are_forgotten_when_they_end_or_go_quiet_but_not_while_a_webhook_runs() {
        let live = LiveCalls::default();
        live.entry("CA1").lock().await.set(Some(known()));
        live.entry("CA2").lock().await.set(Some(known()));
        assert_eq!(live.len(), 2);
        assert!(live.entry("CA1").lock().await.known.is_some(), "the same entry again");

        live.forget("CA1");
        assert!(live.entry("CA1").lock().await.known.is_none(), "an ended call is read again");

        let busy = live.entry("CA2");
        let guard = busy.lock().await;
        assert_eq!(live.forget_idle(std::time::Duration::ZERO), 1, "CA1 goes, CA2 is in use");
        drop(guard);
        assert_eq!(live.forget_idle(std::time::Duration::from_secs(3600)), 0);
        assert_eq!(live.forget_idle(std::time::Duration::ZERO), 1);
        assert!(live.is_empty());
    }

    #[tokio::test]
    async fn memory_holds_a_bounded_number_of_calls() {
        let live = LiveCalls::default();
        for i in 0..MAX_LIVE * 2 {
            live.entry(&format!("CA{i:032x}")).lock().await.set(Some(known()));
        }
        assert_eq!(live.len(), MAX_LIVE, "every shard full");
        live.entry("CAextra").lock().await.set(Some(known()));
        assert!(live.entry("CAextra").lock().await.known.is_none(), "not kept: read from the database");
        assert_eq!(live.len(), MAX_LIVE);
    }
}
