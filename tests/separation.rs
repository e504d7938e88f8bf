//! Several cities on one server, kept apart: accounts belong to lines (`agents add
//! --lines herstal`), and an account of Herstal finds nothing of Liège through any route:
//! the queue, a request's page, claims, the roster, missions, the map, the statistics,
//! the accounts, the lines, the prompts and the event stream. Another line's id answers
//! 404, exactly as an id that does not exist. An administrator sees every line.

mod common;

use std::time::Duration;

use common::console::{log_in, send};
use common::*;
use http_body_util::BodyExt as _;
use serde_json::json;

const HERSTAL: &str = "+3280013440";
const PASSWORD: &str = "correct horse battery";

fn ids(v: &serde_json::Value, list: &str) -> Vec<i64> {
    v[list].as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()).collect()
}

#[tokio::test]
async fn an_account_of_herstal_finds_nothing_of_liege_through_any_route() {
    let app = TestApp::open().await;
    let api = Api::new(&app);
    // The city of Liège's people, as every account made before lines existed: every line.
    let cora = app.add_agent("cora", "coordinator", PASSWORD);
    app.add_agent("anna", "agent", PASSWORD);
    // Herstal's, made with their line.
    let hana = app.account("hana", "agent", &["--lines", "herstal"]);
    let hugo = app.account("hugo", "coordinator", &["--lines", "herstal"]);
    let helene = app.account("helene", "supervisor", &["--lines", "herstal"]);
    let ada = app.account("ada", "admin", &[]);

    // A request on each line (1 Liège, 2 Herstal), a volunteer on each, a Liège mission.
    app.errands_request(CALLER).await;
    let call = app
        .call_line(
            HERSTAL,
            "+32470555555",
            &[
                Keys("3"),
                Step::Transfer(solidaire::simulate::Transfer::NoAnswer),
                Keys("1"),
                Keys("1"),
                Keys("2"),
            ],
        )
        .await;
    assert!(call.heard("Votre demande est enregistrée sous le numéro 2."), "{}", call.transcript());
    let volunteer = |line: &str, phone: &str, postcode: &str| {
        let body = json!({ "line": line, "name": "V", "phone": phone, "postcode": postcode, "helps": ["groceries"], "languages": ["fr"] });
        (line.to_owned(), body)
    };
    let liege_volunteer = volunteer("liege", "0470 11 11 11", "4020");
    let herstal_volunteer = volunteer("herstal", "0470 22 22 22", "4040");
    let (status, body) = api.post("/api/volunteers", &cora, liege_volunteer.1).await;
    assert_eq!(status, 201, "{body}");
    let liege_v = body["volunteer"]["id"].as_i64().unwrap();
    let (status, body) = api.post("/api/volunteers", &hugo, herstal_volunteer.1).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["volunteer"]["line"], "herstal", "{body}");
    let (status, body) = api.post("/api/requests/1/find-volunteer", &cora, json!({})).await;
    assert_eq!(status, 201, "{body}");
    let liege_mission = body["mission"]["id"].as_i64().unwrap();

    // The queue.
    let (_, queue) = api.get("/api/requests", &hana).await;
    assert_eq!(ids(&queue, "requests"), [2], "{queue}");
    let (_, queue) = api.get("/api/requests", &ada).await;
    assert_eq!(ids(&queue, "requests"), [2], "Liège's request is a mission now: {queue}");
    for path in ["/api/requests/1", "/api/requests/1/history"] {
        let (status, body) = api.get(path, &hana).await;
        assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")), "{path}: {body}");
        let (unknown, _) = api.get(&path.replace("/1", "/999"), &hana).await;
        assert_eq!(unknown, 404, "a foreign id answers as an unknown one");
    }
    let (status, _) = api.post("/api/requests/1/claim", &hana, json!({})).await;
    assert_eq!(status, 404);
    let (status, body) = api.post("/api/requests/claim-next", &hana, json!({})).await;
    assert_eq!((status, body["request"]["id"].as_i64()), (200, Some(2)), "{body}");
    let (status, body) = api.post("/api/requests/claim-next", &hana, json!({})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("queue_empty")), "{body}");

    // The roster and the missions.
    let (_, roster) = api.get("/api/volunteers", &hugo).await;
    assert_eq!(roster["volunteers"].as_array().unwrap().len(), 1, "{roster}");
    assert_eq!(roster["volunteers"][0]["line"], "herstal");
    assert_eq!(api.get(&format!("/api/volunteers/{liege_v}"), &hugo).await.0, 404);
    assert_eq!(api.get("/api/missions", &hugo).await.1["missions"], json!([]));
    assert_eq!(api.get(&format!("/api/missions/{liege_mission}"), &hugo).await.0, 404);
    assert_eq!(api.get("/api/requests/1/matches", &hugo).await.0, 404);
    assert_eq!(api.post("/api/requests/1/find-volunteer", &hugo, json!({})).await.0, 404);
    let (status, body) = api
        .post(
            "/api/volunteers",
            &hugo,
            json!({ "line": "liege", "name": "W", "phone": "0470 33 33 33", "postcode": "4020", "helps": ["groceries"], "languages": ["fr"] }),
        )
        .await;
    assert_eq!(status, 422, "not a line of theirs: {body}");
    let (_, missions) = api.get("/api/missions", &ada).await;
    assert_eq!(ids(&missions, "missions"), [liege_mission], "the administrator sees every line");

    // The statistics: Herstal's by default, Liège's refused by id or by number.
    let (status, daily) = api.get("/api/stats/daily?date=2026-11-23&format=json", &helene).await;
    assert_eq!(status, 200, "{daily}");
    assert_eq!(daily["days"][0]["calls_offered"], 1, "Herstal's one call: {daily}");
    assert_eq!(daily["days"][0]["line"], "herstal", "{daily}");
    for line in ["liege", "%2B3280043436", "nowhere"] {
        let (status, _) = api.get(&format!("/api/stats/daily?date=2026-11-23&line={line}"), &helene).await;
        assert_eq!(status, 404, "{line}");
    }
    let (_, all) = api.get("/api/stats/daily?date=2026-11-23&format=json", &ada).await;
    assert_eq!(all["days"][0]["calls_offered"], 2, "every line for the administrator: {all}");

    // The accounts: Herstal's only; a new one is Herstal's; Liège and admin refused.
    let (_, accounts) = api.get("/api/agents", &helene).await;
    let logins: Vec<&str> =
        accounts["agents"].as_array().unwrap().iter().map(|a| a["login"].as_str().unwrap()).collect();
    assert_eq!(logins, ["hana", "helene", "hugo"], "{accounts}");
    assert_eq!(accounts["agents"][0]["lines"], json!(["herstal"]));
    let new = |login: &str, role: &str, lines: serde_json::Value| json!({ "login": login, "role": role, "password": PASSWORD, "lines": lines });
    assert_eq!(api.post("/api/agents", &helene, new("hector", "agent", json!([]))).await.0, 201);
    let (_, accounts) = api.get("/api/agents", &ada).await;
    let hector =
        accounts["agents"].as_array().unwrap().iter().find(|a| a["login"] == "hector").unwrap().clone();
    assert_eq!(hector["lines"], json!(["herstal"]), "a supervisor's accounts are of their lines");
    assert_eq!(api.post("/api/agents", &helene, new("lea", "agent", json!(["liege"]))).await.0, 422);
    assert_eq!(api.post("/api/agents", &helene, new("root", "admin", json!([]))).await.0, 422);
    assert_eq!(api.post("/api/agents/anna/disable", &helene, json!({})).await.0, 404);
    // Without --lines on a server of several lines, the command line refuses.
    let out = app.cli(&["agents", "add", "nobody", "--role", "agent"], &format!("{PASSWORD}\n"));
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("this server has several lines: name the lines"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed = String::from_utf8(app.cli(&["agents", "list"], "").stdout).unwrap();
    assert!(
        listed.contains("hana\tagent\tactive\therstal") && listed.contains("anna\tagent\tactive\tevery line"),
        "{listed}"
    );

    // The console.
    let (helene_cookie, _) = log_in(&app, "helene").await;
    assert_eq!(send(&app, "GET", "/console/requests/1", &helene_cookie, &[], "").await.status, 404);
    let lines = send(&app, "GET", "/console/lines", &helene_cookie, &[], "").await;
    assert!(
        lines.body.contains("Herstal Solidaire") && !lines.body.contains("Liège Solidaire"),
        "{}",
        lines.body
    );
    assert_eq!(send(&app, "GET", "/console/prompts?line=liege", &helene_cookie, &[], "").await.status, 404);
    assert_eq!(
        send(&app, "GET", "/console/prompts/liege/fr/greeting", &helene_cookie, &[], "").await.status,
        404
    );
    let prompts = send(&app, "GET", "/console/prompts", &helene_cookie, &[], "").await;
    assert!(prompts.body.contains("<h1>Prompts of Herstal Solidaire</h1>"), "{}", prompts.body);
    assert_eq!(send(&app, "GET", "/console/map?line=liege", &helene_cookie, &[], "").await.status, 404);
    let dashboard = send(&app, "GET", "/console/stats", &helene_cookie, &[], "").await;
    assert!(dashboard.body.contains("<h1>Statistics of Herstal Solidaire</h1>"), "{}", dashboard.body);
    let agents = send(&app, "GET", "/console/agents", &helene_cookie, &[], "").await;
    assert!(agents.body.contains("hana") && !agents.body.contains("anna"), "{}", agents.body);
    let queue = send(&app, "GET", "/console", &helene_cookie, &[], "").await;
    assert!(!queue.body.contains("/console/requests/1\""), "{}", queue.body);
    let lines_end = app.cli(&["lines", "list"], "");
    assert!(String::from_utf8_lossy(&lines_end.stdout).contains("liege"), "the operator sees every line");
}

