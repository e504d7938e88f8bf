//! Volunteers and missions through the JSON API and the voice line: a resident's errand
//! matched to the neighbours who can do it (nearest first, the far, off-duty and
//! wrong-kind ones left out with why), assigned, seen in full only by its volunteer; a
//! resident signing up by phone; offers where the first to accept wins; a request that
//! no volunteer takes going back to the queue; referents held to their postcodes; and
//! every bad field refused by name with nothing written.

mod common;

use common::*;
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery";

struct Desk {
    app: TestApp,
    api: Api,
    anna: String,
    cora: String,
}

async fn desk_with(options: Options) -> Desk {
    let app = spawn_app(options).await;
    let anna = app.add_agent("anna", "agent", PASSWORD);
    let cora = app.add_agent("cora", "coordinator", PASSWORD);
    let api = Api::new(&app);
    Desk { app, api, anna, cora }
}

async fn desk() -> Desk {
    desk_with(Options::default()).await
}

impl Desk {
    async fn add(&self, name: &str, phone: &str, postcode: &str, helps: &[&str]) -> i64 {
        let (status, body) = self
            .api
            .post(
                "/api/volunteers",
                &self.cora,
                json!({ "name": name, "phone": phone, "postcode": postcode, "helps": helps, "languages": ["fr"] }),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["volunteer"]["state"], "active", "added by a coordinator: active at once");
        body["volunteer"]["id"].as_i64().unwrap()
    }

    /// A volunteer's account, linked to their record; returns its token.
    async fn account(&self, volunteer: i64, login: &str) -> String {
        let token = self.app.add_agent(login, "volunteer", PASSWORD);
        let (status, body) = self
            .api
            .post(&format!("/api/volunteers/{volunteer}/account"), &self.cora, json!({ "login": login }))
            .await;
        assert_eq!(status, 200, "{body}");
        token
    }

    /// The five neighbours of the issue: 4020, 4030, Verviers 4800, one off duty, one who
    /// only walks pets.
    async fn five(&self) -> [i64; 5] {
        let near = self.add("Nadia", "0470 11 11 11", "4020", &["groceries"]).await;
        let grivegnee = self.add("Gaston", "0470 22 22 22", "4030", &["groceries", "pharmacy"]).await;
        let verviers = self.add("Véra", "0470 33 33 33", "4800", &["groceries"]).await;
        let off = self.add("Omar", "0470 44 44 44", "4020", &["groceries"]).await;
        let (status, body) =
            self.api.post(&format!("/api/volunteers/{off}/off-duty"), &self.cora, json!({})).await;
        assert_eq!((status, body["on_duty"].as_bool()), (200, Some(false)), "{body}");
        let pets = self.add("Paul", "0470 55 55 55", "4020", &["pets"]).await;
        [near, grivegnee, verviers, off, pets]
    }
}

fn ids(list: &Value, key: &str, field: &str) -> Vec<i64> {
    list[key].as_array().unwrap().iter().map(|r| r[field].as_i64().unwrap()).collect()
}

