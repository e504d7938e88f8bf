//! The coordinators' console over plain HTTP, as a browser without JavaScript uses it:
//! the roster with filters and the add form (a wrong field comes back by name, nothing
//! written), a volunteer's page and its buttons, a request's matches and "assign", the
//! missions by state, and the map.

mod common;

use common::console::{hidden_csrf, log_in, send};
use common::*;

const PASSWORD: &str = "correct horse battery";

fn form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

#[tokio::test]
async fn a_coordinator_adds_a_volunteer_reads_the_matches_assigns_and_sees_the_map() {
    let app = TestApp::open().await;
    app.add_agent("cora", "coordinator", PASSWORD);
    app.add_agent("anna", "agent", PASSWORD);
    let (cookie, csrf) = log_in(&app, "cora").await;

    let empty = send(&app, "GET", "/console/volunteers", &cookie, &[], "").await;
    assert_eq!(empty.status, 200);
    assert!(
        empty.body.contains("0 volunteer(s)") && empty.body.contains("Add a volunteer"),
        "{}",
        empty.body
    );

    let bad = form(&[
        ("csrf", &csrf),
        ("name", "Nadia"),
        ("phone", "0470 11 11 11"),
        ("postcode", "9999"),
        ("helps", "groceries"),
    ]);
    let refused = send(&app, "POST", "/console/volunteers", &cookie, &[], &bad).await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("postcode: unknown postcode `9999`"), "{}", refused.body);
    assert!(refused.body.contains(r#"value="Nadia""#), "the form keeps what was typed");
    assert_eq!(app.count("SELECT count(*) FROM volunteers"), 0);

    let good = form(&[
        ("csrf", &csrf),
        ("name", "Nadia"),
        ("phone", "0470 11 11 11"),
        ("postcode", "4020"),
        ("section", "Bressoux"),
        ("helps", "groceries"),
        ("helps", "pharmacy"),
        ("languages", "fr, nl"),
        ("consent", "paper form"),
    ]);
    let added = send(&app, "POST", "/console/volunteers", &cookie, &[], &good).await;
    assert_eq!((added.status, added.location.as_str()), (303, "/console/volunteers/1"), "{}", added.body);
    let page = send(&app, "GET", "/console/volunteers/1", &cookie, &[], "").await;
    assert!(page.body.contains("+32 4** ** ** 11"), "masked on the page: {}", page.body);
    assert!(page.body.contains("Courses alimentaires, Pharmacie"), "{}", page.body);
    assert!(page.body.contains("paper form"), "{}", page.body);
    let off =
        send(&app, "POST", "/console/volunteers/1/off-duty", &cookie, &[], &form(&[("csrf", &csrf)])).await;
    assert_eq!(off.status, 303);
    let filtered = send(&app, "GET", "/console/volunteers?help=pets", &cookie, &[], "").await;
    assert!(filtered.body.contains("0 volunteer(s)"), "{}", filtered.body);
    let listed = send(&app, "GET", "/console/volunteers?postcode=4020", &cookie, &[], "").await;
    assert!(listed.body.contains("active, off duty"), "{}", listed.body);
    send(&app, "POST", "/console/volunteers/1/on-duty", &cookie, &[], &form(&[("csrf", &csrf)])).await;

    app.errands_request(CALLER).await;
    let request = send(&app, "GET", "/console/requests/1", &cookie, &[], "").await;
    assert!(request.body.contains(r#"href="/console/requests/1/matches""#), "{}", request.body);
    let matches = send(&app, "GET", "/console/requests/1/matches", &cookie, &[], "").await;
    assert_eq!(matches.status, 200);
    assert!(
        matches.body.contains("Assign to Nadia") && matches.body.contains("speaks fr"),
        "{}",
        matches.body
    );
    let assign = form(&[("csrf", &hidden_csrf(&matches.body)), ("volunteer", "1")]);
    let assigned = send(&app, "POST", "/console/requests/1/assign", &cookie, &[], &assign).await;
    assert_eq!((assigned.status, assigned.location.as_str()), (303, "/console/missions?state=accepted"));
    let missions = send(&app, "GET", "/console/missions?state=accepted", &cookie, &[], "").await;
    assert!(
        missions.body.contains("1 mission(s)") && missions.body.contains("4020 Bressoux"),
        "{}",
        missions.body
    );
    assert!(!missions.body.contains("+32470123456"), "no resident's number on the coordinator's page");

    let map = send(&app, "GET", "/console/map", &cookie, &[], "").await;
    assert_eq!(map.status, 200);
    assert!(map.body.contains("<svg") && map.body.contains(">4020</text>"), "{}", map.body);
    assert!(
        !map.body.contains("<image") && !map.body.contains("xlink:href"),
        "nothing fetched from elsewhere"
    );

    let (agent_cookie, _) = log_in(&app, "anna").await;
    let refused = send(&app, "GET", "/console/volunteers", &agent_cookie, &[], "").await;
    assert_eq!(refused.status, 403);
    let queue = send(&app, "GET", "/console", &agent_cookie, &[], "").await;
    assert!(!queue.body.contains(r#"href="/console/volunteers""#), "no roster link for an agent");
}
