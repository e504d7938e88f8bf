//! The console in the agents' language: French and Dutch as well as English, chosen by the
//! account's preference (which follows it from one browser to the next) or else by the
//! browser's `Accept-Language`; dates and numbers written the local way; the line's name
//! on the login page and in the header.

mod common;

use common::console::{hidden_csrf, log_in, send, value_of};
use common::*;

const FRENCH: (&str, &str) = ("accept-language", "fr-BE,fr;q=0.9,en;q=0.5");
const DUTCH: (&str, &str) = ("accept-language", "nl-BE,nl;q=0.9");

/// Logs in through the form with `headers`; returns every cookie the login set, as a
/// `Cookie` header would carry them.
async fn log_in_with(app: &TestApp, login: &str, headers: &[(&str, &str)]) -> String {
    let page = send(app, "GET", "/login", "", headers, "").await;
    let login_cookie = value_of(&page.cookies[0]);
    let form = format!("login={login}&password=correct+horse+battery&csrf={}", hidden_csrf(&page.body));
    let done = send(app, "POST", "/login", &login_cookie, headers, &form).await;
    assert_eq!(done.status, 303);
    done.cookies
        .iter()
        .filter(|c| !c.contains("Max-Age=0"))
        .map(|c| value_of(c))
        .collect::<Vec<_>>()
        .join("; ")
}

#[tokio::test]
async fn the_browser_s_language_is_spoken_from_the_login_page_on() {
    let app = TestApp::open().await;
    let login = send(&app, "GET", "/login", "", &[FRENCH], "").await;
    assert!(login.body.contains(r#"<html lang="fr">"#), "{}", login.body);
    assert!(login.body.contains("<h1>Se connecter</h1>"), "{}", login.body);
    assert!(login.body.contains("Liège Solidaire"), "the line's name: {}", login.body);
    let english = send(&app, "GET", "/login", "", &[("accept-language", "de-DE,de;q=0.9")], "").await;
    assert!(english.body.contains("<h1>Log in</h1>"), "none of ours: English");

    app.add_agent("anna", "agent", "correct horse battery");
    let (cookie, _) = log_in(&app, "anna").await;
    let queue = send(&app, "GET", "/console", &cookie, &[FRENCH], "").await;
    assert!(queue.body.contains("<h1>File des rappels</h1>"), "{}", queue.body);
    assert!(queue.body.contains("Se déconnecter") && queue.body.contains("Aucune demande n'attend."));
    let queue = send(&app, "GET", "/console", &cookie, &[DUTCH], "").await;
    assert!(
        queue.body.contains(r#"<html lang="nl">"#)
            && queue.body.contains("<h1>Wachtrij voor terugbellen</h1>")
    );

    // A request: its facts, its state and the local way of writing a day.
    app.call(&errands("1", "1", None)).await;
    let page = send(&app, "GET", "/console/requests/1", &cookie, &[FRENCH], "").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("<h1>Demande 1 · "), "{}", page.body);
    assert!(page.body.contains("<dt>Code postal</dt><dd>4020</dd>"), "{}", page.body);
    assert!(page.body.contains("<dd>ouverte</dd>"), "the state in French: {}", page.body);
    assert!(page.body.contains("lun. 23/11"), "Monday in French: {}", page.body);
    let page = send(&app, "GET", "/console/requests/1", &cookie, &[DUTCH], "").await;
    assert!(page.body.contains("ma 23-11"), "Monday in Dutch: {}", page.body);

    // A refusal in the agent's language.
    let gone = send(&app, "GET", "/console/requests/99", &cookie, &[FRENCH], "").await;
    assert_eq!(gone.status, 404);
    assert!(gone.body.contains("cette demande n'existe pas"), "{}", gone.body);
}

#[tokio::test]
async fn an_account_s_choice_follows_it_to_another_browser_and_overrides_the_browser_s() {
    let app = TestApp::open().await;
    app.add_agent("sue", "supervisor", "correct horse battery");
    app.db()
        .execute(
            "INSERT INTO agent_lines (agent_id, line) SELECT id, 'liege' FROM agents WHERE login = 'sue'",
            [],
        )
        .unwrap();
    let cookies = log_in_with(&app, "sue", &[FRENCH]).await;
    let queue = send(&app, "GET", "/console", &cookies, &[FRENCH], "").await;
    assert!(queue.body.contains("File des rappels"));
    assert!(
        queue.body.contains(r#"<option value="fr" lang="fr" selected>Français</option>"#),
        "{}",
        queue.body
    );

    let csrf = hidden_csrf(&queue.body);
    let chosen = send(
        &app,
        "POST",
        "/console/language",
        &cookies,
        &[FRENCH, ("referer", "https://line.example/console/stats")],
        &format!("csrf={csrf}&language=nl"),
    )
    .await;
    assert_eq!((chosen.status, chosen.location.as_str()), (303, "/console/stats"), "back to the page");
    assert!(chosen.cookies.iter().any(|c| c.starts_with("solidaire_lang=nl")), "{:?}", chosen.cookies);
    let forged = send(&app, "POST", "/console/language", &cookies, &[], "csrf=wrong&language=nl").await;
    assert_eq!(forged.status, 403);

    // Another browser, asking for French: the account's Dutch wins, numbers the Dutch way.
    let elsewhere = log_in_with(&app, "sue", &[FRENCH]).await;
    assert!(elsewhere.contains("solidaire_lang=nl"), "{elsewhere}");
    app.call(&errands("1", "1", None)).await;
    let stats = send(&app, "GET", "/console/stats", &elsewhere, &[FRENCH], "").await;
    assert_eq!(stats.status, 200, "{}", stats.body);
    assert!(stats.body.contains("<h1>Statistieken van Liège Solidaire</h1>"), "{}", stats.body);
    assert!(stats.body.contains("Vandaag tot nu (23-11-2026)"), "a Dutch date: {}", stats.body);
    assert!(
        stats.body.contains("<dt>Gemiddelde tijd in het menu</dt><dd>0,0 s</dd>"),
        "a decimal comma: {}",
        stats.body
    );
    assert!(stats.body.contains("<dt>Ontvangen oproepen</dt><dd>1</dd>"), "{}", stats.body);
    assert!(stats.body.contains("Liège Solidaire</span>"), "the line in the header: {}", stats.body);

    // Back to the browser's language: the choice is forgotten, for the next login too.
    let csrf = hidden_csrf(&stats.body);
    let reset =
        send(&app, "POST", "/console/language", &elsewhere, &[], &format!("csrf={csrf}&language=")).await;
    assert!(reset.cookies.iter().any(|c| c.starts_with("solidaire_lang=;") && c.contains("Max-Age=0")));
    let third = log_in_with(&app, "sue", &[FRENCH]).await;
    assert!(!third.contains("solidaire_lang=nl"), "{third}");
    let queue = send(&app, "GET", "/console", &third, &[FRENCH], "").await;
    assert!(queue.body.contains("File des rappels"), "the browser's French again");
}
