//! The providers' dialects against their own code: Telnyx's SDK verifies Ed25519
//! webhooks exactly as the service does, jambonz's SDK checks the signatures the service
//! checks, and every jambonz answer of every node of the bundled flows validates against
//! `@jambonz/schema` (all installed by `scripts/test` from npm). Whole calls go through
//! each dialect with the simulated provider; bad input gets a 4xx, never a 5xx.

mod common;

use common::console::send_body;
use common::*;
use serde_json::{Value, json};
use solidaire::simulate::{Signer, Transfer};
use solidaire::telephony::{Dialect, jambonz, telnyx};

const JAMBONZ_SECRET: &str = "wh_secret_of_the_jambonz_application";
const SEED: [u8; 32] = [42; 32];

fn now() -> i64 {
    i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs())
        .unwrap()
}

async fn post(app: &TestApp, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, String) {
    let response = send_body(app, "POST", path, "", headers, body.as_bytes().to_vec()).await;
    (response.status, response.body)
}

fn telnyx_form(sid: &str) -> String {
    format!(
        "AccountSid=4e3b0c5a-9f3e-4d61-8c84-3f2b7d1a6e90&CallSid=v3%3A{sid}&CallSidLegacy=v2%3A{sid}\
         &CallStatus=ringing&ConnectionId=1494404757140276705&Direction=inbound&From=%2B32470123456\
         &To=%2B3280043436"
    )
}

#[tokio::test]
async fn telnyx_webhooks_are_accepted_exactly_when_telnyxs_sdk_verifies_them() {
    // A key pair made by Node's crypto; each case signed there and verified by the SDK.
    let script = r"
        (async () => {
            const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
            const crypto = require('crypto');
            const { TelnyxWebhook } = require(process.env.NODE_PATH + '/telnyx/lib/webhooks.js');
            const pair = crypto.generateKeyPairSync('ed25519');
            const other = crypto.generateKeyPairSync('ed25519');
            const raw = (k) => Buffer.from(k.export({ format: 'jwk' }).x, 'base64url').toString('base64');
            const sign = (key, t, body) => crypto.sign(null, Buffer.from(`${t}|${body}`), key).toString('base64');
            const flip = (sig) => { const b = Buffer.from(sig, 'base64'); b[10] ^= 1; return b.toString('base64'); };
            const now = Math.floor(Date.now() / 1000);
            const body = input.body;
            const cases = [
                { name: 'signed now', t: now, body, sig: sign(pair.privateKey, now, body) },
                { name: 'signed 200 s ago', t: now - 200, body, sig: sign(pair.privateKey, now - 200, body) },
                { name: 'stale', t: now - 400, body, sig: sign(pair.privateKey, now - 400, body) },
                { name: 'from the future', t: now + 400, body, sig: sign(pair.privateKey, now + 400, body) },
                { name: 'another key', t: now, body, sig: sign(other.privateKey, now, body) },
                { name: 'a flipped byte', t: now, body, sig: flip(sign(pair.privateKey, now, body)) },
                { name: 'a changed body', t: now, body: body.replace('%2B32470', '%2B32471'), sig: sign(pair.privateKey, now, body) },
                { name: 'another timestamp', t: now - 1, body, sig: sign(pair.privateKey, now, body) },
            ];
            const webhook = new TelnyxWebhook(raw(pair.publicKey));
            for (const c of cases) {
                try {
                    await webhook.verify(c.body, { 'telnyx-signature-ed25519': c.sig, 'telnyx-timestamp': String(c.t) });
                    c.sdk = true;
                } catch (e) {
                    c.sdk = false;
                }
            }
            console.log(JSON.stringify({ public: raw(pair.publicKey), cases }));
        })();
    ";
    let said = node(script, &json!({ "body": telnyx_form("2f1c9e0a-telnyx-call") }));
    let app = spawn_app(Options {
        telnyx_key: Some(said["public"].as_str().unwrap().to_owned()),
        development: false,
        ..Options::default()
    })
    .await;
    let mut verdicts = Vec::new();
    for case in said["cases"].as_array().unwrap() {
        let t = case["t"].to_string();
        let headers = [
            ("content-type", "application/x-www-form-urlencoded"),
            ("telnyx-signature-ed25519", case["sig"].as_str().unwrap()),
            ("telnyx-timestamp", t.as_str()),
        ];
        let (status, body) =
            post(&app, "/voice/telnyx/incoming", &headers, case["body"].as_str().unwrap()).await;
        let sdk = case["sdk"].as_bool().unwrap();
        assert_eq!(status == 200, sdk, "{}: the service answered {status}, the SDK said {sdk}", case["name"]);
        if sdk {
            assert!(body.starts_with("<?xml") && body.contains("/voice/telnyx/gather?s=1"), "TeXML: {body}");
        }
        verdicts.push((case["name"].as_str().unwrap().to_owned(), sdk));
    }
    let accepted: Vec<&str> = verdicts.iter().filter(|(_, ok)| *ok).map(|(n, _)| n.as_str()).collect();
    assert_eq!(accepted, ["signed now", "signed 200 s ago"], "the SDK's own verdicts");
    // Signed by the service's simulated provider (tests' own signer): accepted too.
    let body = telnyx_form("simulated");
    let (sig, t) = telnyx::sign(&SEED, now(), body.as_bytes());
    let app = spawn_app(Options {
        telnyx_key: Some(telnyx::public_key(&SEED)),
        development: false,
        ..Options::default()
    })
    .await;
    let headers = [
        ("content-type", "application/x-www-form-urlencoded"),
        (telnyx::SIGNATURE_HEADER, &sig),
        (telnyx::TIMESTAMP_HEADER, &t),
    ];
    assert_eq!(post(&app, "/voice/telnyx/incoming", &headers, &body).await.0, 200);
    let unsigned = [("content-type", "application/x-www-form-urlencoded")];
    assert_eq!(post(&app, "/voice/telnyx/incoming", &unsigned, &body).await.0, 403);
}

