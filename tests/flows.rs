//! Flows as data: TwiML of the main nodes pinned by snapshots, and menus changed by
//! editing a file while the service runs.

mod common;

use std::time::{Duration, Instant};

use common::*;

#[test]
fn the_flow_bundled_in_the_binary_is_the_one_in_ivr_flows() {
    let on_disk = std::fs::read_to_string(repo_flows().join("liege.toml")).unwrap();
    assert_eq!(solidaire::flow::load::BUNDLED.1, on_disk);
    let flows = solidaire::flow::Flows::bundled();
    assert_eq!(flows.for_called("+32 800 43 436").id, "liege");
    assert_eq!(flows.for_called("+3242999999").id, "liege", "the default flow answers other numbers");
}

/// The TwiML of the main nodes, so a change to what callers hear is always a reviewed diff.
#[tokio::test]
async fn twiml_of_the_main_nodes() {
    let app = TestApp::open().await;
    let call = app.call(&errands("1", "1", Some(5))).await;
    let names = [
        "incoming",
        "main_menu",
        "errands",
        "postcode",
        "errand_kind",
        "confirm_caller",
        "offer_message",
        "record",
        "registered",
    ];
    for (name, exchange) in names.iter().zip(&call.exchanges) {
        insta::assert_snapshot!(*name, exchange.body.replace("><", ">\n<"));
    }
}

