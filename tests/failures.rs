//! The invariants that protect callers when something breaks: the database fails, a
//! promise would be made before the data is safe.

mod common;

use common::*;
use solidaire::simulate::Transfer;

#[tokio::test]
async fn with_the_database_broken_the_caller_hears_an_apology_and_the_fallback_number() {
    let app = TestApp::open().await;
    // Break the database under the running service.
    app.db().execute_batch("DROP TABLE events; DROP TABLE callback_requests; DROP TABLE calls;").unwrap();
    let answer = app.incoming().await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.body,
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?><Response>"#,
            r#"<Say language="fr-BE" voice="Polly.Isabelle-Neural">Nous sommes désolés, un problème technique nous empêche de traiter votre appel.</Say>"#,
            r#"<Dial timeout="30"><Number>+3242210009</Number></Dial><Hangup/></Response>"#
        )
    );
}

#[tokio::test]
async fn registered_is_said_only_after_the_request_is_committed() {
    let app = TestApp::open().await;
    // The request cannot be stored: the disk refuses this insert.
    app.db()
        .execute_batch(
            "CREATE TRIGGER refuse BEFORE INSERT ON callback_requests BEGIN SELECT RAISE(ABORT, 'disk full'); END;",
        )
        .unwrap();
    let call = app
        .call(&[Keys("1"), Keys("1"), Step::Transfer(Transfer::Busy), Keys("1"), Keys("1"), Keys("2")])
        .await;
    assert!(!call.heard("enregistrée"), "a promise without the row: {}", call.transcript());
    assert!(call.heard("Nous sommes désolés, un problème technique"), "{}", call.transcript());
    let last = &call.exchanges[call.exchanges.len() - 2];
    assert!(last.body.contains("<Number>+3242210009</Number>"), "sent to a person: {}", last.body);
    // The failed step was rolled back whole: no event and no state change for it.
    let step: i64 =
        app.db().query_row("SELECT step FROM calls WHERE sid = ?1", [&call.sid], |r| r.get(0)).unwrap();
    let events = app.count("SELECT count(*) FROM events");
    assert_eq!(step, events, "one event per processed step, none for the failed one");
    assert_eq!(app.count("SELECT count(*) FROM callback_requests"), 0);

    // Once the disk is back, the same webhook (the provider's fallback retry) succeeds.
    app.db().execute_batch("DROP TRIGGER refuse").unwrap();
    let retry = app.phone().post(&last.url, &last.params).await.unwrap();
    assert!(retry.body.contains("Votre demande est enregistrée sous le numéro"), "{}", retry.body);
    assert_eq!(app.count("SELECT count(*) FROM callback_requests"), 1);
}

#[tokio::test]
async fn health_reports_a_broken_database() {
    let app = TestApp::open().await;
    let phone = app.phone();
    assert_eq!(phone.get("/healthz").await.unwrap().status, 200);
    app.db().execute_batch("DROP TABLE events; DROP TABLE callback_requests; DROP TABLE calls;").unwrap();
    assert_eq!(phone.get("/healthz").await.unwrap().status, 503);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registration_the_writer_cannot_start_in_time_is_abandoned_and_the_caller_told_so() {
    let app = TestApp::open().await;
    // A call up to its last step, whose registration the disk refuses once: the call is
    // left just before "registered", and the step can be sent again.
    app.db()
        .execute_batch("CREATE TRIGGER refuse BEFORE INSERT ON callback_requests BEGIN SELECT RAISE(ABORT, 'disk full'); END;")
        .unwrap();
    let call = app
        .call(&[Keys("1"), Keys("1"), Step::Transfer(Transfer::Busy), Keys("1"), Keys("1"), Keys("2")])
        .await;
    app.db().execute_batch("DROP TRIGGER refuse").unwrap();
    let last = call.exchanges[call.exchanges.len() - 2].clone();

    // Another program holds the database for six seconds: the writer's first batch (another
    // call arriving) waits five seconds for it and fails; the registration, queued behind,
    // is reached after its five-second budget.
    let blocker = app.db();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let held = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(6));
        blocker.execute_batch("COMMIT").unwrap();
    });
    let phone = app.phone();
    let first = tokio::spawn(async move {
        phone
            .post(
                "/voice/incoming",
                &[("CallSid", "CA99999999999999999999999999999999"), ("From", "+32470999999"), ("To", LINE)]
                    .map(|(k, v)| (k.to_owned(), v.to_owned())),
            )
            .await
            .unwrap()
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let late = app.phone().post(&last.url, &last.params).await.unwrap();
    assert!(late.body.contains("Nous sommes désolés, un problème technique"), "{}", late.body);
    assert!(first.await.unwrap().body.contains("Nous sommes désolés"));
    held.join().unwrap();
    // What the caller heard is what is stored: no request. The provider's retry of the
    // same step then registers it, once.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        app.count("SELECT count(*) FROM callback_requests"),
        0,
        "registered although the caller heard the apology"
    );
    let retry = app.phone().post(&last.url, &last.params).await.unwrap();
    assert!(retry.body.contains("Votre demande est enregistrée sous le numéro"), "{}", retry.body);
    assert_eq!(app.count("SELECT count(*) FROM callback_requests"), 1);
}