/// Reads the event stream until `within` has passed; whether a `changed` event came.
async fn pinged(body: &mut hyper::body::Incoming, within: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, body.frame()).await {
            Ok(Some(Ok(frame))) => {
                if frame.data_ref().is_some_and(|d| String::from_utf8_lossy(d).contains("changed")) {
                    return true;
                }
            }
            Ok(_) | Err(_) => return false,
        }
    }
}

#[tokio::test]
async fn the_event_stream_of_a_herstal_console_tells_of_herstal_only() {
    let app = TestApp::open().await;
    app.account("hana", "agent", &["--lines", "herstal"]);
    let (cookie, _) = log_in(&app, "hana").await;
    let client =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
    let request = hyper::Request::get(format!("{}/console/events", app.server))
        .header("cookie", &cookie)
        .body(http_body_util::Empty::<hyper::body::Bytes>::new())
        .unwrap();
    let mut body = client.request(request).await.unwrap().into_body();

    app.errands_request(CALLER).await;
    assert!(
        !pinged(&mut body, Duration::from_millis(800)).await,
        "a Liège request is none of Herstal's business"
    );
    let call = app.call_line(HERSTAL, "+32470555555", &[Keys("2"), Keys("4042"), Keys("1")]).await;
    assert!(call.heard("Votre demande est enregistrée"), "{}", call.transcript());
    assert!(pinged(&mut body, Duration::from_secs(5)).await, "a Herstal request is");
}
