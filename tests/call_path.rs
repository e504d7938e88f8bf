//! The path of a call, for supervisors: a real call made by the simulated provider is
//! found by its time and the last digits of its number, and read step by step (where the
//! caller was, what they heard, what they pressed, how long it took) through the JSON API
//! and the console, the request linking to it; numbers masked; another line's supervisor
//! and an agent refused; once the retention purge has removed the steps, the page says so.

mod common;

use common::console::{log_in, send};
use common::*;
use serde_json::Value;

#[tokio::test]
async fn a_supervisor_finds_a_call_and_reads_its_path_step_by_step() {
    let app = spawn_app(Options { at: brussels(2026, 11, 23, 10, 0), ..Options::default() }).await;
    let sue = app.account("sue", "supervisor", &["--lines", "liege"]);
    // A caller who takes ten seconds at each question: errands, groceries, a request.
    app.call_paced(CALLER, &errands("1", "1", None)).await;
    let api = Api::new(&app);

    // Found by the time it came in and the last digits of the number.
    let (status, found) = api.get("/api/calls?around=2026-11-23T10:10&digits=456", &sue).await;
    assert_eq!(status, 200, "{found}");
    let calls = found["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 1, "{found}");
    assert_eq!(calls[0]["caller"], "+32 4** ** ** 56", "masked");
    assert_eq!(calls[0]["outcome"], "callback");
    let sid = calls[0]["sid"].as_str().unwrap().to_owned();
    for (query, why) in [
        ("around=2026-11-23T10:10&digits=999", "other digits"),
        ("around=2026-11-23T12:00&digits=456", "two hours later"),
    ] {
        let (_, none) = api.get(&format!("/api/calls?{query}"), &sue).await;
        assert_eq!(none["calls"], serde_json::json!([]), "{why}");
    }
    let (status, refused) = api.get("/api/calls?digits=4", &sue).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (422, Some("invalid")), "{refused}");

    // Step by step: the language, the menus, the postcode, the errand, the confirmation.
    let (status, path) = api.get(&format!("/api/calls/{sid}"), &sue).await;
    assert_eq!(status, 200, "{path}");
    assert!(!path.to_string().contains("470123456"), "no full number: {path}");
    let heard_all = steps_said(&path);
    assert!(
        heard_all.contains("*, *, *, *. *, *. *, *. 5, 6."),
        "the number read back is masked: {heard_all}"
    );
    let steps = path["steps"].as_array().unwrap();
    let inputs: Vec<&str> = steps.iter().map(|s| s["input"].as_str().unwrap()).collect();
    assert_eq!(&inputs[1..], ["1", "3", "1", "4020", "1", "1", "2"], "{path}");
    assert_eq!(steps[0]["kind"], "incoming");
    let nodes: Vec<&str> = steps.iter().map(|s| s["node"].as_str().unwrap()).collect();
    assert_eq!(nodes[0], "", "the call had not reached a node yet");
    assert!(nodes[1..].iter().all(|n| !n.is_empty()), "{nodes:?}");
    let after: Vec<f64> = steps.iter().skip(1).map(|s| s["seconds_after"].as_f64().unwrap()).collect();
    assert!(after.iter().all(|s| (*s - 10.0).abs() < 0.001), "ten seconds a question: {after:?}");
    let heard = |i: usize| -> String {
        steps[i]["heard"].as_array().unwrap().iter().map(|h| h["text"].as_str().unwrap_or_default()).collect()
    };
    assert!(heard(0).contains("Liège"), "the greeting: {}", heard(0));
    assert!(steps.iter().any(|s| s["heard"].to_string().contains("Votre demande est enregistrée")), "{path}");
    assert_eq!(steps[0]["heard"][0]["kind"], "spoken", "no recordings here: said by the provider's voice");

    // The console: the search, the path, and the request's link to it.
    let (cookie, _) = log_in(&app, "sue").await;
    let page =
        send(&app, "GET", "/console/calls?around=2026-11-23T10%3A10&digits=456", &cookie, &[], "").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains(&format!("/console/calls/{sid}")), "{}", page.body);
    let page = send(&app, "GET", &format!("/console/calls/{sid}"), &cookie, &[], "").await;
    assert_eq!(page.status, 200);
    for node in &nodes[1..] {
        assert!(page.body.contains(&format!("<code>{node}</code>")), "{node}: {}", page.body);
    }
    assert!(page.body.contains("+32 4** ** ** 56") && !page.body.contains("470123456"));
    assert!(page.body.contains("+10.0 s") && page.body.contains("4020"), "{}", page.body);
    let request = send(&app, "GET", "/console/requests/1", &cookie, &[], "").await;
    assert!(request.body.contains(&format!("href=\"/console/calls/{sid}\"")), "{}", request.body);

    // Another line's supervisor finds no such call; an agent may not look.
    let vera = app.account("vera", "supervisor", &["--lines", "verviers"]);
    let (status, body) = api.get(&format!("/api/calls/{sid}"), &vera).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")), "{body}");
    let (_, found) = api.get("/api/calls?around=2026-11-23T10:10&digits=456", &vera).await;
    assert_eq!(found["calls"], serde_json::json!([]));
    let anna = app.account("anna", "agent", &["--lines", "liege"]);
    assert_eq!(api.get(&format!("/api/calls/{sid}"), &anna).await.0, 403);

    // Once the retention purge has run (the command runs on today's clock, keeping one
    // day), the steps are gone: the call remains, its path says so.
    let config = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(config.path(), "retention_days = 1\n").unwrap();
    let out = app.cli(&["--config", config.path().to_str().unwrap(), "purge"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (status, path) = api.get(&format!("/api/calls/{sid}"), &sue).await;
    assert_eq!(status, 200);
    assert_eq!(
        (path["steps"].clone(), path["steps_kept"].clone()),
        (Value::Array(vec![]), Value::Bool(false))
    );
    assert_eq!(path["call"]["caller"], "(anonymised)");
    let page = send(&app, "GET", &format!("/console/calls/{sid}"), &cookie, &[], "").await;
    assert!(page.body.contains("no longer kept"), "{}", page.body);
}

/// Everything the caller heard along the path, one text after another.
fn steps_said(path: &Value) -> String {
    path["steps"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| {
            s["heard"].as_array().unwrap().iter().map(|h| h["text"].as_str().unwrap_or_default().to_owned())
        })
        .collect::<Vec<_>>()
        .join(" | ")
}