#[tokio::test]
async fn a_groceries_request_from_4020_is_matched_nearest_first_and_assigned_to_one_who_alone_sees_the_contact()
 {
    let d = desk().await;
    let [near, grivegnee, verviers, off, pets] = d.five().await;
    d.app.errands_request(CALLER).await;

    let (status, m) = d.api.get("/api/requests/1/matches", &d.cora).await;
    assert_eq!(status, 200, "{m}");
    assert_eq!(m["help"], "groceries", "the request carries the kind asked for");
    assert_eq!(ids(&m, "matches", "volunteer"), [near, grivegnee], "{m}");
    let first = &m["matches"][0];
    assert!(first["distance_km"].as_f64().unwrap() < 1.0, "{first}");
    assert!(first["score"].as_f64().unwrap() > m["matches"][1]["score"].as_f64().unwrap());
    let reasons: Vec<&str> =
        first["reasons"].as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
    assert!(reasons.contains(&"speaks fr") && reasons.contains(&"no mission this week"), "{reasons:?}");
    let second_km = m["matches"][1]["distance_km"].as_f64().unwrap();
    assert!((1.0..5.0).contains(&second_km), "Grivegnée is a few km from 4020: {second_km}");
    let left_out: Vec<(i64, &str)> = m["left_out"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["volunteer"].as_i64().unwrap(), l["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(left_out.len(), 3, "{left_out:?}");
    assert!(
        left_out.iter().any(|(id, why)| *id == verviers && why.contains("km away, goes 10 km")),
        "{left_out:?}"
    );
    assert!(left_out.contains(&(off, "off duty")), "{left_out:?}");
    assert!(left_out.contains(&(pets, "does not offer this kind of help")), "{left_out:?}");

    let (status, body) = d.api.post("/api/requests/1/assign", &d.cora, json!({ "volunteer": near })).await;
    assert_eq!(status, 200, "{body}");
    let mission = body["mission"]["id"].as_i64().unwrap();
    assert_eq!(body["mission"]["state"], "accepted");
    assert!(body["mission"].get("contact").is_none(), "the coordinator does not get the resident's number");
    assert!(body["mission"]["neighbourhood"].as_str().unwrap().starts_with("4020 "), "{body}");

    let (_, queue) = d.api.get("/api/requests", &d.anna).await;
    assert_eq!(
        ids(&queue, "requests", "id"),
        Vec::<i64>::new(),
        "served by a mission: out of the agents' queue"
    );

    let nadia = d.account(near, "nadia").await;
    let gaston = d.account(grivegnee, "gaston").await;
    let (status, mine) = d.api.get("/api/missions", &nadia).await;
    assert_eq!(status, 200, "{mine}");
    assert_eq!(mine["missions"][0]["contact"]["phone"], CALLER, "{mine}");
    let (status, _) = d.api.get(&format!("/api/missions/{mission}"), &gaston).await;
    assert_eq!(status, 404, "another volunteer learns nothing of it");
    let (_, theirs) = d.api.get("/api/missions", &gaston).await;
    assert_eq!(theirs["missions"], json!([]));
    let (status, _) = d.api.get("/api/requests", &nadia).await;
    assert_eq!(status, 403, "a volunteer's account never sees the queue");
    let (status, _) = d.api.get("/api/missions", &d.anna).await;
    assert_eq!(status, 403, "an agent does not coordinate");
    let (status, body) =
        d.api.post(&format!("/api/volunteers/{grivegnee}/off-duty"), &gaston, json!({})).await;
    assert_eq!((status, body["on_duty"].as_bool()), (200, Some(false)), "their own switch: {body}");
    let (status, _) = d.api.post(&format!("/api/volunteers/{near}/off-duty"), &gaston, json!({})).await;
    assert_eq!(status, 404, "nobody else's");
    let (status, _) = d.api.post(&format!("/api/volunteers/{grivegnee}/confirm"), &gaston, json!({})).await;
    assert_eq!(status, 403, "and nothing else");
    let (_, seen) = d.api.get("/api/requests/1", &d.cora).await;
    assert_eq!(
        (&seen["request"]["help"], &seen["request"]["mission"]),
        (&json!("groceries"), &json!(mission)),
        "{seen}"
    );

    let (status, body) = d
        .api
        .post(&format!("/api/missions/{mission}/done"), &nadia, json!({ "note": "bags left at the door" }))
        .await;
    assert_eq!((status, body["mission"]["state"].as_str()), (200, Some("done")), "{body}");
    let (_, request) = d.api.get("/api/requests/1", &d.cora).await;
    assert_eq!(request["request"]["state"], "done", "{request}");
    let history: Vec<&str> =
        request["history"].as_array().unwrap().iter().map(|h| h["detail"].as_str().unwrap()).collect();
    assert!(history.iter().any(|h| h.contains("assigned to volunteer")), "{history:?}");
    let (_, mission_view) = d.api.get(&format!("/api/missions/{mission}"), &d.cora).await;
    let actions: Vec<&str> = mission_view["mission"]["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["proposed", "assigned", "done"], "{mission_view}");
    assert_eq!(mission_view["mission"]["history"][1]["agent"], "cora");

    // The day's statistics count missions, never people.
    let sue = d.app.add_agent("sue", "supervisor", PASSWORD);
    let day = open_hours().with_timezone(&chrono_tz::Europe::Brussels).date_naive();
    let (status, report) = d.api.get(&format!("/api/stats/daily?date={day}&format=json"), &sue).await;
    assert_eq!(status, 200, "{report}");
    let figures = &report["days"][0];
    assert_eq!(
        (&figures["missions_created"], &figures["missions_accepted"], &figures["missions_done"]),
        (&json!(1), &json!(1), &json!(1)),
        "{figures}"
    );
    assert_eq!(figures["volunteers_on_missions"], 1);
    assert!(figures["median_minutes_to_acceptance"].as_f64().is_some(), "{figures}");
    assert_eq!(
        report["postcodes"],
        json!([{ "date": day.to_string(), "line": "all", "postcode": "4020", "missions_created": 1, "missions_done": 1 }])
    );
    assert!(!report.to_string().contains("+32"), "counts only");

    // Continuity: the next time this resident asks, the one who helped comes first even
    // with a mission behind her this week.
    d.app.clock.advance(chrono::Duration::days(2));
    d.app.errands_request(CALLER).await;
    let (_, again) = d.api.get("/api/requests/2/matches", &d.cora).await;
    assert_eq!(ids(&again, "matches", "volunteer")[0], near, "{again}");
    assert!(again["matches"][0]["reasons"].to_string().contains("helped this resident before"), "{again}");
    assert!(again["matches"][0]["reasons"].to_string().contains("1 mission this week"), "{again}");
}

#[tokio::test]
async fn a_resident_signs_up_by_phone_and_waits_as_pending_until_a_coordinator_confirms() {
    let d = desk().await;
    // French, "to volunteer" (6), lives in 4020, errands and listening (3), also speaks
    // Dutch (2), the caller ID confirmed, then says their name.
    let call = d
        .app
        .call_from(
            "+32470987654",
            &[Keys("1"), Keys("6"), Keys("4020"), Keys("3"), Keys("2"), Keys("1"), Step::Record(Some(3))],
        )
        .await;
    assert!(call.heard("Votre inscription porte le numéro 1"), "{}", call.transcript());
    assert!(call.heard("dites votre prénom et votre nom"), "{}", call.transcript());

    let (_, pending) = d.api.get("/api/volunteers?state=pending", &d.cora).await;
    let v = &pending["volunteers"][0];
    assert_eq!(pending["volunteers"].as_array().unwrap().len(), 1, "{pending}");
    assert_eq!(v["postcode"], "4020");
    assert_eq!(v["helps"], json!(["groceries", "listening", "pharmacy"]));
    assert_eq!(v["languages"], json!(["fr", "nl"]));
    assert_eq!(v["name_recorded"], true);
    assert_eq!(v["phone"], "+32 4** ** ** 54", "masked in the roster");
    assert_eq!(v["consent"]["how"], "by phone");

    // Pending: never matched until confirmed.
    d.app.errands_request(CALLER).await;
    let (_, m) = d.api.get("/api/requests/1/matches", &d.cora).await;
    assert_eq!(m["matches"], json!([]), "{m}");
    assert_eq!(m["left_out"][0]["reason"], "pending");
    let (status, body) = d.api.post("/api/volunteers/1/confirm", &d.cora, json!({})).await;
    assert_eq!((status, body["state"].as_str()), (200, Some("active")), "{body}");
    let (_, m) = d.api.get("/api/requests/1/matches", &d.cora).await;
    assert_eq!(ids(&m, "matches", "volunteer"), [1], "{m}");
    let (status, body) = d.api.post("/api/volunteers/1/confirm", &d.cora, json!({})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("wrong_state")), "{body}");
    // The roster matching keeps in memory follows a change made by another process (the
    // operator's command line on the same file).
    d.app.db().execute("UPDATE volunteers SET on_duty = 0 WHERE id = 1", []).unwrap();
    let (_, m) = d.api.get("/api/requests/1/matches", &d.cora).await;
    assert_eq!(m["left_out"][0]["reason"], "off duty", "{m}");

    // Calling again does not make a second record.
    let again = d
        .app
        .call_from(
            "+32470987654",
            &[Keys("1"), Keys("6"), Keys("4020"), Keys("1"), Keys("4"), Keys("1"), Step::Record(Some(2))],
        )
        .await;
    assert!(again.heard("Votre inscription porte le numéro 1"), "{}", again.transcript());
    assert_eq!(d.app.count("SELECT count(*) FROM volunteers"), 1);
}

#[tokio::test]
async fn an_offer_to_two_is_taken_by_the_first_to_accept_and_a_mission_not_done_goes_back_to_the_queue() {
    let d = desk().await;
    let [near, grivegnee, verviers, ..] = d.five().await;
    d.app.errands_request(CALLER).await;
    let (status, _) = d.api.post("/api/requests/1/claim", &d.anna, json!({})).await;
    assert_eq!(status, 200);
    let (status, body) = d.api.post("/api/requests/1/find-volunteer", &d.cora, json!({})).await;
    assert_eq!(status, 409, "an agent is calling back: {body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("being called back by anna"), "{body}");
    d.api.post("/api/requests/1/release", &d.anna, json!({})).await;
    let (status, body) = d.api.post("/api/requests/1/find-volunteer", &d.cora, json!({})).await;
    assert_eq!((status, body["mission"]["state"].as_str()), (201, Some("proposed")), "{body}");
    let mission = body["mission"]["id"].as_i64().unwrap();

    let (status, body) = d
        .api
        .post(&format!("/api/missions/{mission}/offer"), &d.cora, json!({ "volunteers": [verviers] }))
        .await;
    assert_eq!(status, 409, "only a match is offered a mission: {body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("km away"), "{body}");
    let (status, body) = d
        .api
        .post(&format!("/api/missions/{mission}/offer"), &d.cora, json!({ "volunteers": [near, grivegnee] }))
        .await;
    assert_eq!((status, body["mission"]["state"].as_str()), (200, Some("offered")), "{body}");

    let nadia = d.account(near, "nadia").await;
    let gaston = d.account(grivegnee, "gaston").await;
    let (_, offered) = d.api.get("/api/missions", &nadia).await;
    let before = &offered["missions"][0];
    assert_eq!(before["state"], "offered");
    assert!(before.get("contact").is_none(), "before accepting: the neighbourhood, not the person: {before}");
    assert_eq!(before["help_label"], "Courses alimentaires");

    let (status, body) = d.api.post(&format!("/api/missions/{mission}/decline"), &nadia, json!({})).await;
    assert_eq!(
        (status, body["mission"]["state"].as_str()),
        (200, Some("offered")),
        "still offered to Gaston: {body}"
    );
    let (status, body) = d.api.post(&format!("/api/missions/{mission}/accept"), &nadia, json!({})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("wrong_state")),
        "declined is declined: {body}"
    );
    let (status, body) = d.api.post(&format!("/api/missions/{mission}/accept"), &gaston, json!({})).await;
    assert_eq!((status, body["mission"]["state"].as_str()), (200, Some("accepted")), "{body}");
    assert_eq!(body["mission"]["contact"]["phone"], CALLER);
    let (status, body) = d.api.post(&format!("/api/missions/{mission}/accept"), &nadia, json!({})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("wrong_state")), "taken: {body}");

    // Gaston gives it back; the coordinator assigns it to him again after a phone call.
    let (status, body) = d.api.post(&format!("/api/missions/{mission}/cancel"), &gaston, json!({})).await;
    assert_eq!((status, body["mission"]["state"].as_str()), (200, Some("proposed")), "{body}");
    assert!(body["mission"].get("contact").is_none(), "no longer his: {body}");
    let (_, queue) = d.api.get("/api/requests", &d.anna).await;
    assert_eq!(queue["requests"], json!([]), "still looking for a volunteer, not back to the agents");
    let (status, body) =
        d.api.post("/api/requests/1/assign", &d.cora, json!({ "volunteer": grivegnee })).await;
    assert_eq!((status, body["mission"]["id"].as_i64()), (200, Some(mission)), "the same mission: {body}");

    let (status, body) = d
        .api
        .post(
            &format!("/api/missions/{mission}/not-done"),
            &gaston,
            json!({ "note": "nobody answered the door" }),
        )
        .await;
    assert_eq!((status, body["mission"]["state"].as_str()), (200, Some("not_done")), "{body}");
    let (_, queue) = d.api.get("/api/requests", &d.anna).await;
    assert_eq!(ids(&queue, "requests", "id"), [1], "no volunteer could do it: back to the agents");

    // Offers count towards the monthly cap (2 on the bundled line).
    let (_, m) = d.api.get("/api/requests/1/matches", &d.cora).await;
    assert_eq!(ids(&m, "matches", "volunteer"), [near, grivegnee], "one offer each so far: {m}");
    let (status, body) = d.api.post("/api/requests/1/find-volunteer", &d.cora, json!({})).await;
    assert_eq!(status, 201, "{body}");
    let second = body["mission"]["id"].as_i64().unwrap();
    d.api.post(&format!("/api/missions/{second}/offer"), &d.cora, json!({ "volunteers": [near] })).await;
    let (status, body) = d.api.post(&format!("/api/missions/{second}/cancel"), &d.cora, json!({})).await;
    assert_eq!((status, body["mission"]["state"].as_str()), (200, Some("cancelled")), "{body}");
    let (_, m) = d.api.get("/api/requests/1/matches", &d.cora).await;
    assert_eq!(ids(&m, "matches", "volunteer"), [grivegnee], "{m}");
    assert!(m["left_out"].to_string().contains("asked enough times this month"), "{m}");

    // A supervisor who cancels the request ends its mission too.
    let sue = d.app.add_agent("sue", "supervisor", PASSWORD);
    let (_, body) = d.api.post("/api/requests/1/find-volunteer", &d.cora, json!({})).await;
    let third = body["mission"]["id"].as_i64().unwrap();
    let (status, body) = d.api.post("/api/requests/1/cancel", &sue, json!({ "reason": "moved away" })).await;
    assert_eq!(status, 200, "{body}");
    let (_, ended) = d.api.get(&format!("/api/missions/{third}"), &d.cora).await;
    assert_eq!(ended["mission"]["state"], "cancelled", "{ended}");
    let (_, request) = d.api.get("/api/requests/1", &sue).await;
    assert_eq!(request["request"]["state"], "cancelled", "{request}");
}

#[tokio::test]
async fn a_kind_marked_for_missions_leaves_the_queue_at_once() {
    let flows = tempfile::tempdir().unwrap();
    let liege = std::fs::read_to_string(repo_flows().join("liege.toml")).unwrap();
    let marked = liege.replace(
        "label = { fr = \"Courses alimentaires\"",
        "missions = true\nlabel = { fr = \"Courses alimentaires\"",
    );
    assert_ne!(marked, liege);
    std::fs::write(flows.path().join("liege.toml"), marked).unwrap();
    let d = desk_with(Options { flows: Some(flows.path().to_path_buf()), ..Options::default() }).await;
    d.add("Nadia", "0470 11 11 11", "4020", &["groceries"]).await;

    d.app.errands_request(CALLER).await;
    let (_, queue) = d.api.get("/api/requests", &d.anna).await;
    assert_eq!(queue["requests"], json!([]), "{queue}");
    let (_, missions) = d.api.get("/api/missions?state=proposed", &d.cora).await;
    assert_eq!(ids(&missions, "missions", "request"), [1], "{missions}");
    // Pharmacy is not marked: an agent calls back.
    d.app.call_from("+32470999888", &errands("1", "2", None)).await;
    let (_, queue) = d.api.get("/api/requests", &d.anna).await;
    assert_eq!(ids(&queue, "requests", "id"), [2], "{queue}");
}

#[tokio::test]
async fn every_bad_field_is_refused_by_name_and_nothing_is_written() {
    let d = desk().await;
    d.add("Nadia", "0470 11 11 11", "4020", &["groceries"]).await;
    let good = json!({ "name": "Zoé", "phone": "0470 66 66 66", "postcode": "4020", "helps": ["groceries"] });
    let cases = [
        ("postcode", json!("9999"), "unknown postcode `9999`"),
        ("helps", json!(["juggling"]), "unknown kind of help `juggling`"),
        ("languages", json!(["xx"]), "unknown language `xx`"),
        ("availability", json!("mon 09:00-12:00 11:00-13:00"), "overlap"),
        ("availability", json!("mon 12:00-12:00"), "ends before it starts"),
        ("phone", json!("0900 12 345"), "premium"),
        ("phone", json!("0470 11 11 11"), "already on the roster (volunteer 1)"),
        ("radius_km", json!(0), "between 0 and 200 km"),
    ];
    for (field, value, says) in cases {
        let mut body = good.clone();
        body[field] = value;
        let (status, answer) = d.api.post("/api/volunteers", &d.cora, body).await;
        assert_eq!(status, 422, "{field}: {answer}");
        assert_eq!(answer["error"]["field"], field, "{answer}");
        assert_eq!(answer["error"]["code"], "invalid");
        assert!(answer["error"]["message"].as_str().unwrap().contains(says), "{field}: {answer}");
    }
    assert_eq!(d.app.count("SELECT count(*) FROM volunteers"), 1, "nothing half-written");
    let (status, _) = d.api.post("/api/volunteers", &d.anna, good.clone()).await;
    assert_eq!(status, 403, "agents do not keep the roster");
    let (status, answer) = d.api.get("/api/volunteers/99", &d.cora).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (404, Some("not_found")));
    let (status, answer) = d.api.get("/api/requests/1/matches", &d.cora).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (404, Some("not_found")));
    let (status, answer) = d.api.post("/api/volunteers", &d.cora, json!({ "name": "x", "pone": "1" })).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (400, Some("bad_json")), "{answer}");
}

