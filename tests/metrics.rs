//! `GET /metrics` after real calls.

mod common;

use common::*;

#[tokio::test]
async fn metrics_count_webhooks_latency_calls_queue_and_writes() {
    let app = TestApp::open().await;
    app.errands_request(CALLER).await;
    // A call left in the menu (no status callback yet).
    app.incoming().await;
    let bad = app.phone().post("/voice/incoming", &[("From".to_owned(), CALLER.to_owned())]).await.unwrap();
    assert_eq!(bad.status, 400);

    let page = app.phone().get("/metrics").await.unwrap();
    assert_eq!(page.status, 200);
    let m = page.body;
    assert!(
        (metric(&m, r#"solidaire_webhooks_total{route="/voice/incoming",status="200"}"#) - 2.0).abs() < 1e-9
    );
    assert!(
        (metric(&m, r#"solidaire_webhooks_total{route="/voice/incoming",status="400"}"#) - 1.0).abs() < 1e-9
    );
    assert!(
        (metric(&m, r#"solidaire_webhooks_total{route="/voice/status",status="204"}"#) - 1.0).abs() < 1e-9
    );
    // 7 gather webhooks in the errands call.
    assert!(
        (metric(&m, r#"solidaire_webhooks_total{route="/voice/{hook}",status="200"}"#) - 7.0).abs() < 1e-9
    );
    assert!((metric(&m, "solidaire_webhook_seconds_count") - 11.0).abs() < 1e-9);
    assert!((metric(&m, r#"solidaire_webhook_seconds_bucket{le="+Inf"}"#) - 11.0).abs() < 1e-9);
    assert!((metric(&m, "solidaire_calls_in_progress") - 1.0).abs() < 1e-9);
    assert!((metric(&m, r#"solidaire_callback_requests{state="open"}"#) - 1.0).abs() < 1e-9);
    assert!(metric(&m, "solidaire_db_write_batch_size_count") >= 1.0);
    assert!(metric(&m, "solidaire_db_errors_total").abs() < 1e-9);
    assert!(!m.contains("470123456"), "no phone number in metrics");
}

#[tokio::test]
async fn only_a_step_that_registers_a_request_waits_for_the_disk() {
    let app = TestApp::open().await;
    let syncs = || async {
        let page = app.phone().get("/metrics").await.unwrap();
        metric(&page.body, "solidaire_db_syncs_total")
    };
    // The retention purge at start-up is a write kept like any other: its flush may land
    // after a first call on a busy machine, so the count starts once it has.
    app.call(&[Keys("1"), HangUp]).await;
    let mut at_start = syncs().await;
    for _ in 0..200 {
        if at_start >= 1.0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        at_start = syncs().await;
    }
    assert!(at_start >= 1.0, "the start-up purge was never flushed");
    // A whole call through the menus that promises nothing, its status callback
    // included: answered without a flush.
    app.call(&[Keys("1"), Keys("3"), Keys("2"), Keys("2"), HangUp]).await;
    let menus_only = syncs().await;
    assert!((menus_only - at_start).abs() < 0.5, "{at_start} → {menus_only}");
    // A step that registers a request is answered only after a flush.
    app.errands_request(CALLER).await;
    let registered = syncs().await;
    assert!(registered > menus_only, "{menus_only} → {registered}");
    assert_eq!(app.count("SELECT count(*) FROM callback_requests"), 1);
}
