//! The real binary as a process: killed with SIGKILL in the middle of calls and restarted
//! (every callback confirmed to a caller is there exactly once, the database intact),
//! stopped with SIGTERM (the step in flight finishes), its debug logs searched for full
//! phone numbers; and the provider's fallback document.

mod common;

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::*;
use solidaire::simulate::{Softphone, Verb, parse};

fn serve(db: &std::path::Path, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_solidaire"))
        .env_clear()
        .env("SOLIDAIRE_LOG", "warn")
        .env("SOLIDAIRE_DEVELOPMENT", "true")
        // Spoken prompts only: the callers here need not fetch audio.
        .env("SOLIDAIRE_SOUNDS", db.with_extension("sounds"))
        .arg("--database")
        .arg(db)
        .arg("--flows")
        .arg(repo_flows())
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

async fn wait_healthy(phone: &Softphone) {
    for _ in 0..300 {
        if phone.get("/healthz").await.is_ok_and(|e| e.status == 200) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the service did not start");
}

/// The request number a caller heard, from "… enregistrée sous le numéro 1, 2."
fn request_number(text: &str) -> Option<i64> {
    let spoken = text.split("enregistrée sous le numéro ").nth(1)?;
    spoken.chars().filter(char::is_ascii_digit).collect::<String>().parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_confirmed_callback_survives_a_kill_9_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut server = serve(&db, port);
    let phone = Softphone::new(&format!("http://127.0.0.1:{port}"), None, None);
    wait_healthy(&phone).await;
    // A first call waits for the numbering plan, loaded after start-up (slow in a debug
    // build): the kill below is timed from a warm service.
    phone.call("+32470999000", LINE, &mut Script::new(&[HangUp])).await.unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for w in 0..6 {
        let phone = phone.clone();
        let stop = Arc::clone(&stop);
        workers.push(tokio::spawn(async move {
            let mut confirmed = Vec::new();
            let mut placed = 0;
            for i in 0.. {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let from = format!("+324709{w}{i:04}");
                let mut caller = Script::new(&errands("1", "2", None));
                placed += 1;
                match phone.call(&from, LINE, &mut caller).await {
                    Ok(record) => {
                        if let Some(n) = record.heard.iter().find_map(|(_, t)| request_number(t)) {
                            confirmed.push((from, n));
                        }
                    }
                    // The service is gone: this caller gives up.
                    Err(_) => break,
                }
            }
            (placed, confirmed)
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.kill().unwrap(); // SIGKILL
    server.wait().unwrap();
    stop.store(true, Ordering::Relaxed);
    let mut confirmed = Vec::new();
    let mut placed = 0;
    for w in workers {
        let (p, c) = w.await.unwrap();
        placed += p;
        confirmed.extend(c);
    }
    assert!(confirmed.len() > 10, "calls were confirmed before the kill ({placed} placed)");

    let mut server = serve(&db, port);
    wait_healthy(&phone).await;
    let conn = rusqlite::Connection::open(&db).unwrap();
    let integrity: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(integrity, "ok");
    for (from, number) in &confirmed {
        let rows: Vec<i64> = conn
            .prepare("SELECT id FROM callback_requests WHERE phone = ?1")
            .unwrap()
            .query_map([from], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(rows, vec![*number], "{from} was told request {number}");
    }
    println!("{placed} calls placed, {} callbacks confirmed and all kept after SIGKILL", confirmed.len());
    // The service goes on after the restart.
    let mut caller = Script::new(&errands("1", "2", None));
    let after = phone.call("+32470999111", LINE, &mut caller).await.unwrap();
    assert!(after.heard("enregistrée"));
    server.kill().unwrap();
    server.wait().unwrap();
}

#[test]
fn the_fallback_document_for_the_provider_is_valid_twiml() {
    let xml =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/fallback.xml"))
            .unwrap();
    let verbs = parse(xml.trim_end()).expect("valid TwiML");
    let languages: Vec<&str> = verbs
        .iter()
        .filter_map(|v| match v {
            Verb::Say { language, .. } => Some(language.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(&languages[..2], ["fr-BE", "nl-BE"], "an apology in both languages first");
    assert!(verbs.iter().any(|v| matches!(v, Verb::Dial { number, .. } if number == "+3242210009")));
    assert_eq!(verbs.last(), Some(&Verb::Hangup));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_the_requests_in_flight() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut server = serve(&dir.path().join("t.db"), port);
    wait_healthy(&Softphone::new(&format!("http://127.0.0.1:{port}"), None, None)).await;
    let body = "CallSid=CA0123456789abcdef0123456789abcdef&From=%2B32470123456&To=%2B3280043436";
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let head = format!(
        "POST /voice/incoming HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(&body.as_bytes()[..20]).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    Command::new("kill").args(["-TERM", &server.id().to_string()]).status().unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    stream.write_all(&body.as_bytes()[20..]).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("<Gather"), "the caller got the menu");
    assert!(server.wait().unwrap().success(), "then the service stopped cleanly");
}

/// The service in development mode on a free port, its log at `level` written to a file
/// in `dir`; returns it, a provider calling it, and the log's path.
async fn serve_logging(dir: &std::path::Path, level: &str) -> (Child, Softphone, std::path::PathBuf) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let log = dir.join("service.log");
    let server = Command::new(env!("CARGO_BIN_EXE_solidaire"))
        .env_clear()
        .env("SOLIDAIRE_LOG", level)
        .env("SOLIDAIRE_DEVELOPMENT", "true")
        .arg("--database")
        .arg(dir.join("t.db"))
        .arg("--flows")
        .arg(repo_flows())
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let phone = Softphone::new(&format!("http://127.0.0.1:{port}"), None, None);
    wait_healthy(&phone).await;
    (server, phone, log)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_logs_of_full_calls_hold_no_full_phone_number() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, phone, log) = serve_logging(dir.path(), "debug").await;
    // A call with caller ID, and a withheld one typing another number.
    let mut a = Script::new(&errands("1", "2", None));
    assert!(phone.call("+32470123456", LINE, &mut a).await.unwrap().heard("enregistrée"));
    let mut b = Script::new(&[Keys("1"), Keys("0"), HangUp]);
    phone.call("+32470654321", LINE, &mut b).await.unwrap();
    let mut c = Script::new(&[
        Keys("1"),
        Keys("3"),
        Keys("1"),
        Keys("4020"),
        Keys("2"),
        Keys("0475112233#"),
        Keys("1"),
        Keys("2"),
    ]);
    let typed = phone.call("anonymous", LINE, &mut c).await.unwrap();
    assert!(typed.transcript().contains("0, 4, 7, 5. 1, 1. 2, 2. 3, 3"), "the caller heard it read back");
    Command::new("kill").args(["-TERM", &server.id().to_string()]).status().unwrap();
    server.wait().unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("callback request registered"), "debug logs were written:\n{text}");
    for whole in ["470123456", "470654321", "475112233", "0, 4, 7, 5"] {
        assert!(!text.contains(whole), "{whole} appears in the logs");
    }
    assert!(text.contains("+32 4** ** ** 56"), "numbers appear masked");
}

/// A number calling again and again is reported once as it crosses the flood threshold,
/// not again on each later call of the window (each call counts that number's calls only
/// up to the threshold, so its cost does not grow with them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_number_calling_again_and_again_is_reported_once() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, phone, log) = serve_logging(dir.path(), "warn").await;
    let flood = usize::try_from(solidaire::line::FLOOD_CALLS).unwrap();
    for n in 0..flood * 2 + 5 {
        phone.call("+32470123456", LINE, &mut Script::new(&[HangUp])).await.unwrap();
        if n == flood - 2 {
            // Not yet: the threshold is crossed by the next call.
            tokio::time::sleep(Duration::from_millis(100)).await;
            let text = std::fs::read_to_string(&log).unwrap();
            assert!(!text.contains("one number is calling repeatedly"), "{text}");
        }
    }
    phone.call("+32470654321", LINE, &mut Script::new(&[HangUp])).await.unwrap();
    Command::new("kill").args(["-TERM", &server.id().to_string()]).status().unwrap();
    server.wait().unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(text.matches("one number is calling repeatedly").count(), 1, "{text}");
    assert!(text.contains("caller=+32 4** ** ** 56"), "{text}");
}
