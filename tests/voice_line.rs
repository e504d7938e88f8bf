//! The voice line through real HTTP: a simulated provider follows the TwiML the way the
//! real one does, and each test checks what the caller heard and what the database kept.

mod common;

use common::*;
use solidaire::simulate::Transfer;

/// A stored callback request, as the tests look at it.
#[derive(Debug)]
struct Row {
    service: String,
    phone: String,
    postcode: Option<String>,
    priority: i64,
    language: String,
    recording: Option<String>,
    answers: serde_json::Value,
}

fn callback_rows(app: &TestApp) -> Vec<Row> {
    let db = app.db();
    let mut stmt = db
        .prepare("SELECT service, phone, postcode, priority, language, recording_url, answers FROM callback_requests ORDER BY id")
        .unwrap();
    stmt.query_map([], |r| {
        Ok(Row {
            service: r.get(0)?,
            phone: r.get(1)?,
            postcode: r.get(2)?,
            priority: r.get(3)?,
            language: r.get(4)?,
            recording: r.get(5)?,
            answers: serde_json::from_str(&r.get::<_, String>(6)?).unwrap(),
        })
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

fn outcome(app: &TestApp, sid: &str) -> (Option<String>, String) {
    app.db()
        .query_row("SELECT outcome, status FROM calls WHERE sid = ?1", [sid], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
}

#[tokio::test]
async fn errands_call_in_french_registers_a_callback_with_every_answer() {
    let app = TestApp::open().await;
    let call = app.call(&errands("1", "2", Some(8))).await;
    assert!(call.heard("Pour le soutien aux seniors, tapez 1."), "{}", call.transcript());
    assert!(call.heard("Code postal 4, 0, 2, 0, c'est noté."), "{}", call.transcript());
    assert!(
        call.heard("Nous vous rappellerons au numéro 0, 4, 7, 0. 1, 2. 3, 4. 5, 6."),
        "{}",
        call.transcript()
    );
    assert!(call.heard("Votre demande est enregistrée sous le numéro 1."), "{}", call.transcript());
    assert!(call.heard("Une personne vous rappellera aujourd'hui."), "{}", call.transcript());

    let rows = callback_rows(&app);
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row.service, "errands");
    assert_eq!(row.phone, CALLER);
    assert_eq!(row.postcode.as_deref(), Some("4020"));
    assert_eq!(row.priority, 0);
    assert_eq!(row.language, "fr");
    assert_eq!(row.recording, Some(format!("https://recordings.example.invalid/{}.wav", call.sid)));
    assert_eq!(row.answers["eligibility"], "65_or_reduced_mobility");
    assert_eq!(row.answers["help"], "pharmacy");
    assert_eq!(outcome(&app, &call.sid), (Some("callback".to_owned()), "completed".to_owned()));
    // Every webhook is one event, the status callback aside.
    let events = app.count(&format!("SELECT count(*) FROM events WHERE call_sid = '{}'", call.sid));
    assert_eq!(usize::try_from(events).unwrap(), call.exchanges.len() - 1);
}

#[tokio::test]
async fn dutch_caller_hears_dutch_and_is_transferred_to_seniors_support() {
    let app = TestApp::open().await;
    let call = app.call(&[Keys("2"), Keys("1"), Step::Transfer(Transfer::Answered)]).await;
    assert!(
        call.heard("Welkom bij Luik Solidair, de gratis lijn van de Stad Luik."),
        "{}",
        call.transcript()
    );
    assert!(call.heard("We verbinden u door."), "{}", call.transcript());
    assert!(!call.heard("Bienvenue à Liège Solidaire, la ligne"), "French after choosing Dutch");
    let dial = call.exchanges.iter().find(|e| e.body.contains("<Dial")).expect("a transfer");
    assert!(dial.body.contains(r#"<Dial action="https://line.example.org/voice/dial?s=3" method="POST" timeout="25"><Number>+3242210001</Number></Dial>"#), "{}", dial.body);
    assert!(dial.body.contains(r#"<Say language="nl-BE" voice="Polly.Lisa-Neural">"#));
    assert_eq!(outcome(&app, &call.sid).0.as_deref(), Some("transferred"));
    assert_eq!(app.count("SELECT count(*) FROM callback_requests"), 0);
}

#[tokio::test]
async fn a_busy_transfer_offers_a_callback() {
    let app = TestApp::open().await;
    let call = app
        .call(&[Keys("1"), Keys("2"), Step::Transfer(Transfer::Busy), Keys("1"), Keys("1"), Keys("2")])
        .await;
    assert!(call.heard("Personne n'est disponible pour le moment."), "{}", call.transcript());
    assert!(call.heard("Votre demande est enregistrée sous le numéro 1."), "{}", call.transcript());
    assert_eq!(callback_rows(&app)[0].service, "youth");
    assert!(callback_rows(&app)[0].recording.is_none(), "no voice message was left");
}

#[tokio::test]
async fn invalid_keys_three_times_reach_a_person() {
    let app = TestApp::open().await;
    let call =
        app.call(&[Keys("1"), Keys("9"), Keys("8"), Keys("#"), Step::Transfer(Transfer::Answered)]).await;
    let invalid = call.heard.iter().filter(|(_, t)| t == "Cette touche ne fait pas partie du menu.").count();
    assert_eq!(invalid, 2, "{}", call.transcript());
    assert!(!call.heard("Nous n'avons rien entendu"), "silence and wrong keys have different words");
    // After a failure the short menu is said.
    assert!(call.heard("Seniors, tapez 1. Jeunes, 2."), "{}", call.transcript());
    let last = call.exchanges.iter().rev().find(|e| e.body.contains("<Dial")).unwrap();
    assert!(last.body.contains("<Number>+3242210000</Number>"), "the agents' number: {}", last.body);
    let results: Vec<String> = app
        .db()
        .prepare("SELECT result FROM events WHERE call_sid = ?1 ORDER BY step")
        .unwrap()
        .query_map([&call.sid], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(results.contains(&"invalid key (1 of 3)".to_owned()), "{results:?}");
    assert!(results.contains(&"invalid key (3 times) → person".to_owned()), "{results:?}");
}

#[tokio::test]
async fn silence_in_the_language_menu_continues_in_french() {
    let app = TestApp::open().await;
    let call = app.call(&[Silence, Silence, Silence, HangUp]).await;
    let no_input = call.heard.iter().filter(|(_, t)| t == "Nous n'avons rien entendu.").count();
    assert_eq!(no_input, 2, "{}", call.transcript());
    assert!(call.heard("We hebben niets gehoord."), "the language menu re-prompts in every language");
    assert!(call.heard("Pour le soutien aux seniors, tapez 1."), "{}", call.transcript());
    assert_eq!(outcome(&app, &call.sid), (Some("abandoned".to_owned()), "completed".to_owned()));
}

#[tokio::test]
async fn a_line_left_silent_is_closed_politely_not_looped_for_ever() {
    let app = TestApp::closed().await;
    let silences = [Silence; 9];
    let call = app.call(&silences).await;
    assert!(
        call.heard("Nous n'entendons rien. N'hésitez pas à nous rappeler. Au revoir."),
        "{}",
        call.transcript()
    );
    assert!(call.exchanges.iter().rev().nth(1).unwrap().body.ends_with("<Hangup/></Response>"));
    assert_eq!(outcome(&app, &call.sid).0.as_deref(), Some("no_response"));
}

#[tokio::test]
async fn a_withheld_caller_id_is_asked_for_a_number() {
    let app = TestApp::closed().await;
    let call = app
        .call_from("anonymous", &[Keys("1"), Keys("0"), Keys("1"), Keys("0470123456#"), Keys("1"), Keys("2")])
        .await;
    assert!(
        call.heard("Tapez le numéro de téléphone où nous pouvons vous rappeler, puis la touche dièse."),
        "{}",
        call.transcript()
    );
    assert!(call.heard("Vous avez tapé 0, 4, 7, 0. 1, 2. 3, 4. 5, 6."), "{}", call.transcript());
    assert!(
        call.heard("Une personne vous rappellera dès la réouverture de la ligne."),
        "{}",
        call.transcript()
    );
    let rows = callback_rows(&app);
    assert_eq!((rows[0].service.as_str(), rows[0].phone.as_str()), ("general", CALLER));
    let caller: Option<String> = app.db().query_row("SELECT caller FROM calls", [], |r| r.get(0)).unwrap();
    assert_eq!(caller, None);
    let ask = call.exchanges.iter().find(|e| e.body.contains("puis la touche dièse")).unwrap();
    assert!(ask.body.contains(r##"finishOnKey="#""##), "{}", ask.body);
    assert!(!ask.body.contains("numDigits"), "a phone number has no fixed length: {}", ask.body);
}

#[tokio::test]
async fn an_unusable_callback_number_is_refused_and_asked_again() {
    let app = TestApp::open().await;
    let call = app
        .call_from(
            "",
            &[
                Keys("1"),
                Keys("5"),
                Step::Transfer(Transfer::NoAnswer),
                Keys("1"),
                Keys("123#"),
                Keys("090312345#"),
                Keys("042211111#"),
                Keys("1"),
                Keys("2"),
            ],
        )
        .await;
    let refused = call.heard.iter().filter(|(_, t)| t == "Ce numéro ne peut pas être rappelé.").count();
    assert_eq!(refused, 2, "{}", call.transcript());
    assert!(call.heard("Cellule Covid de la Ville de Liège."), "{}", call.transcript());
    let rows = callback_rows(&app);
    assert_eq!((rows[0].service.as_str(), rows[0].phone.as_str()), ("covid", "+3242211111"));
}

#[tokio::test]
async fn closed_hours_say_so_give_the_hours_and_offer_a_callback_instead_of_a_transfer() {
    let app = TestApp::closed().await;
    let call = app.call(&[Keys("1"), Keys("1"), Keys("1"), Keys("1"), Keys("2")]).await;
    assert!(call.heard("La ligne est fermée en ce moment."), "{}", call.transcript());
    assert!(
        call.heard("de 8 heures 30 à 12 heures 15, et de 13 heures 15 à 16 heures"),
        "{}",
        call.transcript()
    );
    assert!(!call.exchanges.iter().any(|e| e.body.contains("<Dial")), "no transfer while closed");
    assert_eq!(callback_rows(&app)[0].service, "seniors");
}

#[tokio::test]
async fn a_holiday_is_closed_even_on_a_weekday() {
    let app = spawn_app(Options { at: brussels(2026, 12, 25, 10, 0), ..Options::default() }).await;
    let call = app.call(&[Keys("1"), HangUp]).await;
    assert!(call.heard("La ligne est fermée en ce moment."), "{}", call.transcript());
}

#[tokio::test]
async fn a_postcode_outside_the_city_is_told_where_to_turn() {
    let app = TestApp::open().await;
    let call = app.call(&[Keys("1"), Keys("3"), Keys("1"), Keys("1000"), HangUp]).await;
    assert!(
        call.heard("Le code postal 1, 0, 0, 0 ne fait pas partie de la Ville de Liège."),
        "{}",
        call.transcript()
    );
    assert!(call.heard("Seniors, tapez 1."), "back to the main menu: {}", call.transcript());
    assert_eq!(app.count("SELECT count(*) FROM callback_requests"), 0);
}

#[tokio::test]
async fn a_caller_not_eligible_for_errands_is_told_kindly_and_gets_the_main_menu() {
    let app = TestApp::open().await;
    let call = app.call(&[Keys("1"), Keys("3"), Keys("2"), Keys("2"), HangUp]).await;
    assert!(call.heard("Nous sommes désolés : le service courses est réservé"), "{}", call.transcript());
    assert!(call.heard("Seniors, tapez 1."), "{}", call.transcript());
}

#[tokio::test]
async fn quarantine_requests_are_flagged_for_analysis() {
    let app = TestApp::open().await;
    app.call(&[Keys("1"), Keys("3"), Keys("2"), Keys("1"), Keys("4000"), Keys("1"), Keys("1"), Keys("2")])
        .await;
    let answers = &callback_rows(&app)[0].answers;
    assert_eq!(answers["eligibility"], "quarantine");
    assert_eq!(answers["review"], "to_analyse");
    assert_eq!(answers["help"], "groceries");
}

#[tokio::test]
async fn urgent_transport_falls_back_to_a_high_priority_callback() {
    let app = TestApp::open().await;
    let call = app.call(&[Keys("1"), Keys("4"), Step::Transfer(Transfer::NoAnswer), Keys("1")]).await;
    assert!(call.heard("Le service de transport urgent ne répond pas."), "{}", call.transcript());
    assert!(!call.heard("court message vocal"), "no message step for transport");
    let rows = callback_rows(&app);
    assert_eq!((rows[0].service.as_str(), rows[0].priority), ("transport", 1));
}

#[tokio::test]
async fn star_repeats_the_menu_in_its_short_form_and_zero_reaches_a_person_anywhere() {
    let app = TestApp::open().await;
    let call =
        app.call(&[Keys("1"), Keys("*"), Keys("3"), Keys("0"), Step::Transfer(Transfer::Answered)]).await;
    assert!(call.heard("Seniors, tapez 1. Jeunes, 2."), "{}", call.transcript());
    let last_dial = call.exchanges.iter().rev().find(|e| e.body.contains("<Dial")).unwrap();
    assert!(last_dial.body.contains("+3242210000"), "0 in the errands menu reaches the agents");
}

#[tokio::test]
async fn a_replayed_webhook_gets_the_same_answer_and_creates_no_second_request() {
    let app = TestApp::open().await;
    let call = app
        .call(&[Keys("1"), Keys("1"), Step::Transfer(Transfer::Busy), Keys("1"), Keys("1"), Keys("2")])
        .await;
    let registering = call.exchanges.iter().find(|e| e.body.contains("enregistrée")).unwrap().clone();
    let phone = app.phone();
    for _ in 0..3 {
        let again = phone.post(&registering.url, &registering.params).await.unwrap();
        assert_eq!(again.status, 200);
        assert_eq!(again.body, registering.body, "same answer to the same step");
    }
    let incoming = phone.post(&call.exchanges[0].url, &call.exchanges[0].params).await.unwrap();
    assert_eq!(incoming.body, call.exchanges[0].body);
    assert_eq!(app.count("SELECT count(*) FROM callback_requests"), 1);
    assert_eq!(app.count("SELECT count(*) FROM calls"), 1);
}

#[tokio::test]
async fn a_missing_or_malformed_call_sid_gets_400_and_extra_parameters_are_ignored() {
    let app = TestApp::open().await;
    let phone = app.phone();
    let form = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    };
    let missing = phone.post("/voice/incoming", &form(&[("From", CALLER), ("To", LINE)])).await.unwrap();
    assert_eq!(missing.status, 400);
    let malformed =
        phone.post("/voice/incoming", &form(&[("CallSid", "<script>"), ("To", LINE)])).await.unwrap();
    assert_eq!(malformed.status, 400);
    let extra = phone
        .post(
            "/voice/incoming",
            &form(&[
                ("CallSid", "CA0123456789abcdef0123456789abcdef"),
                ("From", CALLER),
                ("To", LINE),
                ("StirVerstat", "TN-Validation-Passed-A"),
                ("FromCity", "LIEGE"),
                ("SomethingNew", "whatever"),
            ]),
        )
        .await
        .unwrap();
    assert_eq!(extra.status, 200);
    assert!(extra.body.starts_with("<?xml"));
    assert_eq!(app.count("SELECT count(*) FROM calls"), 1);
}

#[tokio::test]
async fn webhooks_must_carry_a_valid_signature_when_a_token_is_set() {
    let app = spawn_app(Options { token: Some("s3cret-token".to_owned()), ..Options::default() }).await;
    let call = app.call(&[Keys("1"), Keys("1"), Step::Transfer(Transfer::Answered)]).await;
    assert_eq!(outcome(&app, &call.sid).0.as_deref(), Some("transferred"));

    let forger = solidaire::simulate::Softphone::new(&app.server, Some(PUBLIC_URL), Some("guessed-token"));
    let refused = forger.post("/voice/incoming", &call.exchanges[0].params).await.unwrap();
    assert_eq!(refused.status, 403);
    let unsigned = solidaire::simulate::Softphone::new(&app.server, Some(PUBLIC_URL), None);
    assert_eq!(unsigned.post("/voice/status", &call.exchanges[0].params).await.unwrap().status, 403);
    // A genuine signature does not cover changed parameters: a pressed key rewritten on
    // the way is refused.
    let mut tampered = call.exchanges[1].params.clone();
    tampered.retain(|(k, _)| k != "Digits");
    tampered.push(("Digits".to_owned(), "5".to_owned()));
    let sig_for_other = solidaire::telephony::signature::compute(
        "s3cret-token",
        &call.exchanges[1].url,
        &call.exchanges[1].params,
    );
    assert!(!solidaire::telephony::signature::is_valid(
        "s3cret-token",
        &call.exchanges[1].url,
        &tampered,
        &sig_for_other
    ));
    let path = call.exchanges[1].url.trim_start_matches(PUBLIC_URL);
    let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(&tampered).finish();
    let client =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
    let request = hyper::Request::post(format!("{}{path}", app.server))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-twilio-signature", &sig_for_other)
        .body(http_body_util::Full::new(hyper::body::Bytes::from(body)))
        .unwrap();
    assert_eq!(client.request(request).await.unwrap().status().as_u16(), 403);
}

#[tokio::test]
async fn status_callbacks_are_idempotent_safe_out_of_order_and_mark_abandoned_calls() {
    let app = TestApp::open().await;
    let call = app.call(&[Keys("1"), HangUp]).await;
    assert_eq!(outcome(&app, &call.sid), (Some("abandoned".to_owned()), "completed".to_owned()));
    let phone = app.phone();
    let mut late = call.exchanges.last().unwrap().params.clone();
    late.retain(|(k, _)| k != "CallStatus" && k != "SequenceNumber");
    late.push(("CallStatus".to_owned(), "in-progress".to_owned()));
    late.push(("SequenceNumber".to_owned(), "1".to_owned()));
    let answer = phone.post("/voice/status", &late).await.unwrap();
    assert_eq!(answer.status, 204);
    let again = phone.post("/voice/status", &call.exchanges.last().unwrap().params).await.unwrap();
    assert_eq!(again.status, 204);
    assert_eq!(outcome(&app, &call.sid), (Some("abandoned".to_owned()), "completed".to_owned()));
    let duration: i64 = app.db().query_row("SELECT duration FROM calls", [], |r| r.get(0)).unwrap();
    assert_eq!(duration, 60);

    // A status for a call never seen (its webhooks lost) is still recorded.
    let mut unknown = late.clone();
    unknown.retain(|(k, _)| k != "CallSid" && k != "CallStatus" && k != "SequenceNumber");
    unknown.push(("CallSid".to_owned(), "CAffffffffffffffffffffffffffffffff".to_owned()));
    unknown.push(("CallStatus".to_owned(), "completed".to_owned()));
    assert_eq!(phone.post("/voice/status", &unknown).await.unwrap().status, 204);
    assert_eq!(app.count("SELECT count(*) FROM calls WHERE outcome = 'abandoned'"), 2);
}

#[tokio::test]
async fn a_number_calling_twenty_times_does_not_fill_the_queue() {
    let app = TestApp::open().await;
    for _ in 0..20 {
        app.call(&errands("1", "1", None)).await;
        app.clock.advance(chrono::Duration::seconds(20));
    }
    assert_eq!(app.count("SELECT count(*) FROM calls"), 20, "every call was answered");
    assert_eq!(app.count("SELECT count(*) FROM callback_requests"), 1, "one request for one need");
    assert_eq!(app.count("SELECT count(*) FROM callback_calls"), 20, "each call is linked to it");
}

#[tokio::test]
async fn a_german_speaking_caller_is_served_in_german() {
    let app = TestApp::open().await;
    let call = app.call(&[Keys("3"), Keys("3"), Keys("1"), Keys("4700"), HangUp]).await;
    assert!(
        call.heard("Willkommen bei Lüttich Solidarisch. Für Deutsch, drücken Sie die 3."),
        "{}",
        call.transcript()
    );
    assert!(
        call.heard("Für Einkäufe, Lebensmittel oder Apotheke, drücken Sie die 3."),
        "{}",
        call.transcript()
    );
    assert!(
        call.heard("Die Postleitzahl 4, 7, 0, 0 gehört nicht zur Stadt Lüttich."),
        "{}",
        call.transcript()
    );
    let german =
        call.exchanges.iter().find(|e| e.body.contains("Willkommen bei Lüttich Solidarisch, der")).unwrap();
    assert!(german.body.contains(r#"<Say language="de-DE" voice="Polly.Vicki-Neural">"#), "{}", german.body);
    let language: String = app.db().query_row("SELECT language FROM calls", [], |r| r.get(0)).unwrap();
    assert_eq!(language, "de");
}
