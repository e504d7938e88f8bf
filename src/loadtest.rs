//! A load generator: many simulated callers at once against a running server, over real
//! HTTP, each following the TwiML it gets (signed requests, a mix of paths: menus, errands
//! with a callback, transfers answered and not, silences, wrong keys), each call ending
//! with its status callback. Reports calls/s, webhooks/s, latency percentiles, errors and
//! the callbacks the callers were told were registered.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::simulate::{Caller, Press, Softphone, Transfer};

/// What a caller does next.
#[derive(Debug, Clone, Copy)]
enum Step {
    Keys(&'static str),
    Silence,
    Transfer(Transfer),
}

/// The mix of calls, in turn: realistic paths through the bundled flow.
const MIX: &[&[Step]] = &[
    // Errands, groceries, the caller ID confirmed, no message: a callback.
    &[
        Step::Keys("1"),
        Step::Keys("3"),
        Step::Keys("1"),
        Step::Keys("4020"),
        Step::Keys("1"),
        Step::Keys("1"),
        Step::Keys("2"),
    ],
    // Seniors support, answered.
    &[Step::Keys("1"), Step::Keys("1"), Step::Transfer(Transfer::Answered)],
    // Youth support busy, then a callback with the caller ID.
    &[
        Step::Keys("2"),
        Step::Keys("2"),
        Step::Transfer(Transfer::Busy),
        Step::Keys("1"),
        Step::Keys("1"),
        Step::Keys("2"),
    ],
    // Silences, then the caller hangs up.
    &[Step::Silence, Step::Silence, Step::Silence, Step::Silence],
    // Wrong keys three times: a person, who does not answer; the caller hangs up.
    &[Step::Keys("1"), Step::Keys("9"), Step::Keys("8"), Step::Keys("7"), Step::Transfer(Transfer::NoAnswer)],
    // Urgent transport not answered: a high-priority callback.
    &[Step::Keys("1"), Step::Keys("4"), Step::Transfer(Transfer::NoAnswer), Step::Keys("1")],
];

struct Scripted(VecDeque<Step>);

impl Caller for Scripted {
    fn hear(&mut self, _: &str, _: &str) {}

    fn press(&mut self) -> Press {
        // Outside opening hours there is no transfer: the script goes on without it.
        while matches!(self.0.front(), Some(Step::Transfer(_))) {
            self.0.pop_front();
        }
        match self.0.pop_front() {
            Some(Step::Keys(k)) => Press::Keys(k.to_owned()),
            Some(Step::Silence) => Press::Silence,
            _ => Press::HangUp,
        }
    }

    fn transfer(&mut self, _: &str) -> Transfer {
        match self.0.front() {
            Some(Step::Transfer(t)) => {
                let t = *t;
                self.0.pop_front();
                t
            }
            _ => Transfer::NoAnswer,
        }
    }

    fn record(&mut self) -> Option<u32> {
        None
    }
}

/// The outcome of a run.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Calls placed.
    pub calls: usize,
    /// Webhooks sent (status callbacks included).
    pub webhooks: usize,
    /// Calls that failed (a non-200 answer, a refused document, a connection error).
    pub errors: usize,
    /// Callers told "your request is registered".
    pub confirmed: usize,
    /// Wall time.
    pub elapsed: Duration,
    /// Every webhook's round trip, sorted.
    pub latencies: Vec<Duration>,
}

impl Report {
    /// Nearest-rank percentile of the webhook latencies.
    #[must_use]
    pub fn percentile(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
        let rank = ((p * self.latencies.len() as f64).ceil() as usize).clamp(1, self.latencies.len());
        self.latencies[rank - 1]
    }

