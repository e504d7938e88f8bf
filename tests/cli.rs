//! The `solidaire` binary as an operator uses it: checking flows, refusing bad settings,
//! serving, and calling the line from the terminal.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn solidaire() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_solidaire"));
    cmd.env_clear();
    cmd
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn flows_check_reports_every_problem_with_file_line_and_column() {
    let out = solidaire().args(["flows", "check"]).arg(repo("tests/data/broken-flow")).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    for expected in [
        "broken.toml:16:8: node `person`: a `say` node needs `next` (without it the call would stop here: a dead end",
        "broken.toml:24:10: prompt `main` has no `nl` text (missing translation)",
        "broken.toml:11:23: node `main`: goto names unknown node `nowhere`",
        "broken.toml:7:8: node `main` has no no-input route",
        "broken.toml:7:8: node `main` has no invalid-input route",
        "broken.toml:12:11: key 1 is used twice in menu `main`",
        "broken.toml:13:11: key 0 is reserved",
        "broken.toml:20:8: node `orphan` is unreachable from `main`",
        "prompt `apology` is missing",
        "11 problem(s) found",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in:\n{err}");
    }
}

#[test]
fn flows_check_accepts_every_bundled_flow() {
    let out = solidaire().args(["flows", "check"]).arg(repo("ivr-flows")).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("liege.toml (Liège Solidaire, 33 nodes)"), "{}", text(&out.stdout));
}

#[test]
fn a_toml_syntax_error_is_reported_at_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let original = std::fs::read_to_string(repo("ivr-flows/liege.toml")).unwrap();
    let line = original.lines().position(|l| l == "type = \"hours\"").unwrap() + 1;
    std::fs::write(dir.path().join("liege.toml"), original.replacen("type = \"hours\"", "type = hours", 1))
        .unwrap();
    let out = solidaire().args(["flows", "check"]).arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let expected = format!("liege.toml:{line}:8: string values must be quoted");
    assert!(text(&out.stderr).contains(&expected), "{expected} in {}", text(&out.stderr));
}

