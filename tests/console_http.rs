//! The console's protections over plain HTTP: login, session cookie attributes, CSRF on
//! every form and on cookie-authenticated API changes.

mod common;

use common::console::*;
use common::*;

#[tokio::test]
async fn pages_need_a_session_and_forms_need_their_csrf_token() {
    let app = TestApp::open().await;
    app.add_agent("anna", "agent", "correct horse battery");
    let anonymous = send(&app, "GET", "/console", "", &[], "").await;
    assert_eq!((anonymous.status, anonymous.location.as_str()), (303, "/login"));

    // The login form itself is protected.
    let forged =
        send(&app, "POST", "/login", "", &[], "login=anna&password=correct+horse+battery&csrf=x").await;
    assert_eq!(forged.status, 403);
    // A wrong password is refused, and said so.
    let page = send(&app, "GET", "/login", "", &[], "").await;
    let form = format!("login=anna&password=wrong+password&csrf={}", hidden_csrf(&page.body));
    let wrong = send(&app, "POST", "/login", &value_of(&page.cookies[0]), &[], &form).await;
    assert_eq!((wrong.status, wrong.location.as_str()), (303, "/login?failed=true"));
    assert!(wrong.cookies.iter().all(|c| !c.starts_with("solidaire_session=")));

    let (cookie, csrf) = log_in(&app, "anna").await;
    app.errands_request(CALLER).await;
    assert_eq!(send(&app, "POST", "/console/claim-next", &cookie, &[], "csrf=wrong").await.status, 403);
    assert_eq!(send(&app, "POST", "/console/claim-next", &cookie, &[], "").await.status, 422);
    let claimed = send(&app, "POST", "/console/claim-next", &cookie, &[], &format!("csrf={csrf}")).await;
    assert_eq!((claimed.status, claimed.location.as_str()), (303, "/console/requests/1"));

    // The API with a session cookie needs the token in a header for changes.
    let refused = send(&app, "POST", "/api/requests/1/release", &cookie, &[], "").await;
    assert_eq!(refused.status, 403);
    assert!(refused.body.contains(r#""code":"csrf""#), "{}", refused.body);
    let released =
        send(&app, "POST", "/api/requests/1/release", &cookie, &[("x-csrf-token", &csrf)], "").await;
    assert_eq!(released.status, 200, "{}", released.body);
    assert_eq!(send(&app, "GET", "/api/requests", &cookie, &[], "").await.status, 200, "reads need no token");

    // Logging out ends the session for good.
    let out = send(&app, "POST", "/logout", &cookie, &[], &format!("csrf={csrf}")).await;
    assert_eq!(out.status, 303);
    assert_eq!(send(&app, "GET", "/console", &cookie, &[], "").await.location, "/login");
}

#[tokio::test]
async fn a_session_idle_too_long_ends() {
    let app = TestApp::open().await;
    app.add_agent("anna", "agent", "correct horse battery");
    let (cookie, _) = log_in(&app, "anna").await;
    app.clock.advance(chrono::Duration::minutes(29));
    assert_eq!(send(&app, "GET", "/console", &cookie, &[], "").await.status, 200, "activity keeps it alive");
    app.clock.advance(chrono::Duration::minutes(29));
    assert_eq!(send(&app, "GET", "/console", &cookie, &[], "").await.status, 200);
    app.clock.advance(chrono::Duration::minutes(31));
    assert_eq!(send(&app, "GET", "/console", &cookie, &[], "").await.location, "/login");
}

#[tokio::test]
async fn supervisors_manage_accounts_from_the_console_and_agents_cannot() {
    let app = TestApp::open().await;
    app.add_agent("anna", "agent", "correct horse battery");
    app.add_agent("sue", "supervisor", "correct horse battery");
    let (anna, anna_csrf) = log_in(&app, "anna").await;
    assert_eq!(send(&app, "GET", "/console/agents", &anna, &[], "").await.status, 403);
    let form = format!("csrf={anna_csrf}&login=eve&role=supervisor&password=correct+horse+battery");
    assert_eq!(send(&app, "POST", "/console/agents", &anna, &[], &form).await.status, 403);

    let (sue, csrf) = log_in(&app, "sue").await;
    let form = format!("csrf={csrf}&login=carl&role=agent&password=correct+horse+battery");
    let refused = send(&app, "POST", "/console/agents", &sue, &[], &form).await;
    assert!(refused.body.contains("name the lines the account works on"), "{}", refused.body);
    let form = format!("{form}&line=liege");
    let added = send(&app, "POST", "/console/agents", &sue, &[], &form).await;
    assert!(added.body.contains("Account carl added."), "{}", added.body);
    let disabled =
        send(&app, "POST", "/console/agents/anna/disable", &sue, &[], &format!("csrf={csrf}")).await;
    assert_eq!(disabled.status, 303);
    assert_eq!(
        send(&app, "GET", "/console", &anna, &[], "").await.location,
        "/login",
        "a disabled agent is out at once"
    );
}

async fn try_login(app: &TestApp, login: &str, password: &str, from: &str) -> Reply {
    let page = send(app, "GET", "/login", "", &[], "").await;
    let cookie = value_of(&page.cookies[0]);
    let form = format!("login={login}&password={password}&csrf={}", hidden_csrf(&page.body));
    send(app, "POST", "/login", &cookie, &[("x-forwarded-for", from)], &form).await
}

/// The finding: the one-second pause was per request, so forty guesses in parallel made
/// about 23 a second on one account, without end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_guessing_slows_to_a_crawl_and_the_owner_gets_in_once_the_guessing_stops() {
    let app = TestApp::open().await;
    app.add_agent("anna", "agent", "correct horse battery");
    let guesses: Vec<_> =
        (0..40)
            .map(|i| {
                let app = &app;
                async move {
                    try_login(app, "anna", &format!("guess{i}"), &format!("203.0.113.{}", i % 250)).await
                }
            })
            .collect();
    let replies = futures_util::future::join_all(guesses).await;
    let looked_at = replies.iter().filter(|r| r.status == 303).count();
    let refused = replies.iter().filter(|r| r.status == 429).count();
    assert_eq!((looked_at, refused), (3, 37), "three free attempts, then one after a delay");
    assert!(replies.iter().all(|r| r.location != "/console"));
    let waiting = replies.iter().find(|r| r.status == 429).unwrap();
    assert!(waiting.body.contains("Too many attempts"), "{}", waiting.body);
    // While the account waits, even the right password is not looked at.
    assert_eq!(try_login(&app, "anna", "correct+horse+battery", "198.51.100.1").await.status, 429);
    // After each delay, one more look, then a wait again (doubling: the unit tests).
    for _ in 0..12 {
        app.clock.advance(chrono::Duration::minutes(15));
        assert_eq!(try_login(&app, "anna", "wrong", "198.51.100.2").await.status, 303);
        assert_eq!(try_login(&app, "anna", "wrong", "198.51.100.2").await.status, 429);
    }
    // The guessing stops; once the last delay (at most 15 minutes) has passed, the owner
    // logs in, and their count starts again from nothing.
    app.clock.advance(chrono::Duration::minutes(15));
    let owner = try_login(&app, "anna", "correct+horse+battery", "198.51.100.1").await;
    assert_eq!((owner.status, owner.location.as_str()), (303, "/console"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_guessing_across_accounts_is_slowed_and_others_are_not() {
    let app = TestApp::open().await;
    app.add_agent("anna", "agent", "correct horse battery");
    for i in 0..10 {
        assert_eq!(try_login(&app, &format!("name{i}"), "x", "192.0.2.50").await.status, 303);
    }
    assert_eq!(try_login(&app, "name10", "x", "192.0.2.50").await.status, 429);
    let elsewhere = try_login(&app, "anna", "correct+horse+battery", "192.0.2.51").await;
    assert_eq!((elsewhere.status, elsewhere.location.as_str()), (303, "/console"));
}
