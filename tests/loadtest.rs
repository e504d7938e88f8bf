//! The load generator against a real server: every call completes, every confirmed
//! callback is in the database.

mod common;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_load_generator_places_mixed_calls_and_loses_no_callback() {
    let app = spawn_app(Options { token: Some("load".to_owned()), ..Options::default() }).await;
    let report = solidaire::loadtest::run(&app.phone(), LINE, 24, 4, false, 0).await;
    assert_eq!((report.calls, report.errors), (24, 0));
    // Three of the six paths end with a callback (errands, youth busy, transport).
    assert_eq!(report.confirmed, 12);
    assert_eq!(app.count("SELECT count(*) FROM callback_requests"), 12);
    assert_eq!(app.count("SELECT count(*) FROM calls WHERE status = 'completed'"), 24);
    assert_eq!(report.webhooks, report.latencies.len());
    assert!(report.percentile(0.5) <= report.percentile(0.99));
    assert!(report.summary().contains("24 calls"));

    let held = solidaire::loadtest::arrive(&app.phone(), LINE, 30, 5).await;
    assert_eq!(held, 30);
    assert_eq!(app.count("SELECT count(*) FROM calls WHERE ended_at IS NULL"), 30);
}
