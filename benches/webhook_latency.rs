//! Webhook latency over real HTTP on loopback: many concurrent callers walk the errands
//! path to a registered callback (signature check, flow step, event and request stored)
//! and every webhook's round trip is timed. Prints p50/p90/p99/max and throughput.
//!
//! `cargo bench --bench webhook_latency [-- CALLS CONCURRENCY]`

use std::sync::Arc;
use std::time::{Duration, Instant};

use solidaire::app::Application;
use solidaire::clock::ManualClock;
use solidaire::settings::{Secret, Settings};
use solidaire::simulate::{Caller, Press, Softphone, Transfer};

const PUBLIC: &str = "https://line.example.org";
const TOKEN: &str = "bench-token";

/// French, errands, 65+, postcode, pharmacy, confirm the number, no message.
struct Errands(std::vec::IntoIter<&'static str>);

impl Caller for Errands {
    fn hear(&mut self, _: &str, _: &str) {}
    fn press(&mut self) -> Press {
        self.0.next().map_or(Press::HangUp, |k| Press::Keys(k.to_owned()))
    }
    fn transfer(&mut self, _: &str) -> Transfer {
        Transfer::Answered
    }
    fn record(&mut self) -> Option<u32> {
        None
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let calls = args.first().copied().unwrap_or(2_000);
    let concurrency = args.get(1).copied().unwrap_or(50);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async move {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings {
            listen: "127.0.0.1:0".parse().unwrap(),
            database: dir.path().join("bench.db"),
            flows: std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("ivr-flows"),
            flows_named: true,
            sounds: dir.path().join("sounds"),
            public_url: Some(PUBLIC.to_owned()),
            twilio_auth_token: Some(Secret::new(TOKEN)),
            log: "error".to_owned(),
            ..Settings::default()
        };
        let clock = ManualClock::new(chrono::Utc::now());
        let app = Application::build(settings, Arc::new(clock)).await.unwrap();
        let server = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until(std::future::pending()));

        let started = Instant::now();
        let mut workers = Vec::new();
        for w in 0..concurrency {
            let phone = Softphone::new(&server, Some(PUBLIC), Some(TOKEN));
            let share = calls / concurrency + usize::from(w < calls % concurrency);
            workers.push(tokio::spawn(async move {
                let mut times = Vec::new();
                for i in 0..share {
                    let from = format!("+3247{:07}", (w * 100_000 + i) % 10_000_000);
                    let keys = vec!["1", "3", "1", "4020", "2", "1", "2"];
                    let record =
                        phone.call(&from, "+3280043436", &mut Errands(keys.into_iter())).await.unwrap();
                    assert!(record.heard("enregistrée"), "every call ends registered");
                    times.extend(record.exchanges.iter().map(|e| e.elapsed));
                }
                times
            }));
        }
        let mut times = Vec::new();
        for w in workers {
            times.extend(w.await.unwrap());
        }
        let wall = started.elapsed();
        times.sort_unstable();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!("calls: {calls}, concurrent callers: {concurrency}, webhooks: {}", times.len());
        #[allow(clippy::cast_precision_loss)]
        let rate = times.len() as f64 / wall.as_secs_f64();
        println!("wall: {:.2} s, {rate:.0} webhooks/s", wall.as_secs_f64());
        println!(
            "latency per webhook: p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            ms(percentile(&times, 0.50)),
            ms(percentile(&times, 0.90)),
            ms(percentile(&times, 0.99)),
            ms(*times.last().unwrap()),
        );
    });
}
