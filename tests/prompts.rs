//! Prompts as callers hear them: a recording is played (`<Play>` with an absolute URL the
//! provider can fetch), anything else is spoken; numbers are read digit by digit in every
//! language; supervisors replace a recording from the console and the next call plays it;
//! replaced recordings are kept and restorable; the command line generates recordings
//! and finds those made for an older text.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::console::*;
use common::*;
use solidaire::sounds::wav::{self, tone};

fn multipart(csrf: &str, file: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----solidaire-test-boundary";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n").as_bytes(),
    );
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"recording\"; filename=\"take.wav\"\r\nContent-Type: audio/wav\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn upload(app: &TestApp, cookie: &str, csrf: &str, path: &str, file: &[u8]) -> Reply {
    let (content_type, body) = multipart(csrf, file);
    send_body(app, "POST", path, cookie, &[("content-type", &content_type)], body).await
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// The URL of the `<Play>` of `prompt` in a TwiML answer.
fn play_url(twiml: &str, prompt: &str) -> Option<String> {
    twiml
        .split("<Play>")
        .skip(1)
        .map(|p| p.split("</Play>").next().unwrap_or_default())
        .find(|u| u.contains(prompt))
        .map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_prompt_is_played_from_an_absolute_url_and_the_others_are_spoken() {
    let sounds = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(sounds.path().join("liege/fr")).unwrap();
    std::fs::write(sounds.path().join("liege/fr/choose_language.wav"), tone(8000, 1, 1.5, 440.0)).unwrap();
    let app = spawn_app(Options { sounds: Some(sounds.path().to_path_buf()), ..Options::default() }).await;

    let call = app.call(&[Keys("1"), HangUp]).await;
    let first = &call.exchanges[0].body;
    let url = play_url(first, "choose_language").expect("the French welcome is played");
    assert!(url.starts_with("https://line.example.org/sounds/liege/fr/choose_language.wav?v="), "{url}");
    assert!(first.contains(r#"<Say language="nl-BE""#), "Dutch has no recording: spoken. {first}");
    assert!(first.contains("Welkom bij Luik Solidair"), "{first}");
    assert!(
        !first.contains("Bienvenue à Liège Solidaire. Pour le français"),
        "played, not also spoken: {first}"
    );
    // The provider fetches it: it resolves, as a WAV of the right length.
    let played = &call.played[0];
    assert_eq!((played.status, played.content_type.as_str()), (200, "audio/wav"), "{played:?}");
    assert!((played.seconds.unwrap() - 1.5).abs() < 0.01, "{played:?}");
    // After the choice the greeting, with no recording, is spoken in French.
    assert!(call.heard("Bienvenue à Liège Solidaire, la ligne gratuite"), "{}", call.transcript());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn numbers_are_read_digit_by_digit_in_every_language() {
    let app = TestApp::open().await;
    // Eleven requests first, so the next ones have two-digit numbers.
    for n in 0..11 {
        app.errands_request(&format!("+3247012{n:04}")).await;
    }
    for (key, language, caller, registered) in [
        ("1", "fr-BE", "+32470123456", "enregistrée sous le numéro 1, 2."),
        ("2", "nl-BE", "+32470123457", "geregistreerd onder nummer 1, 3."),
        ("3", "de-DE", "+32470123458", "unter der Nummer 1, 4 registriert."),
    ] {
        let call = app.call_from(caller, &errands(key, "1", None)).await;
        let said: Vec<&str> =
            call.heard.iter().filter(|(l, _)| l == language).map(|(_, t)| t.as_str()).collect();
        let said = said.join("\n");
        assert!(said.contains("4, 0, 2, 0"), "{language}: the postcode, digit by digit: {said}");
        let last = caller.chars().last().unwrap();
        let spelled = format!("0, 4, 7, 0. 1, 2. 3, 4. 5, {last}");
        assert!(said.contains(&spelled), "{language}: the caller's number: {said}");
        assert!(said.contains(registered), "{language}: the request number: {said}");
        // And in the TwiML itself, inside the right voice.
        let twiml: String = call.exchanges.iter().map(|e| e.body.as_str()).collect();
        assert!(twiml.contains(&format!(r#"<Say language="{language}""#)), "{twiml}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_replaces_a_prompt_the_next_call_plays_it_and_the_old_one_can_come_back() {
    let app = TestApp::open().await;
    app.add_agent("sue", "supervisor", "correct horse battery");
    app.add_agent("anna", "agent", "correct horse battery");
    let sounds = app.dir.path().join("sounds");
    let (cookie, csrf) = log_in(&app, "sue").await;

    let list = send(&app, "GET", "/console/prompts", &cookie, &[], "").await;
    assert_eq!(list.status, 200);
    assert!(list.body.contains(r#"href="/console/prompts/liege/fr/greeting""#), "{}", list.body);
    assert!(list.body.contains("0 of 159 prompts recorded"), "{}", list.body);
    assert!(!list.body.contains("/console/prompts/herstal/"), "one line at a time: {}", list.body);
    // Each line has its own prompts, and its own recording under one prompt id.
    let herstal = send(&app, "GET", "/console/prompts?line=herstal", &cookie, &[], "").await;
    assert!(herstal.body.contains("<h1>Prompts of Herstal Solidaire</h1>"), "{}", herstal.body);
    assert!(herstal.body.contains(r#"href="/console/prompts/herstal/fr/greeting""#), "{}", herstal.body);
    assert!(!herstal.body.contains("/console/prompts/liege/"), "{}", herstal.body);
    assert_eq!(send(&app, "GET", "/console/prompts?line=nowhere", &cookie, &[], "").await.status, 404);
    let call = app.call(&[Keys("1"), HangUp]).await;
    assert!(call.played.is_empty(), "nothing recorded yet");

    // A studio take: 44.1 kHz stereo, larger than a webhook may be.
    let studio = tone(44_100, 2, 2.0, 440.0);
    assert!(studio.len() > 300_000);
    let page = "/console/prompts/liege/fr/greeting";
    let done = upload(&app, &cookie, &csrf, page, &studio).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("New recording in force (2.0 s)"), "{}", done.body);
    let first = std::fs::read(sounds.join("liege/fr/greeting.wav")).unwrap();
    assert!(wav::is_telephone_format(&first), "converted to 8 kHz mono");
    let said = std::fs::read_to_string(sounds.join("liege/fr/greeting.txt")).unwrap();
    assert!(said.starts_with("Bienvenue à Liège Solidaire, la ligne gratuite"), "{said}");

    // The very next call plays it: no restart, no wait.
    let call = app.call(&[Keys("1"), HangUp]).await;
    let played: Vec<_> =
        call.played.iter().filter(|p| p.url.contains("/sounds/liege/fr/greeting.wav")).collect();
    assert_eq!(played.len(), 1, "{:?}", call.played);
    assert_eq!(played[0].status, 200);
    assert!((played[0].seconds.unwrap() - 2.0).abs() < 0.01);
    let first_url = played[0].url.clone();
    assert!(!call.heard("la ligne gratuite"), "played, not spoken: {}", call.transcript());

    // A second take replaces it; the first is kept.
    let second = tone(8000, 1, 1.0, 660.0);
    assert_eq!(upload(&app, &cookie, &csrf, page, &second).await.status, 200);
    assert_eq!(
        std::fs::read(sounds.join("liege/fr/greeting.wav")).unwrap(),
        second,
        "already telephone format: kept as is"
    );
    let call = app.call(&[Keys("1"), HangUp]).await;
    let url = play_url(&call.exchanges[1].body, "greeting").unwrap();
    assert_ne!(url, first_url, "a new URL, so the provider's cache cannot replay the old take");

    let detail = send(&app, "GET", page, &cookie, &[], "").await;
    assert_eq!(detail.body.matches("Restore this recording").count(), 1, "{}", detail.body);
    let at = detail.body.find(r#"name="version" value=""#).unwrap() + r#"name="version" value=""#.len();
    let version = detail.body[at..].split('"').next().unwrap().to_owned();
    let kept = send(&app, "GET", &format!("{page}/versions/{version}.wav"), &cookie, &[], "").await;
    assert_eq!(kept.status, 200, "the kept take can be listened to");

    let restored = send(
        &app,
        "POST",
        &format!("{page}/restore"),
        &cookie,
        &[],
        &format!("csrf={csrf}&version={version}"),
    )
    .await;
    assert_eq!((restored.status, restored.location.as_str()), (303, page));
    assert_eq!(std::fs::read(sounds.join("liege/fr/greeting.wav")).unwrap(), first, "the first take is back");
    let detail = send(&app, "GET", page, &cookie, &[], "").await;
    assert_eq!(detail.body.matches("Restore this recording").count(), 2, "the second take is kept in turn");
    let call = app.call(&[Keys("1"), HangUp]).await;
    let played = call.played.iter().find(|p| p.url.contains("/sounds/liege/fr/greeting.wav")).unwrap();
    assert!((played.seconds.unwrap() - 2.0).abs() < 0.01, "the next call hears the restored take");

    // Refusals change nothing.
    for (file, problem) in [
        (b"not audio at all".to_vec(), "not a WAV file"),
        (tone(8000, 1, 0.1, 440.0), "at least 0.3 s"),
        (wav::encode_pcm16(8000, 1, &vec![0; 8000]), "silent"),
    ] {
        let refused = upload(&app, &cookie, &csrf, page, &file).await;
        assert_eq!(refused.status, 422, "{}", refused.body);
        assert!(refused.body.contains(problem), "{problem}: {}", refused.body);
    }
    assert_eq!(std::fs::read(sounds.join("liege/fr/greeting.wav")).unwrap(), first);
    let forged = upload(&app, &cookie, "wrong", page, &second).await;
    assert_eq!(forged.status, 403);
    let dynamic =
        upload(&app, &cookie, &csrf, "/console/prompts/liege/fr/callback_registered", &second).await;
    assert_eq!(dynamic.status, 422, "a prompt holding the request number is always spoken");
    assert!(!sounds.join("liege/fr/callback_registered.wav").exists());
    assert_eq!(std::fs::read(sounds.join("liege/fr/greeting.wav")).unwrap(), first);

    // Agents do not manage prompts; unknown prompts and escapes are not found.
    let (agent_cookie, agent_csrf) = log_in(&app, "anna").await;
    assert_eq!(send(&app, "GET", "/console/prompts", &agent_cookie, &[], "").await.status, 403);
    assert_eq!(upload(&app, &agent_cookie, &agent_csrf, page, &second).await.status, 403);
    assert_eq!(send(&app, "GET", "/console/prompts/liege/fr/nothing", &cookie, &[], "").await.status, 404);
    let escape =
        send(&app, "GET", &format!("{page}/versions/..%2F..%2Fgreeting.wav"), &cookie, &[], "").await;
    assert_eq!(escape.status, 404);
    // A version name too long for the file system is no version (it answered 500).
    let long = "9".repeat(5000);
    let restore =
        send(&app, "POST", &format!("{page}/restore"), &cookie, &[], &format!("csrf={csrf}&version={long}"))
            .await;
    assert_eq!(restore.status, 404);
    // A file over the limit is called too large, not cut short.
    let huge = vec![0u8; 41 * 1024 * 1024];
    let refused = upload(&app, &cookie, &csrf, page, &huge).await;
    assert!(refused.body.contains("the file is too large: at most 40 MB"), "{}", refused.status);
}

#[test]
fn flows_check_finds_recordings_made_for_an_older_text() {
    let dir = tempfile::tempdir().unwrap();
    let original = std::fs::read_to_string(repo("ivr-flows/liege.toml")).unwrap();
    let edited = original.replacen("Nous sommes là pour vous aider.", "Nous sommes là pour vous.", 1);
    assert_ne!(edited, original);
    std::fs::write(dir.path().join("liege.toml"), edited).unwrap();
    let check = |flows: &Path| {
        Command::new(env!("CARGO_BIN_EXE_solidaire"))
            .env_clear()
            .args(["flows", "check"])
            .arg(flows)
            .arg("--sounds")
            .arg(repo("sounds"))
            .output()
            .unwrap()
    };
    let out = check(dir.path());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("liege/fr/greeting.wav was not recorded for the prompt's current text"), "{err}");
    assert!(err.contains("1 problem(s) found"), "{err}");

    // Recordings left in the layout before lines had their own folders are never played.
    let old = tempfile::tempdir().unwrap();
    std::fs::create_dir(old.path().join("fr")).unwrap();
    std::fs::write(old.path().join("fr/greeting.wav"), wav::tone(8000, 1, 1.0, 440.0)).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_solidaire"))
        .env_clear()
        .args(["flows", "check"])
        .arg(repo("ivr-flows"))
        .arg("--sounds")
        .arg(old.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("recordings outside a line's folder are never played: move them to")
            && err.contains("/<line>/fr/"),
        "{err}"
    );

    // The committed recordings match the bundled flow; those with a number are spoken.
    let out = check(&repo("ivr-flows"));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}{}", String::from_utf8_lossy(&out.stderr));
    assert!(said.contains(&format!("{} recording(s) in", fixed_prompts())), "{said}");
    assert!(!said.contains("spoken by text-to-speech (no recording)"), "{said}");
}

#[test]
fn sounds_generate_records_every_prompt_once_in_the_telephone_format() {
    let dir = tempfile::tempdir().unwrap();
    let sounds = dir.path().join("sounds");
    let generate = || {
        Command::new(env!("CARGO_BIN_EXE_solidaire"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("SOLIDAIRE_SOUNDS", &sounds)
            .arg("--flows")
            .arg(repo("ivr-flows"))
            .args(["sounds", "generate"])
            .output()
            .unwrap()
    };
    let out = generate();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}{}", String::from_utf8_lossy(&out.stderr));
    let expected = fixed_prompts();
    assert!(expected > 300, "five lines' prompts: {expected}");
    assert!(said.contains(&format!("{expected} recording(s) written")), "{said}");
    assert!(said.contains("de/greeting.wav"), "{said}");
    for lang in ["fr", "nl", "de"] {
        let bytes = std::fs::read(sounds.join("liege").join(lang).join("main_long.wav")).unwrap();
        assert!(wav::is_telephone_format(&bytes), "{lang}: 8 kHz mono");
        let seconds = wav::seconds(&bytes).unwrap();
        assert!((10.0..40.0).contains(&seconds), "{lang}: the long menu lasts {seconds} s");
        let text = std::fs::read_to_string(sounds.join("liege").join(lang).join("main_long.txt")).unwrap();
        assert!(text.contains('1') && text.contains('5'), "{text}");
    }
    assert!(!sounds.join("liege/fr/callback_registered.wav").exists(), "a prompt holding a number is spoken");
    let again = generate();
    let said = String::from_utf8_lossy(&again.stdout);
    assert!(
        said.contains("0 recording(s) written") && said.contains(&format!("{expected} already up to date")),
        "{said}"
    );
}

/// The recordings the bundled flows call for, read from the files themselves: every text
/// of every `[prompts.<id>]` without a placeholder (those are always spoken).
fn fixed_prompts() -> usize {
    let mut count = 0;
    for entry in std::fs::read_dir(repo("ivr-flows")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let file: toml::Table = toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for texts in file["prompts"].as_table().unwrap().values() {
            count +=
                texts.as_table().unwrap().values().filter(|t| !t.as_str().unwrap().contains('{')).count();
        }
    }
    count
}
