//! Daily statistics from a day of real calls driven through the voice webhook, every
//! figure computed by hand; an empty day; the daylight-saving days; the CSV pinned.

#![recursion_limit = "256"]

mod common;

use common::*;
use serde_json::{Value, json};
use solidaire::simulate::Transfer;

async fn export(app: &TestApp, token: &str, query: &str) -> (u16, String) {
    fetch(app, token, &format!("/api/stats/daily?{query}")).await
}

async fn fetch(app: &TestApp, token: &str, path: &str) -> (u16, String) {
    let client =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
    let request = hyper::Request::get(format!("{}{path}", app.server))
        .header("authorization", format!("Bearer {token}"))
        .body(http_body_util::Full::new(hyper::body::Bytes::new()))
        .unwrap();
    let response = client.request(request).await.unwrap();
    let status = response.status().as_u16();
    let body = http_body_util::BodyExt::collect(response.into_body()).await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// Monday 23 November 2026 (Brussels): five calls, two requests, one worked to the end.
async fn a_day_of_calls() -> (TestApp, String) {
    let app = spawn_app(Options { at: brussels(2026, 11, 23, 8, 0), ..Options::default() }).await;
    let sue = app.add_agent("sue", "supervisor", "correct horse battery");
    // A, 08:00, closed: errands, groceries, a request at 08:01:10 (70 s in the menu).
    app.call_paced(CALLER, &errands("1", "1", None)).await;
    // B, 10:00: Dutch, seniors, transfer answered (20 s in the menu).
    app.clock.set(brussels(2026, 11, 23, 10, 0));
    app.call_paced("+32470999999", &[Keys("2"), Keys("1"), Step::Transfer(Transfer::Answered)]).await;
    // C, 10:30: French, a wrong key, a silence, hangs up at 10:30:40 (abandoned, 40 s).
    app.clock.set(brussels(2026, 11, 23, 10, 30));
    app.call_paced(CALLER, &[Keys("1"), Keys("9"), Silence, HangUp]).await;
    // D, 10:45, withheld: transport, not answered, a typed number, request at 10:45:50 (20 s).
    app.clock.set(brussels(2026, 11, 23, 10, 45));
    app.call_paced(
        "anonymous",
        &[Keys("1"), Keys("4"), Step::Transfer(Transfer::NoAnswer), Keys("042211111#"), Keys("1")],
    )
    .await;
    // E, 13:00, lunch break: hangs up at once (abandoned, 10 s).
    app.clock.set(brussels(2026, 11, 23, 13, 0));
    app.call_paced("+32470555555", &[HangUp]).await;

    // The agents' day: request 1 resolved at 11:05, request 2 not answered at 11:10.
    let api = Api::new(&app);
    app.clock.set(brussels(2026, 11, 23, 11, 0));
    assert_eq!(api.post("/api/requests/1/claim", &sue, json!({})).await.0, 200);
    app.clock.set(brussels(2026, 11, 23, 11, 5));
    assert_eq!(
        api.post("/api/requests/1/outcome", &sue, json!({ "outcome": "reached_resolved" })).await.0,
        200
    );
    app.clock.set(brussels(2026, 11, 23, 11, 10));
    assert_eq!(api.post("/api/requests/2/claim", &sue, json!({})).await.0, 200);
    assert_eq!(api.post("/api/requests/2/outcome", &sue, json!({ "outcome": "no_answer" })).await.0, 200);
    app.clock.set(brussels(2026, 11, 23, 17, 0));
    (app, sue)
}

#[tokio::test]
async fn a_day_of_real_calls_gives_the_figures_computed_by_hand() {
    let (app, sue) = a_day_of_calls().await;
    let (status, body) = export(&app, &sue, "date=2026-11-23&format=json&hourly=true").await;
    assert_eq!(status, 200, "{body}");
    let doc: Value = serde_json::from_str(&body).unwrap();
    let day = &doc["days"][0];
    let expected = json!({
        "date": "2026-11-23", "line": "all",
        "calls_offered": 5,
        "distinct_callers": 3,          // A and C are the same number; D is withheld
        "calls_while_closed": 2,        // A (08:00) and E (13:00)
        "abandoned_in_menu": 2,         // C and E
        "transfers": 2, "transfers_answered": 1, "transfers_unanswered": 1,
        "outcome_callback": 2, "outcome_transferred": 1, "outcome_informed": 0, "outcome_no_response": 0,
        // A: 1 3 1 1 · B: 2 1 · C: 1 9 · D: 1 4
        "key_1": 6, "key_2": 1, "key_3": 1, "key_4": 1, "key_5": 0, "key_6": 0, "key_7": 0, "key_8": 0,
        "key_9": 1, "key_0": 0, "key_star": 0, "key_hash": 0,
        "invalid_inputs": 1, "silences": 1,
        "avg_seconds_in_menu": 32.0,    // (70 + 20 + 40 + 20 + 10) / 5
        "p90_seconds_in_menu": 70.0,    // nearest rank: the 5th of 5
        "callbacks_requested": 2, "callbacks_completed": 1, "callbacks_unreachable": 0,
        "callbacks_open_at_end_of_day": 1,
        "median_minutes_to_first_attempt": 24.2,  // 10:45:50 → 11:10 and 08:01:10 → 11:05
        "p90_minutes_to_first_attempt": 183.8,
        "service_level_hours": 4,
        "service_level_percent": 100.0, // 155 and 24 working minutes, both within 4 h
        "busiest_hour": "10:00+01:00",  // B, C, D
        "missions_created": 0, "missions_accepted": 0, "missions_done": 0, "missions_not_done": 0,
        "missions_cancelled": 0, "median_minutes_to_acceptance": null, "volunteers_on_missions": 0,
        "outbound_calls_placed": 0, "outbound_calls_answered": 0, "offers_accepted_by_phone": 0,
        "outbound_calls_put_through": 0, "outbound_calls_failed": 0,
    });
    assert_eq!(day, &expected);
    let hours = doc["hours"].as_array().unwrap();
    assert_eq!(hours.len(), 24);
    assert_eq!(
        hours[10],
        json!({ "date": "2026-11-23", "hour": "10:00+01:00", "line": "all", "calls_offered": 3,
                "calls_while_closed": 0, "abandoned_in_menu": 1, "transfers": 2, "callbacks_requested": 1 })
    );
    assert_eq!(hours[8]["calls_while_closed"], 1);
    assert_eq!(hours[8]["callbacks_requested"], 1);
    assert_eq!(hours[13]["abandoned_in_menu"], 1);

    // The CSV has the same figures, and no personal data.
    let (status, csv) = export(&app, &sue, "date=2026-11-23").await;
    assert_eq!(status, 200);
    insta::assert_snapshot!("day_csv", csv);
    for (_, json) in [("csv", &csv), ("json", &body)] {
        assert!(!json.contains("+32") && !json.contains("470") && !json.contains("anonymous"), "{json}");
    }
    // The line's own figures are the same here (one line).
    let (_, line) = export(&app, &sue, "date=2026-11-23&line=%2B3280043436").await;
    assert_eq!(line.replace(",liege,", ",all,"), csv);
}

#[tokio::test]
async fn the_command_line_export_agrees_with_the_api() {
    let (app, sue) = a_day_of_calls().await;
    let (_, api_csv) = export(&app, &sue, "date=2026-11-22&to=2026-11-24").await;
    let out = app.cli(&["stats", "--date", "2026-11-22", "--to", "2026-11-24"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let cli_csv = String::from_utf8(out.stdout).unwrap();
    // The service level of the request still waiting depends on "now"; the rest is equal.
    assert_eq!(cli_csv.lines().count(), 4);
    assert_eq!(cli_csv.lines().nth(2), api_csv.lines().nth(2));
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_solidaire"))
        .env_clear()
        .args(["stats", "--date", "23/11/2026"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("`23/11/2026` is not a date (YYYY-MM-DD)"));
}

#[tokio::test]
async fn an_empty_day_has_zero_counts_and_empty_measures() {
    let app = TestApp::open().await;
    let sue = app.add_agent("sue", "supervisor", "correct horse battery");
    let (status, csv) = export(&app, &sue, "date=2026-11-24").await;
    assert_eq!(status, 200);
    let mut lines = csv.split("\r\n");
    let header = lines.next().unwrap();
    assert!(header.starts_with("date,line,calls_offered,"));
    assert_eq!(
        lines.next().unwrap(),
        "2026-11-24,all,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,,,0,0,0,0,,,4,,,0,0,0,0,0,,0,0,0,0,0,0"
    );
    assert_eq!(lines.next(), Some(""), "CRLF after the last row");
}

#[tokio::test]
async fn daylight_saving_days_have_25_and_23_hours() {
    let app = spawn_app(Options { at: brussels(2026, 10, 25, 0, 30), ..Options::default() }).await;
    let sue = app.add_agent("sue", "supervisor", "correct horse battery");
    // 02:30 happens twice on 25 October: at 00:30 UTC (summer time) and 01:30 UTC (winter).
    for utc in
        ["2026-10-25T00:30:00Z", "2026-10-25T01:30:00Z", "2026-10-25T22:30:00Z", "2026-10-25T23:30:00Z"]
    {
        app.clock.set(utc.parse().unwrap());
        app.call(&[HangUp]).await;
    }
    let (_, body) = export(&app, &sue, "date=2026-10-25&to=2026-10-26&format=json&hourly=true").await;
    let doc: Value = serde_json::from_str(&body).unwrap();
    let hours: Vec<&Value> =
        doc["hours"].as_array().unwrap().iter().filter(|h| h["date"] == "2026-10-25").collect();
    assert_eq!(hours.len(), 25);
    assert_eq!(
        (hours[2]["hour"].as_str(), hours[2]["calls_offered"].as_u64()),
        (Some("02:00+02:00"), Some(1))
    );
    assert_eq!(
        (hours[3]["hour"].as_str(), hours[3]["calls_offered"].as_u64()),
        (Some("02:00+01:00"), Some(1))
    );
    assert_eq!(hours[24]["hour"], "23:00+01:00");
    // 22:30 UTC is 23:30 on the 25th; 23:30 UTC is already the 26th.
    assert_eq!(doc["days"][0]["calls_offered"], 3);
    assert_eq!(doc["days"][1]["calls_offered"], 1);

    let (_, spring) = export(&app, &sue, "date=2026-03-29&format=json&hourly=true").await;
    let doc: Value = serde_json::from_str(&spring).unwrap();
    let labels: Vec<&str> =
        doc["hours"].as_array().unwrap().iter().map(|h| h["hour"].as_str().unwrap()).collect();
    assert_eq!(labels.len(), 23);
    assert_eq!(&labels[1..3], ["01:00+01:00", "03:00+02:00"]);
}

#[tokio::test]
async fn statistics_are_for_supervisors() {
    let (app, _) = a_day_of_calls().await;
    let anna = app.add_agent("anna", "agent", "correct horse battery");
    let sue = app.add_agent("sue2", "supervisor", "correct horse battery");
    assert_eq!(export(&app, &anna, "date=2026-11-23").await.0, 403);
    assert_eq!(export(&app, &sue, "date=tomorrow").await.0, 400);
    assert_eq!(export(&app, &sue, "date=2026-11-23&to=2026-11-01").await.0, 400);
    assert_eq!(export(&app, &sue, "date=2026-11-23&format=xls").await.0, 400);

    // The dashboard draws its charts on the server.
    let (status, page) = fetch(&app, &sue, "/console/stats").await;
    assert_eq!(status, 200);
    assert_eq!(page.matches("<svg").count(), 5, "five charts");
    assert!(page.contains("Calls per hour today"));
    assert!(
        page.contains("/api/stats/daily?date=2026-10-25&amp;to=2026-11-23&amp;format=csv"),
        "download links"
    );
}
