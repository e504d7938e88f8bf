//! A prompt's words changed from the console (or the API): the line's flow file is
//! written with every other line of it as it was, once the flows' check passes; the next
//! call hears the new words; a recording made for the old words is said to be outdated; a
//! placeholder nothing fills, or another file of the folder that no longer validates,
//! refuses the change with the problem by file and line, and nothing is written.

mod common;

use common::console::{hidden_csrf, log_in, send};
use common::*;

fn copy_flows(to: &std::path::Path) {
    for entry in std::fs::read_dir(repo_flows()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
        }
    }
}

fn form(csrf: &str, text: &str) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("csrf", csrf)
        .append_pair("text", text)
        .finish()
}

#[tokio::test]
async fn a_supervisor_changes_a_prompts_words_and_the_next_call_hears_them() {
    let flows = tempfile::tempdir().unwrap();
    copy_flows(flows.path());
    let sounds = tempfile::tempdir().unwrap();
    // The Dutch greeting has a recording, made for its words of today.
    let dutch = sounds.path().join("liege/nl");
    std::fs::create_dir_all(&dutch).unwrap();
    std::fs::write(dutch.join("greeting.wav"), solidaire::sounds::wav::tone(8_000, 1, 1.0, 440.0)).unwrap();
    std::fs::write(
        dutch.join("greeting.txt"),
        "Welkom bij Luik Solidair, de gratis lijn van de Stad Luik. Wij zijn er om u te helpen.",
    )
    .unwrap();
    let app = spawn_app(Options {
        flows: Some(flows.path().to_path_buf()),
        sounds: Some(sounds.path().to_path_buf()),
        ..Options::default()
    })
    .await;
    app.account("sue", "supervisor", &["--lines", "liege"]);
    let (cookie, _) = log_in(&app, "sue").await;
    let file = flows.path().join("liege.toml");
    let before = std::fs::read_to_string(&file).unwrap();

    let page = send(&app, "GET", "/console/prompts/liege/fr/greeting", &cookie, &[], "").await;
    assert!(page.body.contains("<textarea"), "{}", page.body);
    let csrf = hidden_csrf(&page.body);
    let words = "Bonjour, ici Liège Solidaire, nouvelle version de l'accueil.";
    let saved =
        send(&app, "POST", "/console/prompts/liege/fr/greeting/text", &cookie, &[], &form(&csrf, words))
            .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    assert!(saved.body.contains("New words saved in the flow file"), "{}", saved.body);

    // The file: that one line changed, every other (comments included) as it was.
    let after = std::fs::read_to_string(&file).unwrap();
    let changed: Vec<(&str, &str)> = before.lines().zip(after.lines()).filter(|(a, b)| a != b).collect();
    assert_eq!(before.lines().count(), after.lines().count());
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert_eq!(changed[0].1, format!("fr = \"{words}\""));
    assert!(after.contains("\n#"), "its comments kept");

    // The next call hears them.
    let call = app.call(&[Keys("1"), HangUp]).await;
    assert!(call.heard("nouvelle version de l'accueil"), "{}", call.transcript());

    // The Dutch words changed: the recording made for the old ones is said to be outdated.
    let page = send(&app, "GET", "/console/prompts/liege/nl/greeting", &cookie, &[], "").await;
    let saved = send(
        &app,
        "POST",
        "/console/prompts/liege/nl/greeting/text",
        &cookie,
        &[],
        &form(&hidden_csrf(&page.body), "Welkom bij Luik Solidair."),
    )
    .await;
    assert!(saved.body.contains("Its recording says the old words"), "{}", saved.body);

    // A placeholder nothing fills: refused with the file and line, nothing written.
    let kept = std::fs::read_to_string(&file).unwrap();
    let refused = send(
        &app,
        "POST",
        "/console/prompts/liege/fr/greeting/text",
        &cookie,
        &[],
        &form(&csrf, "Bonjour {prenom}."),
    )
    .await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("liege.toml:") && refused.body.contains("{prenom}"), "{}", refused.body);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), kept, "nothing written");

    // Another file of the folder broken on disk: the whole folder is checked.
    let verviers = flows.path().join("verviers.toml");
    let broken =
        std::fs::read_to_string(&verviers).unwrap().replacen("type = \"menu\"", "type = \"menuu\"", 1);
    std::fs::write(&verviers, broken).unwrap();
    let api = Api::new(&app);
    let token = app.cli(&["agents", "token", "sue"], "");
    let token = String::from_utf8(token.stdout).unwrap().lines().last().unwrap().trim().to_owned();
    let (status, body) = api
        .post(
            "/api/lines/liege/prompts/fr/greeting",
            &token,
            serde_json::json!({ "text": "Encore autre chose." }),
        )
        .await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("invalid")), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("verviers.toml:"), "{body}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), kept, "nothing written");
    // Mended, the API saves it.
    std::fs::copy(repo_flows().join("verviers.toml"), &verviers).unwrap();
    let (status, body) = api
        .post(
            "/api/lines/liege/prompts/fr/greeting",
            &token,
            serde_json::json!({ "text": "Encore autre chose." }),
        )
        .await;
    assert_eq!((status, body["text"].as_str()), (200, Some("Encore autre chose.")), "{body}");
    // Another line's prompt, for this account: no such line.
    let (status, _) =
        api.post("/api/lines/verviers/prompts/fr/greeting", &token, serde_json::json!({ "text": "x" })).await;
    assert_eq!(status, 404);
}
