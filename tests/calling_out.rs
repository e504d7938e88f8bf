//! Calling out, through a simulated provider that serves the REST API and rings scripted
//! phones: a mission offered by phone to three volunteers (one does not answer, the
//! second accepts and is put through with the line's number shown, the third hears it is
//! taken); a mission nobody takes going back to the agents' queue; a volunteer pausing
//! their calls; an agent's click-to-call; retries, refusals and a restart that neither
//! loses nor doubles a call; and the placed calls checked against Twilio's published
//! OpenAPI description served by Prism.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use rusqlite::OptionalExtension as _;
use serde_json::json;
use solidaire::clock::Clock as _;
use solidaire::simulate::{Pickup, Placed, Transfer};

const PASSWORD: &str = "correct horse battery";
const NADIA: &str = "+32470111111";
const GASTON: &str = "+32470222222";
const NINA: &str = "+32470333333";

fn person(steps: &'static [Step]) -> Pickup {
    Pickup::Person(Box::new(Script::new(steps)))
}

struct Desk {
    app: TestApp,
    provider: solidaire::simulate::Provider,
    api: Api,
    anna: String,
    cora: String,
}

async fn desk(phones: solidaire::simulate::Phones) -> Desk {
    let (app, provider) = calling_app(Options::default(), phones).await;
    let anna = app.add_agent("anna", "agent", PASSWORD);
    let cora = app.add_agent("cora", "coordinator", PASSWORD);
    let api = Api::new(&app);
    Desk { app, provider, api, anna, cora }
}