fn jambonz_body(sid: &str) -> String {
    json!({
        "call_sid": sid, "account_sid": "9351f46a-678c-43f5-b8a6-d4eb58d131af",
        "application_sid": "0e2d5a8d-8d0b-4f5e-9a74-7f0b6c1d2e3f", "direction": "inbound",
        "from": "+32470123456", "to": "+3280043436", "call_status": "trying",
        "call_id": "a1b2c3d4@10.0.0.1", "trace_id": "f00d",
    })
    .to_string()
}

#[tokio::test]
async fn jambonz_webhooks_are_accepted_exactly_when_jambonzs_sdk_checks_them() {
    let body = jambonz_body("7d3e4b0e-9f6a-4b1c-8e2d-5a6b7c8d9e0f");
    let t = now();
    let ours = jambonz::sign(JAMBONZ_SECRET, t, body.as_bytes());
    let v1 = ours.split_once(',').unwrap().1;
    let cases = [
        ("signed now", ours.clone(), body.clone()),
        ("an old signature beside the right one", format!("t={t},v1=00ff00ff,{v1}"), body.clone()),
        ("another secret", jambonz::sign("not our secret", t, body.as_bytes()), body.clone()),
        ("a changed body", ours.clone(), body.replace("+32470", "+32471")),
        ("stale", jambonz::sign(JAMBONZ_SECRET, t - 400, body.as_bytes()), body.clone()),
        ("no signature in it", format!("t={t}"), body.clone()),
    ];
    let script = r"
        const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
        const { WebhookResponse } = require('@jambonz/node-client');
        const check = WebhookResponse.verifyJambonzSignature(input.secret);
        console.log(JSON.stringify(input.cases.map(([name, header, body]) => {
            const req = { url: '/voice/jambonz/incoming', body, get: (h) => h === 'Jambonz-Signature' ? header : undefined };
            try { let passed = false; check(req, {}, () => { passed = true; }); return passed; }
            catch (e) { return false; }
        })));
    ";
    let sdk = node(script, &json!({ "secret": JAMBONZ_SECRET, "cases": cases }));
    let app = spawn_app(Options {
        jambonz_secret: Some(JAMBONZ_SECRET.to_owned()),
        development: false,
        ..Options::default()
    })
    .await;
    for ((name, header, body), sdk) in cases.iter().zip(sdk.as_array().unwrap()) {
        let headers = [("content-type", "application/json"), ("jambonz-signature", header.as_str())];
        let (status, answer) = post(&app, "/voice/jambonz/incoming", &headers, body).await;
        assert_eq!(
            status == 200,
            sdk.as_bool().unwrap(),
            "{name}: the service answered {status}, the SDK said {sdk}"
        );
        if status == 200 {
            let verbs: Vec<Value> = serde_json::from_str(&answer).expect("a JSON array of verbs");
            assert!(verbs.iter().any(|v| v["verb"] == "gather"), "{answer}");
        }
    }
    assert_eq!(sdk, json!([true, true, false, false, false, false]), "the SDK's own verdicts");
    // The SDK only refuses old timestamps; the service refuses those too far ahead as
    // well (the 300 s tolerance is either way).
    let ahead = jambonz::sign(JAMBONZ_SECRET, t + 400, body.as_bytes());
    let headers = [("content-type", "application/json"), ("jambonz-signature", ahead.as_str())];
    assert_eq!(post(&app, "/voice/jambonz/incoming", &headers, &body).await.0, 403);
}

