//! `solidaire backup` while the service runs, and a restore from the copy.

mod common;

use common::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_calls_arrive_restores_to_a_working_service() {
    let app = TestApp::open().await;
    let sue = app.add_agent("sue", "supervisor", "correct horse battery");
    app.errands_request(CALLER).await;
    let copy = app.dir.path().join("copy.db");

    // Calls keep arriving while the copy is made.
    let load = {
        let phone = app.phone();
        tokio::spawn(async move { solidaire::loadtest::run(&phone, LINE, 30, 3, false, 100).await })
    };
    let backup = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_solidaire"))
            .env_clear()
            .arg("--database")
            .arg(&app.db)
            .arg("backup")
            .arg(&copy)
            .output()
            .unwrap()
    };
    let out = backup();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("integrity ok"));
    assert_eq!(load.await.unwrap().errors, 0, "the service kept answering");

    // A second backup to the same name is refused.
    let again = backup();
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));

    // Restore: a service started on the copy has the request and the account.
    let restored = app.dir.path().join("restored");
    std::fs::create_dir(&restored).unwrap();
    std::fs::copy(&copy, restored.join("solidaire.db")).unwrap();
    let settings = solidaire::settings::Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        database: restored.join("solidaire.db"),
        flows: repo_flows(),
        flows_named: true,
        log: "warn".to_owned(),
        ..solidaire::settings::Settings::default()
    };
    let service =
        solidaire::app::Application::build(settings, std::sync::Arc::new(app.clock.clone())).await.unwrap();
    let port = service.port();
    tokio::spawn(service.run_until(std::future::pending()));
    let mut api = Api::new(&app);
    api.set_server(&format!("http://127.0.0.1:{port}"));
    let (status, one) = api.get("/api/requests/1", &sue).await;
    assert_eq!(status, 200, "{one}");
    assert_eq!(one["request"]["service"], "errands");
    assert_eq!(api.post("/api/requests/1/claim", &sue, json!({})).await.0, 200);
}