impl Desk {
    async fn add(&self, name: &str, phone: &str, postcode: &str) -> i64 {
        let (status, body) = self
            .api
            .post(
                "/api/volunteers",
                &self.cora,
                json!({ "name": name, "phone": phone, "postcode": postcode, "helps": ["groceries"], "languages": ["fr"] }),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["volunteer"]["id"].as_i64().unwrap()
    }

    /// A resident's groceries request, made a mission the line offers by phone.
    async fn mission_by_phone(&self, resident: &str) -> i64 {
        self.app.errands_request(resident).await;
        let request = self.app.count("SELECT max(id) FROM callback_requests");
        let (status, body) =
            self.api.post(&format!("/api/requests/{request}/find-volunteer"), &self.cora, json!({})).await;
        assert_eq!(status, 201, "{body}");
        let mission = body["mission"]["id"].as_i64().unwrap();
        let (status, body) =
            self.api.post(&format!("/api/missions/{mission}/offer"), &self.cora, json!({})).await;
        assert_eq!(status, 200, "{body}");
        mission
    }

    fn placed_to(&self, number: &str) -> Vec<Placed> {
        self.provider.placed().into_iter().filter(|p| p.field("To") == Some(number)).collect()
    }

    fn mission_state(&self, mission: i64) -> String {
        self.app.db().query_row("SELECT state FROM missions WHERE id = ?1", [mission], |r| r.get(0)).unwrap()
    }

    fn offer_answer(&self, mission: i64, volunteer: i64) -> Option<String> {
        self.app
            .db()
            .query_row(
                "SELECT answer FROM mission_offers WHERE mission_id = ?1 AND volunteer_id = ?2",
                [mission, volunteer],
                |r| r.get(0),
            )
            .optional()
            .unwrap()
            .flatten()
    }

    fn live_calls(&self) -> i64 {
        self.app.count("SELECT count(*) FROM outbound_calls WHERE state NOT IN ('ended', 'failed')")
    }
}

#[tokio::test]
async fn three_volunteers_are_rung_the_second_accepts_and_is_put_through_the_third_hears_it_is_taken() {
    let phones: solidaire::simulate::Phones = Arc::new(|to: &str| match to {
        NADIA => Pickup::NoAnswer,
        GASTON => Pickup::After(
            Duration::from_millis(300),
            Box::new(person(&[Keys("1"), Keys("1"), Step::Transfer(Transfer::Answered)])),
        ),
        // Nina answers at once, listens, and presses 1 after Gaston has.
        _ => person(&[Step::Wait(1500), Keys("1")]),
    });
    let d = desk(phones).await;
    let nadia = d.add("Nadia", "0470 11 11 11", "4020").await;
    let gaston = d.add("Gaston", "0470 22 22 22", "4030").await;
    let nina = d.add("Nina", "0470 33 33 33", "4020").await;
    let mission = d.mission_by_phone(CALLER).await;

    eventually("the three calls placed and over", || d.provider.placed().len() == 3 && d.live_calls() == 0)
        .await;
    eventually("Nina's call lived", || d.placed_to(NINA).first().is_some_and(|p| p.record.is_some())).await;
    for placed in d.provider.placed() {
        assert_eq!(placed.field("From"), Some(LINE), "the line's own number is shown");
        let id: i64 = d
            .app
            .db()
            .query_row("SELECT id FROM outbound_calls WHERE sid = ?1", [&placed.sid], |r| r.get(0))
            .expect("the provider's call id is kept");
        assert_eq!(placed.field("Url"), Some(format!("{PUBLIC_URL}/voice/out/{id}/answer").as_str()));
        assert_eq!(
            placed.field("StatusCallback"),
            Some(format!("{PUBLIC_URL}/voice/out/{id}/status").as_str())
        );
        assert_eq!(placed.field("MachineDetection"), Some("Enable"), "a voicemail never takes a mission");
    }

    assert_eq!(d.mission_state(mission), "accepted");
    let holder: i64 = d
        .app
        .db()
        .query_row("SELECT volunteer_id FROM missions WHERE id = ?1", [mission], |r| r.get(0))
        .unwrap();
    assert_eq!(holder, gaston, "the first to press 1 has it");
    assert_eq!(d.offer_answer(mission, gaston).as_deref(), Some("accepted"));
    assert_eq!(d.offer_answer(mission, nadia).as_deref(), Some("no-answer"));
    assert_eq!(d.offer_answer(mission, nina).as_deref(), Some("taken"));

    let gaston_call = d.placed_to(GASTON).remove(0).record.expect("Gaston answered");
    assert!(gaston_call.heard("Une personne à 4020 Bressoux"), "{}", gaston_call.transcript());
    assert!(gaston_call.heard("a besoin d'aide : Courses alimentaires"), "{}", gaston_call.transcript());
    assert!(gaston_call.heard("la mission est à vous"), "{}", gaston_call.transcript());
    assert!(gaston_call.heard("Quand l'aide est faite"), "{}", gaston_call.transcript());
    let dial = gaston_call.exchanges.iter().find(|e| e.body.contains("<Dial")).expect("put through");
    assert!(dial.body.contains(&format!("callerId=\"{LINE}\"")), "the resident sees the line: {}", dial.body);
    assert!(dial.body.contains(&format!("<Number>{CALLER}</Number>")), "{}", dial.body);
    for (_, said) in &gaston_call.heard {
        for form in ["470123456", "470 12 34 56", "4 7 0 1 2 3"] {
            assert!(
                !said.replace(' ', "").contains(&form.replace(' ', "")),
                "the resident's number was said: {said}"
            );
        }
    }
    let nina_call = d.placed_to(NINA).remove(0).record.unwrap();
    assert!(nina_call.heard("a besoin d'aide"), "{}", nina_call.transcript());
    assert!(nina_call.heard("Quelqu'un d'autre vient d'accepter"), "a later 1: {}", nina_call.transcript());

    let outcomes: Vec<(String, String)> = {
        let db = d.app.db();
        let mut stmt =
            db.prepare("SELECT to_number, outcome FROM outbound_calls ORDER BY to_number").unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect()
    };
    assert_eq!(
        outcomes,
        [
            (NADIA.to_owned(), "no-answer".to_owned()),
            (GASTON.to_owned(), "bridged".to_owned()),
            (NINA.to_owned(), "taken".to_owned())
        ]
    );
    let (_, history) = d.api.get("/api/requests/1/history", &d.cora).await;
    assert!(history.to_string().contains(&format!("accepted by volunteer {gaston} by phone")), "{history}");
    let (_, m) = d.api.get(&format!("/api/missions/{mission}"), &d.cora).await;
    let said = m.to_string();
    assert!(said.contains("put through") && said.contains("the resident answered"), "{said}");

    // A webhook for one of these calls that names another call is refused: even a replay
    // of its last step, which its own call gets answered again.
    let (id, step): (i64, u32) = d
        .app
        .db()
        .query_row("SELECT id, step FROM outbound_calls WHERE to_number = ?1", [GASTON], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    let replay = format!("/voice/out/{id}/dial?s={}", step - 1);
    let fields = |sid: &str| {
        [("CallSid", sid), ("From", LINE), ("To", GASTON), ("DialCallStatus", "completed")]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
    };
    let own_sid = d.placed_to(GASTON)[0].sid.clone();
    let own = d.app.phone().post(&replay, &fields(&own_sid)).await.unwrap();
    assert!(own.body.contains("aide est faite"), "its own call's replay is answered again: {}", own.body);
    let forged = d.app.phone().post(&replay, &fields("CA0123456789abcdef0123456789abcdef")).await.unwrap();
    assert_eq!(forged.status, 200);
    assert!(!forged.body.contains("<Say") && forged.body.contains("<Hangup/>"), "{}", forged.body);

    let sue = d.app.add_agent("sue", "supervisor", PASSWORD);
    let (status, report) = d.api.get("/api/stats/daily?date=2026-11-23&format=json", &sue).await;
    assert_eq!(status, 200, "{report}");
    let day = &report["days"][0];
    let figures: Vec<i64> = [
        "outbound_calls_placed",
        "outbound_calls_answered",
        "offers_accepted_by_phone",
        "outbound_calls_put_through",
        "outbound_calls_failed",
    ]
    .iter()
    .map(|k| day[*k].as_i64().unwrap_or(-1))
    .collect();
    assert_eq!(
        figures,
        [3, 2, 1, 1, 0],
        "placed, answered (Gaston, Nina), accepted, put through, failed: {day}"
    );
}

#[tokio::test]
async fn a_mission_nobody_takes_goes_back_to_the_queue_and_a_volunteer_who_pressed_3_is_not_rung_for_a_week()
{
    let phones: solidaire::simulate::Phones = Arc::new(|to: &str| match to {
        NADIA => person(&[Keys("3")]),
        GASTON => Pickup::Busy,
        _ => Pickup::Machine,
    });
    let d = desk(phones).await;
    let nadia = d.add("Nadia", "0470 11 11 11", "4020").await;
    let gaston = d.add("Gaston", "0470 22 22 22", "4030").await;
    let nina = d.add("Nina", "0470 33 33 33", "4020").await;
    let mission = d.mission_by_phone(CALLER).await;

    eventually("the mission handed back", || d.mission_state(mission) == "cancelled").await;
    assert_eq!(d.provider.placed().len(), 3, "each rung once for the mission");
    assert_eq!(d.offer_answer(mission, nadia).as_deref(), Some("declined"));
    assert_eq!(d.offer_answer(mission, gaston).as_deref(), Some("busy"));
    assert_eq!(d.offer_answer(mission, nina).as_deref(), Some("machine"), "a voicemail is not an answer");
    let nadia_call = d.placed_to(NADIA).remove(0).record.unwrap();
    assert!(
        nadia_call.heard("nous ne vous appellerons pas pendant une semaine"),
        "{}",
        nadia_call.transcript()
    );
    let machine = d.placed_to(NINA).remove(0).record.unwrap();
    assert!(machine.heard.is_empty(), "a machine hears nothing of the mission: {}", machine.transcript());

    let (_, queue) = d.api.get("/api/requests", &d.anna).await;
    assert_eq!(queue["requests"][0]["id"], 1, "back in the agents' queue: {queue}");
    let (_, history) = d.api.get("/api/requests/1/history", &d.anna).await;
    let said = history.to_string();
    assert!(
        said.contains("nobody accepted by phone (3 volunteers called: 1 busy, 1 machine, 1 paused)"),
        "{said}"
    );

    // A week without calls for Nadia: the next mission rings the others only.
    let before = d.provider.placed().len();
    let second = d.mission_by_phone("+32470999888").await;
    eventually("the second mission's calls over", || {
        d.provider.placed().len() == before + 2 && d.live_calls() == 0
    })
    .await;
    assert!(d.offer_answer(second, nadia).is_none(), "Nadia paused her calls");
    assert_eq!(d.placed_to(NADIA).len(), 1);
    d.app.clock.advance(chrono::Duration::days(8));
    let third = d.mission_by_phone("+32470999777").await;
    eventually("Nadia rung again after the week", || d.placed_to(NADIA).len() == 2).await;
    assert!(d.offer_answer(third, nadia).is_some());
}

#[tokio::test]
async fn an_agent_clicks_call_is_rung_first_and_the_resident_only_after_the_agent_pressed_1() {
    const AGENT_PHONE: &str = "+32470555555";
    let answers = Arc::new(std::sync::Mutex::new(vec![
        Transfer::Answered, // the second click: the resident answers
        Transfer::NoAnswer, // the first: nobody
    ]));
    let phones: solidaire::simulate::Phones = Arc::new(move |to: &str| {
        assert_eq!(to, AGENT_PHONE, "only the agent's phone is rung by the provider");
        let resident = answers.lock().unwrap().pop().unwrap();
        let steps: &'static [Step] = match resident {
            Transfer::NoAnswer => &[Keys("1"), Step::Transfer(Transfer::NoAnswer)],
            _ => &[Keys("1"), Step::Transfer(Transfer::Answered)],
        };
        person(steps)
    });
    let d = desk(phones).await;
    d.app.errands_request(CALLER).await;
    let (status, body) = d.api.post("/api/requests/1/call", &d.anna, json!({})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("not_holder")), "{body}");
    let (status, _) = d.api.post("/api/requests/1/claim", &d.anna, json!({})).await;
    assert_eq!(status, 200);
    let (status, body) = d.api.post("/api/requests/1/call", &d.anna, json!({})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("wrong_state")), "no phone yet: {body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("no phone number"), "{body}");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_solidaire"))
        .env_clear()
        .arg("--database")
        .arg(&d.app.db)
        .args(["agents", "phone", "anna", "0470 55 55 55"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "anna is rung on +32 4** ** ** 55 for click-to-call\n");
    assert_eq!(d.app.count("SELECT count(*) FROM agents WHERE login = 'anna' AND phone = '+32470555555'"), 1);

    let (status, body) = d.api.post("/api/requests/1/call", &d.anna, json!({})).await;
    assert_eq!(status, 202, "{body}");
    eventually("the resident's leg over", || d.live_calls() == 0 && d.provider.placed().len() == 1).await;
    eventually("the agent's call lived", || d.provider.placed()[0].record.is_some()).await;
    let call = d.provider.placed().remove(0);
    assert_eq!(call.field("MachineDetection"), None, "the agent's 1 guards against voicemail");
    let record = call.record.unwrap();
    assert!(record.heard("demande numéro 1. Pour appeler la personne maintenant"), "{}", record.transcript());
    let dial = record.exchanges.iter().find(|e| e.body.contains("<Dial")).expect("put through");
    assert!(dial.body.contains(&format!("callerId=\"{LINE}\"")), "{}", dial.body);
    assert!(record.heard("La tentative est notée"), "{}", record.transcript());
    let (attempts, state): (i64, String) = d
        .app
        .db()
        .query_row("SELECT attempts, state FROM callback_requests WHERE id = 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!((attempts, state.as_str()), (1, "open"), "no answer is an attempt, with the back-off");

    // Due again later; claimed again, called again: answered, it waits for the outcome.
    d.app.clock.advance(chrono::Duration::hours(3));
    let (status, body) = d.api.post("/api/requests/1/claim", &d.anna, json!({})).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = d.api.post("/api/requests/1/call", &d.anna, json!({})).await;
    assert_eq!(status, 202);
    eventually("the second call over", || d.provider.placed().len() == 2 && d.live_calls() == 0).await;
    let (_, detail) = d.api.get("/api/requests/1", &d.anna).await;
    assert_eq!(
        detail["request"]["state"], "claimed",
        "an answered call waits for the agent's outcome: {detail}"
    );
    let (_, history) = d.api.get("/api/requests/1/history", &d.anna).await;
    let said = history.to_string();
    assert!(
        said.contains("click-to-call: no-answer") && said.contains("put through to the resident"),
        "{said}"
    );
}

#[tokio::test]
async fn a_busy_provider_is_tried_again_later_and_a_refusal_moves_the_mission_on_with_why() {
    let phones: solidaire::simulate::Phones = Arc::new(|_: &str| Pickup::NoAnswer);
    let d = desk(phones).await;
    d.provider.refuse_next(503, "try later");
    d.provider.refuse_next(
        400,
        r#"{"code": 21219, "message": "The number +32470111111 is unverified.", "status": 400}"#,
    );
    let nadia = d.add("Nadia", "0470 11 11 11", "4020").await;
    let mission = d.mission_by_phone(CALLER).await;

    eventually("the first attempt put back", || {
        d.app.count("SELECT count(*) FROM outbound_calls WHERE state = 'queued' AND attempts = 1") == 1
    })
    .await;
    let metrics = d.app.phone().get("/metrics").await.unwrap().body;
    assert!(
        (metric(&metrics, "solidaire_outbound_calls_total{result=\"retried\"}") - 1.0).abs() < 1e-9,
        "{metrics}"
    );
    d.app.clock.advance(chrono::Duration::seconds(31));
    eventually("the refusal recorded", || d.offer_answer(mission, nadia).is_some()).await;
    let answer = d.offer_answer(mission, nadia).unwrap();
    assert!(answer.contains("error 21219") && answer.contains("unverified"), "{answer}");
    eventually("the mission handed back", || d.mission_state(mission) == "cancelled").await;
    let (_, m) = d.api.get(&format!("/api/missions/{mission}"), &d.cora).await;
    assert!(m.to_string().contains("is unverified"), "the coordinator sees why: {m}");
    let metrics = d.app.phone().get("/metrics").await.unwrap().body;
    assert!(
        (metric(&metrics, "solidaire_outbound_calls_total{result=\"failed\"}") - 1.0).abs() < 1e-9,
        "{metrics}"
    );
    assert!((metric(&metrics, "solidaire_outbound_calls{state=\"failed\"}") - 1.0).abs() < 1e-9, "{metrics}");
}

#[tokio::test]
async fn a_call_decided_before_a_crash_is_placed_once_after_the_restart_and_one_being_sent_is_never_sent_twice()
 {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("solidaire.db");
    // The first run decides the calls, but the provider cannot be reached: they wait.
    let unreachable = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", unreachable.local_addr().unwrap());
    drop(unreachable);
    let first = spawn_app(Options {
        database: Some(db.clone()),
        token: Some(AUTH_TOKEN.to_owned()),
        calling: Some((ACCOUNT.to_owned(), dead)),
        ..Options::default()
    })
    .await;
    offer_nadia_a_mission(&first).await;
    eventually("the call tried once", || {
        first.count("SELECT coalesce(max(attempts), 0) FROM outbound_calls") == 1
    })
    .await;
    // A second decided call the service was handing over when it stopped.
    first
        .db()
        .execute(
            "INSERT INTO outbound_calls (line, purpose, request_id, to_number, state, attempts, next_try_at, created_at)
             VALUES ('liege', 'agent', 1, '+32470555555', 'sending', 1, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')",
            [],
        )
        .unwrap();
    let at = first.clock.now();
    drop(first);
    tokio::time::sleep(Duration::from_millis(200)).await;

    let provider = solidaire::simulate::Provider::start(ACCOUNT, AUTH_TOKEN).await.unwrap();
    let second = spawn_app(Options {
        at: at + chrono::Duration::minutes(5),
        database: Some(db),
        token: Some(AUTH_TOKEN.to_owned()),
        calling: Some((ACCOUNT.to_owned(), provider.url.clone())),
        ..Options::default()
    })
    .await;
    provider.attach(second.phone(), Arc::new(|_: &str| Pickup::NoAnswer));
    eventually("the waiting call placed", || provider.placed().len() == 1).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(provider.placed().len(), 1, "placed once, and the one being sent not again");
    assert_eq!(provider.placed()[0].field("To"), Some(NADIA));
    assert_eq!(second.count("SELECT count(*) FROM outbound_calls WHERE state = 'sending'"), 0);
}

#[tokio::test]
async fn placed_calls_are_what_twilios_published_api_accepts() {
    let prism = Prism::start();
    let app = spawn_app(Options {
        token: Some(AUTH_TOKEN.to_owned()),
        calling: Some((ACCOUNT.to_owned(), prism.url.clone())),
        ..Options::default()
    })
    .await;
    offer_nadia_a_mission(&app).await;
    eventually("the call placed", || {
        app.count("SELECT count(*) FROM outbound_calls WHERE state = 'placed'") == 1
    })
    .await;
    let sid: String = app.db().query_row("SELECT sid FROM outbound_calls", [], |r| r.get(0)).unwrap();
    assert!(sid.starts_with("CA"), "the spec's example call: {sid}");
    // Cancelling a call that still rings (a mission taken by someone else) fits the spec too.
    let api = solidaire::telephony::rest::Api::new(
        &prism.url,
        ACCOUNT,
        solidaire::settings::Secret::new(AUTH_TOKEN),
    )
    .unwrap();
    assert_eq!(api.cancel(&sid).await, Ok(()));
    // The same request without From, and without the credentials, is refused by the spec.
    let form = format!("To=%2B32470111111&Url={PUBLIC_URL}/voice/out/1/answer");
    let calls = format!("{}/2010-04-01/Accounts/{ACCOUNT}/Calls.json", prism.url);
    assert_eq!(post_form(&calls, &form, true).await, 422, "From is required");
    assert_eq!(
        post_form(&calls, &format!("{form}&From=%2B3280043436"), false).await,
        401,
        "credentials are required"
    );
    assert_eq!(post_form(&calls, &format!("{form}&From=%2B3280043436"), true).await, 201);
}

/// Prism serving Twilio's OpenAPI description (both installed by `scripts/test`).
struct Prism {
    url: String,
    child: std::process::Child,
}

impl Prism {
    fn start() -> Self {
        let tools = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/tools/npm/node_modules");
        let prism = tools.join(".bin/prism");
        let spec = tools.join("@twilio-alpha/mcp/twilio-oai/spec/json/twilio_api_v2010.json");
        assert!(
            prism.exists() && spec.exists(),
            "Prism and Twilio's OpenAPI description are missing: run scripts/test, which installs them"
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut child = std::process::Command::new(prism)
            .args(["mock", "--host", "127.0.0.1", "--port", &port.to_string()])
            .arg(spec)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("prism starts");
        let url = format!("http://127.0.0.1:{port}");
        for _ in 0..600 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Self { url, child };
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("Prism did not start within 60 s");
    }
}

impl Drop for Prism {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Posts `form` to `url` (with HTTP Basic when `auth`); returns the status.
async fn post_form(url: &str, form: &str, auth: bool) -> u16 {
    use base64::Engine as _;
    use http_body_util::Full;
    let client =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
    let mut request = hyper::Request::post(url).header("content-type", "application/x-www-form-urlencoded");
    if auth {
        let credentials = base64::engine::general_purpose::STANDARD.encode(format!("{ACCOUNT}:{AUTH_TOKEN}"));
        request = request.header("authorization", format!("Basic {credentials}"));
    }
    let request = request.body(Full::new(hyper::body::Bytes::from(form.to_owned()))).unwrap();
    client.request(request).await.unwrap().status().as_u16()
}

#[tokio::test]
async fn a_volunteer_calling_the_line_hears_their_missions_is_put_through_and_reports_them_and_a_resident_the_usual_menu()
 {
    const OTHER: &str = "+32470999888";
    let d = desk(Arc::new(|_: &str| Pickup::NoAnswer)).await;
    let gaston = d.add("Gaston", "0470 22 22 22", "4030").await;
    d.app.errands_request(CALLER).await;
    d.app.errands_request(OTHER).await;
    for request in [1, 2] {
        let (status, body) = d
            .api
            .post(&format!("/api/requests/{request}/assign"), &d.cora, json!({ "volunteer": gaston }))
            .await;
        assert_eq!(status, 200, "{body}");
    }

    // Put through to the first mission's resident, the line's number shown.
    let call = d.app.call_from(GASTON, &[Keys("1"), Step::Transfer(Transfer::Answered)]).await;
    assert!(call.heard("vous appelez Liège Solidaire en tant que bénévole"), "{}", call.transcript());
    assert!(call.heard("Mission 1 : Courses alimentaires, à 4020 Bressoux"), "{}", call.transcript());
    let dial = call.exchanges.iter().find(|e| e.body.contains("<Dial")).expect("put through");
    assert!(dial.body.contains(&format!("callerId=\"{LINE}\"")), "{}", dial.body);
    assert!(dial.body.contains(&format!("<Number>{CALLER}</Number>")), "{}", dial.body);
    assert!(call.heard("Quand l'aide est faite"), "{}", call.transcript());

    // The next mission reported done, then the first not done: nothing left in hand.
    let call = d.app.call_from(GASTON, &[Keys("4"), Keys("2"), Keys("3")]).await;
    assert!(call.heard("Mission 2 : Courses alimentaires"), "{}", call.transcript());
    assert_eq!(
        call.heard.iter().filter(|(_, t)| t == "Merci, c'est noté.").count(),
        2,
        "{}",
        call.transcript()
    );
    let states: Vec<String> = {
        let db = d.app.db();
        let mut stmt = db.prepare("SELECT state FROM missions ORDER BY id").unwrap();
        stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    };
    assert_eq!(states, ["not_done", "done"]);
    let (_, queue) = d.api.get("/api/requests", &d.anna).await;
    assert_eq!(queue["requests"][0]["id"], 1, "the mission not done is back in the queue: {queue}");
    assert_eq!(d.app.count("SELECT count(*) FROM callback_requests WHERE id = 2 AND state = 'done'"), 1);
    assert_eq!(
        d.app.count("SELECT count(*) FROM calls WHERE caller = '+32470222222' AND outcome = 'volunteer'"),
        2,
        "a volunteer's call is not counted as a resident's, nor abandoned"
    );

    // Without missions in hand, the volunteer, like a resident calling back, gets the usual menu.
    for from in [GASTON, CALLER] {
        let call = d.app.call_from(from, &[HangUp]).await;
        assert!(call.heard("Bienvenue"), "{}", call.transcript());
        assert!(!call.heard("bénévole"), "{}", call.transcript());
    }
    // With a mission in hand, 0 leads to the usual menu too.
    let (assigned, _) = d.api.post("/api/requests/1/assign", &d.cora, json!({ "volunteer": gaston })).await;
    assert_eq!(assigned, 200);
    let call = d.app.call_from(GASTON, &[Keys("0"), HangUp]).await;
    assert!(call.heard("bénévole") && call.heard("Bienvenue"), "{}", call.transcript());
}

#[tokio::test]
async fn the_console_calls_through_the_line_for_the_agent_and_offers_a_mission_by_phone_for_the_coordinator()
{
    const AGENT_PHONE: &str = "+32470555555";
    let phones: solidaire::simulate::Phones = Arc::new(|_: &str| Pickup::NoAnswer);
    let d = desk(phones).await;
    d.add("Nadia", "0470 11 11 11", "4020").await;
    d.app.errands_request(CALLER).await;
    d.app.errands_request("+32470999888").await;
    d.app.add_agent("sue", "supervisor", PASSWORD);
    let (cookie, csrf) = common::console::log_in(&d.app, "sue").await;
    let set = common::console::send(
        &d.app,
        "POST",
        "/console/agents/anna/phone",
        &cookie,
        &[],
        &format!("csrf={csrf}&phone=0470+55+55+55"),
    )
    .await;
    assert!(set.body.contains("anna's click-to-call rings +32 4** ** ** 55."), "{}", set.body);
    let refused = common::console::send(
        &d.app,
        "POST",
        "/console/agents",
        &cookie,
        &[],
        &format!("csrf={csrf}&login=bob&role=agent&password=correct+horse+battery&phone=12"),
    )
    .await;
    assert!(refused.body.contains("phone `12`"), "{}", refused.body);
    assert_eq!(d.app.count("SELECT count(*) FROM agents WHERE login = 'bob'"), 0, "nothing half-added");

    let (cookie, csrf) = common::console::log_in(&d.app, "anna").await;
    let claimed = console_post(&d.app, "/console/requests/1/claim", &cookie, &csrf).await;
    assert_eq!(claimed.status, 303, "{}", claimed.body);
    let page = common::console::send(&d.app, "GET", "/console/requests/1", &cookie, &[], "").await;
    assert!(page.body.contains("Call through the line"), "{}", page.body);
    let called = console_post(&d.app, "/console/requests/1/call", &cookie, &csrf).await;
    assert_eq!((called.status, called.location.as_str()), (303, "/console/requests/1"), "{}", called.body);
    eventually("the agent's phone rung", || d.placed_to(AGENT_PHONE).len() == 1).await;
    let again = common::console::send(&d.app, "GET", "/console/requests/1", &cookie, &[], "").await;
    assert!(
        again.body.contains("your phone did not answer (no-answer)")
            || again.body.contains("the line rings your phone"),
        "{}",
        again.body
    );

    let (cookie, csrf) = common::console::log_in(&d.app, "cora").await;
    let made = console_post(&d.app, "/console/requests/2/find-volunteer", &cookie, &csrf).await;
    assert_eq!(made.status, 303, "{}", made.body);
    let page = common::console::send(&d.app, "GET", "/console/missions", &cookie, &[], "").await;
    assert!(page.body.contains("Offer by phone"), "{}", page.body);
    let offered = console_post(&d.app, "/console/missions/1/offer", &cookie, &csrf).await;
    assert_eq!((offered.status, offered.location.as_str()), (303, "/console/missions"), "{}", offered.body);
    eventually("Nadia rung", || d.placed_to(NADIA).len() == 1).await;
}

/// `solidaire simulate --as volunteer`: the terminal is the phone the line rings, the
/// call placed through each provider's simulated API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulate_as_a_volunteer_takes_an_offer_call_in_the_terminal() {
    for provider in ["twilio", "telnyx", "jambonz"] {
        take_an_offer_in_the_terminal(provider).await;
    }
}

async fn take_an_offer_in_the_terminal(provider: &str) {
    use std::io::{BufRead as _, Write as _};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("solidaire.db");
    let cli = |args: &[&str], stdin: &str| {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_solidaire"))
            .env_clear()
            .arg("--database")
            .arg(&db)
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{args:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    cli(
        &["agents", "add", "cora", "--role", "coordinator", "--lines", "liege", "--phone", "0470 55 55 55"],
        "correct horse battery\n",
    );
    let phone: Option<String> = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("SELECT phone FROM agents WHERE login = 'cora'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(phone.as_deref(), Some("+32470555555"), "the account's click-to-call phone, in E.164");
    let token = cli(&["agents", "token", "cora"], "").trim().to_owned();
    // Free at any hour, said so: the command runs on the real clock, and a volunteer who
    // gives no availability is rung only within the line's calling hours (08:00-20:00).
    let any_hour = "mon 00:00-24:00; tue 00:00-24:00; wed 00:00-24:00; thu 00:00-24:00; \
                    fri 00:00-24:00; sat 00:00-24:00; sun 00:00-24:00";
    cli(
        &[
            "volunteers",
            "add",
            "Nadia",
            "--phone",
            NADIA,
            "--postcode",
            "4020",
            "--helps",
            "groceries",
            "--availability",
            any_hour,
        ],
        "",
    );

    let api = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_solidaire"))
        .env_clear()
        .arg("--database")
        .arg(&db)
        .arg("--flows")
        .arg(repo_flows())
        .env("SOLIDAIRE_SOUNDS", dir.path().join("sounds"))
        .args(["simulate", "--as", "volunteer", "--provider", provider, "--api", &api.to_string()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut keys = child.stdin.take().unwrap();
    let (lines, said) = std::sync::mpsc::channel::<String>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).split(b'\n') {
            let _ = lines.send(String::from_utf8_lossy(&line.unwrap()).into_owned());
        }
    });
    let wait_for = |needle: &str| -> String {
        let mut seen = String::new();
        while let Ok(line) = said.recv_timeout(Duration::from_secs(20)) {
            seen.push_str(&line);
            seen.push('\n');
            if line.contains(needle) {
                return seen;
            }
        }
        panic!("`{needle}` never printed:\n{seen}");
    };
    let started = wait_for("Service at ");
    assert!(started.contains(&format!("placing its calls through {provider}'s API")), "{started}");
    let server = started.split("Service at ").nth(1).unwrap().split_whitespace().next().unwrap().to_owned();

    // A resident's errand, made a mission offered by phone, through the service's API.
    let resident = solidaire::simulate::Softphone::new(&server, Some(&server), Some("simulated-token"));
    let mut errand = Script::new(&errands("1", "1", None));
    resident.call(CALLER, LINE, &mut errand).await.unwrap();
    let api = Api::at(&server);
    let (status, body) = api.post("/api/requests/1/find-volunteer", &token, json!({})).await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = api.post("/api/missions/1/offer", &token, json!({})).await;
    assert_eq!(status, 200, "{body}");

    let rung = wait_for("The line is ringing you");
    assert!(rung.contains("+32 4** ** ** 11"), "{rung}");
    keys.write_all(b"a\n").unwrap();
    let offer = wait_for("Pour accepter, appuyez sur 1");
    assert!(offer.contains("Une personne à 4020 Bressoux"), "{offer}");
    keys.write_all(b"1\n").unwrap();
    wait_for("la mission est à vous");
    keys.write_all(b"h\n").unwrap();
    let mut accepted = false;
    for _ in 0..100 {
        let state: String = rusqlite::Connection::open(&db)
            .unwrap()
            .query_row("SELECT state FROM missions WHERE id = 1", [], |r| r.get(0))
            .unwrap();
        if state == "accepted" {
            accepted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(accepted, "{provider}: the offer accepted from the terminal");
    // The call id is the provider's own shape (Telnyx's learned from its first webhook).
    let call_id: String = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("SELECT sid FROM outbound_calls", [], |r| r.get(0))
        .unwrap();
    let shape = match provider {
        "twilio" => call_id.starts_with("CA"),
        "telnyx" => call_id.starts_with("v3:"),
        _ => call_id.split('-').count() == 5,
    };
    assert!(shape, "{provider}: {call_id}");
}

#[tokio::test]
async fn a_volunteer_is_never_rung_outside_their_hours_nor_when_named() {
    let d = desk(Arc::new(|_: &str| Pickup::NoAnswer)).await;
    let (status, body) = d
        .api
        .post(
            "/api/volunteers",
            &d.cora,
            json!({ "name": "Sam", "phone": NINA, "postcode": "4020", "helps": ["groceries"], "languages": ["fr"],
                    "availability": "sat 10:00-12:00" }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let saturday_only = body["volunteer"]["id"].as_i64().unwrap();
    d.add("Nadia", "0470 11 11 11", "4020").await;
    d.app.errands_request(CALLER).await;
    let (_, body) = d.api.post("/api/requests/1/find-volunteer", &d.cora, json!({})).await;
    let mission = body["mission"]["id"].as_i64().unwrap();

    let (status, body) = d
        .api
        .post(&format!("/api/missions/{mission}/offer"), &d.cora, json!({ "volunteers": [saturday_only] }))
        .await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("wrong_state")), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("not free at that time"), "{body}");

    let (status, _) = d.api.post(&format!("/api/missions/{mission}/offer"), &d.cora, json!({})).await;
    assert_eq!(status, 200);
    eventually("the mission handed back", || d.mission_state(mission) == "cancelled").await;
    assert_eq!(d.placed_to(NADIA).len(), 1);
    assert!(d.placed_to(NINA).is_empty(), "it is Monday: the Saturday volunteer is not rung");
}

/// Posts a console form that carries only its CSRF token.
async fn console_post(app: &TestApp, path: &str, cookie: &str, csrf: &str) -> common::console::Reply {
    common::console::send(app, "POST", path, cookie, &[], &format!("csrf={csrf}")).await
}

/// Nadia on the roster, a resident's groceries request made a mission, and the line asked
/// to offer it by phone.
async fn offer_nadia_a_mission(app: &TestApp) {
    let cora = app.add_agent("cora", "coordinator", PASSWORD);
    let api = Api::new(app);
    let nadia = json!({ "name": "Nadia", "phone": NADIA, "postcode": "4020", "helps": ["groceries"], "languages": ["fr"] });
    let (status, body) = api.post("/api/volunteers", &cora, nadia).await;
    assert_eq!(status, 201, "{body}");
    app.errands_request(CALLER).await;
    let (status, body) = api.post("/api/requests/1/find-volunteer", &cora, json!({})).await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = api.post("/api/missions/1/offer", &cora, json!({})).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn at_night_the_line_waits_for_its_calling_hours_before_ringing_a_volunteer_free_at_any_hour() {
    let (app, provider) = calling_app(
        Options { at: brussels(2026, 11, 23, 22, 0), ..Options::default() },
        Arc::new(|_: &str| Pickup::After(Duration::from_secs(3), Box::new(Pickup::NoAnswer))),
    )
    .await;
    offer_nadia_a_mission(&app).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(provider.placed().is_empty(), "nobody is rung at 22:00");
    let state: String =
        app.db().query_row("SELECT state FROM missions WHERE id = 1", [], |r| r.get(0)).unwrap();
    assert_eq!(state, "proposed", "the mission waits for the morning, it is not handed back");
    app.clock.advance(chrono::Duration::hours(10)); // Tuesday 08:00
    eventually("Nadia rung in the morning", || provider.placed().len() == 1).await;

    // While it rings, a status naming another call changes nothing; its own ends it.
    eventually("the call's id kept", || {
        app.count("SELECT count(*) FROM outbound_calls WHERE sid IS NOT NULL") == 1
    })
    .await;
    let status = |sid: &str| {
        [("CallSid", sid), ("From", LINE), ("To", NADIA), ("CallStatus", "no-answer")]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
    };
    let other =
        app.phone().post("/voice/out/1/status", &status("CA0123456789abcdef0123456789abcdef")).await.unwrap();
    assert_eq!(other.status, 204);
    assert_eq!(app.count("SELECT count(*) FROM outbound_calls WHERE state = 'placed'"), 1, "still ringing");
    eventually("its own status ends it", || {
        app.count("SELECT count(*) FROM outbound_calls WHERE state = 'ended'") == 1
    })
    .await;
}

#[tokio::test]
async fn once_a_mission_is_taken_the_phones_still_ringing_for_it_stop_and_those_waiting_to_be_placed_are_not()
{
    let phones: solidaire::simulate::Phones = Arc::new(|to: &str| match to {
        GASTON => person(&[Keys("1"), HangUp]),
        _ => Pickup::After(Duration::from_millis(2500), Box::new(person(&[Keys("1")]))),
    });
    let d = desk(phones).await;
    d.add("Gaston", "0470 22 22 22", "4030").await;
    let nina = d.add("Nina", "0470 33 33 33", "4020").await;
    let nadia = d.add("Nadia", "0470 11 11 11", "4020").await;
    // Nadia's call is put back by a busy provider: it waits in the outbox.
    d.provider.refuse_next_to(NADIA, 503, "try later");
    let mission = d.mission_by_phone(CALLER).await;
    eventually("the mission taken", || d.mission_state(mission) == "accepted").await;
    eventually("Nina's call over", || {
        d.app
            .count("SELECT count(*) FROM outbound_calls WHERE to_number = '+32470333333' AND state = 'ended'")
            == 1
    })
    .await;
    let rung = d.placed_to(NINA).remove(0);
    assert!(rung.cancelled, "the provider was asked to stop ringing Nina");
    assert!(rung.record.is_none(), "she never answered to hear it was taken");
    assert_eq!(d.offer_answer(mission, nina).as_deref(), Some("taken"));
    let outcome: String = d
        .app
        .db()
        .query_row("SELECT outcome FROM outbound_calls WHERE to_number = ?1", [NINA], |r| r.get(0))
        .unwrap();
    assert_eq!(outcome, "canceled");
    d.app.clock.advance(chrono::Duration::seconds(31));
    eventually("Nadia's waiting call closed", || {
        d.app.count(
            "SELECT count(*) FROM outbound_calls WHERE to_number = '+32470111111' AND outcome = 'taken'",
        ) == 1
    })
    .await;
    assert!(d.placed_to(NADIA).is_empty(), "never rung: the mission was taken while her call waited");
    assert_eq!(d.offer_answer(mission, nadia).as_deref(), Some("taken"));
}

#[tokio::test]
async fn volunteers_named_by_a_coordinator_are_rung_and_then_the_mission_goes_back_to_the_coordinators() {
    let d = desk(Arc::new(|_: &str| Pickup::NoAnswer)).await;
    let nadia = d.add("Nadia", "0470 11 11 11", "4020").await;
    d.add("Gaston", "0470 22 22 22", "4030").await;
    d.app.errands_request(CALLER).await;
    let (_, body) = d.api.post("/api/requests/1/find-volunteer", &d.cora, json!({})).await;
    let mission = body["mission"]["id"].as_i64().unwrap();
    let (status, body) = d
        .api
        .post(&format!("/api/missions/{mission}/offer"), &d.cora, json!({ "volunteers": [nadia] }))
        .await;
    assert_eq!(status, 200, "{body}");
    eventually("Nadia rung and her call over", || d.placed_to(NADIA).len() == 1 && d.live_calls() == 0).await;
    eventually("the mission back with the coordinators", || d.mission_state(mission) == "proposed").await;
    assert!(d.placed_to(GASTON).is_empty(), "only the one named is rung");
    let (_, queue) = d.api.get("/api/requests", &d.anna).await;
    assert_eq!(queue["requests"], json!([]), "still a mission, not back in the agents' queue: {queue}");
    let (_, m) = d.api.get(&format!("/api/missions/{mission}"), &d.cora).await;
    assert!(m.to_string().contains("nobody accepted"), "{m}");
}

#[tokio::test]
async fn without_calling_out_set_up_an_offer_by_phone_and_a_click_to_call_say_which_setting_is_missing() {
    let app = TestApp::open().await;
    let cora = app.add_agent("cora", "coordinator", PASSWORD);
    let anna = app.add_agent("anna", "agent", PASSWORD);
    let api = Api::new(&app);
    app.errands_request(CALLER).await;
    let (_, body) = api.post("/api/requests/1/find-volunteer", &cora, json!({})).await;
    let mission = body["mission"]["id"].as_i64().unwrap();
    let (status, body) = api.post(&format!("/api/missions/{mission}/offer"), &cora, json!({})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("calling_off")), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("SOLIDAIRE_TWILIO_ACCOUNT_SID"), "{body}");
    app.errands_request("+32470999888").await;
    assert_eq!(api.post("/api/requests/2/claim", &anna, json!({})).await.0, 200);
    let (status, body) = api.post("/api/requests/2/call", &anna, json!({})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("calling_off")), "{body}");
    assert_eq!(app.count("SELECT count(*) FROM outbound_calls"), 0);
}

/// A volunteer calling a line answered through jambonz gets their missions' menu in
/// jambonz's dialect: put through with the line's number shown, and `0` back to the
/// usual menu on jambonz's routes.
#[tokio::test]
async fn a_volunteers_call_through_jambonz_is_answered_in_jambonzs_dialect() {
    let d = desk(Arc::new(|_: &str| Pickup::NoAnswer)).await;
    let gaston = d.add("Gaston", "0470 22 22 22", "4030").await;
    d.app.errands_request(CALLER).await;
    let (status, body) = d.api.post("/api/requests/1/assign", &d.cora, json!({ "volunteer": gaston })).await;
    assert_eq!(status, 200, "{body}");
    let jambonz = solidaire::simulate::Signer::Unsigned(solidaire::telephony::Dialect::Jambonz);
    let call = d
        .app
        .call_through(jambonz.clone(), LINE, GASTON, &[Keys("1"), Step::Transfer(Transfer::Answered)])
        .await;
    assert!(call.heard("Mission 1 : Courses alimentaires, à 4020 Bressoux"), "{}", call.transcript());
    let dial = call.exchanges.iter().find(|e| e.body.contains(r#""verb":"dial""#)).expect("put through");
    let verbs: Vec<serde_json::Value> = serde_json::from_str(&dial.body).unwrap();
    let verb = verbs.iter().find(|v| v["verb"] == "dial").unwrap();
    assert_eq!((verb["callerId"].as_str(), verb["target"][0]["number"].as_str()), (Some(LINE), Some(CALLER)));
    assert!(verb["actionHook"].as_str().unwrap().contains("/voice/jambonz/out/"), "{verb}");

    let call = d.app.call_through(jambonz, LINE, GASTON, &[Keys("0"), HangUp]).await;
    assert!(call.heard("bénévole") && call.heard("Bienvenue"), "{}", call.transcript());
    assert!(
        call.exchanges.iter().any(|e| e.url.ends_with("/voice/jambonz/incoming")),
        "back to jambonz's menu"
    );
}