/// Every answer the engine can give at every node of every bundled flow, in every
/// language, to every kind of event, rendered in `dialect`, with recordings for the
/// prompts that have them.
fn every_answer(dialect: Dialect) -> Vec<String> {
    use solidaire::flow::engine::{self, CallState, DialStatus, Event};
    let flows = solidaire::flow::load::load_dir(&repo_flows()).expect("the bundled flows load");
    let sounds =
        solidaire::sounds::Library::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sounds"))
            .expect("the recordings load");
    let at = open_hours();
    let base = "https://line.example.org";
    let mut events: Vec<Event> =
        ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "#", "4020", "13140", "0470123456#"]
            .iter()
            .map(|k| Event::Digits((*k).to_owned()))
            .collect();
    events.push(Event::Silence);
    events.extend(
        [DialStatus::Completed, DialStatus::Busy, DialStatus::NoAnswer, DialStatus::Failed].map(Event::Dial),
    );
    events.push(Event::Recorded { url: "https://recordings.example.invalid/x.wav".to_owned(), seconds: 8 });
    let mut answers = std::collections::BTreeSet::new();
    for flow in flows.iter() {
        let voices = solidaire::telephony::twiml::Voices {
            voice: &|lang| flow.voice(lang),
            recording: &|lang, prompt| sounds.url(base, solidaire::sounds::Slot::new(&flow.id, lang, prompt)),
        };
        let links =
            |step| solidaire::telephony::twiml::Links { base, step, placed: None, prefix: dialect.prefix() };
        let first = engine::start(flow, None, at);
        answers.insert(dialect.render(&first.actions, voices, links(first.state.step)));
        for node in flow.file.nodes.keys() {
            for language in &flow.languages {
                let state = CallState {
                    step: 3,
                    node: node.get_ref().clone(),
                    language: Some(language.clone()),
                    ..CallState::default()
                };
                let turns = std::iter::once(engine::repeat(flow, state.clone(), at))
                    .chain(events.iter().map(|e| engine::advance(flow, state.clone(), e, at)));
                for turn in turns {
                    answers.insert(dialect.render(&turn.actions, voices, links(turn.state.step)));
                }
            }
        }
        answers.insert(dialect.announce(
            &[solidaire::flow::engine::Speech {
                text: "Désolé.".to_owned(),
                language: flow.default_language().to_owned(),
                prompt: Some("apology".to_owned()),
            }],
            voices,
            flow.fallback.as_ref(),
        ));
    }
    // A voice message (a callback request's later phase) and the volunteers' desk going
    // back to the line's menu.
    let voices = solidaire::telephony::twiml::Voices {
        voice: &|_| flows.iter().next().unwrap().voice("fr"),
        recording: &|_, _| None,
    };
    let links = solidaire::telephony::twiml::Links { base, step: 7, placed: None, prefix: dialect.prefix() };
    answers.insert(dialect.render(&[engine::Action::Record { max_seconds: 60 }], voices, links));
    let desk = solidaire::telephony::twiml::Links { placed: Some(4), ..links };
    let back = engine::Action::Redirect(format!("{base}{}/incoming", dialect.prefix()));
    answers.insert(dialect.render(&[back], voices, desk));
    answers.insert(dialect.hang_up());
    answers.into_iter().collect()
}

