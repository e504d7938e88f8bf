//! The callback queue through its JSON API: every state transition, leases on an injected
//! clock, races between agents, attempts that really count, merged duplicates, and what
//! each role may see and do.

mod common;

use chrono::Duration;
use common::*;
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery";

struct Desk {
    app: TestApp,
    api: Api,
    anna: String,
    bert: String,
    sue: String,
}

async fn desk() -> Desk {
    let app = TestApp::open().await;
    let anna = app.add_agent("anna", "agent", PASSWORD);
    let bert = app.add_agent("bert", "agent", PASSWORD);
    let sue = app.add_agent("sue", "supervisor", PASSWORD);
    let api = Api::new(&app);
    Desk { app, api, anna, bert, sue }
}

fn ids(list: &Value) -> Vec<i64> {
    list["requests"].as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()).collect()
}

#[tokio::test]
async fn a_request_goes_claimed_no_answer_busy_voicemail_then_unreachable_and_attempts_really_count() {
    let d = desk().await;
    d.app.errands_request(CALLER).await;

    let (status, list) = d.api.get("/api/requests", &d.anna).await;
    assert_eq!(status, 200);
    assert_eq!(ids(&list), vec![1]);
    assert_eq!(list["requests"][0]["phone"], "+32 4** ** ** 56", "masked in the list");
    assert_eq!(list["requests"][0]["answers"], Value::Null);

    let (status, claimed) = d.api.post("/api/requests/claim-next", &d.anna, json!({})).await;
    assert_eq!(status, 200, "{claimed}");
    assert_eq!(claimed["request"]["phone"], CALLER, "the holder sees the full number");
    assert_eq!(claimed["request"]["answers"]["help"], "groceries");
    assert_eq!(claimed["request"]["held_by"], "anna");

    let mut now = open_hours();
    for (attempt, outcome, back_off) in
        [(1, "no_answer", Duration::minutes(30)), (2, "busy", Duration::hours(2))]
    {
        let (status, body) = d
            .api
            .post("/api/requests/1/outcome", &d.anna, json!({ "outcome": outcome, "note": "tried" }))
            .await;
        assert_eq!((status, body["state"].as_str()), (200, Some("open")), "{body}");
        let (_, one) = d.api.get("/api/requests/1", &d.anna).await;
        assert_eq!(one["request"]["attempts"], attempt);
        // Not back before the back-off…
        assert!(ids(&d.api.get("/api/requests", &d.bert).await.1).is_empty());
        now += back_off - Duration::minutes(1);
        d.app.clock.set(now);
        assert!(ids(&d.api.get("/api/requests", &d.bert).await.1).is_empty());
        // …and back after it.
        now += Duration::minutes(2);
        d.app.clock.set(now);
        assert_eq!(ids(&d.api.get("/api/requests", &d.bert).await.1), vec![1]);
        assert_eq!(d.api.post("/api/requests/1/claim", &d.anna, json!({})).await.0, 200);
    }
    let (status, body) =
        d.api.post("/api/requests/1/outcome", &d.anna, json!({ "outcome": "voicemail" })).await;
    assert_eq!((status, body["state"].as_str()), (200, Some("unreachable")));
    let (_, one) = d.api.get("/api/requests/1", &d.sue).await;
    assert_eq!(one["request"]["attempts"], 3);
    assert_eq!(one["request"]["state"], "unreachable");
    let actions: Vec<String> =
        one["history"].as_array().unwrap().iter().map(|h| h["action"].as_str().unwrap().to_owned()).collect();
    assert_eq!(actions, ["created", "claimed", "outcome", "claimed", "outcome", "claimed", "outcome"]);
    let final_entry = one["history"].as_array().unwrap().last().unwrap();
    assert_eq!(final_entry["agent"], "anna");
    assert_eq!(final_entry["detail"], "voicemail; attempt 3 of 3; closed as unreachable");
    assert_eq!(
        d.api.post("/api/requests/1/claim", &d.bert, json!({})).await.0,
        409,
        "a closed request cannot be claimed"
    );
}

