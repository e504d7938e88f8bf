//! Overload, oversized requests and the browser-facing headers.

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use common::*;

fn raw(app: &TestApp, request: &[u8]) -> std::net::TcpStream {
    let address = app.server.trim_start_matches("http://").to_owned();
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream.write_all(request).unwrap();
    stream
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_the_cap_requests_get_503_with_retry_after() {
    let app = spawn_app(Options { max_in_flight: 1, ..Options::default() }).await;
    // A webhook whose body is slow to come holds the only place.
    let mut slow = raw(
        &app,
        b"POST /voice/incoming HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 80\r\n\r\nCallSid=CA0123",
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let refused = app.phone().get("/healthz").await.unwrap();
    assert_eq!(refused.status, 503);
    assert!(refused.body.contains("overloaded"));
    // The held request completes; the place is free again.
    slow.write_all(format!("{:0<66}", "4567890abcdef0123456789abcdef&To=%2B3280043436&From=x").as_bytes())
        .unwrap();
    let mut answer = vec![0u8; 64];
    let n = slow.read(&mut answer).unwrap();
    assert!(String::from_utf8_lossy(&answer[..n]).starts_with("HTTP/1.1 "), "the slow request was answered");
    drop(slow);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(app.phone().get("/healthz").await.unwrap().status, 200);
}

#[tokio::test]
async fn an_oversized_webhook_is_refused() {
    let app = TestApp::open().await;
    let big = "x".repeat(100 * 1024);
    let answer = app.phone().post("/voice/incoming", &[("CallSid".to_owned(), big)]).await.unwrap();
    assert_eq!(answer.status, 413);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_carry_a_strict_content_security_policy_and_personal_pages_are_not_cached() {
    let app = TestApp::open().await;
    let mut stream = raw(&app, b"GET /login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    let head = text.split("\r\n\r\n").next().unwrap().to_ascii_lowercase();
    let csp = head.lines().find(|l| l.starts_with("content-security-policy:")).expect("a CSP");
    assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"), "{csp}");
    assert!(head.contains("cache-control: no-store"), "{head}");
    assert!(head.contains("x-content-type-options: nosniff"));
    assert!(
        !text.contains("style=\"") && !text.contains("<script>"),
        "nothing inline that the policy would block"
    );

    let mut stream = raw(&app, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    assert!(!text.to_ascii_lowercase().contains("no-store"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_whose_body_never_comes_gets_408_after_ten_seconds() {
    let app = TestApp::open().await;
    let started = std::time::Instant::now();
    let mut stalled = raw(
        &app,
        b"POST /voice/incoming HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 80\r\n\r\nCallSid=CA",
    );
    stalled.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut answer = vec![0u8; 64];
    let n = stalled.read(&mut answer).unwrap();
    assert!(
        String::from_utf8_lossy(&answer[..n]).starts_with("HTTP/1.1 408"),
        "{:?}",
        String::from_utf8_lossy(&answer[..n])
    );
    assert!(started.elapsed() >= Duration::from_secs(9), "not before the deadline");
    // The place it held is free again.
    assert_eq!(app.phone().get("/healthz").await.unwrap().status, 200);
}