#[test]
fn every_jambonz_answer_of_every_node_of_the_bundled_flows_validates_against_jambonzs_schema() {
    let answers = every_answer(Dialect::Jambonz);
    let script = r"
        const answers = JSON.parse(require('fs').readFileSync(0, 'utf8'));
        const { validate, validateApp } = require('@jambonz/schema');
        const quiet = { info() {}, debug() {}, error() {} };
        const refused = [];
        for (const text of answers) {
            const app = JSON.parse(text);
            const whole = validateApp(app);
            let each = null;
            try { validate(quiet, app); } catch (e) { each = e.message; }
            if (!whole.valid || each) refused.push({ app, errors: whole.errors.slice(0, 3), each });
        }
        console.log(JSON.stringify(refused));
    ";
    let refused = node(script, &json!(answers));
    assert_eq!(refused, json!([]), "answers jambonz's schema refuses");
    // Not a vacuous check: the answers use every verb the service speaks.
    let verbs: std::collections::BTreeSet<String> = answers
        .iter()
        .flat_map(|a| serde_json::from_str::<Vec<Value>>(a).unwrap())
        .map(|v| v["verb"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(verbs, ["dial", "gather", "hangup", "play", "redirect", "say"].map(str::to_owned).into());
    assert!(answers.len() > 200, "{} distinct answers over five lines", answers.len());
    let nested: Vec<&String> = answers.iter().filter(|a| a.contains("\"play\":{\"url\":[")).collect();
    assert!(!nested.is_empty(), "gathers play several recordings");
    // The same turns in TwiML and TeXML read as the simulated provider reads them.
    for dialect in [Dialect::Twilio, Dialect::Telnyx] {
        for answer in every_answer(dialect) {
            solidaire::simulate::parse(&answer).unwrap_or_else(|e| panic!("{e}: {answer}"));
            assert!(!answer.contains("/voice/jambonz/"), "{answer}");
        }
    }
}

/// Whole calls in each dialect: the errands path to a registered request; silence, a
/// wrong key and a busy transfer ending in a callback offer.
#[tokio::test]
async fn whole_calls_go_through_each_providers_dialect() {
    let app = spawn_app(Options {
        token: Some(AUTH_TOKEN.to_owned()),
        signalwire_key: Some("PSK_signing_key".to_owned()),
        telnyx_key: Some(telnyx::public_key(&SEED)),
        jambonz_secret: Some(JAMBONZ_SECRET.to_owned()),
        development: false,
        ..Options::default()
    })
    .await;
    let signers = [
        (Signer::Twilio(AUTH_TOKEN.to_owned()), "twilio", "/voice/gather"),
        (Signer::SignalWire("PSK_signing_key".to_owned()), "twilio", "/voice/gather"),
        (Signer::Telnyx(SEED), "telnyx", "/voice/telnyx/gather"),
        (Signer::Jambonz(JAMBONZ_SECRET.to_owned()), "jambonz", "/voice/jambonz/gather"),
    ];
    for (n, (signer, dialect, gather)) in signers.into_iter().enumerate() {
        let caller = format!("+3247012345{n}");
        let call = app.call_through(signer.clone(), LINE, &caller, &errands("1", "2", None)).await;
        assert!(call.heard("Code postal 4, 0, 2, 0, c'est noté."), "{dialect}: {}", call.transcript());
        assert!(call.heard("Une personne vous rappellera aujourd'hui."), "{dialect}: {}", call.transcript());
        assert!(call.exchanges.iter().all(|e| e.status == 200 || e.status == 204), "{dialect}");
        assert!(call.exchanges[1].url.contains(gather), "{dialect}: {}", call.exchanges[1].url);
        let stored: (String, String) = app.db().query_row(
            "SELECT c.dialect, r.service FROM calls c JOIN callback_requests r ON r.phone = c.caller WHERE c.sid = ?1",
            [&call.sid],
            |r| Ok((r.get(0)?, r.get(1)?)),
        ).unwrap();
        assert_eq!(stored, (dialect.to_owned(), "errands".to_owned()));
        let outcome: (Option<String>, String) = app
            .db()
            .query_row("SELECT outcome, status FROM calls WHERE sid = ?1", [&call.sid], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!(
            outcome,
            (Some("callback".to_owned()), "completed".to_owned()),
            "{dialect}: the status callback"
        );

        let caller = format!("+3247098765{n}");
        let call = app
            .call_through(
                signer,
                LINE,
                &caller,
                &[
                    Silence,
                    Keys("1"),
                    Keys("9"),
                    Keys("2"),
                    Step::Transfer(Transfer::Busy),
                    Keys("1"),
                    Keys("1"),
                    Keys("2"),
                ],
            )
            .await;
        for said in [
            "Nous n'avons rien entendu.",
            "Cette touche ne fait pas partie du menu.",
            "Personne n'est disponible pour le moment.",
            "Votre demande est enregistrée sous le numéro",
        ] {
            assert!(
                call.heard.iter().any(|(_, t)| t.starts_with(said)),
                "{dialect}: {said}\n{}",
                call.transcript()
            );
        }
    }
    assert_eq!(app.count("SELECT count(*) FROM callback_requests"), 8);
}

/// Bad input: the wrong content type either way, another provider's signature, a body
/// that parses but names no call, a provider whose secret is unset: 4xx, never a 5xx.
#[tokio::test]
async fn bad_webhooks_get_a_clear_refusal_and_never_a_server_error() {
    let form = [("content-type", "application/x-www-form-urlencoded")];
    let json_type = [("content-type", "application/json")];
    let app = spawn_app(Options { development: true, ..Options::default() }).await;
    let body = jambonz_body("9d1c2b3a-0000-4000-8000-000000000001");
    let (status, text) = post(&app, "/voice/jambonz/incoming", &form, &body).await;
    assert_eq!(
        (status, text.as_str()),
        (400, "jambonz webhooks are application/json, not application/x-www-form-urlencoded\n")
    );
    let (status, text) = post(&app, "/voice/incoming", &json_type, &body).await;
    assert_eq!(status, 400, "{text}");
    assert_eq!(post(&app, "/voice/telnyx/incoming", &json_type, &body).await.0, 400);
    for (path, headers, body) in [
        ("/voice/jambonz/incoming", &json_type, r#"{"from":"+32470123456","to":"+3280043436"}"#),
        ("/voice/jambonz/incoming", &json_type, r#"{"call_sid":"bad sid with spaces"}"#),
        ("/voice/jambonz/incoming", &json_type, "[1,2]"),
        ("/voice/jambonz/incoming", &json_type, "{not json"),
        ("/voice/jambonz/status", &json_type, r#"{"call_sid":"abc-1"}"#),
        ("/voice/telnyx/incoming", &form, "From=%2B32470123456&To=%2B3280043436"),
        ("/voice/telnyx/status", &form, "CallSid=v3%3Aabc"),
    ] {
        let (status, text) = post(&app, path, headers, body).await;
        assert_eq!(status, 400, "{path} {body}: {text}");
    }
    assert!(app.count("SELECT count(*) FROM calls") == 0, "nothing stored");

    // Outside development, a provider whose secret is unset has every request refused,
    // and a request signed for another provider is refused where a secret is set.
    let app =
        spawn_app(Options { token: Some(AUTH_TOKEN.to_owned()), development: false, ..Options::default() })
            .await;
    let body = jambonz_body("9d1c2b3a-0000-4000-8000-000000000002");
    let signed = jambonz::sign(JAMBONZ_SECRET, now(), body.as_bytes());
    let headers = [("content-type", "application/json"), ("jambonz-signature", signed.as_str())];
    let (status, text) = post(&app, "/voice/jambonz/incoming", &headers, &body).await;
    assert_eq!(
        (status, text.as_str()),
        (403, "jambonz webhooks are refused: the provider's secret is not set\n")
    );
    let form_body = telnyx_form("other");
    let (status, _) = post(&app, "/voice/telnyx/incoming", &form, &form_body).await;
    assert_eq!(status, 403);
    let twilio_signed = solidaire::telephony::signature::compute(
        AUTH_TOKEN,
        &format!("{PUBLIC_URL}/voice/incoming"),
        &form_urlencoded::parse(form_body.as_bytes()).into_owned().collect::<Vec<_>>(),
    );
    let (sig, t) = telnyx::sign(&SEED, now(), form_body.as_bytes());
    let telnyx_headers = [
        ("content-type", "application/x-www-form-urlencoded"),
        (telnyx::SIGNATURE_HEADER, sig.as_str()),
        (telnyx::TIMESTAMP_HEADER, t.as_str()),
    ];
    assert_eq!(
        post(&app, "/voice/incoming", &telnyx_headers, &form_body).await.0,
        403,
        "Telnyx's signature on Twilio's route"
    );
    let twilio_headers = [
        ("content-type", "application/x-www-form-urlencoded"),
        ("x-twilio-signature", twilio_signed.as_str()),
    ];
    assert_eq!(post(&app, "/voice/incoming", &twilio_headers, &form_body).await.0, 200);

    // A call that started on one provider's route is not driven from another's.
    let app = spawn_app(Options::default()).await;
    let call = app.call_through(Signer::Unsigned(Dialect::Jambonz), LINE, CALLER, &[HangUp]).await;
    let sid = &call.sid;
    let gather = format!("CallSid={sid}&From=%2B32470123456&To=%2B3280043436&Digits=1");
    let (status, answer) = post(&app, "/voice/gather?s=1", &form, &gather).await;
    assert_eq!((status, answer.contains("<Hangup/>")), (200, true), "{answer}");
    let dialect: String =
        app.db().query_row("SELECT dialect FROM calls WHERE sid = ?1", [sid], |r| r.get(0)).unwrap();
    assert_eq!(dialect, "jambonz");
}

/// jambonz has no verb that records a message: a caller who asks to leave one passes
/// straight on, and the request is registered without it.
#[tokio::test]
async fn on_jambonz_a_voice_message_step_passes_on_and_the_request_is_registered() {
    let app = spawn_app(Options {
        jambonz_secret: Some(JAMBONZ_SECRET.to_owned()),
        development: false,
        ..Options::default()
    })
    .await;
    let mut script = errands("1", "2", None);
    *script.last_mut().unwrap() = Keys("1");
    let call = app.call_through(Signer::Jambonz(JAMBONZ_SECRET.to_owned()), LINE, CALLER, &script).await;
    assert!(
        call.heard.iter().any(|(_, t)| t.starts_with("Votre demande est enregistrée")),
        "{}",
        call.transcript()
    );
    let row: (String, Option<String>) = app
        .db()
        .query_row("SELECT service, recording_url FROM callback_requests", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    assert_eq!(row, ("errands".to_owned(), None));
}
