//! The console in real headless Chromium: a call arrives through the voice webhook, an
//! agent sees it appear without reloading, claims it, records "no answer", sees it come
//! back after the back-off, claims it again and resolves it; a second agent never sees it
//! while it is claimed. A supervisor reads the statistics and replaces a prompt's recording.

mod common;
#[path = "common/webdriver.rs"]
mod webdriver;

use chrono::Duration;
use common::*;
use webdriver::{Browser, Driver};

const PASSWORD: &str = "correct horse battery";
const ENTER: &str = "\u{E007}";

async fn log_in(browser: &Browser, app: &TestApp, login: &str) {
    browser.goto(&format!("{}/login", app.server)).await;
    browser.fill("#login", login).await;
    browser.fill("#password", PASSWORD).await;
    browser.click("button[type=submit]").await;
    browser.wait_text("h1", 10, |t| t == "Callback queue").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_works_a_callback_to_the_end_in_a_real_browser() {
    let app = spawn_app(Options { public_url: None, ..Options::default() }).await;
    app.add_agent("anna", "agent", PASSWORD);
    app.add_agent("bert", "agent", PASSWORD);
    let driver = Driver::start().await;

    // A wrong password is refused.
    let anna = driver.browser("anna").await;
    anna.goto(&format!("{}/login", app.server)).await;
    anna.fill("#login", "anna").await;
    anna.fill("#password", "not her password").await;
    anna.click("button[type=submit]").await;
    anna.wait_text("[role=alert]", 10, |t| t.contains("Wrong login or password")).await;

    log_in(&anna, &app, "anna").await;
    assert!(anna.text("#queue").await.contains("No request is waiting"));

    // A resident calls; the request appears on the open page by itself.
    app.errands_request(CALLER).await;
    let row = anna.wait_text("#queue", 10, |t| t.contains("errands")).await;
    assert!(row.contains("+32 4** ** ** 56"), "masked in the queue: {row}");
    assert!(row.contains("4020"), "{row}");
    assert!(row.contains("0 / 3"), "{row}");

    let bert = driver.browser("bert").await;
    log_in(&bert, &app, "bert").await;
    bert.wait_text("#queue", 10, |t| t.contains("errands")).await;
    bert.screenshot(&std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("console-queue.png")).await;

    // Anna takes the next one with the keyboard alone.
    anna.script("document.querySelector('button.primary').focus()").await;
    anna.keys(ENTER).await;
    anna.wait_text("h1", 10, |t| t.starts_with("Request 1")).await;
    assert_eq!(anna.text("a.phone").await, CALLER, "the holder sees the full number");
    assert!(anna.text("#main").await.contains("groceries"), "and the caller's answers");

    // While Anna holds it, Bert's queue loses it without a reload, and he cannot see the number.
    bert.wait_text("#queue", 10, |t| t.contains("No request is waiting")).await;
    bert.goto(&format!("{}/console/requests/1", app.server)).await;
    let seen = bert.text("#main").await;
    assert!(seen.contains("+32 4** ** ** 56") && !seen.contains(CALLER), "{seen}");
    assert!(!bert.exists("a.phone").await);
    assert!(!seen.contains("groceries"), "answers are the holder's only");

    // No answer: the request leaves the queue for its back-off.
    anna.click("#o-no_answer").await;
    anna.fill("#note", "rang ten times").await;
    anna.click("form[action$='/outcome'] button[type=submit]").await;
    anna.wait_text("h1", 10, |t| t == "Callback queue").await;
    assert!(anna.text("#queue").await.contains("No request is waiting"));

    // After the back-off it is back, with its attempt counted. (Anna stays active
    // meanwhile: a session idle for 30 minutes ends.)
    app.clock.advance(Duration::minutes(20));
    anna.goto(&format!("{}/console", app.server)).await;
    assert!(anna.wait_text("#queue", 10, |t| !t.is_empty()).await.contains("No request is waiting"));
    app.clock.advance(Duration::minutes(11));
    anna.goto(&format!("{}/console", app.server)).await;
    let back = anna.wait_text("#queue", 10, |t| t.contains("errands")).await;
    assert!(back.contains("1 / 3"), "{back}");

    anna.click("tr[data-request='1'] button").await;
    anna.wait_text("h1", 10, |t| t.starts_with("Request 1")).await;
    anna.click("#o-reached_resolved").await;
    anna.click("form[action$='/outcome'] button[type=submit]").await;
    anna.wait_text("h1", 10, |t| t == "Callback queue").await;

    anna.goto(&format!("{}/console/requests/1", app.server)).await;
    let history = anna.text("ol.history").await;
    assert!(history.contains("anna · outcome · no_answer; attempt 1 of 3; rang ten times"), "{history}");
    assert!(history.contains("anna · outcome · reached_resolved"), "{history}");
    assert!(anna.text("dl.facts").await.contains("done"));

    // Logging out ends the session.
    anna.click("form[action='/logout'] button").await;
    anna.wait_text("h1", 10, |t| t == "Log in").await;
    anna.goto(&format!("{}/console", app.server)).await;
    anna.wait_text("h1", 10, |t| t == "Log in").await;

    // Bert, idle for more than 30 minutes, has to log in again.
    bert.goto(&format!("{}/console", app.server)).await;
    bert.wait_text("h1", 10, |t| t == "Log in").await;

    anna.close().await;
    bert.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_reads_the_statistics_dashboard_in_a_real_browser() {
    let app =
        spawn_app(Options { public_url: None, at: brussels(2026, 11, 23, 8, 40), ..Options::default() })
            .await;
    app.add_agent("sue", "supervisor", PASSWORD);
    for (hour, from) in [
        (8, "+32470000001"),
        (9, "+32470000002"),
        (9, "+32470000003"),
        (10, "+32470000004"),
        (11, "+32470000005"),
    ] {
        app.clock.set(brussels(2026, 11, 23, hour, 40));
        app.call_paced(from, &errands("1", "2", None)).await;
    }
    app.clock.set(brussels(2026, 11, 23, 10, 5));
    app.call_paced("+32470000006", &[Keys("2"), Keys("9"), HangUp]).await;
    app.clock.set(brussels(2026, 11, 23, 12, 0));

    let driver = Driver::start().await;
    let sue = driver.browser("sue").await;
    log_in(&sue, &app, "sue").await;
    sue.click("nav a[href='/console/stats']").await;
    sue.wait_text("h1", 10, |t| t == "Statistics of every line").await;
    let today = sue.text("dl.figures").await;
    assert!(today.contains("Calls offered\n6"), "{today}");
    assert!(today.contains("Callbacks requested\n5"), "{today}");
    assert!(today.contains("Busiest hour\n09:00+01:00"), "{today}");
    assert_eq!(sue.script("return document.querySelectorAll('svg.chart').length").await, 5);
    let bars = sue.script("return document.querySelectorAll('#per-hour rect').length").await;
    assert!(bars.as_u64().unwrap() > 4, "bars are drawn: {bars}");
    sue.resize(1100, 2000).await;
    sue.screenshot(&std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("console-stats.png")).await;

    // She replaces the French greeting with a take from her computer.
    let take = app.dir.path().join("greeting-take.wav");
    std::fs::write(&take, solidaire::sounds::wav::tone(44_100, 2, 2.5, 440.0)).unwrap();
    sue.click("nav a[href='/console/prompts']").await;
    sue.wait_text("h1", 10, |t| t == "Prompts of Liège Solidaire").await;
    sue.click("a[href='/console/prompts/liege/fr/greeting']").await;
    sue.wait_text("h1", 10, |t| t == "Prompt greeting (fr, Liège Solidaire)").await;
    assert!(sue.text("dl.facts").await.contains("text-to-speech"));
    sue.fill("#recording", take.to_str().unwrap()).await;
    sue.click("button.primary").await;
    let notice = sue.wait_text("p[role=status]", 10, |t| t.starts_with("New recording in force")).await;
    assert!(notice.contains("(2.5 s)"), "{notice}");
    assert!(sue.text("dl.facts").await.contains("recorded, 2.5 s"));
    assert!(sue.exists("audio[src^='/sounds/liege/fr/greeting.wav?v=']").await, "a player for the new take");
    let call = app.call(&[Keys("1"), HangUp]).await;
    assert!(
        call.played.iter().any(|p| p.url.contains("/sounds/liege/fr/greeting.wav") && p.status == 200),
        "{:?}",
        call.played
    );
    sue.screenshot(&std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("console-prompt.png")).await;
    sue.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_coordinator_keeps_the_roster_assigns_a_match_and_reads_the_map_in_a_real_browser() {
    let app = spawn_app(Options { public_url: None, ..Options::default() }).await;
    app.add_agent("cora", "coordinator", PASSWORD);
    let driver = Driver::start().await;
    let cora = driver.browser("cora").await;
    log_in(&cora, &app, "cora").await;

    // Three neighbours, typed into the form.
    for (name, phone, postcode, helps) in [
        ("Nadia Benali", "0470 11 11 11", "4020", &["groceries", "pharmacy"][..]),
        ("Gaston Lejeune", "0470 22 22 22", "4030", &["groceries"][..]),
        ("Paul Renard", "0470 55 55 55", "4000", &["pets"][..]),
    ] {
        cora.click("nav a[href='/console/volunteers']").await;
        cora.wait_text("h1", 10, |t| t == "Volunteers").await;
        cora.fill("#v-name", name).await;
        cora.fill("#v-phone", phone).await;
        cora.fill("#v-postcode", postcode).await;
        for help in helps {
            cora.click(&format!("#h-{help}")).await;
        }
        cora.fill("#v-consent", "paper form").await;
        cora.click("form[action='/console/volunteers'] button.primary").await;
        cora.wait_text("h1", 10, |t| t == name).await;
    }
    cora.click("nav a[href='/console/volunteers']").await;
    let roster = cora.wait_text("table", 10, |t| t.contains("3 volunteer(s)")).await;
    assert!(roster.contains("+32 4** ** ** 11") && !roster.contains("0470 11 11 11"), "{roster}");
    cora.resize(1100, 1400).await;
    cora.screenshot(&std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("console-volunteers.png")).await;

    // A resident of 4020 asks for groceries; the coordinator opens its matches.
    app.errands_request(CALLER).await;
    cora.goto(&format!("{}/console/requests/1", app.server)).await;
    cora.click("a[href='/console/requests/1/matches']").await;
    let found = cora.wait_text("ol.matches", 10, |t| t.contains("Nadia")).await;
    assert!(found.find("Nadia").unwrap() < found.find("Gaston").unwrap(), "nearest first: {found}");
    assert!(cora.text("#main").await.contains("Paul Renard: does not offer this kind of help"));
    cora.screenshot(&std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("console-matches.png")).await;
    cora.click("ol.matches li:first-child button.primary").await;
    let missions = cora.wait_text("table", 10, |t| t.contains("1 mission(s)")).await;
    assert!(missions.contains("accepted") && missions.contains("Courses alimentaires"), "{missions}");

    cora.click("nav a[href='/console/map']").await;
    cora.wait_text("h1", 10, |t| t.starts_with("Volunteers and missions")).await;
    let width = cora.script("return document.querySelector('svg.map').getBoundingClientRect().width").await;
    assert!(width.as_f64().unwrap() > 300.0, "the map is drawn: {width}");
    assert_eq!(cora.script("return document.querySelectorAll('svg.map circle').length").await, 5);
    cora.screenshot(&std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("console-map.png")).await;
    cora.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_speaks_french_to_a_french_browser_and_dutch_when_the_agent_chooses_it() {
    let app = spawn_app(Options { public_url: None, ..Options::default() }).await;
    app.add_agent("amelie", "agent", PASSWORD);
    app.db()
        .execute(
            "INSERT INTO agent_lines (agent_id, line) SELECT id, 'liege' FROM agents WHERE login = 'amelie'",
            [],
        )
        .unwrap();
    app.errands_request(CALLER).await;
    let driver = Driver::start().await;
    let amelie = driver.browser_speaking("amelie", "fr-BE,fr").await;
    amelie.goto(&format!("{}/login", app.server)).await;
    amelie.wait_text("h1", 10, |t| t == "Se connecter").await;
    assert!(amelie.text("p.line").await.contains("Liège Solidaire"), "the lines' names on the login page");
    amelie.fill("#login", "amelie").await;
    amelie.fill("#password", PASSWORD).await;
    amelie.click("button[type=submit]").await;
    amelie.wait_text("h1", 10, |t| t == "File des rappels").await;
    assert_eq!(amelie.text("header .line").await, "Liège Solidaire", "her line in the header");
    let queue = amelie.wait_text("#queue", 10, |t| t.contains("errands")).await;
    assert!(queue.contains("Code postal") && queue.contains("Prendre celle-ci"), "{queue}");
    assert_eq!(amelie.script("return document.documentElement.lang").await, "fr");
    amelie.screenshot(&std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("console-fr.png")).await;

    // She picks Dutch from the header, with the keyboard alone.
    amelie.script("document.querySelector('#language-choice').value = 'nl'").await;
    amelie.script("document.querySelector('#language-choice').form.querySelector('button').focus()").await;
    amelie.keys(ENTER).await;
    amelie.wait_text("h1", 10, |t| t == "Wachtrij voor terugbellen").await;
    assert!(amelie.text("#queue").await.contains("Dit nemen"));
}

/// The menus as a picture, in Chromium: every node of the bundled line is drawn and every
/// key is an arrow with its label; the path of a real call is read from the Calls page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_sees_the_lines_menus_drawn_and_a_calls_path_in_a_real_browser() {
    let app = spawn_app(Options { public_url: None, ..Options::default() }).await;
    app.account("sue", "supervisor", &["--lines", "liege"]);
    app.call(&[Keys("1"), HangUp]).await;
    let driver = Driver::start().await;
    let sue = driver.browser("sue").await;
    log_in(&sue, &app, "sue").await;
    assert!(
        sue.exists("nav a[href='/console/lines']").await && sue.exists("nav a[href='/console/calls']").await
    );
    sue.goto(&format!("{}/console/lines", app.server)).await;
    sue.wait_text("h1", 10, |t| t == "Lines").await;
    sue.click("a[href='/console/lines/liege']").await;
    sue.wait_text("h1", 10, |t| t == "The menus of Liège Solidaire").await;

    let flows = solidaire::flow::load::load_dir(&repo_flows()).unwrap();
    let flow = flows.named("liege").unwrap();
    let drawn = sue
        .script("return Array.from(document.querySelectorAll('svg g.node')).map(g => g.dataset.node)")
        .await;
    let mut drawn: Vec<String> =
        drawn.as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect();
    drawn.sort();
    let mut nodes: Vec<String> = flow.file.nodes.keys().map(|k| k.get_ref().clone()).collect();
    nodes.sort();
    assert_eq!(drawn, nodes, "every node drawn once");
    for (id, node) in &flow.file.nodes {
        if let solidaire::flow::Node::Menu(menu) = node {
            for option in &menu.options {
                let labels = sue
                    .script(&format!(
                        "return Array.from(document.querySelectorAll('svg g.edge[data-from=\"{id}\"][data-to=\"{}\"] text')).map(t => t.textContent)",
                        option.goto.get_ref()
                    ))
                    .await;
                assert!(
                    labels.as_array().unwrap().iter().any(|l| l == option.key.get_ref().as_str()),
                    "{id}: key {} → {}: {labels}",
                    option.key.get_ref(),
                    option.goto.get_ref()
                );
            }
        }
    }
    // The boxes are laid out apart: no two at the same place, all inside the picture.
    let overlap = sue
        .script(
            "const r = Array.from(document.querySelectorAll('svg g.node > rect:first-child')).map(e => e.getBoundingClientRect());
             return r.some((a, i) => r.some((b, j) => i < j && a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom));",
        )
        .await;
    assert_eq!(overlap, serde_json::json!(false), "no box over another");
    sue.resize(1400, 1100).await;
    sue.screenshot(&std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("console-graph.png")).await;

    // The path of the call just made.
    sue.goto(&format!("{}/console/calls", app.server)).await;
    sue.wait_text("h1", 10, |t| t == "Calls").await;
    sue.click("form[action='/console/calls'] button").await;
    sue.wait_text("h1", 10, |t| t == "Calls").await;
    let found = sue.text("main").await;
    assert!(found.contains("1 calls"), "{found}");
    sue.click("td a[href^='/console/calls/']").await;
    sue.wait_text("h1", 10, |t| t == "Path of a call").await;
    let steps = sue.text("table.path").await;
    assert!(steps.contains("language") && steps.contains("Bienvenue à Liège Solidaire"), "{steps}");
    sue.screenshot(&std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("console-call-path.png")).await;
    sue.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_tries_the_line_with_the_pages_keypad_and_hears_its_recordings() {
    let sounds = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sounds");
    let app = spawn_app(Options { public_url: None, sounds: Some(sounds), ..Options::default() }).await;
    app.account("sue", "supervisor", &["--lines", "liege"]);
    let driver = Driver::start().await;
    let sue = driver.browser("sue").await;
    log_in(&sue, &app, "sue").await;
    sue.goto(&format!("{}/console/lines/liege", app.server)).await;
    sue.click("main a[href='/console/lines/liege/try']").await;
    sue.wait_text("h1", 10, |t| t == "Try Liège Solidaire").await;
    sue.fill("#from", "0470 12 34 56").await;
    sue.click("main form button[type=submit]").await;
    sue.wait_text("section.said", 10, |t| t.contains("Pour le français, tapez 1")).await;

    // Every prompt recorded is played from its recording, which the page can load (the
    // words read back with the caller's answers are the provider's voice's).
    let recordings_load = "return Promise.all(Array.from(document.querySelectorAll('audio.prompt')).map(a =>
        fetch(a.src).then(r => r.status + ' ' + r.headers.get('content-type'))))";
    let mut heard = 0;
    let mut check_recordings = async |browser: &Browser| {
        let loaded = browser.script(recordings_load).await;
        let loaded = loaded.as_array().unwrap().clone();
        assert!(loaded.iter().all(|l| l == "200 audio/wav"), "{loaded:?}");
        heard += loaded.len();
    };
    check_recordings(&sue).await;

    // French from the keyboard alone (the keys' field has the focus), then the keypad.
    sue.keys("1").await;
    sue.wait_text("section.said", 10, |t| t.contains("tapez 3")).await;
    check_recordings(&sue).await;
    let steps: [(&str, &str); 4] =
        [("3", "tapez 1"), ("1", "code postal"), ("4020", "c'est noté"), ("1", "tapez 1")];
    for (keys, then) in steps {
        for key in keys.chars() {
            sue.click(&format!(".keypad button[value='{key}']")).await;
        }
        sue.wait_text("section.said", 10, |t| t.contains(then)).await;
        check_recordings(&sue).await;
        if keys == "3" {
            sue.resize(1100, 1300).await;
            sue.screenshot(&std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("console-try.png")).await;
        }
    }
    sue.click(".keypad button[value='1']").await;
    sue.wait_text("section.said", 10, |t| t.contains("message")).await;
    check_recordings(&sue).await;
    sue.click(".keypad button[value='2']").await;
    let said = sue.wait_text("main", 10, |t| t.contains("would have been registered")).await;
    assert!(said.contains("Votre demande est enregistrée"), "{said}");
    assert!(heard >= 7, "{heard} recordings");
    if !said.contains("The call has ended.") {
        sue.click("button[value='hangup']").await;
        sue.wait_text("main", 10, |t| t.contains("The call has ended.")).await;
    }
    assert_eq!(app.count("SELECT count(*) FROM callback_requests"), 0, "nothing in the queue");
    sue.click("a[href^='/console/calls/']").await;
    sue.wait_text("h1", 10, |t| t == "Path of a call").await;
    assert!(sue.text("main").await.contains("a supervisor trying the line from the console"));
    sue.close().await;
}