#[tokio::test]
async fn reached_outcomes_close_or_schedule_the_request() {
    let d = desk().await;
    for n in 0..4 {
        d.app.errands_request(&format!("+3247012345{n}")).await;
    }
    let claim = |id: i64| {
        let api = &d.api;
        let token = d.anna.clone();
        async move { api.post(&format!("/api/requests/{id}/claim"), &token, json!({})).await.0 }
    };
    for id in 1..=4 {
        assert_eq!(claim(id).await, 200);
    }
    let outcome = |id: i64, body: Value| {
        let api = &d.api;
        let token = d.anna.clone();
        async move { api.post(&format!("/api/requests/{id}/outcome"), &token, body).await }
    };
    assert_eq!(outcome(1, json!({ "outcome": "reached_resolved" })).await.1["state"], "done");
    assert_eq!(
        outcome(2, json!({ "outcome": "reached_follow_up" })).await.0,
        422,
        "a follow-up needs a date"
    );
    let follow =
        outcome(2, json!({ "outcome": "reached_follow_up", "follow_up": "2026-11-25T09:00:00Z" })).await;
    assert_eq!(follow.1["state"], "open");
    assert_eq!(outcome(3, json!({ "outcome": "referred" })).await.1["error"]["code"], "invalid");
    assert_eq!(outcome(3, json!({ "outcome": "referred", "partner": "CPAS" })).await.1["state"], "done");
    assert_eq!(outcome(4, json!({ "outcome": "wrong_number" })).await.1["state"], "cancelled");
    assert!(ids(&d.api.get("/api/requests", &d.anna).await.1).is_empty(), "the follow-up is not due yet");
    d.app.clock.set(brussels(2026, 11, 25, 10, 1));
    assert_eq!(ids(&d.api.get("/api/requests", &d.anna).await.1), vec![2]);
}