#[tokio::test]
async fn a_referent_sees_and_handles_only_their_postcodes() {
    let d = desk().await;
    let [near, grivegnee, ..] = d.five().await;
    let rita = d.app.add_agent("rita", "coordinator", PASSWORD);
    d.app
        .db()
        .execute("INSERT INTO referent_postcodes (agent_id, postcode) SELECT id, '4030' FROM agents WHERE login = 'rita'", [])
        .unwrap();
    d.app.errands_request(CALLER).await;

    let (_, roster) = d.api.get("/api/volunteers", &rita).await;
    assert_eq!(ids(&roster, "volunteers", "id"), [grivegnee], "{roster}");
    let (status, _) = d.api.get(&format!("/api/volunteers/{near}"), &rita).await;
    assert_eq!(status, 404, "not found, not forbidden: another neighbourhood is none of theirs");
    let (status, _) = d.api.get("/api/requests/1", &rita).await;
    assert_eq!(status, 404, "a request of 4020");
    let (_, queue) = d.api.get("/api/requests", &rita).await;
    assert_eq!(queue["requests"], json!([]));
    let (status, _) = d.api.get("/api/requests/1/matches", &rita).await;
    assert_eq!(status, 404);
    let (status, answer) = d
        .api
        .post(
            "/api/volunteers",
            &rita,
            json!({ "name": "Zoé", "phone": "0470 66 66 66", "postcode": "4020", "helps": ["groceries"] }),
        )
        .await;
    assert_eq!((status, answer["error"]["field"].as_str()), (422, Some("postcode")), "{answer}");
}

