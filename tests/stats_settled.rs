//! The call figures kept for settled days are exactly the figures recomputed from the
//! calls: over generated months with both daylight-saving changes, for each line and for
//! every line together, daily and hourly; after the retention purge; after a call of a
//! kept day changes (the day is computed again); and a day with a call still going is not
//! kept until it ends.

mod common;

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use rusqlite::{Connection, params};
use solidaire::flow::Flows;
use solidaire::stats::{self, Report, Request};
use solidaire::store::time;

/// Calls of `line` in Brussels' time on each day of `months` (2026), a few a day at any
/// hour, some in the doubled autumn hour, with every outcome, keys and measures.
fn fill(conn: &mut Connection, line: &str, months: &[u32], seed: u64) {
    let tz = chrono_tz::Europe::Brussels;
    let tx = conn.transaction().unwrap();
    let mut insert = tx
        .prepare(
            "INSERT INTO calls (sid, line, caller, called, started_at, day, open_at_arrival, ended_at, status,
                outcome, step, node, state, left_menu_at, menu_keys, invalid_inputs, silences, transfers, transfers_answered)
             VALUES (?1, ?2, ?3, '+3280043436', ?4, ?5, ?6, ?7, 'completed', ?8, 5, 'main', '{}', ?9, ?10, ?11, ?12, ?13, ?14)",
        )
        .unwrap();
    let mut state = seed;
    let mut random = move |n: u64| {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) % n
    };
    for &month in months {
        let mut date = NaiveDate::from_ymd_opt(2026, month, 1).unwrap();
        while date.format("%m").to_string() == format!("{month:02}") {
            let midnight = tz.from_local_datetime(&date.and_hms_opt(0, 0, 0).unwrap()).earliest().unwrap();
            let next = tz
                .from_local_datetime(&date.succ_opt().unwrap().and_hms_opt(0, 0, 0).unwrap())
                .earliest()
                .unwrap();
            let seconds = (next - midnight).num_seconds();
            for i in 0..random(12) {
                let start = midnight.with_timezone(&Utc)
                    + Duration::seconds(i64::try_from(random(u64::try_from(seconds).unwrap())).unwrap());
                let outcome = ["callback", "transferred", "informed", "abandoned", "no_response"]
                    [usize::try_from(random(5)).unwrap()];
                let left = start + Duration::milliseconds(i64::try_from(random(180_000)).unwrap());
                let caller = format!("+3247000{:04}", random(40));
                insert
                    .execute(params![
                        format!("CA{line}{date}{i:03}"),
                        line,
                        caller,
                        time::format(start),
                        date.to_string(),
                        random(2) == 1,
                        time::format(left + Duration::seconds(20)),
                        outcome,
                        time::format(left),
                        ["1", "12", "3*", "#90", ""][usize::try_from(random(5)).unwrap()],
                        i64::try_from(random(3)).unwrap(),
                        i64::try_from(random(2)).unwrap(),
                        i64::from(outcome == "transferred"),
                        i64::from(outcome == "transferred" && random(2) == 1),
                    ])
                    .unwrap();
            }
            date = date.succ_opt().unwrap();
        }
    }
    drop(insert);
    tx.commit().unwrap();
}

struct Year {
    _dir: tempfile::TempDir,
    conn: Connection,
    flows: Flows,
}

impl Year {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("solidaire.db");
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        drop(runtime.block_on(async { solidaire::store::Store::open(&path) }).unwrap());
        let mut conn = Connection::open(&path).unwrap();
        // March and October change the clocks.
        fill(&mut conn, "liege", &[2, 3, 4, 10, 11], 7);
        fill(&mut conn, "verviers", &[3, 10], 11);
        let flows = solidaire::flow::load::load_dir(&repo_flows()).unwrap();
        Self { _dir: dir, conn, flows }
    }

    fn report(&self, line: Option<&str>, hourly: bool) -> Report {
        let request = Request::parse("2026-02-01", Some("2026-11-30"), line, hourly, None).unwrap();
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
        stats::compute(&self.conn, &request.query(&self.flows, 4, now)).unwrap()
    }

    fn all_reports(&self) -> Vec<Report> {
        [None, Some("liege"), Some("verviers")].into_iter().map(|line| self.report(line, true)).collect()
    }

    fn settle(&self, today: NaiveDate) -> usize {
        [None, Some("liege"), Some("verviers")]
            .into_iter()
            .map(|line| stats::settle(&self.conn, line, chrono_tz::Europe::Brussels, today, 10_000).unwrap())
            .sum()
    }

    fn kept(&self) -> i64 {
        self.conn.query_row("SELECT count(*) FROM stats_call_days", [], |r| r.get(0)).unwrap()
    }
}