#[tokio::test]
async fn an_expired_lease_returns_the_request_to_the_queue() {
    let d = desk().await;
    d.app.errands_request(CALLER).await;
    assert_eq!(d.api.post("/api/requests/1/claim", &d.anna, json!({})).await.0, 200);
    assert_eq!(d.api.post("/api/requests/1/claim", &d.bert, json!({})).await.0, 409);
    d.app.clock.advance(Duration::minutes(15) + Duration::seconds(1));
    let (_, list) = d.api.get("/api/requests", &d.bert).await;
    assert_eq!(ids(&list), vec![1]);
    assert_eq!(list["requests"][0]["state"], "open");
    let (status, taken) = d.api.post("/api/requests/1/claim", &d.bert, json!({})).await;
    assert_eq!((status, taken["request"]["held_by"].as_str()), (200, Some("bert")));
    let (status, body) = d.api.post("/api/requests/1/outcome", &d.anna, json!({ "outcome": "busy" })).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("not_holder")));
    let (_, one) = d.api.get("/api/requests/1/history", &d.bert).await;
    let actions: Vec<&str> =
        one["history"].as_array().unwrap().iter().map(|h| h["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["created", "claimed", "lease_expired", "claimed"]);
}

#[tokio::test]
async fn when_agents_race_for_a_request_exactly_one_wins() {
    let d = desk().await;
    d.app.errands_request(CALLER).await;
    let tokens: Vec<String> =
        (0..12).map(|i| d.app.add_agent(&format!("racer{i}"), "agent", PASSWORD)).collect();
    let api = std::sync::Arc::new(Api::new(&d.app));
    let racers: Vec<_> = tokens
        .iter()
        .cloned()
        .map(|t| {
            let api = std::sync::Arc::clone(&api);
            tokio::spawn(async move { api.post("/api/requests/1/claim", &t, json!({})).await.0 })
        })
        .collect();
    let mut statuses = Vec::new();
    for r in racers {
        statuses.push(r.await.unwrap());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 11, "{statuses:?}");

    // "Take the next one" by many agents at once: each request goes to one agent.
    for n in 0..3 {
        d.app.errands_request(&format!("+3247099999{n}")).await;
    }
    let racers: Vec<_> = tokens
        .iter()
        .cloned()
        .map(|t| {
            let api = std::sync::Arc::clone(&api);
            tokio::spawn(async move { api.post("/api/requests/claim-next", &t, json!({})).await })
        })
        .collect();
    let mut won = Vec::new();
    for r in racers {
        let (status, body) = r.await.unwrap();
        if status == 200 {
            won.push(body["request"]["id"].as_i64().unwrap());
        } else {
            assert_eq!((status, body["error"]["code"].as_str()), (409, Some("queue_empty")));
        }
    }
    won.sort_unstable();
    assert_eq!(won, vec![2, 3, 4]);
}

#[tokio::test]
async fn the_same_number_asking_again_for_the_same_service_joins_its_first_request() {
    let d = desk().await;
    let first = d.app.errands_request(CALLER).await;
    d.app.clock.advance(Duration::hours(2));
    let second = d.app.errands_request(CALLER).await;
    assert!(
        second.heard("enregistrée sous le numéro 1."),
        "the same request number: {}",
        second.transcript()
    );
    // Another service is another request.
    d.app
        .call(&[
            Keys("1"),
            Keys("1"),
            Step::Transfer(solidaire::simulate::Transfer::Busy),
            Keys("1"),
            Keys("1"),
            Keys("2"),
        ])
        .await;
    let (_, list) = d.api.get("/api/requests", &d.anna).await;
    assert_eq!(ids(&list), vec![1, 2]);
    let created_at = list["requests"][0]["created_at"].as_str().unwrap().to_owned();
    assert_eq!(created_at, "2026-11-23T09:00:00.000Z", "the earliest age is kept");
    let linked: Vec<String> = d
        .app
        .db()
        .prepare("SELECT call_sid FROM callback_calls WHERE request_id = 1 ORDER BY rowid")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(linked, vec![first.sid, second.sid]);
    // A day later, a new request.
    d.app.clock.advance(Duration::hours(23));
    d.app.errands_request(CALLER).await;
    assert_eq!(ids(&d.api.get("/api/requests", &d.anna).await.1), vec![1, 2, 3]);
}

/// The finding: a caller with a withheld number typed a resident's number, asked for the
/// same service, and overwrote that resident's request (postcode, answers, message), and
/// heard its number.
#[tokio::test]
async fn a_typed_number_never_touches_the_request_of_that_caller_id_and_a_merge_adds_beside_the_first() {
    let d = desk().await;
    d.app.errands_request(CALLER).await;
    let before = first_request(&d.app);

    d.app.clock.advance(Duration::minutes(30));
    let intruder = d
        .app
        .call_from(
            "anonymous",
            &[
                Keys("1"),
                Keys("3"),
                Keys("1"),
                Keys("4000"),
                Keys("2"),
                Keys("0470123456#"),
                Keys("1"),
                Keys("1"),
                Step::Record(Some(20)),
            ],
        )
        .await;
    assert!(intruder.heard("enregistrée sous le numéro 2."), "{}", intruder.transcript());
    assert!(!intruder.heard("numéro 1."), "told another caller's request number: {}", intruder.transcript());
    let after = first_request(&d.app);
    assert_eq!(after, before, "the resident's request is untouched");
    let (_, history) = d.api.get("/api/requests/1/history", &d.anna).await;
    assert!(!history.to_string().contains("merged"), "{history}");
    // The agents see both, and that they share a number.
    let (_, history) = d.api.get("/api/requests/2/history", &d.anna).await;
    assert!(history.to_string().contains("request 1 is still open for this number"), "{history}");

    // The resident calling again from the same caller ID joins the first request: what the
    // first call said stays, the second call's words are added beside it.
    d.app.clock.advance(Duration::minutes(30));
    let again = d.app.call_from(CALLER, &errands("1", "2", Some(15))).await;
    assert!(again.heard("enregistrée sous le numéro 1."), "{}", again.transcript());
    let (status, claimed) = d.api.post("/api/requests/1/claim", &d.anna, json!({})).await;
    assert_eq!(status, 200, "{claimed}");
    let request = &claimed["request"];
    assert_eq!(request["answers"]["help"], before_errand(&before.1), "the first call's errand is kept");
    assert!(
        request["recording_url"].is_string(),
        "the second call's message fills what the first left empty"
    );
    let calls = request["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 2, "{request}");
    assert_eq!(calls[0]["recording_url"], Value::Null);
    assert!(calls[1]["recording_url"].is_string());
    assert_ne!(calls[0]["answers"], calls[1]["answers"], "each call's own answers");
    let (_, history) = d.api.get("/api/requests/1/history", &d.anna).await;
    assert!(history.to_string().contains("the same caller ID asked again: a voice message"), "{history}");
    // Someone else looking does not see them.
    let (_, seen) = d.api.get("/api/requests/1", &d.bert).await;
    assert_eq!(seen["request"]["calls"], Value::Null);
}

/// Request 1's postcode, answers and voice message, as stored.
fn first_request(app: &TestApp) -> (Option<String>, String, Option<String>) {
    app.db()
        .query_row("SELECT postcode, answers, recording_url FROM callback_requests WHERE id = 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap()
}

fn before_errand(answers: &str) -> Value {
    let errand = serde_json::from_str::<Value>(answers).unwrap()["help"].clone();
    assert!(errand.is_string(), "{answers}");
    errand
}

#[tokio::test]
async fn each_role_sees_and_does_only_what_it_may() {
    let d = desk().await;
    d.app.errands_request(CALLER).await;
    assert_eq!(d.api.send("GET", "/api/requests", None, None).await.0, 401);
    assert_eq!(d.api.get("/api/requests", "not-a-token").await.0, 401);
    assert_eq!(d.api.post("/api/requests/1/claim", &d.anna, json!({})).await.0, 200);

    // Another agent sees neither the number nor the answers of a claimed request.
    let (_, seen) = d.api.get("/api/requests/1", &d.bert).await;
    assert_eq!(seen["request"]["phone"], "+32 4** ** ** 56");
    assert_eq!(seen["request"]["answers"], Value::Null);
    assert_eq!(seen["request"]["recording_url"], Value::Null);
    assert!(ids(&d.api.get("/api/requests", &d.bert).await.1).is_empty(), "not in the other agents' queue");
    assert_eq!(d.api.post("/api/requests/1/release", &d.bert, json!({})).await.0, 403);

    // Agents do not manage accounts or other people's requests.
    assert_eq!(d.api.get("/api/agents", &d.anna).await.0, 403);
    let new = json!({ "login": "eve", "role": "supervisor", "password": PASSWORD, "lines": ["liege"] });
    assert_eq!(d.api.post("/api/agents", &d.anna, new.clone()).await.0, 403);
    for (action, body) in [
        ("priority", json!({ "priority": 2 })),
        ("cancel", json!({ "reason": "x" })),
        ("reassign", json!({ "agent": "bert" })),
    ] {
        assert_eq!(d.api.post(&format!("/api/requests/1/{action}"), &d.anna, body).await.0, 403, "{action}");
    }

    // A supervisor sees every active request and who holds it, but not the number.
    let (_, all) = d.api.get("/api/requests?all=true", &d.sue).await;
    assert_eq!(all["requests"][0]["held_by"], "anna");
    assert_eq!(all["requests"][0]["phone"], "+32 4** ** ** 56");
    assert_eq!(d.api.post("/api/requests/1/priority", &d.sue, json!({ "priority": 2 })).await.0, 200);
    let (status, moved) = d.api.post("/api/requests/1/reassign", &d.sue, json!({ "agent": "bert" })).await;
    assert_eq!((status, moved["held_by"].as_str()), (200, Some("bert")));
    assert_eq!(d.api.get("/api/requests/1", &d.bert).await.1["request"]["phone"], CALLER);
    assert_eq!(d.api.post("/api/requests/1/release", &d.sue, json!({})).await.0, 200);
    assert_eq!(d.api.post("/api/requests/1/cancel", &d.sue, json!({ "reason": "" })).await.0, 422);
    assert_eq!(
        d.api.post("/api/requests/1/cancel", &d.sue, json!({ "reason": "moved away" })).await.1["state"],
        "cancelled"
    );

    // Supervisors manage accounts; a disabled account's token stops working.
    assert_eq!(d.api.post("/api/agents", &d.sue, new).await.0, 201);
    assert_eq!(
        d.api
            .post(
                "/api/agents",
                &d.sue,
                json!({ "login": "x", "role": "agent", "password": "short", "lines": ["liege"] })
            )
            .await
            .0,
        422
    );
    let (_, listed) = d.api.get("/api/agents", &d.sue).await;
    assert_eq!(listed["agents"].as_array().unwrap().len(), 4);
    assert_eq!(d.api.post("/api/agents/anna/disable", &d.sue, json!({})).await.0, 200);
    assert_eq!(d.api.get("/api/requests", &d.anna).await.0, 401);
}

#[tokio::test]
async fn bad_json_and_unknown_requests_get_stable_error_codes() {
    let d = desk().await;
    let (status, body) = d.api.send("POST", "/api/requests/9/claim", Some(&d.anna), Some(json!({}))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")));
    let (status, body) = d.api.post("/api/requests/claim-next", &d.anna, json!({})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("queue_empty")));
    let (status, body) =
        d.api.post("/api/requests/9/outcome", &d.anna, json!({ "outcome": "teleported" })).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("invalid")));
    let (status, body) = d.api.post("/api/requests/9/outcome", &d.anna, json!({ "outcum": "busy" })).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("bad_json")));
    // A request number that is not a number is no request: the JSON error, not plain text.
    for path in ["/api/requests/abc", "/api/requests/abc/history", "/api/requests/-1"] {
        let (status, body) = d.api.get(path, &d.anna).await;
        assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")), "{path}");
    }
    let (status, body) = d.api.post("/api/requests/abc/claim", &d.anna, json!({})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")));
}