#[test]
fn serve_refuses_a_bad_setting_and_names_its_key() {
    let out = solidaire().env("SOLIDAIRE_LISTEN", "nowhere").arg("serve").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr)
            .contains("setting `SOLIDAIRE_LISTEN` (from the environment): `nowhere` is not an address"),
        "{}",
        text(&out.stderr)
    );

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("solidaire.toml"),
        "listen = \"127.0.0.1:0\"\npublic_url = \"line.example.org\"\n",
    )
    .unwrap();
    let out = solidaire().current_dir(dir.path()).arg("serve").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("setting `public_url` (from solidaire.toml)"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn serve_refuses_a_bad_flow_and_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = solidaire()
        .args(["--database"])
        .arg(dir.path().join("s.db"))
        .args(["--flows"])
        .arg(repo("tests/data/broken-flow"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("broken.toml:16:8: node `person`"), "{}", text(&out.stderr));
}

/// Waits for `/healthz` on `port` to answer 200.
fn wait_healthy(port: u16) -> bool {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(20) {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
            let mut answer = String::new();
            std::io::Read::read_to_string(&mut s, &mut answer).unwrap();
            return answer.starts_with("HTTP/1.1 200");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[test]
fn a_number_outside_the_numbering_plan_is_refused_by_flows_check_and_logged_by_serve() {
    // The shape of E.164, but no Belgian number starts with 0 after the country code.
    let dir = tempfile::tempdir().unwrap();
    let flows = dir.path().join("flows");
    std::fs::create_dir(&flows).unwrap();
    let original = std::fs::read_to_string(repo("ivr-flows/liege.toml")).unwrap();
    let line = original.lines().position(|l| l.starts_with("fallback = ")).unwrap() + 1;
    std::fs::write(
        flows.join("liege.toml"),
        original.replacen("fallback = \"+3242210009\"", "fallback = \"+3202210009\"", 1),
    )
    .unwrap();
    let expected = format!(
        "liege.toml:{line}:12: fallback `+3202210009` is not a number of its country's numbering plan"
    );

    let out = solidaire().args(["flows", "check"]).arg(&flows).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains(&expected), "{expected} in {}", text(&out.stderr));

    // Start-up does not wait for the plan's metadata: it serves, and the team reads the
    // same message in the log.
    let port = free_port();
    let child = solidaire()
        .arg("--database")
        .arg(dir.path().join("s.db"))
        .arg("--flows")
        .arg(&flows)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(wait_healthy(port));
    std::thread::sleep(Duration::from_millis(1500));
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let log = text(&child.wait_with_output().unwrap().stderr);
    assert!(log.contains(&expected), "{expected} in {log}");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `solidaire serve` in `dir` on its defaults, on a free port, its log piped.
fn serve_on_defaults(dir: &std::path::Path) -> (std::process::Child, u16) {
    let port = free_port();
    let child = solidaire()
        .current_dir(dir)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    (child, port)
}

#[test]
fn serve_runs_on_its_defaults_creates_the_database_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    // No flows folder here: the flow bundled in the binary is used.
    let (child, port) = serve_on_defaults(dir.path());
    assert!(wait_healthy(port), "the service answers /healthz");
    assert!(dir.path().join("solidaire.db").exists(), "the database is created in the working folder");
    let version: i64 = rusqlite::Connection::open(dir.path().join("solidaire.db"))
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    let migrations = std::fs::read_dir(repo("migrations")).unwrap().count();
    assert_eq!(version, i64::try_from(migrations + 1).unwrap(), "the schema and every migration applied");
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let out: Output = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let log = text(&out.stderr);
    assert!(
        log.contains("webhooks are all refused"),
        "without a secret nor development mode, webhooks are refused: {log}"
    );
    assert!(log.contains("using the bundled flow"), "{log}");
}

#[test]
fn simulate_plays_the_recorded_prompts_in_the_chosen_language_from_urls_that_resolve() {
    let dir = tempfile::tempdir().unwrap();
    for (key, line) in [
        // The main menu, heard whether the line is open or closed.
        ("1", "[fr ♪] Pour le soutien aux seniors, tapez 1."),
        ("2", "[nl ♪] Voor steun aan senioren, druk op 1."),
        ("3", "[de ♪] Für Unterstützung von Senioren, drücken Sie die 1."),
    ] {
        let mut child = solidaire()
            .env("SOLIDAIRE_SOUNDS", repo("sounds"))
            .arg("--database")
            .arg(dir.path().join(format!("sim{key}.db")))
            .arg("--flows")
            .arg(repo("ivr-flows"))
            .arg("simulate")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(format!("{key}\nh\n").as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        let said = text(&out.stdout);
        assert!(out.status.success(), "{said}{}", text(&out.stderr));
        assert!(said.contains(line), "{line} in {said}");
        let fetched = said.lines().filter(|l| l.contains("/sounds/")).count();
        let resolved =
            said.lines().filter(|l| l.contains("/sounds/") && l.contains("(200 OK, audio/wav, ")).count();
        assert!(fetched >= 5 && fetched == resolved, "every played URL resolves: {said}");
    }
}

#[test]
fn simulate_walks_a_call_from_the_terminal_through_the_real_handlers() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sim.db");
    let mut child = solidaire()
        .current_dir(dir.path())
        .arg("--database")
        .arg(&db)
        .arg("--flows")
        .arg(repo("ivr-flows"))
        .args(["simulate", "--from", "+32470123456"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // French, errands, 65+, postcode 4020, groceries, confirm the number, no message.
    child.stdin.take().unwrap().write_all(b"1\n3\n1\nx\n4020\n1\n1\n2\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let said = text(&out.stdout);
    assert!(out.status.success(), "{}\n{}", said, text(&out.stderr));
    assert!(said.contains("[fr-BE] Bienvenue à Liège Solidaire. Pour le français, tapez 1."), "{said}");
    assert!(said.contains("[nl-BE] Welkom bij Luik Solidair. Voor Nederlands, druk op 2."), "{said}");
    assert!(
        said.contains("(type digits, * or #; t for silence, h to hang up)"),
        "bad input is explained: {said}"
    );
    assert!(said.contains("[fr-BE] Votre demande est enregistrée sous le numéro 1."), "{said}");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let (service, postcode): (String, String) = conn
        .query_row("SELECT service, postcode FROM callback_requests", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    assert_eq!((service.as_str(), postcode.as_str()), ("errands", "4020"));
}

#[test]
fn loadtest_reports_throughput_and_the_servers_memory_and_cpu_per_webhook() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let mut child = solidaire()
        .env("SOLIDAIRE_SOUNDS", dir.path().join("sounds"))
        .env("SOLIDAIRE_PUBLIC_URL", &url)
        .env("SOLIDAIRE_TWILIO_AUTH_TOKEN", "load")
        .arg("--database")
        .arg(dir.path().join("s.db"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert!(wait_healthy(port));
    let out = solidaire()
        .env("SOLIDAIRE_PUBLIC_URL", &url)
        .env("SOLIDAIRE_TWILIO_AUTH_TOKEN", "load")
        .args([
            "loadtest",
            "--url",
            &url,
            "--calls",
            "12",
            "--concurrency",
            "3",
            "--pid",
            &child.id().to_string(),
        ])
        .output()
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("12 calls, ") && stdout.contains("; 0 errors; 6 callbacks confirmed"),
        "{stdout}"
    );
    let per_webhook: f64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("server CPU: "))
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_else(|| panic!("no CPU line in {stdout}"))
        .parse()
        .unwrap();
    assert!(per_webhook > 0.0, "{stdout}");
    assert!(stdout.contains("server memory: peak "), "{stdout}");
}

#[test]
fn loadtest_callers_pause_before_each_answer_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let out = solidaire()
        .env("SOLIDAIRE_SOUNDS", dir.path().join("sounds"))
        .arg("--database")
        .arg(dir.path().join("p.db"))
        .args(["loadtest", "--calls", "1", "--concurrency", "1", "--pause-ms", "600"])
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("each caller pausing 600ms on average before each answer"), "{stdout}");
    // "1 calls, 8 webhooks in 4.93 s: …": the caller paused before every webhook but its
    // first, each time at least half the pause asked for (without pauses the same call
    // takes about a second here, start-up included).
    let summary = stdout.lines().find(|l| l.starts_with("1 calls, ")).unwrap_or_else(|| panic!("{stdout}"));
    let number = |after: &str| -> f64 {
        summary.split(after).nth(1).and_then(|r| r.split(' ').next()).unwrap().parse().unwrap()
    };
    let (webhooks, seconds) = (number("calls, "), number("webhooks in "));
    assert!(webhooks >= 5.0, "{stdout}");
    assert!(seconds >= 0.3 * (webhooks - 1.0), "{stdout}");
}

/// One HTTP/1.1 exchange on a fresh connection.
fn http(port: u16, request: &str) -> String {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    std::io::Read::read_to_string(&mut s, &mut answer).unwrap();
    answer
}

/// The finding: a login name with CR/LF and escape characters was written raw, and
/// planted a forged `INFO logged in agent=…` line in the log.
#[test]
fn a_login_name_cannot_forge_a_log_line() {
    let dir = tempfile::tempdir().unwrap();
    let (child, port) = serve_on_defaults(dir.path());
    assert!(wait_healthy(port));
    let page = http(port, "GET /login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let cookie = page
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .and_then(|c| c.split(';').next())
        .unwrap()
        .to_owned();
    let at = page.find(r#"name="csrf" value=""#).unwrap() + r#"name="csrf" value=""#.len();
    let csrf = page[at..].split('"').next().unwrap();
    let form = format!("login=x%0D%0AINFO+logged+in+agent%3Dadmin%1B%5B2J&password=a&csrf={csrf}");
    let answer = http(
        port,
        &format!(
            "POST /login HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: {cookie}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
            form.len()
        ),
    );
    assert!(answer.starts_with("HTTP/1.1 303"), "{answer}");
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let log = text(&child.wait_with_output().unwrap().stderr);
    assert!(!log.lines().any(|l| l.starts_with("INFO logged in")), "a forged line: {log}");
    assert!(!log.contains('\u{1b}'), "a raw escape: {log:?}");
    let failed = log.lines().find(|l| l.contains("failed login")).expect("the failed login is logged");
    assert!(failed.contains(r"login=x\r\nINFO logged in agent=admin\u{1b}[2J"), "{failed}");
}

#[test]
fn simulate_and_loadtest_speak_each_providers_dialect() {
    let dir = tempfile::tempdir().unwrap();
    for provider in ["signalwire", "telnyx", "jambonz"] {
        let db = dir.path().join(format!("{provider}.db"));
        let mut child = solidaire()
            .current_dir(dir.path())
            .env("SOLIDAIRE_SOUNDS", dir.path().join("no-sounds"))
            .arg("--database")
            .arg(&db)
            .arg("--flows")
            .arg(repo("ivr-flows"))
            .args(["simulate", "--provider", provider])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // French, errands, 65+, silence once, postcode 4020, groceries, this number, no message.
        child.stdin.take().unwrap().write_all(b"1\n3\n1\nt\n4020\n1\n1\n2\n").unwrap();
        let out = child.wait_with_output().unwrap();
        let said = text(&out.stdout);
        assert!(out.status.success(), "{provider}: {said}\n{}", text(&out.stderr));
        assert!(said.contains(&format!("through {provider}")), "{said}");
        assert!(said.contains("Votre demande est enregistrée sous le numéro 1."), "{provider}: {said}");
        let conn = rusqlite::Connection::open(&db).unwrap();
        let dialect: String = conn.query_row("SELECT dialect FROM calls", [], |r| r.get(0)).unwrap();
        assert_eq!(dialect, if provider == "signalwire" { "twilio" } else { provider });

        let out = solidaire()
            .current_dir(dir.path())
            .env("SOLIDAIRE_SOUNDS", dir.path().join("no-sounds"))
            .arg("--database")
            .arg(dir.path().join(format!("load-{provider}.db")))
            .arg("--flows")
            .arg(repo("ivr-flows"))
            .args(["loadtest", "--calls", "40", "--concurrency", "8", "--provider", provider])
            .output()
            .unwrap();
        let report = text(&out.stdout);
        assert!(out.status.success(), "{report}{}", text(&out.stderr));
        assert!(report.contains("40 calls,") && report.contains("; 0 errors;"), "{provider}: {report}");
    }
}