use common::repo_flows;

#[test]
fn settled_days_give_exactly_the_figures_recomputed_from_the_calls() {
    let year = Year::new();
    let recomputed = year.all_reports();
    let days = recomputed[0].days.len();
    assert_eq!(days, 303, "1 February to 30 November");
    let hours: Vec<usize> = ["2026-03-29", "2026-10-25"]
        .iter()
        .map(|d| recomputed[1].hours.iter().filter(|h| stats::text(h, "date") == Some(*d)).count())
        .collect();
    assert_eq!(hours, [23, 25], "the daylight-saving days");

    // Every day from each scope's first call is settled on 2 December: 303 days for
    // Liège and for every line, 275 from 1 March for Verviers.
    let settled = 303 + 303 + 275;
    let today = NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
    assert_eq!(year.settle(today), settled);
    assert_eq!(year.settle(today), 0, "nothing twice");
    let kept = year.all_reports();
    assert_eq!(kept, recomputed, "kept figures equal recomputed ones, daily and hourly");
    let calls: u64 = kept[0].days.iter().map(|d| stats::count(d, "calls_offered")).sum();
    assert!(calls > 1_000, "{calls} calls");

    // The figures read back are the ones kept: a kept day's JSON changed by hand shows.
    year.conn
        .execute(
            "UPDATE stats_call_days SET figures = json_set(figures, '$.offered', 999999) WHERE day = '2026-03-29' AND scope = 'liege'",
            [],
        )
        .unwrap();
    let day = year
        .report(Some("liege"), false)
        .days
        .into_iter()
        .find(|d| stats::text(d, "date") == Some("2026-03-29"))
        .unwrap();
    assert_eq!(stats::count(&day, "calls_offered"), 999_999);

    // A call of a kept day that changes drops that day, which is computed again.
    year.conn
        .execute("UPDATE calls SET outcome = 'abandoned' WHERE day = '2026-03-29' AND line = 'liege'", [])
        .unwrap();
    let dropped: i64 = year
        .conn
        .query_row("SELECT count(*) FROM stats_call_days WHERE day = '2026-03-29'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(dropped, 0, "every scope of that day dropped");

    // A call moved to another day drops the kept figures of the day it joins and of the
    // day it leaves, and only theirs.
    let kept_days = |conn: &Connection| -> Vec<String> {
        let mut days = conn.prepare("SELECT DISTINCT day FROM stats_call_days ORDER BY day").unwrap();
        days.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    };
    let move_a_call = |from: &str, to: &str| {
        let moved = year
            .conn
            .execute(
                "UPDATE calls SET day = ?2 WHERE rowid = (SELECT min(rowid) FROM calls WHERE day = ?1 AND line = 'liege')",
                [from, to],
            )
            .unwrap();
        assert_eq!(moved, 1);
    };
    let without = |days: &[String], gone: &[&str]| -> Vec<String> {
        days.iter().filter(|d| !gone.contains(&d.as_str())).cloned().collect()
    };
    let before = kept_days(&year.conn);
    assert!(!before.contains(&"2026-03-29".to_owned()) && before.contains(&"2026-04-03".to_owned()));
    move_a_call("2026-03-29", "2026-04-03");
    assert_eq!(kept_days(&year.conn), without(&before, &["2026-04-03"]), "the day joined dropped");
    move_a_call("2026-04-02", "2026-03-29");
    assert_eq!(
        kept_days(&year.conn),
        without(&before, &["2026-04-02", "2026-04-03"]),
        "the day left dropped"
    );
    let changed = year.all_reports();
    assert_ne!(changed, recomputed);
    year.conn.execute("DELETE FROM stats_call_days", []).unwrap();
    assert_eq!(year.all_reports(), changed, "the changed day as recomputed");
    assert_eq!(year.settle(today), settled);
    assert_eq!(year.all_reports(), changed);

    // The retention purge leaves the kept figures as they are, and equal to recomputing.
    let purged = solidaire::store::purge::purge(
        &year.conn,
        "2026-12-01",
        Utc.with_ymd_and_hms(2026, 11, 30, 23, 0, 0).unwrap(),
    )
    .unwrap();
    assert_eq!(u64::try_from(purged.calls).unwrap(), calls, "every call pseudonymised");
    assert_eq!(year.kept(), i64::try_from(settled).unwrap(), "the purge drops no kept day");
    assert_eq!(year.all_reports(), changed);
    year.conn.execute("DELETE FROM stats_call_days", []).unwrap();
    assert_eq!(year.all_reports(), changed, "recomputed after the purge");
}

#[test]
fn a_day_is_kept_only_two_days_after_it_and_once_all_its_calls_have_ended() {
    let year = Year::new();
    year.conn.execute("UPDATE calls SET ended_at = NULL WHERE day = '2026-11-29' AND line = 'liege' AND rowid IN (SELECT rowid FROM calls WHERE day = '2026-11-29' AND line = 'liege' LIMIT 1)", []).unwrap();
    let recomputed = year.all_reports();
    // On 1 December: days up to 29 November are two days past.
    let today = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
    year.settle(today);
    let kept_day = |day: &str, scope: &str| -> bool {
        year.conn
            .query_row(
                "SELECT count(*) FROM stats_call_days WHERE day = ?1 AND scope = ?2",
                [day, scope],
                |r| r.get::<_, i64>(0),
            )
            .unwrap()
            == 1
    };
    assert!(kept_day("2026-11-28", "liege"));
    assert!(!kept_day("2026-11-29", "liege"), "a call of that day has not ended");
    assert!(!kept_day("2026-11-29", "*"), "nor for every line together");
    assert!(kept_day("2026-11-29", "verviers"), "Verviers' calls of that day have all ended");
    assert!(!kept_day("2026-11-30", "verviers"), "yesterday is not settled");
    assert_eq!(year.all_reports(), recomputed);
    // Once it ends, the next pass keeps it.
    year.conn.execute("UPDATE calls SET ended_at = started_at WHERE ended_at IS NULL", []).unwrap();
    year.settle(today);
    assert!(kept_day("2026-11-29", "liege") && kept_day("2026-11-29", "*"));
}

#[test]
fn a_call_stored_late_in_a_kept_day_drops_that_day_and_a_trial_drops_nothing() {
    use solidaire::flow::engine::CallState;
    use solidaire::store::calls::{self, NewCall, StatusUpdate};
    let year = Year::new();
    let today = NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
    year.settle(today);
    let kept_of = |day: &str| -> i64 {
        year.conn
            .query_row("SELECT count(*) FROM stats_call_days WHERE day = ?1", [day], |r| r.get(0))
            .unwrap()
    };
    let at = |day: u32| Utc.with_ymd_and_hms(2026, 3, day, 9, 0, 0).unwrap();
    let call = |sid: &'static str, day: u32, trial: bool| NewCall {
        sid,
        line: "liege",
        caller: None,
        called: "+3280043436",
        status: "in-progress",
        dialect: "twilio",
        at: at(day),
        day: format!("2026-03-{day:02}"),
        open: true,
        trial,
    };
    let state = CallState::default();
    let kept_before = year.kept();
    assert_eq!(kept_of("2026-03-10"), 3, "every scope of the day kept");
    // What storing one call of `day` must leave: every kept row but that day's.
    let without = |day: &str| (0, year.kept() - kept_of(day));

    // A trial of a kept day changes no figure and drops nothing.
    assert!(calls::insert_answered(&year.conn, &call("CAtrial", 10, true), &state, 1).unwrap());
    assert_eq!(year.kept(), kept_before);

    // Each way a call is first stored drops its own day's figures, and only those.
    let recomputed_after = |year: &Year| {
        let kept = year.all_reports();
        year.conn.execute("DELETE FROM stats_call_days", []).unwrap();
        let recomputed = year.all_reports();
        year.settle(today);
        (kept, recomputed)
    };
    let expected = without("2026-03-10");
    assert!(calls::insert_answered(&year.conn, &call("CAlate1", 10, false), &state, 1).unwrap());
    assert_eq!((kept_of("2026-03-10"), year.kept()), expected);
    let (kept, recomputed) = recomputed_after(&year);
    assert_eq!(kept, recomputed, "the day computed again, the others read as kept");

    let expected = without("2026-03-11");
    assert!(kept_of("2026-03-11") > 0);
    assert!(calls::insert(&year.conn, &call("CAlate2", 11, false), &state).unwrap());
    assert_eq!((kept_of("2026-03-11"), year.kept()), expected);
    let (kept, recomputed) = recomputed_after(&year);
    assert_eq!(kept, recomputed);

    // A status callback for a call never seen leaves a row of its day.
    let status = StatusUpdate {
        sid: "CAlate3",
        line: "liege",
        called: "+3280043436",
        status: "completed",
        sequence: None,
        duration: Some(3),
        at: at(12),
        day: "2026-03-12",
        is_final: true,
    };
    let expected = without("2026-03-12");
    assert!(kept_of("2026-03-12") > 0);
    calls::record_status(&year.conn, &status).unwrap();
    assert_eq!((kept_of("2026-03-12"), year.kept()), expected);
    let (kept, recomputed) = recomputed_after(&year);
    assert_eq!(kept, recomputed);
}
