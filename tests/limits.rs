//! Overload, a hostile network (slow bodies, silent and idle connections, floods of
//! unsigned requests), oversized requests and the browser-facing headers.

mod common;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use common::*;

fn connect(app: &TestApp) -> std::net::TcpStream {
    let address = app.server.trim_start_matches("http://").to_owned();
    let stream = std::net::TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    stream
}

fn raw(app: &TestApp, request: &[u8]) -> std::net::TcpStream {
    let mut stream = connect(app);
    stream.write_all(request).unwrap();
    stream
}

/// The first bytes the server sends, or "" when it closes the connection without a word.
fn first_answer(stream: &mut std::net::TcpStream) -> String {
    let mut answer = vec![0u8; 4096];
    let n = stream.read(&mut answer).unwrap_or(0);
    String::from_utf8_lossy(&answer[..n]).into_owned()
}

/// Holds the database's write lock from another connection for `hold`.
fn hold_the_database(app: &TestApp, hold: Duration) -> std::thread::JoinHandle<()> {
    let blocker = app.db();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    std::thread::spawn(move || {
        std::thread::sleep(hold);
        blocker.execute_batch("COMMIT").unwrap();
    })
}

fn incoming(sid: &str) -> Vec<(String, String)> {
    [("CallSid", sid), ("From", CALLER), ("To", LINE)].map(|(k, v)| (k.to_owned(), v.to_owned())).to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_the_cap_webhooks_get_503_with_retry_after_and_health_still_answers() {
    let app = spawn_app(Options { max_in_flight: 1, ..Options::default() }).await;
    // The database is held elsewhere: a first webhook waits for it, in the only place.
    let held = hold_the_database(&app, Duration::from_secs(2));
    let phone = app.phone();
    let first = tokio::spawn(async move {
        phone.post("/voice/incoming", &incoming("CA0000000000000000000000000000000a")).await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let refused =
        app.phone().post("/voice/incoming", &incoming("CA0000000000000000000000000000000b")).await.unwrap();
    assert_eq!(refused.status, 503);
    assert!(refused.body.contains("overloaded"), "{}", refused.body);
    // The health check is not counted: a busy service is not a broken database.
    assert_eq!(app.phone().get("/healthz").await.unwrap().status, 200);
    held.join().unwrap();
    // The held webhook completes; the place is free again.
    assert_eq!(first.await.unwrap().unwrap().status, 200);
    let again =
        app.phone().post("/voice/incoming", &incoming("CA0000000000000000000000000000000b")).await.unwrap();
    assert_eq!(again.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_webhook_is_refused() {
    let app = TestApp::open().await;
    let big = "x".repeat(100 * 1024);
    let answer = app.phone().post("/voice/incoming", &[("CallSid".to_owned(), big)]).await.unwrap();
    assert_eq!(answer.status, 413);
    // Refused on its declared length, before a byte of it is read.
    let mut stream = raw(
        &app,
        b"POST /voice/incoming HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000000\r\n\r\n",
    );
    let answer = first_answer(&mut stream);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_body_that_is_not_utf8_is_refused() {
    let app = TestApp::open().await;
    let body = "CallSid=CA0123456789abcdef0123456789abcdef&From=%FF%FE";
    let request = format!(
        "POST /voice/incoming HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut stream = raw(&app, request.as_bytes());
    let answer = first_answer(&mut stream);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
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
async fn a_request_whose_body_never_comes_gets_408_after_its_body_deadline() {
    let app = TestApp::open().await;
    for request in [
        &b"POST /voice/incoming HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 80\r\n\r\nCallSid=CA"[..],
        b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 80\r\n\r\nlogin=a",
    ] {
        let started = Instant::now();
        let mut stalled = raw(&app, request);
        let answer = first_answer(&mut stalled);
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
        let waited = started.elapsed();
        assert!(waited >= Duration::from_secs(3) && waited < Duration::from_secs(9), "{waited:?}");
    }
}

/// The finding: a few hundred connections trickling a large body to `/voice/incoming`
/// (and to `/login`) held every place in flight, and the provider's genuine webhooks got
/// `503` for as long as the attacker kept going.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_slow_unsigned_bodies_leaves_signed_webhooks_answered() {
    let app =
        spawn_app(Options { token: Some("secret-token".to_owned()), max_in_flight: 8, ..Options::default() })
            .await;
    // With no signature header at all: refused before the body is read.
    let mut unsigned = raw(
        &app,
        b"POST /voice/incoming HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 60000\r\n\r\n",
    );
    assert!(first_answer(&mut unsigned).starts_with("HTTP/1.1 403"));

    // 200 connections with a forged signature and 50 logins, each body trickled.
    let mut flood = Vec::new();
    for i in 0..250 {
        let head: &[u8] = if i < 200 {
            b"POST /voice/incoming HTTP/1.1\r\nHost: x\r\nX-Twilio-Signature: Zm9yZ2Vk\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 60000\r\n\r\nCallSid="
        } else {
            b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 60000\r\n\r\nlogin="
        };
        flood.push(raw(&app, head));
    }
    let trickle = std::thread::spawn(move || {
        for _ in 0..20 {
            for stream in &mut flood {
                let _ = stream.write_all(b"a");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        flood
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut slowest = Duration::ZERO;
    for i in 0..20 {
        let started = Instant::now();
        let answer = app.phone().post("/voice/incoming", &incoming(&format!("CA{i:032x}"))).await.unwrap();
        slowest = slowest.max(started.elapsed());
        assert_eq!(answer.status, 200, "a signed webhook refused during the flood: {}", answer.body);
    }
    assert_eq!(app.phone().get("/healthz").await.unwrap().status, 200);
    eprintln!("slowest of 20 signed webhooks during a flood of 250 slow bodies: {slowest:?}");
    // The flood's bodies never came whole: each got 408 at its deadline.
    for mut stream in trickle.join().unwrap() {
        let answer = first_answer(&mut stream);
        assert!(answer.starts_with("HTTP/1.1 408") || answer.starts_with("HTTP/1.1 403"), "{answer:?}");
    }
}

/// The finding: a connection with half its headers, an idle kept-alive connection and a
/// silent one stayed open for ever, and a thousand of them starved the service.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_half_sent_and_idle_connections_are_closed() {
    let app = TestApp::open().await;
    let started = Instant::now();
    let mut silent = connect(&app);
    let mut half = raw(&app, b"POST /voice/incoming HTTP/1.1\r\nHost: x\r\nContent-Le");
    let mut idle = raw(&app, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(first_answer(&mut idle).starts_with("HTTP/1.1 200"));
    for stream in [&mut silent, &mut half, &mut idle] {
        let answer = first_answer(stream);
        // Closed (hyper may first say 408 to a half-sent request).
        assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 408"), "{answer:?}");
        let mut rest = Vec::new();
        assert_eq!(stream.read_to_end(&mut rest).unwrap_or(0), 0, "the connection is closed");
    }
    let waited = started.elapsed();
    assert!(waited >= Duration::from_secs(9) && waited < Duration::from_secs(20), "{waited:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_max_connections_a_new_connection_waits_for_one_to_close() {
    let app = spawn_app(Options { max_connections: 16, ..Options::default() }).await;
    let mut open: Vec<_> = (0..16).map(|_| connect(&app)).collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut waiting = raw(&app, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    waiting.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    let mut byte = [0u8; 1];
    assert!(waiting.read(&mut byte).is_err(), "answered although every connection was taken");
    drop(open.pop());
    waiting.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    assert!(first_answer(&mut waiting).starts_with("HTTP/1.1 200"));
}
