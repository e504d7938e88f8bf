//! The end of a line's service and its reopening (Herstal's second wave): ended from the
//! command line while the service runs, the next call hears the line's end-of-service
//! message in every language and is put through where the flow says; open requests stay
//! workable; reopening brings the menus back on the next call; a date ends it later; a
//! line whose flow declares no message cannot be ended; every change is in the audit log.

mod common;

use common::*;
use serde_json::json;
use solidaire::simulate::Transfer;

fn lines(app: &TestApp, flows: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_solidaire"))
        .env_clear()
        .arg("--database")
        .arg(&app.db)
        .arg("--flows")
        .arg(flows)
        .arg("lines")
        .args(args)
        .output()
        .unwrap()
}

fn said(out: &std::process::Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[tokio::test]
async fn a_line_ended_while_the_service_runs_answers_its_message_and_reopens_on_the_next_call() {
    let app = TestApp::open().await;
    let anna = app.add_agent("anna", "agent", "correct horse battery");
    app.errands_request(CALLER).await;

    // From this morning (the command line runs on the real clock, the service on the test's).
    let ended = said(&lines(&app, &repo_flows(), &["end", "liege", "--from", "2026-11-23"]));
    assert!(ended.contains("line liege ends from 2026-11-22T23:00:00.000Z"), "{ended}");
    let call = app.call_from("+32470999888", &[Step::Transfer(Transfer::Answered)]).await;
    for (language, words) in [
        ("fr-BE", "Liège Solidaire a terminé son service"),
        ("nl-BE", "Luik Solidair heeft zijn dienstverlening beëindigd"),
        ("de-DE", "Lüttich Solidarisch hat seinen Dienst beendet"),
    ] {
        assert!(call.heard.iter().any(|(l, t)| l == language && t.contains(words)), "{}", call.transcript());
    }
    assert!(!call.heard("Pour le français"), "nothing else: {}", call.transcript());
    let dial = call.exchanges.iter().find(|e| e.body.contains("<Dial")).expect("put through");
    assert!(dial.body.contains("<Number>+3242210000</Number>"), "to the line's agents: {}", dial.body);
    assert_eq!(
        app.count("SELECT count(*) FROM calls WHERE caller = '+32470999888' AND outcome = 'informed'"),
        1
    );

    // The agents go on with the requests already made.
    let (status, body) = Api::new(&app).post("/api/requests/1/claim", &anna, json!({})).await;
    assert_eq!(status, 200, "{body}");

    let list = said(&lines(&app, &repo_flows(), &["list"]));
    assert!(list.contains("liege\tLiège Solidaire\t+3280043436\tended since"), "{list}");
    let reopened = said(&lines(&app, &repo_flows(), &["reopen", "liege"]));
    assert!(reopened.contains("reopened"), "{reopened}");
    let call = app.call(&[HangUp]).await;
    assert!(call.heard("Bienvenue à Liège Solidaire. Pour le français"), "{}", call.transcript());
    let list = said(&lines(&app, &repo_flows(), &["list"]));
    assert!(list.contains("\topen"), "{list}");
    assert!(
        list.contains(" end by the command line from ") && list.contains(" reopen by the command line"),
        "{list}"
    );
    let again = lines(&app, &repo_flows(), &["reopen", "liege"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("line `liege` has not ended"));
}

#[tokio::test]
async fn a_line_ended_from_a_date_still_answers_its_menus_until_that_day() {
    let app = TestApp::open().await; // Monday 23 November 2026
    let ended = said(&lines(&app, &repo_flows(), &["end", "liege", "--from", "2030-01-01"]));
    assert!(ended.contains("ends from 2029-12-31T23:00:00.000Z"), "midnight in Brussels: {ended}");
    assert!(said(&lines(&app, &repo_flows(), &["list"])).contains("\tends 2029-12-31T23:00:00.000Z"));
    let call = app.call(&[HangUp]).await;
    assert!(call.heard("Pour le français"), "{}", call.transcript());
    app.clock.set(brussels(2030, 1, 1, 0, 1));
    let call = app.call(&[Step::Transfer(Transfer::Answered)]).await;
    assert!(call.heard("Liège Solidaire a terminé son service"), "{}", call.transcript());
}

#[tokio::test]
async fn a_line_whose_flow_declares_no_end_of_service_message_cannot_be_ended() {
    let flows = tempfile::tempdir().unwrap();
    let liege = std::fs::read_to_string(repo_flows().join("liege.toml")).unwrap();
    let without =
        liege.replace("[line.end_of_service]\nprompt = \"service_ended\"\ntransfer = \"agents\"\n", "");
    assert_ne!(without, liege);
    std::fs::write(flows.path().join("liege.toml"), without).unwrap();
    let app = spawn_app(Options { flows: Some(flows.path().to_path_buf()), ..Options::default() }).await;
    let out = lines(&app, flows.path(), &["end", "liege"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line `liege` declares no end-of-service message ([line.end_of_service]"), "{err}");
    let out = lines(&app, flows.path(), &["end", "verviers"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no line `verviers`"));
    assert_eq!(app.count("SELECT count(*) FROM line_states"), 0, "nothing written");
}

#[tokio::test]
async fn a_supervisor_ends_and_reopens_a_line_from_the_console_and_an_agent_cannot() {
    let app = TestApp::open().await;
    app.add_agent("sue", "supervisor", "correct horse battery");
    app.add_agent("anna", "agent", "correct horse battery");
    let (cookie, csrf) = common::console::log_in(&app, "anna").await;
    let refused = common::console::send(&app, "GET", "/console/lines", &cookie, &[], "").await;
    assert_eq!(refused.status, 403);
    let refused = common::console::send(
        &app,
        "POST",
        "/console/lines/liege/end",
        &cookie,
        &[],
        &format!("csrf={csrf}"),
    )
    .await;
    assert_eq!(refused.status, 403);

    let (cookie, csrf) = common::console::log_in(&app, "sue").await;
    let page = common::console::send(&app, "GET", "/console/lines", &cookie, &[], "").await;
    // Each line's own hours, in its own time zone, and its coming holidays.
    let section = |id: &str| {
        let at = page.body.find(&format!(r#"id="line-{id}""#)).unwrap();
        page.body[at..].split("</section>").next().unwrap().to_owned()
    };
    let liege = section("liege");
    assert!(liege.contains("open now (Europe/Brussels)"), "{liege}");
    assert!(liege.contains(r#"<th scope="row">Monday</th><td>08:30–12:15, 13:15–16:00</td>"#), "{liege}");
    assert!(liege.contains(r#"<th scope="row">Sunday</th><td>closed</td>"#), "{liege}");
    assert!(liege.contains("Closed all day: 2026-12-25, 2026-12-26"), "{liege}");
    let miramas = section("miramas");
    assert!(miramas.contains("(Europe/Paris)"), "{miramas}");
    assert!(miramas.contains(r#"<th scope="row">Monday</th><td>09:00–12:00, 14:00–17:00</td>"#), "{miramas}");
    let french =
        common::console::send(&app, "GET", "/console/lines", &cookie, &[("accept-language", "fr")], "").await;
    assert!(french.body.contains(r#"<th scope="row">lundi</th><td>08:30–12:15, 13:15–16:00</td>"#));
    assert!(french.body.contains("Fermée toute la journée : 25/12/2026, 26/12/2026"));
    assert!(
        page.body.contains("End Liège Solidaire&#39;s service")
            || page.body.contains("End Liège Solidaire's service"),
        "{}",
        page.body
    );
    let bad = common::console::send(
        &app,
        "POST",
        "/console/lines/liege/end",
        &cookie,
        &[],
        &format!("csrf={csrf}&from=soon"),
    )
    .await;
    assert!(bad.body.contains("`soon` is not a date"), "{}", bad.body);
    let ended = common::console::send(
        &app,
        "POST",
        "/console/lines/liege/end",
        &cookie,
        &[],
        &format!("csrf={csrf}&from="),
    )
    .await;
    assert_eq!((ended.status, ended.location.as_str()), (303, "/console/lines"), "{}", ended.body);
    let call = app.call(&[Step::Transfer(Transfer::Answered)]).await;
    assert!(call.heard("Liège Solidaire a terminé son service"), "{}", call.transcript());
    let page = common::console::send(&app, "GET", "/console/lines", &cookie, &[], "").await;
    assert!(page.body.contains("ended since") && page.body.contains("end · sue"), "{}", page.body);
    let reopened = common::console::send(
        &app,
        "POST",
        "/console/lines/liege/reopen",
        &cookie,
        &[],
        &format!("csrf={csrf}"),
    )
    .await;
    assert_eq!(reopened.status, 303, "{}", reopened.body);
    let call = app.call(&[HangUp]).await;
    assert!(call.heard("Pour le français"), "{}", call.transcript());

    // A notice for the week, from the console.
    let form = format!(
        "csrf={csrf}&text.fr=R%C3%A9servations+sur+la+touche+1.&text.nl=Afspraken+op+toets+1.&text.de=Termine+auf+Taste+1.&from=&until=2026-11-30"
    );
    let set = common::console::send(&app, "POST", "/console/lines/liege/notice", &cookie, &[], &form).await;
    assert_eq!(set.status, 303, "{}", set.body);
    let call = app.call(&[HangUp]).await;
    assert_eq!(call.heard[0].1, "Réservations sur la touche 1.", "{}", call.transcript());
    let page = common::console::send(&app, "GET", "/console/lines", &cookie, &[], "").await;
    assert!(
        page.body.contains("Afspraken op toets 1.") && page.body.contains("Remove the notice"),
        "{}",
        page.body
    );
    let gone = common::console::send(
        &app,
        "POST",
        "/console/lines/liege/notice-remove",
        &cookie,
        &[],
        &format!("csrf={csrf}"),
    )
    .await;
    assert_eq!(gone.status, 303);
    let call = app.call(&[HangUp]).await;
    assert!(call.heard[0].1.starts_with("Bienvenue"), "{}", call.transcript());
}

#[tokio::test]
async fn a_notice_is_said_before_the_menu_in_every_language_for_its_period_only() {
    let app = TestApp::open().await; // Monday 23 November 2026
    let missing = lines(
        &app,
        &repo_flows(),
        &["notice", "liege", "--text", "fr=Les réservations : touche 1.", "--until", "2026-12-01"],
    );
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("the notice needs a text in `nl`"));
    let set = said(&lines(
        &app,
        &repo_flows(),
        &[
            "notice",
            "liege",
            "--text",
            "fr=Nouveau : les réservations de vaccination sur la touche 1.",
            "--text",
            "nl=Nieuw: vaccinatieafspraken op toets 1.",
            "--text",
            "de=Neu: Impftermine auf Taste 1.",
            "--from",
            "2026-11-23",
            "--until",
            "2026-11-30",
        ],
    ));
    assert!(set.contains("until 2026-11-29T23:00:00.000Z"), "{set}");
    let call = app.call(&[HangUp]).await;
    let heard: Vec<&str> = call.heard.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(
        &heard[..4],
        [
            "Nouveau : les réservations de vaccination sur la touche 1.",
            "Nieuw: vaccinatieafspraken op toets 1.",
            "Neu: Impftermine auf Taste 1.",
            "Bienvenue à Liège Solidaire. Pour le français, tapez 1.",
        ],
        "the notice first, then the menu"
    );
    assert!(said(&lines(&app, &repo_flows(), &["list"])).contains(" notice by the command line "));
    // Over on the 30th.
    app.clock.advance(chrono::Duration::days(7));
    let call = app.call(&[HangUp]).await;
    assert!(!call.heard("vaccination"), "{}", call.transcript());
    assert!(said(&lines(&app, &repo_flows(), &["notice", "liege", "--remove"])).contains("notice removed"));
    assert_eq!(app.count("SELECT count(*) FROM line_notices"), 0);
}

#[tokio::test]
async fn a_supervisor_ends_reopens_and_sets_a_notice_through_the_api_on_their_lines_only() {
    let app = TestApp::open().await;
    let api = Api::new(&app);
    let helene = app.add_agent("helene", "supervisor", "correct horse battery");
    app.db()
        .execute("INSERT INTO agent_lines (agent_id, line) SELECT id, 'herstal' FROM agents WHERE login = 'helene'", [])
        .unwrap();
    let anna = app.add_agent("anna", "agent", "correct horse battery");

    let (status, listed) = api.get("/api/lines", &helene).await;
    assert_eq!(status, 200, "{listed}");
    let ids: Vec<&str> =
        listed["lines"].as_array().unwrap().iter().map(|l| l["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["herstal"], "her line only");
    let herstal = &listed["lines"][0];
    assert_eq!(herstal["service"]["state"], "open");
    assert_eq!(herstal["hours"]["timezone"], "Europe/Brussels");
    assert_eq!(herstal["hours"]["open_now"], true, "Monday 10:00");
    assert!(herstal["hours"]["week"]["monday"].as_array().is_some_and(|r| !r.is_empty()), "{herstal}");
    assert_eq!(herstal["hours"]["week"]["sunday"], serde_json::json!([]));
    assert_eq!(api.get("/api/lines", &anna).await.0, 403, "supervisors only");

    // Another city's line is no line: 404, exactly as one that does not exist.
    for path in ["/api/lines/liege/end", "/api/lines/liege/reopen", "/api/lines/nowhere/end"] {
        let (status, refused) = api.post(path, &helene, serde_json::json!({})).await;
        assert_eq!(
            (status, refused["error"]["code"].as_str()),
            (404, Some("not_found")),
            "{path}: {refused}"
        );
    }
    assert_eq!(app.count("SELECT count(*) FROM line_states"), 0, "nothing written");

    let (status, bad) =
        api.post("/api/lines/herstal/end", &helene, serde_json::json!({ "from": "1 July" })).await;
    assert_eq!((status, bad["error"]["code"].as_str()), (422, Some("invalid")), "{bad}");
    let (status, bad) =
        api.post("/api/lines/herstal/end", &helene, serde_json::json!({ "when": "now" })).await;
    assert_eq!((status, bad["error"]["code"].as_str()), (400, Some("bad_json")), "{bad}");

    let (status, ended) = api.post("/api/lines/herstal/end", &helene, serde_json::json!({})).await;
    assert_eq!(status, 200, "{ended}");
    assert_eq!(ended["line"]["service"]["state"], "ended");
    let call = app.call_line("+3280013440", CALLER, &[Step::Transfer(Transfer::Answered)]).await;
    assert!(call.heard("La plateforme Herstal Solidaire est fermée"), "{}", call.transcript());
    let (_, reopened) = api.post("/api/lines/herstal/reopen", &helene, serde_json::json!({})).await;
    assert_eq!(reopened["line"]["service"]["state"], "open");
    let history: Vec<(&str, &str)> = reopened["line"]["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["action"].as_str().unwrap(), c["by"].as_str().unwrap()))
        .collect();
    assert_eq!(history, [("end", "helene"), ("reopen", "helene")]);

    let (status, missing) = api
        .post("/api/lines/herstal/notice", &helene, serde_json::json!({ "texts": { "fr": "Masques au 2." } }))
        .await;
    assert_eq!((status, missing["error"]["code"].as_str()), (422, Some("invalid")), "{missing}");
    let notice =
        serde_json::json!({ "texts": { "fr": "Les masques sont livrés, touche 2." }, "until": "2026-12-01" });
    let (status, set) = api.post("/api/lines/herstal/notice", &helene, notice).await;
    assert_eq!(status, 200, "{set}");
    assert_eq!(set["line"]["notice"]["texts"]["fr"], "Les masques sont livrés, touche 2.");
    let (_, removed) = api.post("/api/lines/herstal/notice/remove", &helene, serde_json::json!({})).await;
    assert_eq!(removed["line"]["notice"], serde_json::Value::Null);
}
