//! Exports a year of statistics at 1,000 calls a day (365,000 calls, 109,500 callback
//! requests): prints the time to compute the daily figures and write them as CSV, and
//! the hourly table, first from every call, then once the settled days' call figures are
//! kept (as the service keeps them, every hour), and the time keeping them took.
//!
//! `cargo bench --bench stats_year`

use std::time::Instant;

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use rusqlite::{Connection, params};
use solidaire::flow::Flows;
use solidaire::stats::{self, Request};
use solidaire::store::{Store, time};

const CALLS_PER_DAY: u32 = 1_000;

fn fill(conn: &mut Connection) {
    let tz = chrono_tz::Europe::Brussels;
    let tx = conn.transaction().unwrap();
    let mut call = tx
        .prepare(
            "INSERT INTO calls (sid, line, caller, called, started_at, day, open_at_arrival, ended_at, status,
                outcome, step, node, state, left_menu_at, menu_keys, invalid_inputs, silences, transfers, transfers_answered)
             VALUES (?1, 'liege', ?2, '+3280043436', ?3, ?4, ?5, ?6, 'completed', ?7, 5, 'main', '{}', ?8, ?9, ?10, ?11, ?12, ?13)",
        )
        .unwrap();
    let mut request = tx
        .prepare(
            "INSERT INTO callback_requests (call_sid, line, service, language, phone, priority, state, attempts,
                not_before, created_at, first_attempt_at, closed_at)
             VALUES (?1, 'liege', 'errands', 'fr', ?2, 0, ?3, 1, ?4, ?4, ?5, ?6)",
        )
        .unwrap();
    let mut seed: u64 = 42;
    let mut random = move || {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        seed >> 33
    };
    let mut date = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    while date.year_ce().1 == 2026 {
        for i in 0..CALLS_PER_DAY {
            let minute = 7 * 60 + i64::try_from(random() % (10 * 60)).unwrap();
            let local = date.and_hms_opt(0, 0, 0).unwrap() + Duration::minutes(minute);
            let start = tz.from_local_datetime(&local).earliest().unwrap().with_timezone(&Utc);
            let sid = format!("CA{date}{i:05}");
            let caller = format!("+3247{:07}", random() % 10_000_000);
            let kind = random() % 10;
            let outcome = [
                "callback",
                "callback",
                "callback",
                "transferred",
                "transferred",
                "informed",
                "abandoned",
                "abandoned",
                "abandoned",
                "no_response",
            ][usize::try_from(kind).unwrap()];
            let left = start + Duration::seconds(i64::try_from(20 + random() % 100).unwrap());
            call.execute(params![
                sid,
                caller,
                time::format(start),
                date.to_string(),
                (8 * 60 + 30..16 * 60).contains(&minute),
                time::format(left + Duration::seconds(30)),
                outcome,
                time::format(left),
                "13",
                i64::try_from(random() % 2).unwrap(),
                i64::try_from(random() % 2).unwrap(),
                i64::from(outcome == "transferred"),
                i64::from(outcome == "transferred" && kind == 3),
            ])
            .unwrap();
            if outcome == "callback" {
                let created = left;
                let first = created + Duration::minutes(i64::try_from(10 + random() % 300).unwrap());
                request
                    .execute(params![
                        sid,
                        caller,
                        "done",
                        time::format(created),
                        time::format(first),
                        time::format(first)
                    ])
                    .unwrap();
            }
        }
        date = date.succ_opt().unwrap();
    }
    drop(call);
    drop(request);
    tx.commit().unwrap();
}

use chrono::Datelike as _;

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("year.db");
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let store = runtime.block_on(async { Store::open(&path) }).unwrap();
    let mut conn = Connection::open(&path).unwrap();
    let started = Instant::now();
    fill(&mut conn);
    let (calls, requests): (i64, i64) = conn
        .query_row("SELECT (SELECT count(*) FROM calls), (SELECT count(*) FROM callback_requests)", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    println!(
        "filled {calls} calls and {requests} callback requests in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // As in service, where the WAL is checkpointed as it goes.
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); ANALYZE;").unwrap();

    let flows = Flows::bundled();
    export(&runtime, &store, &flows, "from every call");
    let t = Instant::now();
    let today = NaiveDate::from_ymd_opt(2027, 1, 5).unwrap();
    let mut weeks = 0;
    for line in [Some("liege"), None] {
        let tz = chrono_tz::Europe::Brussels;
        while runtime.block_on(store.write(move |c| stats::settle(c, line, tz, today, 7))).unwrap() > 0 {
            weeks += 1;
        }
    }
    println!(
        "kept the call figures of 2 × 365 settled days in {weeks} writes of a week: {:.0} ms in all",
        t.elapsed().as_secs_f64() * 1000.0
    );
    export(&runtime, &store, &flows, "with the settled days kept");
}

fn export(runtime: &tokio::runtime::Runtime, store: &Store, flows: &Flows, how: &str) {
    for hourly in [false, true] {
        let request = Request::parse("2026-01-01", Some("2026-12-31"), None, hourly, Some("csv")).unwrap();
        let query = request.query(flows, 4, Utc::now());
        let mut best = f64::MAX;
        let mut bytes = 0;
        for _ in 0..3 {
            let t = Instant::now();
            let q = query.clone();
            // Through the service's own read path (pooled reader, off the async workers).
            let report = runtime.block_on(store.read(move |c| stats::compute(c, &q))).unwrap();
            let csv = request.render(&report);
            best = best.min(t.elapsed().as_secs_f64());
            bytes = csv.len();
        }
        println!(
            "{} export of 2026 ({} rows, {bytes} bytes of CSV), {how}: best of 3 {:.0} ms",
            if hourly { "hourly" } else { "daily" },
            if hourly { 365 * 24 } else { 365 },
            best * 1000.0
        );
    }
}