#[tokio::test]
async fn a_coordinator_changes_a_record_and_the_matches_follow() {
    let d = desk().await;
    let [near, grivegnee, ..] = d.five().await;
    d.app.errands_request(CALLER).await;
    let path = format!("/api/volunteers/{near}");

    let (status, body) = d
        .api
        .send("PATCH", &path, Some(&d.cora), Some(json!({ "helps": ["listening"], "radius_km": 4 })))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (&body["volunteer"]["helps"], &body["volunteer"]["radius_km"]),
        (&json!(["listening"]), &json!(4.0))
    );
    assert_eq!(body["volunteer"]["name"], "Nadia", "what is not given stays");
    let (_, m) = d.api.get("/api/requests/1/matches", &d.cora).await;
    assert_eq!(ids(&m, "matches", "volunteer"), [grivegnee], "no longer doing groceries: {m}");

    for (change, field) in [
        (json!({ "postcode": "9999" }), "postcode"),
        (json!({ "phone": "0470 22 22 22" }), "phone"),
        (json!({ "availability": "sun 10:00-09:00" }), "availability"),
        (json!({ "helps": [] }), "helps"),
    ] {
        let (status, body) = d.api.send("PATCH", &path, Some(&d.cora), Some(change)).await;
        assert_eq!((status, body["error"]["field"].as_str()), (422, Some(field)), "{body}");
    }
    let (status, body) = d.api.send("PATCH", &path, Some(&d.cora), Some(json!({ "shoe_size": 40 }))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("bad_json")), "{body}");
    let (_, record) = d.api.get(&path, &d.cora).await;
    assert_eq!(record["volunteer"]["helps"], json!(["listening"]), "a refused change writes nothing");
    let edits: Vec<&str> = record["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["action"] == "edited")
        .map(|h| h["detail"].as_str().unwrap())
        .collect();
    assert_eq!(edits, ["kinds of help, distance"], "{record}");
    let (status, _) = d.api.send("PATCH", &path, Some(&d.anna), Some(json!({ "notes": "x" }))).await;
    assert_eq!(status, 403);
}
