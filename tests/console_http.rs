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