    /// Webhooks per second.
    #[must_use]
    #[allow(clippy::cast_precision_loss)]
    pub fn webhooks_per_second(&self) -> f64 {
        self.webhooks as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Calls per second.
    #[must_use]
    #[allow(clippy::cast_precision_loss)]
    pub fn calls_per_second(&self) -> f64 {
        self.calls as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// CPU time `used` by a server during the run, per webhook.
    #[must_use]
    pub fn per_webhook(&self, used: Duration) -> Duration {
        used / u32::try_from(self.webhooks.max(1)).unwrap_or(u32::MAX)
    }

    /// One line for people.
    #[must_use]
    pub fn summary(&self) -> String {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        format!(
            "{} calls, {} webhooks in {:.2} s: {:.0} calls/s, {:.0} webhooks/s; latency p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms; {} errors; {} callbacks confirmed",
            self.calls,
            self.webhooks,
            self.elapsed.as_secs_f64(),
            self.calls_per_second(),
            self.webhooks_per_second(),
            ms(self.percentile(0.50)),
            ms(self.percentile(0.90)),
            ms(self.percentile(0.99)),
            ms(self.latencies.last().copied().unwrap_or_default()),
            self.errors,
            self.confirmed
        )
    }
}

/// Runs `job(0)` … `job(calls - 1)`, `concurrency` at a time; the results in no order.
async fn spread<T, F, Fut>(calls: usize, concurrency: usize, job: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = T> + Send,
{
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let job = Arc::new(job);
    let workers: Vec<_> = (0..concurrency.max(1))
        .map(|_| {
            let (next, job) = (Arc::clone(&next), Arc::clone(&job));
            tokio::spawn(async move {
                let mut done = Vec::new();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= calls {
                        break done;
                    }
                    done.push(job(i).await);
                }
            })
        })
        .collect();
    let mut results = Vec::with_capacity(calls);
    for worker in workers {
        results.extend(worker.await.unwrap_or_default());
    }
    results
}

/// Places `calls` calls to `line`, `concurrency` at a time. With `simple`, every call
/// presses `1` eight times then hangs up (for servers that answer any webhook the same way).
/// Callers' numbers start at `+3247` followed by `first` (so runs can use distinct numbers).
pub async fn run(
    phone: &Softphone,
    line: &str,
    calls: usize,
    concurrency: usize,
    simple: bool,
    first: usize,
) -> Report {
    let (phone, line) = (phone.clone(), line.to_owned());
    let started = Instant::now();
    let records = spread(calls, concurrency, move |i| {
        let (phone, line) = (phone.clone(), line.clone());
        async move {
            let steps: VecDeque<Step> = if simple {
                std::iter::repeat_n(Step::Keys("1"), 8).collect()
            } else {
                MIX[i % MIX.len()].iter().copied().collect()
            };
            let from = format!("+3247{:07}", (first + i) % 10_000_000);
            phone.call(&from, &line, &mut Scripted(steps)).await
        }
    })
    .await;
    let mut report = Report { calls, elapsed: started.elapsed(), ..Report::default() };
    for record in records {
        match record {
            Ok(record) => {
                report.webhooks += record.exchanges.len();
                report.latencies.extend(record.exchanges.iter().map(|e| e.elapsed));
                report.confirmed += usize::from(
                    ["enregistrée", "geregistreerd", "registriert"].iter().any(|w| record.heard(w)),
                );
            }
            Err(_) => report.errors += 1,
        }
    }
    report.latencies.sort_unstable();
    report
}

/// Places `calls` calls that only arrive (`/voice/incoming`) and stay in the menu, to
/// hold many calls in progress at once. Returns the number that got a 200.
pub async fn arrive(phone: &Softphone, line: &str, calls: usize, concurrency: usize) -> usize {
    let (phone, line) = (phone.clone(), line.to_owned());
    let answered = spread(calls, concurrency, move |i| {
        let (phone, line) = (phone.clone(), line.clone());
        async move {
            let params: Vec<(String, String)> = [
                ("CallSid", crate::simulate::new_call_sid()),
                ("From", format!("+3247{:07}", i % 10_000_000)),
                ("To", line),
                ("CallStatus", "ringing".to_owned()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
            phone.post("/voice/incoming", &params).await.is_ok_and(|e| e.status == 200)
        }
    })
    .await;
    answered.into_iter().filter(|ok| *ok).count()
}

/// Peak and current resident memory of a process, in KiB (Linux).
#[must_use]
pub fn memory_kib(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
    };
    Some((field("VmHWM:")?, field("VmRSS:")?))
}

/// CPU time a process has used so far, user and system (Linux, from `/proc/<pid>/stat`).
#[must_use]
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces: count the fields after its parenthesis.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let user: u64 = fields.get(11)?.parse().ok()?;
    let system: u64 = fields.get(12)?.parse().ok()?;
    // In clock ticks: 100 a second on every usual Linux build.
    Some(Duration::from_millis((user + system) * 10))
}
