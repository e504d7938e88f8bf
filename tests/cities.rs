//! The five bundled lines on one server: Liège, Verviers, Herstal, Covid-Solidarity and
//! Miramas, each called on its own number and driven through its menus by the simulated
//! provider: a request or a sign-up registered on the right line, closed hours, a wrong
//! key, a transfer, the end-of-service message and the reopening; and a Herstal mission
//! offered by phone only to Herstal's volunteers, never to Liège's next door.

mod common;

use std::sync::Arc;

use common::*;
use serde_json::json;
use solidaire::simulate::{Pickup, Transfer};

const VERVIERS: &str = "+3287353725";
const HERSTAL: &str = "+3280013440";
const COVID: &str = "+3228089654";
const MIRAMAS: &str = "+33490580140";

/// The request's line, help, postcode, service and phone.
fn request(app: &TestApp, id: i64) -> (String, Option<String>, Option<String>, String, Option<String>) {
    app.db()
        .query_row(
            "SELECT line, help, postcode, service, phone FROM callback_requests WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .unwrap()
}

/// The volunteer's line, state, postcode, helps and languages.
fn volunteer(app: &TestApp, id: i64) -> (String, String, String, String, String) {
    app.db()
        .query_row(
            "SELECT line, state, postcode, helps, languages FROM volunteers WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .unwrap()
}

#[tokio::test]
async fn each_line_answers_its_own_number_with_its_own_greeting_language_and_menu() {
    let app = TestApp::open().await;
    for (number, first_words, menu) in [
        (LINE, "Bienvenue à Liège Solidaire. Pour le français, tapez 1.", None),
        (VERVIERS, "Bienvenue à Verviers Solidaire", Some("Pour demander de l'aide, tapez 1.")),
        (HERSTAL, "Bienvenue à Herstal Solidaire", Some("Pour des courses ou des médicaments")),
        (COVID, "Bienvenue à Covid-Solidarity. Pour le français, tapez 1.", None),
        (MIRAMAS, "Bienvenue à Miramas Solidaire", Some("Pour demander un service, tapez 1.")),
    ] {
        let call = app.call_line(number, CALLER, &[HangUp]).await;
        let (_, first) = call.heard.first().expect("the line speaks");
        assert!(first.starts_with(first_words), "{number}: {}", call.transcript());
        if let Some(menu) = menu {
            assert!(call.heard(menu), "{number}: {}", call.transcript());
        }
    }
    // Each call is stored on its own line.
    let lines: Vec<String> = {
        let db = app.db();
        let mut q = db.prepare("SELECT line FROM calls ORDER BY started_at, rowid").unwrap();
        q.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    };
    assert_eq!(lines, ["liege", "verviers", "herstal", "covid-solidarity", "miramas"]);
    // Covid-Solidarity speaks French and Dutch, each in its own voice.
    let call = app.call_line(COVID, CALLER, &[HangUp]).await;
    assert!(
        call.heard.iter().any(|(l, t)| l == "nl-BE" && t.contains("Voor Nederlands, druk op 2")),
        "{:?}",
        call.heard
    );
    // Miramas speaks French of France.
    let call = app.call_line(MIRAMAS, "+33612345678", &[HangUp]).await;
    assert!(call.heard.iter().all(|(l, _)| l == "fr-FR"), "{:?}", call.heard);
}

#[tokio::test]
async fn verviers_takes_a_request_among_its_ten_kinds_of_help_and_signs_up_a_regular_helper() {
    let app = TestApp::open().await;
    // Help (1), lives in 4800, more kinds (6), the food distribution network (2), the
    // caller ID confirmed (1), no message (2).
    let call = app
        .call_line(VERVIERS, CALLER, &[Keys("1"), Keys("4800"), Keys("6"), Keys("2"), Keys("1"), Keys("2")])
        .await;
    assert!(call.heard("Pour promener un animal, tapez 1."), "the second menu: {}", call.transcript());
    assert!(call.heard("Votre demande est enregistrée sous le numéro 1."), "{}", call.transcript());
    assert_eq!(
        request(&app, 1),
        (
            "verviers".to_owned(),
            Some("food_network".to_owned()),
            Some("4800".to_owned()),
            "help".to_owned(),
            Some(CALLER.to_owned())
        )
    );

    // A wrong key in the first menu, then back from the second to the first (6), school
    // support (5).
    let call = app
        .call_line(
            VERVIERS,
            "+32470555555",
            &[Keys("1"), Keys("4802"), Keys("9"), Keys("6"), Keys("6"), Keys("5"), Keys("1"), Keys("2")],
        )
        .await;
    assert!(call.heard("Cette touche ne fait pas partie du menu."), "{}", call.transcript());
    assert_eq!(request(&app, 2).1.as_deref(), Some("school"));

    // A helper, regularly (2), in 4801, listening (1), the number confirmed, their name.
    let call = app
        .call_line(
            VERVIERS,
            "+32470987654",
            &[Keys("2"), Keys("2"), Keys("4801"), Keys("1"), Keys("1"), Step::Record(Some(3))],
        )
        .await;
    assert!(call.heard("Votre inscription porte le numéro 1."), "{}", call.transcript());
    assert_eq!(
        volunteer(&app, 1),
        ("verviers".into(), "pending".into(), "4801".into(), "listening".into(), "fr".into())
    );
    let note: String = app
        .db()
        .query_row(
            "SELECT detail FROM volunteer_history WHERE volunteer_id = 1 AND action = 'signed up'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(note.contains("commitment: regular"), "the coordinator knows how often: {note}");

    // A postcode of another town.
    let call = app.call_line(VERVIERS, CALLER, &[Keys("1"), Keys("4000"), HangUp]).await;
    assert!(
        call.heard("Le code postal 4, 0, 0, 0 ne fait pas partie de la Ville de Verviers."),
        "{}",
        call.transcript()
    );

    // Saturday: closed, a request can still be left, and 0 offers a callback.
    app.clock.set(brussels(2026, 11, 28, 10, 0));
    let call = app.call_line(VERVIERS, CALLER, &[Keys("0"), Keys("2"), HangUp]).await;
    assert!(call.heard("La ligne est fermée en ce moment."), "{}", call.transcript());
    assert!(
        call.heard("Personne n'est disponible pour le moment."),
        "closed: no transfer: {}",
        call.transcript()
    );
}

#[tokio::test]
async fn herstal_hands_errands_and_masks_to_volunteers_transfers_for_help_by_phone_and_ends_and_reopens() {
    let app = TestApp::open().await;
    // Errands (1), Milmort (4041), medicines (2), caller ID confirmed, no message.
    let call =
        app.call_line(HERSTAL, CALLER, &[Keys("1"), Keys("4041"), Keys("2"), Keys("1"), Keys("2")]).await;
    assert!(call.heard("Votre demande est enregistrée sous le numéro 1."), "{}", call.transcript());
    assert_eq!(request(&app, 1).0, "herstal");
    assert_eq!(request(&app, 1).1.as_deref(), Some("medicines"));
    // A kind of help with `missions = true`: a mission at once, in the console.
    let mission: (String, String, String) = app
        .db()
        .query_row("SELECT line, help, postcode FROM missions WHERE request_id = 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    assert_eq!(mission, ("herstal".into(), "medicines".into(), "4041".into()));

    // Masks to the door in Liers (2, 4042), no message asked.
    let call = app.call_line(HERSTAL, "+32470555555", &[Keys("2"), Keys("4042"), Keys("1")]).await;
    assert!(call.heard("Votre demande est enregistrée sous le numéro 2."), "{}", call.transcript());
    assert_eq!(request(&app, 2).1.as_deref(), Some("masks"));
    assert_eq!(app.count("SELECT count(*) FROM missions WHERE line = 'herstal' AND help = 'masks'"), 1);

    // Help by phone (3): put through to the town's agents.
    let call = app.call_line(HERSTAL, CALLER, &[Keys("3"), Step::Transfer(Transfer::Answered)]).await;
    let dial = call.exchanges.iter().find(|e| e.body.contains("<Dial")).expect("put through");
    assert!(dial.body.contains("<Number>+3242406111</Number>"), "{}", dial.body);

    // A volunteer of Vottem (4041), for both (3).
    let call = app
        .call_line(
            HERSTAL,
            "+32470987654",
            &[Keys("4"), Keys("4041"), Keys("3"), Keys("1"), Step::Record(Some(2))],
        )
        .await;
    assert!(call.heard("Votre inscription porte le numéro 1."), "{}", call.transcript());
    assert_eq!(volunteer(&app, 1).3, "groceries,masks,medicines");

    // The platform closes (1 July 2020), while the service runs; Liège goes on.
    // From this morning: the command line runs on the real clock, the service on the test's.
    let out = app.cli(&["lines", "end", "herstal", "--from", "2026-11-23"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let call = app.call_line(HERSTAL, CALLER, &[Step::Transfer(Transfer::Answered)]).await;
    assert!(
        call.heard("La plateforme Herstal Solidaire est fermée depuis le 1er juillet 2020."),
        "{}",
        call.transcript()
    );
    assert!(!call.heard("Pour des courses"), "nothing else: {}", call.transcript());
    let dial = call.exchanges.iter().find(|e| e.body.contains("<Dial")).expect("put through to the CPAS");
    assert!(dial.body.contains("<Number>+3242406200</Number>"), "{}", dial.body);
    let liege = app.call(&[HangUp]).await;
    assert!(liege.heard("Bienvenue à Liège Solidaire. Pour le français"), "{}", liege.transcript());

    // The second wave: reopened, the menus are back on the next call.
    let out = app.cli(&["lines", "reopen", "herstal"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let call = app.call_line(HERSTAL, CALLER, &[HangUp]).await;
    assert!(call.heard("Pour des courses ou des médicaments"), "{}", call.transcript());
}

#[tokio::test]
async fn covid_solidarity_serves_every_belgian_postcode_in_french_and_dutch() {
    let app = TestApp::open().await;
    // Dutch (2), groceries (1), Gent (9000), caller ID confirmed, no message.
    let call =
        app.call_line(COVID, CALLER, &[Keys("2"), Keys("1"), Keys("9000"), Keys("1"), Keys("2")]).await;
    assert!(call.heard("Uw aanvraag is geregistreerd onder nummer 1."), "{}", call.transcript());
    let (line, help, postcode, _, _) = request(&app, 1);
    assert_eq!(
        (line.as_str(), help.as_deref(), postcode.as_deref()),
        ("covid-solidarity", Some("groceries"), Some("9000"))
    );
    assert_eq!(app.count("SELECT count(*) FROM missions WHERE request_id = 1 AND language = 'nl'"), 1);

    // French (1), a kind ear (2), Arlon (6700): at the other end of the country.
    let call = app.call_line(COVID, "+32470555555", &[Keys("1"), Keys("2"), Keys("6700"), Keys("1")]).await;
    assert!(call.heard("Votre demande est enregistrée sous le numéro 2."), "{}", call.transcript());
    assert_eq!(request(&app, 2).1.as_deref(), Some("listening"));

    // A postcode nobody has.
    let call = app.call_line(COVID, CALLER, &[Keys("1"), Keys("1"), Keys("0042"), HangUp]).await;
    assert!(call.heard("Nous ne connaissons pas le code postal 0, 0, 4, 2."), "{}", call.transcript());

    // A volunteer in Antwerp (2000), in Dutch, for both, who also speaks French.
    let call = app
        .call_line(
            COVID,
            "+32470987654",
            &[Keys("2"), Keys("3"), Keys("2000"), Keys("3"), Keys("1"), Keys("1"), Step::Record(Some(2))],
        )
        .await;
    assert!(call.heard("Uw inschrijving heeft nummer 1."), "{}", call.transcript());
    assert_eq!(
        volunteer(&app, 1),
        (
            "covid-solidarity".into(),
            "pending".into(),
            "2000".into(),
            "groceries,listening".into(),
            "nl,fr".into()
        )
    );

    // Sunday: closed; 0 offers a callback rather than a transfer.
    app.clock.set(closed_hours());
    let call = app.call_line(COVID, CALLER, &[Keys("1"), HangUp]).await;
    assert!(call.heard("La ligne est fermée en ce moment."), "{}", call.transcript());
}

#[tokio::test]
async fn miramas_reads_french_numbers_the_french_way_and_takes_five_digit_postcodes() {
    let app = TestApp::open().await;
    // No caller ID: the resident types a French mobile number.
    let call = app
        .call_line(
            MIRAMAS,
            "anonymous",
            &[
                Keys("1"),
                Keys("13140"),
                Keys("6"),
                Keys("6"),
                Keys("3"),
                Keys("0612345678"),
                Keys("1"),
                Keys("2"),
            ],
        )
        .await;
    assert!(call.heard("Vous avez tapé 0, 6. 1, 2. 3, 4. 5, 6. 7, 8."), "{}", call.transcript());
    assert!(call.heard("Votre demande est enregistrée sous le numéro 1."), "{}", call.transcript());
    assert_eq!(
        request(&app, 1),
        (
            "miramas".to_owned(),
            Some("tools".to_owned()),
            Some("13140".to_owned()),
            "help".to_owned(),
            Some("+33612345678".to_owned())
        )
    );

    // A postcode of another town, then a volunteer for homework help (4).
    let call = app.call_line(MIRAMAS, "+33612345678", &[Keys("1"), Keys("13300"), HangUp]).await;
    assert!(call.heard("Le code postal 1, 3, 3, 0, 0 n'est pas celui de Miramas."), "{}", call.transcript());
    let call = app
        .call_line(
            MIRAMAS,
            "+33698765432",
            &[Keys("2"), Keys("13140"), Keys("4"), Keys("1"), Step::Record(Some(2))],
        )
        .await;
    assert!(call.heard("Votre inscription porte le numéro 1."), "{}", call.transcript());
    assert_eq!(volunteer(&app, 1).0, "miramas");
    assert_eq!(volunteer(&app, 1).3, "homework");

    // 0: a referent, with the line's hours in Paris (closed on a French holiday).
    let call = app.call_line(MIRAMAS, "+33612345678", &[Keys("0"), Step::Transfer(Transfer::Answered)]).await;
    let dial = call.exchanges.iter().find(|e| e.body.contains("<Dial")).expect("put through");
    assert!(dial.body.contains("<Number>+33490580141</Number>"), "{}", dial.body);
    app.clock.set(brussels(2026, 12, 25, 10, 0));
    let call = app.call_line(MIRAMAS, "+33612345678", &[HangUp]).await;
    assert!(call.heard("La ligne est fermée en ce moment."), "{}", call.transcript());
}

#[tokio::test]
async fn a_herstal_mission_is_offered_by_phone_to_herstal_volunteers_only() {
    const LIEGE_NEIGHBOUR: &str = "+32470111111";
    const HERSTAL_VOLUNTEER: &str = "+32470222222";
    let phones: solidaire::simulate::Phones = Arc::new(|_: &str| Pickup::NoAnswer);
    let (app, provider) = calling_app(Options::default(), phones).await;
    let cora = app.add_agent("cora", "coordinator", "correct horse battery");
    let api = Api::new(&app);
    // A Liège volunteer in 4000, a few kilometres from Herstal, and one of Herstal.
    for (line, phone, postcode, helps) in [
        ("liege", LIEGE_NEIGHBOUR, "4000", json!(["groceries"])),
        ("herstal", HERSTAL_VOLUNTEER, "4040", json!(["groceries"])),
    ] {
        let (status, body) = api
            .post(
                "/api/volunteers",
                &cora,
                json!({ "line": line, "name": "V", "phone": phone, "postcode": postcode, "helps": helps, "languages": ["fr"] }),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    // Groceries in 4040: a mission offered by phone at once (missions = true).
    let call =
        app.call_line(HERSTAL, CALLER, &[Keys("1"), Keys("4040"), Keys("1"), Keys("1"), Keys("2")]).await;
    assert!(call.heard("Votre demande est enregistrée"), "{}", call.transcript());
    eventually("the Herstal volunteer rung", || !provider.placed().is_empty()).await;
    eventually("the mission handed back", || {
        app.count("SELECT count(*) FROM outbound_calls WHERE state NOT IN ('ended', 'failed')") == 0
            && app.count("SELECT count(*) FROM missions WHERE state = 'cancelled'") == 1
    })
    .await;
    let rung: Vec<String> =
        provider.placed().iter().filter_map(|p| p.field("To").map(str::to_owned)).collect();
    assert_eq!(rung, [HERSTAL_VOLUNTEER], "never Liège's volunteer");
    let from: Vec<String> =
        provider.placed().iter().filter_map(|p| p.field("From").map(str::to_owned)).collect();
    assert_eq!(from, [HERSTAL], "Herstal's own number is shown");
}

#[tokio::test]
async fn a_miramas_request_goes_to_the_referent_of_the_caller_s_neighbourhood_first() {
    let app = TestApp::open().await;
    let api = Api::new(&app);
    let rita = app.account("rita", "coordinator", &["--lines", "miramas", "--neighbourhoods", "maille"]);
    let marc = app.account("marc", "coordinator", &["--lines", "miramas", "--neighbourhoods", "mercure"]);
    let paul = app.account("paul", "agent", &["--lines", "miramas"]);
    let bad = app.cli(
        &[
            "agents",
            "add",
            "xavier",
            "--role",
            "coordinator",
            "--lines",
            "miramas",
            "--neighbourhoods",
            "nowhere",
        ],
        "correct horse battery\n",
    );
    assert_eq!(bad.status.code(), Some(1));
    let said = String::from_utf8_lossy(&bad.stderr);
    assert!(said.contains("`nowhere` is not a neighbourhood of line `miramas`"), "{said}");
    let listed = String::from_utf8(app.cli(&["agents", "list"], "").stdout).unwrap();
    assert!(!listed.contains("xavier"), "never a referent of everything: {listed}");

    // The same from the API and the console, for a supervisor of Miramas.
    let mia = app.account("mia", "supervisor", &["--lines", "miramas"]);
    let new = |login: &str, role: &str, hoods: &[&str]| serde_json::json!({ "login": login, "role": role, "password": "correct horse battery", "neighbourhoods": hoods });
    let (status, refused) = api.post("/api/agents", &mia, new("yann", "coordinator", &["nowhere"])).await;
    assert_eq!((status, refused["error"]["field"].as_str()), (422, Some("neighbourhoods")), "{refused}");
    let (status, refused) = api.post("/api/agents", &mia, new("yann", "agent", &["maille"])).await;
    assert_eq!((status, refused["error"]["field"].as_str()), (422, Some("role")), "{refused}");
    assert_eq!(api.post("/api/agents", &mia, new("yann", "coordinator", &["molieres"])).await.0, 201);
    let (cookie, csrf) = common::console::log_in(&app, "mia").await;
    let form = format!(
        "csrf={csrf}&login=zoe&role=coordinator&password=correct+horse+battery&neighbourhoods=centre"
    );
    let added = common::console::send(&app, "POST", "/console/agents", &cookie, &[], &form).await;
    assert!(added.body.contains("Account zoe added."), "{}", added.body);

    // Monday 11:00 in Miramas: a resident of La Maille (2) asks for groceries (1), and one
    // of La Carraire (4), a neighbourhood with no referent.
    app.clock.set(brussels(2026, 11, 23, 11, 0));
    let maille = [Keys("1"), Keys("13140"), Keys("2"), Keys("1"), Keys("1"), Keys("2")];
    let call = app.call_line(MIRAMAS, "+33612345678", &maille).await;
    assert!(call.heard("Dans quel quartier habitez-vous ?"), "{}", call.transcript());
    assert!(call.heard("Votre demande est enregistrée sous le numéro 1."), "{}", call.transcript());
    let carraire = [Keys("1"), Keys("13140"), Keys("4"), Keys("1"), Keys("1"), Keys("2")];
    app.call_line(MIRAMAS, "+33611111111", &carraire).await;

    let ids = |v: &serde_json::Value| -> Vec<i64> {
        v["requests"].as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()).collect()
    };
    let (_, seen) = api.get("/api/requests", &rita).await;
    assert_eq!(ids(&seen), [1], "her neighbourhood's, and only hers: {seen}");
    assert_eq!(seen["requests"][0]["neighbourhood"], "maille");
    // Kept for two hours of opening time: 11:00–12:00, then 14:00–15:00 (closed at noon).
    assert_eq!(seen["requests"][0]["reserved_until"], "2026-11-23T14:00:00.000Z", "15:00 in Paris");
    assert!(ids(&api.get("/api/requests", &marc).await.1).is_empty(), "another neighbourhood's referent");
    app.add_agent("sue", "supervisor", "correct horse battery");
    let (cookie, _) = common::console::log_in(&app, "sue").await;
    let page = common::console::send(&app, "GET", "/console/requests/1", &cookie, &[], "").await;
    assert!(
        page.body
            .contains("<dt>Neighbourhood</dt><dd>maille · kept for its referents until Mon 23/11 15:00</dd>"),
        "{}",
        page.body
    );
    assert_eq!(ids(&api.get("/api/requests", &paul).await.1), [2], "La Carraire has no referent");
    let (status, refused) = api.post("/api/requests/1/claim", &paul, serde_json::json!({})).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (409, Some("not_available")), "{refused}");
    let (status, next) = api.post("/api/requests/claim-next", &paul, serde_json::json!({})).await;
    assert_eq!((status, next["request"]["id"].as_i64()), (200, Some(2)), "{next}");

    // At 14:30 it is still Rita's; at 15:00 everyone working the line sees it.
    app.clock.set(brussels(2026, 11, 23, 14, 30));
    assert!(!ids(&api.get("/api/requests", &paul).await.1).contains(&1));
    // (Paul's claim on request 2 has lapsed by then: it is back in the queue too.)
    app.clock.set(brussels(2026, 11, 23, 15, 0));
    assert_eq!(ids(&api.get("/api/requests", &paul).await.1), [1, 2]);

    // A referent who leaves: the neighbourhood's next request is everyone's at once.
    assert!(app.cli(&["agents", "disable", "rita"], "").status.success());
    app.call_line(MIRAMAS, "+33622222222", &maille).await;
    assert_eq!(ids(&api.get("/api/requests", &paul).await.1), [1, 2, 3]);
}

#[tokio::test]
async fn every_line_ends_and_reopens_on_its_own_with_its_own_message_while_the_server_runs() {
    let app = TestApp::open().await;
    // (number, first words of its end-of-service message, where it then puts callers through)
    let lines = [
        (LINE, "liege", "Liège Solidaire a terminé son service.", Some("+3242210000")),
        (VERVIERS, "verviers", "Verviers Solidaire a terminé son service.", Some("+3287353726")),
        (HERSTAL, "herstal", "La plateforme Herstal Solidaire est fermée", Some("+3242406200")),
        (COVID, "covid-solidarity", "Covid-Solidarity a terminé son service.", None),
        (MIRAMAS, "miramas", "Miramas Solidaire a terminé son service.", Some("+33490580000")),
    ];
    for (i, (number, id, message, transfer)) in lines.iter().enumerate() {
        let out = app.cli(&["lines", "end", id, "--from", "2026-11-23"], "");
        assert!(out.status.success(), "{id}: {}", String::from_utf8_lossy(&out.stderr));
        let script: &[Step] = if transfer.is_some() { &[Step::Transfer(Transfer::Answered)] } else { &[] };
        let call = app.call_line(number, CALLER, script).await;
        assert!(call.heard(message), "{id}: {}", call.transcript());
        assert!(!call.heard("tapez 1"), "{id}: nothing else, no menu: {}", call.transcript());
        let dial = call.exchanges.iter().find(|e| e.body.contains("<Dial"));
        assert_eq!(
            dial.map(|d| d.body.split("<Number>").nth(1).unwrap().split('<').next().unwrap().to_owned()),
            transfer.map(str::to_owned),
            "{id}"
        );
        // The lines not ended yet still answer with their menus.
        for (other, other_id, _, _) in &lines[i + 1..] {
            let call = app.call_line(other, CALLER, &[HangUp]).await;
            assert!(call.heard("tapez 1"), "{other_id} goes on: {}", call.transcript());
        }
    }
    // Covid-Solidarity says it in both its languages.
    let call = app.call_line(COVID, CALLER, &[]).await;
    assert!(call.heard("Covid-Solidarity heeft zijn dienstverlening beëindigd."), "{}", call.transcript());

    for (number, id, message, _) in &lines {
        let out = app.cli(&["lines", "reopen", id], "");
        assert!(out.status.success(), "{id}: {}", String::from_utf8_lossy(&out.stderr));
        let call = app.call_line(number, CALLER, &[HangUp]).await;
        assert!(!call.heard(message) && call.heard("tapez 1"), "{id} reopened: {}", call.transcript());
    }

    // Herstal keeps its hours too: on Saturday it is closed, and says when it is open.
    app.clock.set(brussels(2026, 11, 28, 10, 0));
    let call = app.call_line(HERSTAL, CALLER, &[HangUp]).await;
    assert!(
        call.heard("La ligne est fermée en ce moment. Nous sommes joignables du lundi au vendredi"),
        "{}",
        call.transcript()
    );
}