#[tokio::test]
async fn an_agent_holds_a_few_claims_at_most_and_a_follow_up_is_within_a_year() {
    let d = desk().await;
    for i in 0..6 {
        d.app.errands_request(&format!("+3247012345{i}")).await;
    }
    for id in 1..=5 {
        assert_eq!(d.api.post(&format!("/api/requests/{id}/claim"), &d.anna, json!({})).await.0, 200);
    }
    // Each claim shows a resident's full number: a sixth is refused until one is done.
    let (status, body) = d.api.post("/api/requests/6/claim", &d.anna, json!({})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("too_many_claims")), "{body}");
    let (status, _) = d.api.post("/api/requests/claim-next", &d.anna, json!({})).await;
    assert_eq!(status, 409);
    assert_eq!(d.api.post("/api/requests/6/claim", &d.bert, json!({})).await.0, 200, "another agent may");
    // A follow-up in the year 9999 would hide the request for ever.
    let (status, body) = d
        .api
        .post(
            "/api/requests/1/outcome",
            &d.anna,
            json!({ "outcome": "reached_follow_up", "follow_up": "9999-12-31T00:00:00Z" }),
        )
        .await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("invalid")), "{body}");
    let (status, _) = d.api.post("/api/requests/1/release", &d.anna, json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(
        d.api.post("/api/requests/2/outcome", &d.anna, json!({ "outcome": "reached_resolved" })).await.0,
        200
    );
    assert_eq!(d.api.post("/api/requests/1/claim", &d.anna, json!({})).await.0, 200, "room again");
}
