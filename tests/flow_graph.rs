//! The menus as a picture: `/console/lines/{line}` draws every node of the line's flow
//! and every key as a labelled arrow to where it leads, silence, wrong keys and failures
//! apart, in the chosen language; the node where callers hang up most is outlined; a file
//! that no longer validates shows its problems by line and column; another line's
//! supervisor finds no such line.

mod common;

use common::console::{log_in, send};
use common::*;

fn flow_of(line: &str) -> std::sync::Arc<solidaire::flow::Flow> {
    let flows = solidaire::flow::load::load_dir(&repo_flows()).unwrap();
    std::sync::Arc::clone(flows.named(line).unwrap())
}

#[tokio::test]
async fn the_lines_menus_are_drawn_node_by_node_and_key_by_key() {
    let app = TestApp::open().await;
    app.account("sue", "supervisor", &["--lines", "liege"]);
    app.account("vera", "supervisor", &["--lines", "verviers"]);
    // Two callers hang up at the main menu, one at the language choice.
    app.call(&[Keys("1"), HangUp]).await;
    app.call_from("+32470000002", &[Keys("1"), HangUp]).await;
    app.call_from("+32470000003", &[HangUp]).await;
    let (cookie, _) = log_in(&app, "sue").await;

    let lines = send(&app, "GET", "/console/lines", &cookie, &[], "").await;
    assert!(lines.body.contains("href=\"/console/lines/liege\""), "the Lines page links to it");
    let page = send(&app, "GET", "/console/lines/liege", &cookie, &[], "").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let svg = &page.body[page.body.find("<svg").expect("an SVG")..page.body.find("</svg>").unwrap()];
    let flow = flow_of("liege");
    for (id, node) in &flow.file.nodes {
        let id = id.get_ref();
        assert!(svg.contains(&format!("data-node=\"{id}\"")), "node {id} drawn");
        if let solidaire::flow::Node::Menu(menu) = node {
            for option in &menu.options {
                let arrow =
                    format!("data-from=\"{id}\" data-to=\"{}\" data-route=\"key\">", option.goto.get_ref());
                let labelled = svg.match_indices(&arrow).any(|(at, _)| {
                    let edge = &svg[at..at + svg[at..].find("</g>").unwrap()];
                    edge.contains(&format!(">{}</text>", option.key.get_ref()))
                });
                assert!(labelled, "{id}: key {} not drawn as an arrow", option.key.get_ref());
            }
            let person = format!(
                "data-from=\"{id}\" data-to=\"{}\" data-route=\"person\"",
                flow.file.line.human.get_ref()
            );
            assert!(svg.contains(&person), "{id}: 0 for a person");
        }
    }
    for route in ["silence", "wrongkey", "failure"] {
        assert!(svg.contains(&format!("data-route=\"{route}\"")), "{route} drawn apart");
    }
    // The French prompt of the main menu, and the outline where callers hang up most.
    assert!(svg.contains("Pour le soutien aux seniors"), "the prompt in French");
    assert!(svg.contains("2 hang-ups here in 30 days"), "{svg}");
    let main = &svg[svg.find("data-node=\"main\"").unwrap()..];
    assert!(main[..200].contains("stroke=\"#b00020\""), "the main menu outlined: {}", &main[..200]);
    assert!(page.body.contains("The same menus as a list"));

    // In Dutch.
    let dutch = send(&app, "GET", "/console/lines/liege?lang=nl", &cookie, &[], "").await;
    assert!(dutch.body.contains("Voor Nederlands") || dutch.body.contains("druk op"), "Dutch prompts");
    assert!(!dutch.body.contains("Pour le soutien aux seniors"));

    // Another line's supervisor: no such line.
    let (other, _) = log_in(&app, "vera").await;
    let refused = send(&app, "GET", "/console/lines/liege", &other, &[], "").await;
    assert_eq!(refused.status, 404);
}

#[tokio::test]
async fn a_flow_file_that_no_longer_validates_shows_its_problems_by_line() {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(repo_flows()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
        }
    }
    let app = spawn_app(Options { flows: Some(dir.path().to_path_buf()), ..Options::default() }).await;
    app.account("sue", "supervisor", &["--lines", "liege"]);
    let file = dir.path().join("liege.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    let broken = text.replacen("type = \"menu\"", "type = \"menuu\"", 1);
    std::fs::write(&file, &broken).unwrap();
    let line = broken.lines().position(|l| l.contains("menuu")).unwrap() + 1;
    let (cookie, _) = log_in(&app, "sue").await;
    let page = send(&app, "GET", "/console/lines/liege", &cookie, &[], "").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Its file does not validate"), "{}", page.body);
    assert!(page.body.contains(&format!("liege.toml:{line}:")), "file and line: {}", page.body);
    assert!(page.body.contains("<svg"), "the menus in force are still drawn");
}
