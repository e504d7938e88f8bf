//! Retention: old calls and closed requests are anonymised, and the statistics of those
//! days do not change.

mod common;

use common::*;
use serde_json::json;

const STATS: &str = "/api/stats/daily?date=2026-01-12&format=json&hourly=true";

fn purge(app: &TestApp) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_solidaire"))
        .env_clear()
        .env("SOLIDAIRE_RETENTION_DAYS", "30")
        .arg("--database")
        .arg(&app.db)
        .arg("--flows")
        .arg(repo_flows())
        .arg("purge")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test]
async fn old_calls_are_anonymised_and_their_statistics_stay_the_same() {
    // Monday 12 January 2026: long before the retention window of 30 days.
    let app = spawn_app(Options { at: brussels(2026, 1, 12, 10, 0), ..Options::default() }).await;
    let sue = app.add_agent("sue", "supervisor", "correct horse battery");
    let api = Api::new(&app);
    app.errands_request(CALLER).await;
    app.call_paced(CALLER, &[Keys("1"), Keys("9"), HangUp]).await;
    app.call_paced(
        "anonymous",
        &[
            Keys("1"),
            Keys("1"),
            Step::Transfer(solidaire::simulate::Transfer::Busy),
            Keys("1"),
            Keys("0470999999#"),
            Keys("1"),
            Keys("2"),
        ],
    )
    .await;
    assert_eq!(api.post("/api/requests/1/claim", &sue, json!({})).await.0, 200);
    let done = api
        .post(
            "/api/requests/1/outcome",
            &sue,
            json!({ "outcome": "reached_resolved", "note": "Mrs Dupont, 3rd floor" }),
        )
        .await;
    assert_eq!(done.0, 200);

    let before = api.get(STATS, &sue).await;
    assert_eq!(before.0, 200);
    assert_eq!(before.1["days"][0]["distinct_callers"], 1);

    let said = purge(&app);
    // 8 + 3 + 8 webhooks: every step record of the day.
    assert!(said.starts_with("anonymised 3 calls and 1 closed requests, deleted 19 step records"), "{said}");
    let after = api.get(STATS, &sue).await;
    assert_eq!(after, before, "past days keep their figures");

    let db = app.db();
    let numbers: i64 = db
        .query_row("SELECT count(*) FROM calls WHERE caller LIKE '+%' OR state LIKE '%+32%'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(numbers, 0);
    assert_eq!(app.count("SELECT count(*) FROM events"), 0, "the step log held read-back digits");
    let closed: (Option<String>, String) = db
        .query_row("SELECT phone, answers FROM callback_requests WHERE id = 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(closed, (None, "{}".to_owned()));
    assert_eq!(
        app.count("SELECT count(*) FROM callback_calls WHERE request_id = 1 AND (answers IS NOT NULL OR postcode IS NOT NULL)"),
        0,
        "what each call said goes with the request's own"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM callback_calls WHERE request_id = 2 AND answers IS NOT NULL"),
        1
    );
    let open: Option<String> =
        db.query_row("SELECT phone FROM callback_requests WHERE id = 2", [], |r| r.get(0)).unwrap();
    assert_eq!(open.as_deref(), Some("+32470999999"), "a request still to be called keeps its number");
    assert_eq!(app.count("SELECT count(*) FROM callback_history WHERE detail LIKE '%Dupont%'"), 0);
    let pseudonyms: i64 = db
        .query_row("SELECT count(DISTINCT caller) FROM calls WHERE caller LIKE 'anon:%'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(pseudonyms, 1, "the same caller has the same pseudonym within the day");

    assert!(
        purge(&app).starts_with("anonymised 0 calls and 0 closed requests, deleted 0"),
        "a second purge finds nothing"
    );
}

#[tokio::test]
async fn a_volunteer_who_left_long_ago_loses_number_and_name_and_the_others_keep_theirs() {
    // January 2026, long before the retention window of 30 days (the purge runs now).
    let app = spawn_app(Options { at: brussels(2026, 1, 12, 10, 0), ..Options::default() }).await;
    let cora = app.add_agent("cora", "coordinator", "correct horse battery");
    let api = Api::new(&app);
    for (name, phone) in [("Léa Martin", "0470 11 11 11"), ("Omar Diallo", "0470 22 22 22")] {
        let body = json!({ "name": name, "phone": phone, "postcode": "4020", "helps": ["groceries"], "notes": "2nd floor" });
        assert_eq!(api.post("/api/volunteers", &cora, body).await.0, 201);
    }
    assert_eq!(api.post("/api/volunteers/1/leave", &cora, json!({})).await.0, 200);

    let said = purge(&app);
    assert!(said.contains("removed the numbers of 1 volunteers who left"), "{said}");
    let (_, gone) = api.get("/api/volunteers/1", &cora).await;
    assert_eq!(gone["volunteer"]["phone"], serde_json::Value::Null, "{gone}");
    assert_eq!(gone["volunteer"]["notes"], "");
    assert_eq!(gone["volunteer"]["name"], "(volunteer #1)", "{gone}");
    let (_, kept) = api.get("/api/volunteers/2", &cora).await;
    assert_eq!(kept["volunteer"]["phone"], "+32 4** ** ** 22", "an active volunteer keeps their number");
    assert_eq!(
        app.count("SELECT count(*) FROM volunteers WHERE name LIKE '%Martin%' OR phone = '+32470111111'"),
        0
    );
    assert!(purge(&app).contains("removed the numbers of 0 volunteers"), "a second purge finds nothing");
}

#[tokio::test]
async fn calls_the_line_placed_long_ago_lose_the_numbers_they_rang_and_the_answers_that_held_one() {
    let app = spawn_app(Options { at: brussels(2026, 1, 12, 10, 0), ..Options::default() }).await;
    let db = app.db();
    for (created, state) in [("2026-01-12T09:00:00.000Z", "ended"), ("2026-01-12T09:05:00.000Z", "failed")] {
        db.execute(
            "INSERT INTO outbound_calls (line, purpose, to_number, state, next_try_at, created_at, response, error)
             VALUES ('liege', 'offer', '+32470111111', ?2, ?1, ?1, '<Response><Dial><Number>+32470123456</Number></Dial></Response>', 'refused')",
            rusqlite::params![created, state],
        )
        .unwrap();
    }
    // One still ringing is kept whole: it is not over.
    db.execute(
        "INSERT INTO outbound_calls (line, purpose, to_number, state, next_try_at, created_at)
         VALUES ('liege', 'offer', '+32470222222', 'placed', '2026-01-12T09:00:00.000Z', '2026-01-12T09:00:00.000Z')",
        [],
    )
    .unwrap();
    purge(&app);
    assert_eq!(
        app.count(
            "SELECT count(*) FROM outbound_calls WHERE to_number = '' AND response IS NULL AND error IS NULL"
        ),
        2
    );
    assert_eq!(app.count("SELECT count(*) FROM outbound_calls WHERE to_number = '+32470222222'"), 1);
    assert_eq!(app.count("SELECT count(*) FROM outbound_calls WHERE response LIKE '%+32470123456%'"), 0);
}
