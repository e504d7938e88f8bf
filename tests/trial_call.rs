//! A phone in the page: a supervisor tries a line from the console
//! (`/console/lines/{line}/try`), through the same steps as a caller's call. The prompts
//! are shown and their recordings play; the request the trial registers is shown and
//! discarded; the call counts in no statistics, in no number's calls, in no queue; its
//! path can be read like a caller's; the time it pretends to be makes the line closed.

mod common;

use common::console::{hidden_csrf, log_in, send};
use common::*;

/// The value of the hidden field `name` of the page's (first) answer form.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!(r#"name="{name}" value=""#);
    let at = html.find(&marker).unwrap_or_else(|| panic!("no {name} field in {html}")) + marker.len();
    html[at..].split('"').next().unwrap().to_owned()
}

fn form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

/// Presses `keys` on the phone the page shows (the keypad's keys typed, then sent).
async fn press(app: &TestApp, cookie: &str, page: &str, pairs: &[(&str, &str)]) -> String {
    let action = {
        let at = page.find(r#"<form class="phone" method="post" action=""#).expect("the phone's form");
        let rest = &page[at..];
        let start = rest.find("action=\"").unwrap() + "action=\"".len();
        rest[start..].split('"').next().unwrap().to_owned()
    };
    let (csrf, s, shift, from) =
        (hidden_csrf(page), hidden(page, "s"), hidden(page, "shift"), hidden(page, "from"));
    let mut all =
        vec![("csrf", csrf.as_str()), ("s", s.as_str()), ("shift", shift.as_str()), ("from", from.as_str())];
    all.extend_from_slice(pairs);
    let answer = send(app, "POST", &action, cookie, &[], &form(&all)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.body
}

/// The `src` of every `<audio>` of the page.
fn recordings(page: &str) -> Vec<String> {
    page.split("<audio")
        .skip(1)
        .filter_map(|a| a.split("src=\"").nth(1)?.split('"').next())
        .map(|s| s.replace("&amp;", "&"))
        .collect()
}

fn recorded_app() -> Options {
    Options {
        sounds: Some(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sounds")),
        ..Options::default()
    }
}

#[tokio::test]
async fn a_supervisor_tries_the_errands_path_and_nothing_of_it_counts_or_reaches_the_queue() {
    let app = spawn_app(recorded_app()).await;
    let token = app.account("sue", "supervisor", &["--lines", "liege"]);
    let (cookie, _) = log_in(&app, "sue").await;

    let dial = send(&app, "GET", "/console/lines/liege/try", &cookie, &[], "").await;
    assert_eq!(dial.status, 200, "{}", dial.body);
    assert!(
        dial.body.contains(r#"value="2026-11-23T10:00""#),
        "the time now, in the line's zone: {}",
        dial.body
    );
    let csrf = hidden_csrf(&dial.body);
    let start = form(&[("csrf", &csrf), ("from", "0470 12 34 56"), ("at", "2026-11-23T10:00")]);
    let mut page = send(&app, "POST", "/console/lines/liege/try", &cookie, &[], &start).await.body;
    assert!(page.contains("Bienvenue") && page.contains("Liège Solidaire"), "the greeting's words: {page}");
    assert!(page.contains("It waits for a key."), "{page}");

    // Every prompt said is played from its recording, which the service serves.
    let mut played = recordings(&page);
    for keys in ["1", "3", "1", "4020", "1", "1"] {
        page = press(&app, &cookie, &page, &[("keys", keys)]).await;
        played.extend(recordings(&page));
    }
    // The last choice from the keypad itself: "2", no voice message.
    page = press(&app, &cookie, &page, &[("keys", ""), ("key", "2")]).await;
    played.extend(recordings(&page));
    assert!(page.contains("Votre demande est enregistrée"), "{page}");
    assert!(page.contains("would have been registered"), "the discarded request is shown: {page}");
    assert!(page.contains("4020") && page.contains("+32470123456"), "its postcode and number: {page}");
    assert!(played.len() >= 8, "{played:?}");
    for url in &played {
        let got = app.phone().fetch_audio(&format!("{}{url}", app.server)).await;
        assert_eq!((got.status, got.content_type.as_str()), (200, "audio/wav"), "{url}");
        assert!(got.seconds.is_some_and(|s| s > 0.5), "{url}: {got:?}");
    }
    if !page.contains("The call has ended.") {
        page = press(&app, &cookie, &page, &[("press", "hangup")]).await;
    }
    assert!(page.contains("The call has ended."), "{page}");
    let sid = page.split("/console/calls/").nth(1).unwrap().split('"').next().unwrap().to_owned();

    // Nothing of it in the queue, the statistics or the calls in progress.
    assert_eq!(app.count("SELECT count(*) FROM callback_requests"), 0);
    assert_eq!(app.count("SELECT count(*) FROM calls WHERE trial AND ended_at IS NOT NULL"), 1);
    let api = Api::new(&app);
    let (status, queue) = api.get("/api/requests", &token).await;
    assert_eq!(status, 200);
    assert_eq!(queue["requests"].as_array().map(Vec::len), Some(0), "{queue}");
    let (_, daily) = api.get("/api/stats/daily?date=2026-11-23&format=json", &token).await;
    assert_eq!(daily["days"][0]["calls_offered"], 0, "{daily}");
    let metrics = app.phone().get("/metrics").await.unwrap().body;
    assert!(metrics.contains("solidaire_calls_in_progress 0"), "{metrics}");

    // Its path reads like any call's, said to be a trial.
    let path = send(&app, "GET", &format!("/console/calls/{sid}"), &cookie, &[], "").await;
    assert_eq!(path.status, 200);
    assert!(path.body.contains("a supervisor trying the line from the console"), "{}", path.body);
    assert!(path.body.contains("8 steps"), "{}", path.body);

    // A caller's real call from the same number afterwards is counted and queued.
    app.errands_request(CALLER).await;
    assert_eq!(app.count("SELECT count(*) FROM callback_requests"), 1);
    let (_, daily) = api.get("/api/stats/daily?date=2026-11-23&format=json", &token).await;
    assert_eq!(daily["days"][0]["calls_offered"], 1, "{daily}");
}

#[tokio::test]
async fn a_trial_pretends_a_closed_hour_or_a_holiday_and_can_withhold_its_number() {
    let app = spawn_app(Options::default()).await;
    app.account("sue", "supervisor", &["--lines", "liege"]);
    let (cookie, _) = log_in(&app, "sue").await;
    let csrf = hidden_csrf(&send(&app, "GET", "/console/lines/liege/try", &cookie, &[], "").await.body);
    let call = |at: &'static str, from: &'static str, withheld: bool| {
        let mut pairs = vec![("csrf", csrf.clone()), ("from", from.to_owned()), ("at", at.to_owned())];
        if withheld {
            pairs.push(("withheld", "on".to_owned()));
        }
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
        let (app, cookie) = (&app, cookie.clone());
        async move { send(app, "POST", "/console/lines/liege/try", &cookie, &[], &body).await }
    };

    // A Saturday morning and Christmas Day: closed; a Monday morning: open.
    for at in ["2026-11-28T10:00", "2026-12-25T10:00"] {
        let page = call(at, "0470123456", false).await.body;
        let french = press(&app, &cookie, &page, &[("keys", "1")]).await;
        assert!(french.contains("La ligne est fermée en ce moment"), "{at}: {french}");
    }
    let open = call("2026-11-30T10:00", "", true).await.body;
    let french = press(&app, &cookie, &open, &[("keys", "1")]).await;
    assert!(!french.contains("La ligne est fermée") && french.contains("tapez"), "{french}");
    assert!(open.contains("withheld"), "{open}");
    assert_eq!(app.count("SELECT count(*) FROM calls WHERE trial"), 3);
    assert_eq!(app.count("SELECT count(*) FROM calls WHERE trial AND caller IS NULL"), 1);
    // No recording in this service's sounds: the page says which voice speaks.
    assert!(
        open.contains("spoken by the provider&#39;s voice")
            || open.contains("spoken by the provider's voice"),
        "{open}"
    );

    // A caller ID that is no number is refused, and no call made.
    let wrong = call("2026-11-30T10:00", "call me", false).await;
    assert_eq!(wrong.status, 200);
    assert!(wrong.body.contains("This caller ID is not a phone number."), "{}", wrong.body);
    assert_eq!(app.count("SELECT count(*) FROM calls"), 3);

    // A caller's real call cannot be driven from the page: it is no trial.
    app.call(&[Keys("1"), HangUp]).await;
    let real: String = app.db().query_row("SELECT sid FROM calls WHERE NOT trial", [], |r| r.get(0)).unwrap();
    let step = format!("SELECT step FROM calls WHERE sid = '{real}'");
    let before = app.count(&step);
    let pairs =
        form(&[("csrf", &csrf), ("s", &before.to_string()), ("shift", "0"), ("from", "x"), ("keys", "3")]);
    let refused = send(&app, "POST", &format!("/console/lines/liege/try/{real}"), &cookie, &[], &pairs).await;
    assert_eq!(refused.status, 404, "{}", refused.body);
    assert_eq!(app.count(&step), before, "the real call untouched");
}
