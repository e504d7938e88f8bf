//! Calls in progress are kept in memory, so that a step runs its menu off the database
//! writer. What is answered from memory must be what the database holds: the same
//! answers as a service reading every step from the database, whoever else wrote the
//! call, however the provider repeats itself.

mod common;

use common::{CALLER, LINE, Options, TestApp, metric, spawn_app};
use solidaire::simulate::{Exchange, Softphone};

/// The errands call of the bundled line, key by key: French, errands, eligible,
/// postcode, groceries, the caller's own number, no message.
const KEYS: [&str; 7] = ["1", "3", "1", "4020", "1", "1", "2"];
const SID: &str = "CA00000000000000000000000000000042";

fn form(digits: Option<&str>, status: &str) -> Vec<(String, String)> {
    let mut form = vec![
        ("CallSid".to_owned(), SID.to_owned()),
        ("From".to_owned(), CALLER.to_owned()),
        ("To".to_owned(), LINE.to_owned()),
        ("CallStatus".to_owned(), status.to_owned()),
    ];
    if let Some(d) = digits {
        form.push(("Digits".to_owned(), d.to_owned()));
    }
    form
}

async fn arrive(phone: &Softphone) -> Exchange {
    let answer = phone.post("/voice/incoming", &form(None, "ringing")).await.unwrap();
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer
}

async fn press(phone: &Softphone, step: usize, keys: &str) -> Exchange {
    let answer =
        phone.post(&format!("/voice/gather?s={step}"), &form(Some(keys), "in-progress")).await.unwrap();
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer
}

#[tokio::test]
async fn two_services_on_one_database_answer_a_call_as_one_service_would() {
    // The reference: one service, every step.
    let reference = TestApp::open().await;
    let phone = reference.phone();
    let mut expected = vec![arrive(&phone).await.body];
    for (i, keys) in KEYS.iter().enumerate() {
        expected.push(press(&phone, i + 1, keys).await.body);
    }
    assert!(expected[7].contains("enregistrée"), "{}", expected[7]);

    // The same call, its webhooks shared by two services on one database (as during a
    // rolling restart), the provider retrying one step on the other service.
    let a = TestApp::open().await;
    let b = spawn_app(Options { database: Some(a.db.clone()), ..Options::default() }).await;
    let (pa, pb) = (a.phone(), b.phone());
    let mut heard = vec![arrive(&pa).await.body];
    for (i, keys) in KEYS.iter().enumerate() {
        let step = i + 1;
        let answer = if step == 2 || step == 4 {
            let from_b = press(&pb, step, keys).await.body;
            // A knew the call at this step: its memory is now behind the database. The
            // retry gets the answer B gave, and changes nothing.
            let retried = press(&pa, step, keys).await.body;
            assert_eq!(retried, from_b, "step {step} retried on the other service");
            from_b
        } else {
            press(&pa, step, keys).await.body
        };
        heard.push(answer);
    }
    for (step, (got, want)) in heard.iter().zip(&expected).enumerate() {
        assert_eq!(got, want, "answer to step {step}");
    }
    let db = a.db();
    let logged: i64 = db
        .query_row("SELECT count(*) FROM events WHERE call_sid = ?1 AND step IN (2, 4)", [SID], |r| r.get(0))
        .unwrap();
    assert_eq!(logged, 2, "each step logged once");
    let step: i64 = db.query_row("SELECT step FROM calls WHERE sid = ?1", [SID], |r| r.get(0)).unwrap();
    assert_eq!(step, 8);
    assert_eq!(a.count("SELECT count(*) FROM callback_requests"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_webhook_sent_twice_at_once_is_handled_once() {
    let app = TestApp::open().await;
    let phone = app.phone();
    arrive(&phone).await;
    for (i, keys) in KEYS.iter().take(4).enumerate() {
        let (first, second) = tokio::join!(press(&phone, i + 1, keys), press(&phone, i + 1, keys));
        assert_eq!(first.body, second.body, "step {}", i + 1);
    }
    let db = app.db();
    let per_step: Vec<(i64, i64)> = db
        .prepare("SELECT step, count(*) FROM events WHERE call_sid = ?1 GROUP BY step ORDER BY step")
        .unwrap()
        .query_map([SID], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(per_step, vec![(0, 1), (1, 1), (2, 1), (3, 1), (4, 1)]);
    let step: i64 = db.query_row("SELECT step FROM calls WHERE sid = ?1", [SID], |r| r.get(0)).unwrap();
    assert_eq!(step, 5);
}

#[tokio::test]
async fn a_call_is_kept_in_memory_until_it_ends_and_goes_on_after_a_restart() {
    let first = TestApp::open().await;
    let phone = first.phone();
    let in_memory =
        || async { metric(&phone.get("/metrics").await.unwrap().body, "solidaire_calls_in_memory") };
    arrive(&phone).await;
    press(&phone, 1, KEYS[0]).await;
    assert!((in_memory().await - 1.0).abs() < f64::EPSILON);

    // A new service on the same database (as after a restart) knows nothing of the call
    // in memory and takes it up from the database.
    let second = spawn_app(Options { database: Some(first.db.clone()), ..Options::default() }).await;
    let phone = second.phone();
    let reference = TestApp::open().await;
    let rphone = reference.phone();
    arrive(&rphone).await;
    press(&rphone, 1, KEYS[0]).await;
    for (i, keys) in KEYS.iter().enumerate().skip(1).take(3) {
        let got = press(&phone, i + 1, keys).await.body;
        let want = press(&rphone, i + 1, keys).await.body;
        assert_eq!(got, want, "step {}", i + 1);
    }
    let in_memory = metric(&phone.get("/metrics").await.unwrap().body, "solidaire_calls_in_memory");
    assert!((in_memory - 1.0).abs() < f64::EPSILON);

    let ended = phone.post("/voice/status", &form(None, "completed")).await.unwrap();
    assert_eq!(ended.status, 204);
    let in_memory = metric(&phone.get("/metrics").await.unwrap().body, "solidaire_calls_in_memory");
    assert!(in_memory.abs() < f64::EPSILON, "an ended call is forgotten");
    let outcome: Option<String> =
        second.db().query_row("SELECT ended_at FROM calls WHERE sid = ?1", [SID], |r| r.get(0)).unwrap();
    assert!(outcome.is_some());
}

#[tokio::test]
async fn a_status_callback_arriving_before_the_call_does_not_stop_it() {
    let app = TestApp::open().await;
    let phone = app.phone();
    let early = phone.post("/voice/status", &form(None, "ringing")).await.unwrap();
    assert_eq!(early.status, 204);
    let reference = TestApp::open().await;
    let rphone = reference.phone();
    assert_eq!(arrive(&phone).await.body, arrive(&rphone).await.body, "the call starts as usual");
    for (i, keys) in KEYS.iter().enumerate().take(3) {
        assert_eq!(press(&phone, i + 1, keys).await.body, press(&rphone, i + 1, keys).await.body);
    }
    let (step, line): (i64, String) = app
        .db()
        .query_row("SELECT step, line FROM calls WHERE sid = ?1", [SID], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    assert_eq!((step, line.as_str()), (4, "liege"));
    assert_eq!(app.count("SELECT count(*) FROM calls"), 1);
}
