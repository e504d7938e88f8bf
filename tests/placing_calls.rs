//! Calls the service places through Telnyx's TeXML API and through a jambonz server's
//! API: each request checked against the provider's own SDK (the npm `telnyx` SDK and
//! `@jambonz/node-client` send the same request to a recording server), and a whole
//! offer by phone through each simulated API: one volunteer busy, one accepting and put
//! through in the provider's dialect, one still ringing when it is taken and cancelled,
//! then a refusal in each API's own words.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use solidaire::settings::Secret;
use solidaire::simulate::{Pickup, Through};
use solidaire::telephony::rest::{Api as Rest, Order};

const NADIA: &str = "+32470111111";
const GASTON: &str = "+32470222222";
const NINA: &str = "+32470333333";
const PASSWORD: &str = "correct horse battery";

fn person(steps: &'static [Step]) -> Pickup {
    Pickup::Person(Box::new(Script::new(steps)))
}

/// One request as it reached the recording server.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    method: String,
    path: String,
    content_type: String,
    authorization: String,
    /// The body read as its content type says: a JSON value, or a form's pairs sorted.
    body: Value,
}

/// A server that records every request and answers as the providers do: `201` with a
/// call id to a new call, `202` to anything else.
async fn recorder() -> (String, Arc<Mutex<Vec<Seen>>>) {
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let keep = Arc::clone(&seen);
    let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
        let keep = Arc::clone(&keep);
        async move {
            let (parts, body) = request.into_parts();
            let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
            let header = |name: &str| {
                parts.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
            };
            let content_type = header("content-type").split(';').next().unwrap_or_default().trim().to_owned();
            let body = if content_type == "application/json" {
                serde_json::from_slice(&bytes).unwrap_or(Value::Null)
            } else {
                let mut pairs: Vec<(String, String)> = form_urlencoded::parse(&bytes).into_owned().collect();
                pairs.sort();
                json!(pairs)
            };
            let path = parts.uri.path().to_owned();
            let new_call = parts.method == axum::http::Method::POST && path.ends_with("/Calls");
            keep.lock().unwrap().push(Seen {
                method: parts.method.to_string(),
                path,
                content_type,
                authorization: header("authorization"),
                body,
            });
            if new_call {
                (axum::http::StatusCode::CREATED, axum::Json(json!({ "sid": "recorded-call" })))
            } else {
                (axum::http::StatusCode::ACCEPTED, axum::Json(json!({})))
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

fn order() -> Order {
    Order {
        to: NADIA.to_owned(),
        from: LINE.to_owned(),
        url: format!("{PUBLIC_URL}/voice/telnyx/out/7/answer"),
        status_callback: format!("{PUBLIC_URL}/voice/telnyx/out/7/status"),
        timeout: 25,
        machine_detection: true,
    }
}

/// Runs `script` in Node off the runtime's threads (the recording server keeps serving).
async fn node(script: &'static str, input: Value) -> Value {
    tokio::task::spawn_blocking(move || common::node(script, &input)).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_placed_and_cancelled_through_telnyx_is_the_request_telnyxs_sdk_sends() {
    let (url, seen) = recorder().await;
    let api = Rest::telnyx(&url, PROVIDER_ACCOUNT, Secret::new(API_KEY), TEXML_APPLICATION).unwrap();
    assert_eq!(api.place(&order()).await, Ok(Some("recorded-call".to_owned())));
    assert_eq!(api.cancel("v3:ringing-call").await, Ok(()));
    let ours = seen.lock().unwrap().drain(..).collect::<Vec<_>>();
    assert_eq!(ours.len(), 2);
    assert_eq!(ours[0].path, format!("/v2/texml/Accounts/{PROVIDER_ACCOUNT}/Calls"));
    assert_eq!(ours[0].body["ApplicationSid"], TEXML_APPLICATION);
    assert_eq!(ours[0].body["MachineDetection"], "Enable", "a voicemail never takes a mission");

    // The SDK sends what we sent, through its own methods, to the same server.
    node(
        r"
        const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
        const T = require('telnyx');
        const Telnyx = T.default || T;
        const client = new Telnyx({ apiKey: input.key, baseURL: input.url + '/v2', maxRetries: 0 });
        (async () => {
            await client.texml.accounts.calls.calls(input.account, { body: input.body });
            await client.texml.accounts.calls.update('v3:ringing-call', { account_sid: input.account, Status: 'canceled' });
            console.log('{}');
        })().catch((e) => { console.error(e); process.exit(1); });
        ",
        json!({ "url": url, "key": API_KEY, "account": PROVIDER_ACCOUNT, "body": ours[0].body }),
    )
    .await;
    let sdk = seen.lock().unwrap().clone();
    assert_eq!(ours, sdk, "ours, then the SDK's");

    // Every field we send is one the SDK declares for a call fetching its TeXML from a URL.
    let declared = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("target/tools/npm/node_modules/telnyx/resources/texml/accounts/calls/calls.d.ts"),
    )
    .expect("the telnyx SDK is installed by scripts/test");
    let with_url = &declared[declared.find("interface WithURL {").expect("WithURL in the SDK")..];
    let with_url = &with_url[..with_url.find("\n    }").unwrap()];
    for field in ours[0].body.as_object().unwrap().keys() {
        assert!(
            with_url.contains(&format!("{field}?:")) || with_url.contains(&format!("{field}:")),
            "`{field}` is not a field of the SDK's call parameters"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_placed_and_cancelled_through_jambonz_is_the_request_jambonzs_client_sends() {
    let (url, seen) = recorder().await;
    let api = Rest::jambonz(&format!("{url}/v1"), PROVIDER_ACCOUNT, Secret::new(API_KEY)).unwrap();
    let order = Order {
        url: format!("{PUBLIC_URL}/voice/jambonz/out/7/answer"),
        status_callback: format!("{PUBLIC_URL}/voice/jambonz/out/7/status"),
        ..order()
    };
    assert_eq!(api.place(&order).await, Ok(Some("recorded-call".to_owned())));
    assert_eq!(api.cancel("6f1c-ringing").await, Ok(()));
    let ours = seen.lock().unwrap().drain(..).collect::<Vec<_>>();
    assert_eq!(ours.len(), 2);
    assert_eq!(ours[0].body["to"], json!({ "type": "phone", "number": NADIA }));
    assert_eq!(ours[0].body["call_hook"]["url"], order.url.as_str());
    assert_eq!(ours[1].method, "PUT");

    // The client checks what it sends (from, to, absolute hooks) before sending it.
    node(
        r"
        const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
        const client = require('@jambonz/node-client')(input.account, input.key, { baseUrl: input.url });
        (async () => {
            const sid = await client.calls.create(input.body);
            if (sid !== 'recorded-call') throw new Error('the call id read: ' + sid);
            await client.calls.update('6f1c-ringing', { call_status: 'no-answer' });
            console.log('{}');
        })().catch((e) => { console.error(e); process.exit(1); });
        ",
        json!({ "url": url, "key": API_KEY, "account": PROVIDER_ACCOUNT, "body": ours[0].body }),
    )
    .await;
    let sdk = seen.lock().unwrap().clone();
    assert_eq!(ours, sdk, "ours, then the client's");
}

/// A server placing its calls through `through`, with Nadia, Gaston and Nina on its
/// roster.
async fn desk(
    through: Through,
    phones: solidaire::simulate::Phones,
) -> (TestApp, solidaire::simulate::Provider, String) {
    let (app, provider) = calling_app_through(through, Options::default(), phones).await;
    let cora = app.add_agent("cora", "coordinator", PASSWORD);
    let api = Api::new(&app);
    for (name, phone) in [("Nadia", "0470 11 11 11"), ("Gaston", "0470 22 22 22"), ("Nina", "0470 33 33 33")]
    {
        let volunteer = json!({ "name": name, "phone": phone, "postcode": "4020", "helps": ["groceries"], "languages": ["fr"] });
        let (status, body) = api.post("/api/volunteers", &cora, volunteer).await;
        assert_eq!(status, 201, "{body}");
    }
    (app, provider, cora)
}

/// A resident's groceries request, offered by phone; returns the mission.
async fn offer(app: &TestApp, cora: &str) -> i64 {
    let api = Api::new(app);
    app.errands_request(CALLER).await;
    let request = app.count("SELECT max(id) FROM callback_requests");
    let (status, body) = api.post(&format!("/api/requests/{request}/find-volunteer"), cora, json!({})).await;
    assert_eq!(status, 201, "{body}");
    let mission = body["mission"]["id"].as_i64().unwrap();
    let (status, body) = api.post(&format!("/api/missions/{mission}/offer"), cora, json!({})).await;
    assert_eq!(status, 200, "{body}");
    mission
}

#[tokio::test]
async fn a_mission_is_offered_taken_and_put_through_by_phone_through_telnyx_and_through_jambonz() {
    for (through, prefix) in [(Through::Telnyx, "/voice/telnyx"), (Through::Jambonz, "/voice/jambonz")] {
        let phones: solidaire::simulate::Phones = Arc::new(|to: &str| match to {
            NADIA => Pickup::Busy,
            GASTON => Pickup::After(
                Duration::from_millis(300),
                Box::new(person(&[
                    Keys("1"),
                    Keys("1"),
                    Step::Transfer(solidaire::simulate::Transfer::Answered),
                ])),
            ),
            _ => Pickup::After(Duration::from_millis(2500), Box::new(person(&[Keys("1")]))),
        });
        let (app, provider, cora) = desk(through, phones).await;
        let mission = offer(&app, &cora).await;
        eventually("the three calls over", || {
            provider.placed().len() == 3
                && app.count("SELECT count(*) FROM outbound_calls WHERE state NOT IN ('ended', 'failed')")
                    == 0
        })
        .await;
        let state: String =
            app.db().query_row("SELECT state FROM missions WHERE id = ?1", [mission], |r| r.get(0)).unwrap();
        assert_eq!(state, "accepted", "{through:?}");

        for placed in provider.placed() {
            assert_eq!(placed.through, through);
            assert_eq!(placed.from(), Some(LINE), "the line's own number is shown");
            // Telnyx's answer did not name the call: its `initiated` status did.
            let id: i64 = app
                .db()
                .query_row("SELECT id FROM outbound_calls WHERE sid = ?1", [&placed.sid], |r| r.get(0))
                .unwrap_or_else(|_| panic!("{through:?}: the provider's call id is kept"));
            assert_eq!(placed.url(), Some(format!("{PUBLIC_URL}{prefix}/out/{id}/answer").as_str()));
            assert_eq!(
                placed.status_callback(),
                Some(format!("{PUBLIC_URL}{prefix}/out/{id}/status").as_str())
            );
            match through {
                Through::Telnyx => {
                    assert_eq!(placed.field("ApplicationSid"), Some(TEXML_APPLICATION));
                    assert_eq!(placed.field("MachineDetection"), Some("Enable"));
                }
                _ => assert_eq!(placed.field("to.type"), Some("phone")),
            }
        }
        let outcome = |number: &str| -> String {
            app.db()
                .query_row("SELECT outcome FROM outbound_calls WHERE to_number = ?1", [number], |r| r.get(0))
                .unwrap()
        };
        assert_eq!(outcome(NADIA), "busy", "{through:?}");
        assert_eq!(outcome(GASTON), "bridged", "{through:?}");
        assert_eq!(outcome(NINA), "canceled", "{through:?}: Nina's phone stopped ringing once it was taken");
        let nina = provider.placed().into_iter().find(|p| p.to() == Some(NINA)).unwrap();
        assert!(nina.cancelled && nina.record.is_none(), "{through:?}: cancelled through the API");

        let gaston = provider.placed().into_iter().find(|p| p.to() == Some(GASTON)).unwrap();
        let call = gaston.record.expect("Gaston answered");
        assert!(call.heard("la mission est à vous"), "{through:?}: {}", call.transcript());
        let dial = call
            .exchanges
            .iter()
            .find(|e| e.body.contains("<Dial") || e.body.contains(r#""verb":"dial""#))
            .unwrap_or_else(|| panic!("{through:?}: put through\n{}", call.transcript()));
        assert!(dial.body.contains(CALLER), "{}", dial.body);
        if through == Through::Telnyx {
            assert!(dial.body.contains(&format!("callerId=\"{LINE}\"")), "{}", dial.body);
        } else {
            let verbs: Value = serde_json::from_str(&dial.body).unwrap();
            let dial = verbs.as_array().unwrap().iter().find(|v| v["verb"] == "dial").unwrap();
            assert_eq!(dial["callerId"], LINE, "the resident sees the line");
        }
    }
}

#[tokio::test]
async fn a_refusal_in_each_apis_own_words_moves_the_mission_on_and_says_why_without_the_number() {
    let refusals = [
        (
            Through::Telnyx,
            422,
            r#"{"errors": [{"code": "10015", "title": "Invalid value", "detail": "To +32470111111 is not a valid destination"}]}"#,
            "Invalid value: To +32 4** ** ** 11 is not a valid destination",
        ),
        (Through::Jambonz, 400, r#"{"msg": "unknown account"}"#, "unknown account"),
    ];
    for (through, status, body, said) in refusals {
        let (app, provider, cora) = desk(through, Arc::new(|_: &str| Pickup::NoAnswer)).await;
        provider.refuse_next_to(NADIA, status, body);
        provider.refuse_next_to(GASTON, 503, "try later");
        offer(&app, &cora).await;
        eventually("Nadia's call refused", || {
            app.count(
                "SELECT count(*) FROM outbound_calls WHERE to_number = '+32470111111' AND state = 'failed'",
            ) == 1
        })
        .await;
        let error: String = app
            .db()
            .query_row("SELECT error FROM outbound_calls WHERE to_number = ?1", [NADIA], |r| r.get(0))
            .unwrap();
        assert!(error.contains(said), "{through:?}: {error}");
        assert!(!error.contains("470111111"), "the number is masked: {error}");
        eventually("a 503 tried again later", || {
            app.count(
                "SELECT count(*) FROM outbound_calls WHERE to_number = '+32470222222' AND state = 'queued' AND error LIKE '%503%'",
            ) == 1
        })
        .await;
    }
}
