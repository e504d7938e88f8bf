//! `solidaire volunteers …` and `agents add --role coordinator --postcodes` as an
//! operator uses them: adding, listing (text and JSON), pausing and recording who left;
//! importing a city's list where every row is checked and nothing is half-imported;
//! exporting the roster with numbers in full.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

struct Operator {
    dir: tempfile::TempDir,
}

impl Operator {
    fn new() -> Self {
        Self { dir: tempfile::tempdir().unwrap() }
    }

    fn run(&self, args: &[&str]) -> Output {
        self.run_with_input(args, "")
    }

    fn run_with_input(&self, args: &[&str], input: &str) -> Output {
        let flows = Path::new(env!("CARGO_MANIFEST_DIR")).join("ivr-flows");
        let mut child = Command::new(env!("CARGO_BIN_EXE_solidaire"))
            .env_clear()
            .arg("--database")
            .arg(self.dir.path().join("solidaire.db"))
            .arg("--flows")
            .arg(flows)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn an_operator_adds_lists_pauses_and_records_who_left() {
    let op = Operator::new();
    let added = op.run(&[
        "volunteers",
        "add",
        "Nadia Benali",
        "--phone",
        "0470 11 11 11",
        "--postcode",
        "4020",
        "--helps",
        "groceries,pharmacy",
        "--languages",
        "fr,nl",
        "--radius-km",
        "5",
        "--availability",
        "mon 09:00-12:00; sat 10:00-18:00",
    ]);
    assert!(added.status.success(), "{}", err(&added));
    assert_eq!(out(&added).trim(), "added volunteer 1");

    let text = op.run(&["volunteers", "list"]);
    assert_eq!(
        out(&text).trim(),
        "1\tNadia Benali\t+32 4** ** ** 11\t4020\tgroceries,pharmacy\tactive\ton duty"
    );
    let json = op.run(&["volunteers", "list", "--format", "json"]);
    let listed: serde_json::Value = serde_json::from_str(&out(&json)).unwrap();
    let v = &listed["volunteers"][0];
    assert_eq!(v["phone"], "+32 4** ** ** 11", "masked in lists");
    assert_eq!(v["languages"], serde_json::json!(["fr", "nl"]));
    assert_eq!(v["radius_km"], 5.0);
    assert_eq!(v["availability"], "mon 09:00-12:00; sat 10:00-18:00");

    let edited = op.run(&["volunteers", "edit", "1", "--helps", "listening", "--postcode", "4030"]);
    assert_eq!(out(&edited).trim(), "volunteer 1 changed", "{}", err(&edited));
    let text = op.run(&["volunteers", "list"]);
    assert!(out(&text).contains("\t4030\tlistening\t"), "{}", out(&text));
    let refused = op.run(&["volunteers", "edit", "1", "--postcode", "0000"]);
    assert!(err(&refused).contains("postcode: unknown postcode `0000`"), "{}", err(&refused));
    let paused = op.run(&["volunteers", "pause", "1"]);
    assert_eq!(out(&paused).trim(), "volunteer 1: paused", "{}", err(&paused));
    let left = op.run(&["volunteers", "leave", "1"]);
    assert_eq!(out(&left).trim(), "volunteer 1: left");
    let again = op.run(&["volunteers", "leave", "1"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(err(&again).contains("volunteer 1 is left"), "{}", err(&again));
    let back = op.run(&["volunteers", "resume", "1"]);
    assert_eq!(out(&back).trim(), "volunteer 1: active", "someone who left may come back: {}", err(&back));

    let duplicate = op.run(&[
        "volunteers",
        "add",
        "N. B.",
        "--phone",
        "+32470111111",
        "--postcode",
        "4020",
        "--helps",
        "groceries",
    ]);
    assert_eq!(duplicate.status.code(), Some(1));
    assert!(
        err(&duplicate).contains("phone: this number is already on the roster (volunteer 1)"),
        "{}",
        err(&duplicate)
    );
    let unknown = op.run(&[
        "volunteers",
        "add",
        "Zoé",
        "--phone",
        "0470 22 22 22",
        "--postcode",
        "9999",
        "--helps",
        "groceries",
    ]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(err(&unknown).contains("postcode: unknown postcode `9999`"), "{}", err(&unknown));
    let no_help = op.run(&["volunteers", "add", "Zoé", "--phone", "0470 22 22 22", "--postcode", "4020"]);
    assert!(
        err(&no_help).contains("helps: at least one kind of help (groceries, listening, pets, pharmacy)"),
        "{}",
        err(&no_help)
    );
}

#[test]
fn an_import_checks_every_row_and_adds_nothing_when_one_is_refused() {
    let op = Operator::new();
    let list = op.file(
        "herstal.csv",
        "name,phone,postcode,section,helps,languages,radius_km\n\
         Anne,0470 11 11 11,4020,Wandre,groceries;pharmacy,fr,8\n\
         Bruno,0470 22 22 22,4030,,groceries,\"fr,nl\",\n\
         Carla,0470 11 11 11,4000,,groceries,fr,\n\
         Dirk,0470 33 33 33,9999,,groceries,nl,\n\
         Emma,0470 44 44 44,4020,Paris,listening,fr,\n",
    );
    let refused = op.run(&["volunteers", "import", list.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(1));
    let report = err(&refused);
    assert!(report.contains("row 4: phone: the same number as row 2"), "{report}");
    assert!(report.contains("row 5: postcode: unknown postcode `9999`"), "{report}");
    assert!(report.contains("row 6: section: postcode 4020 has no section `Paris`"), "{report}");
    assert!(report.contains("3 of 5 row(s) refused: nothing imported"), "{report}");
    assert_eq!(out(&op.run(&["volunteers", "list"])), "", "nothing half-imported");

    let skipped = op.run(&["volunteers", "import", list.to_str().unwrap(), "--skip-refused"]);
    assert!(skipped.status.success(), "{}", err(&skipped));
    assert_eq!(out(&skipped).trim(), "imported 2 of 5 row(s)");

    let export = op.run(&["volunteers", "export"]);
    let csv = out(&export);
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("id,line,name,phone,postcode,section,helps,languages"), "{csv}");
    assert!(
        lines[1].starts_with("1,liege,Anne,+32470111111,4020,Wandre,\"groceries,pharmacy\",fr,"),
        "{csv}"
    );
    assert!(
        lines[2].contains("Bruno,+32470222222,4030,,groceries,\"fr,nl\""),
        "numbers in full only here: {csv}"
    );

    let again = op.run(&["volunteers", "import", list.to_str().unwrap(), "--skip-refused"]);
    assert!(
        err(&again).contains("row 2: phone: this number is already on the roster (volunteer 1)"),
        "{}",
        err(&again)
    );
    let bad_header = op.file("bad.csv", "name,telephone,postcode\nAnne,0470,4020\n");
    let refused = op.run(&["volunteers", "import", bad_header.to_str().unwrap()]);
    assert!(err(&refused).contains("no `phone` column in the header"), "{}", err(&refused));
}

#[test]
fn a_referent_is_created_with_their_postcodes_and_a_volunteer_account_with_its_record() {
    let op = Operator::new();
    let rita = op.run_with_input(
        &["agents", "add", "rita", "--role", "coordinator", "--lines", "liege", "--postcodes", "4030,4031"],
        "pw-rita-1234\n",
    );
    assert!(rita.status.success(), "{}", err(&rita));
    assert_eq!(out(&rita).trim(), "added rita (coordinator of 4030, 4031)");
    let bad = op.run_with_input(
        &["agents", "add", "rob", "--role", "coordinator", "--lines", "liege", "--postcodes", "99999"],
        "pw-rob-12345\n",
    );
    assert_eq!(bad.status.code(), Some(1));
    assert!(err(&bad).contains("unknown postcode `99999`"), "{}", err(&bad));
    let listed = out(&op.run(&["agents", "list"]));
    assert!(!listed.contains("rob"), "no account with every postcode by mistake: {listed}");

    op.run(&[
        "volunteers",
        "add",
        "Nadia",
        "--phone",
        "0470 11 11 11",
        "--postcode",
        "4020",
        "--helps",
        "groceries",
    ]);
    let nadia = op.run_with_input(
        &["agents", "add", "nadia", "--role", "volunteer", "--volunteer", "1"],
        "pw-nadia-123\n",
    );
    assert!(nadia.status.success(), "{}", err(&nadia));
    assert!(out(&nadia).contains("volunteer 1 logs in as nadia"), "{}", out(&nadia));
}
