//! Prompt audio as the provider fetches it: caching headers, conditional requests, HEAD,
//! and nothing readable outside the sounds folder.

mod common;

use std::io::{Read, Write};

use common::*;

/// Sends a raw request (paths exactly as written) and returns the status line and headers
/// in lower case, and the body length.
fn get(app: &TestApp, request: &str) -> (String, usize) {
    let address = app.server.trim_start_matches("http://").to_owned();
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    // The body is audio: split the bytes, read only the head as text.
    let end = answer.windows(4).position(|w| w == b"\r\n\r\n").map_or(answer.len(), |i| i + 4);
    let head = String::from_utf8_lossy(&answer[..end]).trim_end().to_ascii_lowercase();
    (head, answer.len() - end)
}

fn header<'h>(head: &'h str, name: &str) -> &'h str {
    head.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
        .unwrap_or_else(|| panic!("no {name} in {head}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompts_are_served_with_caching_headers_and_nothing_else_is() {
    let app = TestApp::open().await;
    let sounds = app.dir.path().join("sounds");
    std::fs::create_dir_all(sounds.join("liege/fr")).unwrap();
    std::fs::write(sounds.join("liege/fr/greeting.wav"), b"RIFF\x24\x00\x00\x00WAVEfmt fake audio").unwrap();
    std::os::unix::fs::symlink(&app.db, sounds.join("liege/fr/escape.wav")).unwrap();

    let (head, len) =
        get(&app, "GET /sounds/liege/fr/greeting.wav HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert_eq!(header(&head, "content-type"), "audio/wav");
    assert_eq!(header(&head, "cache-control"), "public, max-age=3600");
    assert_eq!(len, 26);
    let etag = header(&head, "etag").to_owned();
    let modified = header(&head, "last-modified").to_owned();
    assert!(modified.ends_with(" gmt"), "{modified}");

    let (head, len) = get(
        &app,
        &format!(
            "GET /sounds/liege/fr/greeting.wav HTTP/1.1\r\nHost: x\r\nIf-None-Match: {etag}\r\nConnection: close\r\n\r\n"
        ),
    );
    assert!(head.starts_with("http/1.1 304"), "{head}");
    assert_eq!(len, 0);
    let since = modified.replace("gmt", "GMT");
    let (head, _) = get(
        &app,
        &format!(
            "GET /sounds/liege/fr/greeting.wav HTTP/1.1\r\nHost: x\r\nIf-Modified-Since: {since}\r\nConnection: close\r\n\r\n"
        ),
    );
    assert!(head.starts_with("http/1.1 304"), "{head}");
    let (head, len) =
        get(&app, "HEAD /sounds/liege/fr/greeting.wav HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert!(head.starts_with("http/1.1 200") && head.contains("etag: "), "{head}");
    assert_eq!(len, 0);

    for path in [
        "/sounds/../solidaire.db",
        "/sounds/liege/fr/../../solidaire.db",
        "/sounds/..%2Fsolidaire.db",
        "/sounds/fr%2F..%2F..%2Fsolidaire.db",
        "/sounds/liege/fr/escape.wav",
        "/sounds/.hidden.wav",
        "/sounds/liege/fr/missing.wav",
    ] {
        let (head, _) = get(&app, &format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
        assert!(head.starts_with("http/1.1 404") || head.starts_with("http/1.1 400"), "{path}: {head}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_in_force_is_served_whole_with_the_tag_of_its_file_and_its_caching_headers() {
    let sounds = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(sounds.path().join("liege/fr")).unwrap();
    let file = sounds.path().join("liege/fr/choose_language.wav");
    let audio = solidaire::sounds::wav::tone(8000, 1, 1.5, 440.0);
    std::fs::write(&file, &audio).unwrap();
    let tag = solidaire::sounds::tag(&std::fs::metadata(&file).unwrap());
    let app = spawn_app(Options { sounds: Some(sounds.path().to_path_buf()), ..Options::default() }).await;

    let request =
        "GET /sounds/liege/fr/choose_language.wav?v=x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let (head, len) = get(&app, request);
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert_eq!(header(&head, "content-type"), "audio/wav");
    assert_eq!(header(&head, "cache-control"), "public, max-age=3600");
    assert_eq!(header(&head, "etag"), format!("\"{tag}\""));
    assert!(header(&head, "last-modified").ends_with(" gmt"), "{head}");
    assert_eq!(len, audio.len(), "the whole file");

    let (head, len) = get(
        &app,
        &format!(
            "GET /sounds/liege/fr/choose_language.wav HTTP/1.1\r\nHost: x\r\nIf-None-Match: \"{tag}\"\r\nConnection: close\r\n\r\n"
        ),
    );
    assert!(head.starts_with("http/1.1 304"), "{head}");
    assert_eq!(len, 0);
    let (head, len) = get(
        &app,
        "HEAD /sounds/liege/fr/choose_language.wav HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(head.starts_with("http/1.1 200") && head.contains("etag: "), "{head}");
    assert_eq!(len, 0);
}

/// The finding: while descriptors were exhausted, the sounds watcher read an empty folder
/// and the next caller got text-to-speech instead of the recordings. A folder that cannot
/// be read (here it has become a file) is not an empty one: the recordings stay in force.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sounds_folder_that_cannot_be_read_keeps_the_recordings_in_force() {
    let dir = tempfile::tempdir().unwrap();
    let sounds = dir.path().join("sounds");
    std::fs::create_dir_all(sounds.join("liege/fr")).unwrap();
    std::fs::write(sounds.join("liege/fr/greeting.wav"), solidaire::sounds::wav::tone(8000, 1, 1.0, 440.0))
        .unwrap();
    let app = spawn_app(Options { sounds: Some(sounds.clone()), ..Options::default() }).await;
    let plays = |twiml: &str| twiml.contains("/sounds/liege/fr/greeting.wav");
    let call = app.call(&[Keys("1"), HangUp]).await;
    assert!(plays(&call.exchanges[1].body), "{}", call.exchanges[1].body);

    std::fs::rename(&sounds, dir.path().join("elsewhere")).unwrap();
    std::fs::write(&sounds, b"not a folder").unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(4500)).await;
    let call = app.call(&[Keys("1"), HangUp]).await;
    assert!(plays(&call.exchanges[1].body), "fell back to text-to-speech: {}", call.exchanges[1].body);

    // Once readable again, its content is what counts: here, nothing recorded.
    std::fs::remove_file(&sounds).unwrap();
    std::fs::create_dir_all(&sounds).unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(4500)).await;
    let call = app.call(&[Keys("1"), HangUp]).await;
    assert!(!plays(&call.exchanges[1].body), "{}", call.exchanges[1].body);
}