#[tokio::test]
async fn editing_a_flow_file_changes_the_menu_without_a_restart_and_a_bad_edit_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("liege.toml");
    let original = std::fs::read_to_string(repo_flows().join("liege.toml")).unwrap();
    std::fs::write(&path, &original).unwrap();
    let app = spawn_app(Options { flows: Some(dir.path().to_path_buf()), ..Options::default() }).await;
    let greeting = |record: &solidaire::simulate::CallRecord| record.heard[0].1.clone();
    assert_eq!(
        greeting(&app.call(&[HangUp]).await),
        "Bienvenue à Liège Solidaire. Pour le français, tapez 1."
    );

    std::fs::write(
        &path,
        original.replace("Bienvenue à Liège Solidaire. Pour", "Bonjour, ici Liège Solidaire. Pour"),
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let heard = greeting(&app.call(&[HangUp]).await);
        if heard.starts_with("Bonjour") {
            break;
        }
        assert!(Instant::now() < deadline, "the edit was not picked up: {heard}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // An invalid edit: the menu in force stays.
    std::fs::write(
        &path,
        original.replace("goto = \"seniors\"", "goto = \"senoirs\"").replace("Bienvenue", "Broken"),
    )
    .unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(
        greeting(&app.call(&[HangUp]).await).starts_with("Bonjour"),
        "a bad edit keeps the previous flow"
    );
}

/// The bundled flow with `from` replaced by `to`, loaded; the problems found, as text.
fn problems_after(from: &str, to: &str) -> String {
    let liege = std::fs::read_to_string(repo_flows().join("liege.toml")).unwrap();
    assert!(liege.contains(from), "{from}");
    let edited = liege.replacen(from, to, 1);
    match solidaire::flow::load::from_sources_quick(&[("liege.toml".into(), edited)]) {
        Ok(_) => String::new(),
        Err(errors) => errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"),
    }
}

#[test]
fn kinds_of_help_and_the_volunteer_sign_up_are_checked_with_their_place_in_the_file() {
    let cases = [
        (
            r#"set = { help = "groceries" }"#,
            r#"set = { help = "groceris" }"#,
            "`groceris` is not a kind of help of this line ([line.helps]: groceries, listening, pets, pharmacy)",
        ),
        (r#""help.listening" = "yes""#, r#""help.chatting" = "yes""#, "`chatting` is not a kind of help"),
        (r#""language.de" = "yes""#, r#""language.it" = "yes""#, "`it` is not a language of this line"),
        (
            r#"label = { fr = "Pharmacie", nl = "Apotheek", de = "Apotheke" }"#,
            r#"label = { fr = "Pharmacie", nl = "Apotheek" }"#,
            "kind of help `pharmacy` has no `de` label",
        ),
        (
            "registers = \"volunteer\"\nmessage = true",
            "registers = \"volunteer\"\nmessage = false",
            "a volunteer sign-up needs `message = true`",
        ),
        (
            "registers = \"volunteer\"",
            "registers = \"helper\"",
            "`registers` is `request` or `volunteer`, not `helper`",
        ),
        (r#"inside = "volunteer_helps""#, r#"inside = "volunteer_outside""#, "unreachable"),
        (
            r#"{ key = "6", goto = "volunteer" }"#,
            r#"{ key = "6", goto = "volunteer_helps" }"#,
            "volunteer sign-up `volunteer_signup` can be reached without a served postcode",
        ),
        (
            r#"postcodes = ["4000", "4020""#,
            r#"postcodes = ["4000", "4009""#,
            "postcode `4009` is not in the table of places (BE, FR)",
        ),
        ("radius_km = 10", "radius_km = 0", "[line.volunteering] radius_km must be between 0 and 200"),
        (
            "offers_per_month = 2",
            "offers_per_month = 2\ncalling_hours = \"20:00-08:00\"",
            "[line.volunteering] calling_hours: `20:00-08:00` ends before it starts",
        ),
        ("offers_per_month = 2", "offers_per_month = 2\nofferz = 3", "unknown field `offerz`"),
        ("[prompts.offer_taken]", "[prompts.offer_taken_old]", "prompt `offer_taken` is missing"),
    ];
    for (from, to, expected) in cases {
        let found = problems_after(from, to);
        assert!(found.contains(expected), "{to}: expected {expected:?} in:\n{found}");
        assert!(found.contains("liege.toml:"), "each problem has its place: {found}");
    }
    let unlabelled = problems_after(
        r#"label = { fr = "Pharmacie", nl = "Apotheek", de = "Apotheke" }"#,
        r#"label = { fr = "Pharmacie" }"#,
    );
    let header = std::fs::read_to_string(repo_flows().join("liege.toml"))
        .unwrap()
        .lines()
        .position(|l| l == "[line.helps.pharmacy]")
        .unwrap()
        + 1;
    assert!(
        unlabelled.contains(&format!("liege.toml:{header}:")),
        "the problem points at its kind of help: {unlabelled}"
    );
    assert_eq!(problems_after("radius_km = 10", "radius_km = 12"), "", "the bundled flow itself is fine");
}

#[test]
fn neighbourhoods_are_checked_with_their_place_in_the_file() {
    let miramas = std::fs::read_to_string(repo_flows().join("miramas.toml")).unwrap();
    let problems = |from: &str, to: &str| {
        assert!(miramas.contains(from), "{from}");
        match solidaire::flow::load::from_sources_quick(&[(
            "miramas.toml".into(),
            miramas.replacen(from, to, 1),
        )]) {
            Ok(_) => String::new(),
            Err(errors) => errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"),
        }
    };
    assert_eq!(problems("", ""), "", "the bundled file is valid");
    let cases = [
        (
            r#"set = { neighbourhood = "maille" }"#,
            r#"set = { neighbourhood = "mail" }"#,
            "`mail` is not a neighbourhood of this line ([line.neighbourhoods]: carraire, centre, maille, mercure, molieres)",
        ),
        (
            r#"label = { fr = "La Maille" }"#,
            r#"label = { en = "La Maille" }"#,
            "neighbourhood `maille` has no `fr` label",
        ),
        (
            "[line.neighbourhoods.centre]",
            "[line.neighbourhoods.Centre]",
            "neighbourhood `Centre`: an id has lower-case",
        ),
        (
            "postcodes = [\"13140\"]",
            "postcodes = [\"13140\"]\nreferents_first_minutes = 0",
            "referents_first_minutes must be between 1 and 10080 (a week)",
        ),
    ];
    for (from, to, expected) in cases {
        let found = problems(from, to);
        assert!(found.contains(expected), "{to}: {found}");
        assert!(found.starts_with("miramas.toml:"), "with its place: {found}");
    }
}
