//! Matches one request against 5,000 volunteers (Covid-Solidarity's roster size), spread
//! over the province of Liège's postcodes with mixed kinds of help, languages, distances
//! and availabilities: prints the time of the pure ranking, and of the whole use-case
//! (the roster and its loads read from SQLite, then ranked) as a coordinator asks for a
//! request's matches.
//!
//! `cargo bench --bench matching`

use std::sync::Arc;
use std::time::Instant;

use chrono::{TimeZone, Utc, Weekday};
use solidaire::clock::ManualClock;
use solidaire::domain::matching::{Candidate, Need, Rules, rank};
use solidaire::domain::places::Places;
use solidaire::domain::volunteers::{Profile, Volunteer, VolunteerId, VolunteerState};
use solidaire::domain::week::Availability;
use solidaire::flow::{Flows, InForce};
use solidaire::ops::volunteers::Door;
use solidaire::ops::{Ops, missions};
use solidaire::store::Store;
use solidaire::store::volunteers::{NewVolunteer, insert};

const ROSTER: usize = 5_000;

fn roster() -> Vec<(String, Profile)> {
    let places = Places::builtin();
    let codes: Vec<String> = (4000..5000).map(|c| c.to_string()).filter(|c| places.find(c).is_ok()).collect();
    let helps = ["groceries", "pharmacy", "listening", "pets"];
    let availabilities =
        ["", "mon 09:00-12:00; wed 14:00-18:00", "tue 08:00-20:00; thu 08:00-20:00", "sat 10:00-18:00"];
    let mut seed: u64 = 7;
    let mut random = move |n: usize| {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        usize::try_from(seed >> 33).unwrap() % n
    };
    (0..ROSTER)
        .map(|i| {
            let code = codes[random(codes.len())].clone();
            let mut kinds = vec![helps[random(4)].to_owned()];
            if random(2) == 0 {
                kinds.push(helps[random(4)].to_owned());
                kinds.dedup();
            }
            let profile = Profile {
                postcode: code.clone(),
                section: None,
                point: places.find(&code).unwrap().centre,
                languages: if random(3) == 0 { vec!["nl".into()] } else { vec!["fr".into(), "nl".into()] },
                helps: kinds,
                availability: Availability::parse(availabilities[random(4)]).unwrap(),
                radius_km: [3.0, 5.0, 10.0, 20.0][random(4)],
                weekly_max: 3,
            };
            (format!("+3247{i:07}"), profile)
        })
        .collect()
}

fn main() {
    let profiles = roster();
    let need = Need {
        help: "groceries",
        point: Places::builtin().find("4020").unwrap().centre,
        language: "fr",
        when: (Weekday::Tue, 10 * 60),
    };

    // The pure ranking.
    let volunteers: Vec<Volunteer> = profiles
        .iter()
        .enumerate()
        .map(|(i, (phone, profile))| Volunteer {
            id: VolunteerId(i64::try_from(i).unwrap() + 1),
            line: "liege".into(),
            name: format!("V{i}"),
            name_recording_url: None,
            phone: Some(phone.clone()),
            profile: profile.clone(),
            on_duty: i % 10 != 0,
            state: VolunteerState::Active,
            consent: None,
            notes: String::new(),
            account: None,
            created_at: Utc::now(),
        })
        .collect();
    let candidates: Vec<Candidate<'_>> = volunteers
        .iter()
        .enumerate()
        .map(|(i, v)| Candidate {
            volunteer: v,
            missions_this_week: u32::try_from(i % 3).unwrap(),
            offers_this_month: u32::try_from(i % 2).unwrap(),
            helped_before: u32::from(i % 97 == 0),
        })
        .collect();
    let rules = Rules { offers_per_month: 2 };
    let rounds = 2_000;
    let started = Instant::now();
    let mut found = 0;
    for _ in 0..rounds {
        found = std::hint::black_box(rank(&need, &candidates, rules)).0.len();
    }
    let per = started.elapsed() / rounds;
    println!("rank, {ROSTER} volunteers: {:.1} µs per request ({found} matches)", per.as_secs_f64() * 1e6);

    // The use-case, through SQLite.
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("bench.db")).unwrap();
    let at = chrono_tz::Europe::Brussels.with_ymd_and_hms(2026, 12, 1, 10, 0, 0).unwrap().with_timezone(&Utc);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let rows = profiles.clone();
        store
            .write(move |c| {
                for (phone, profile) in &rows {
                    let new = NewVolunteer {
                        line: "liege",
                        name: "V",
                        name_recording_url: None,
                        phone,
                        profile,
                        state: VolunteerState::Active,
                        consent_how: Some("bench"),
                        notes: "",
                    };
                    insert(c, &new, at)?;
                }
                c.execute_batch(
                    "INSERT INTO calls (sid, line, started_at, day, status, state)
                       VALUES ('CA1', 'liege', '2026-12-01T09:00:00.000Z', '2026-12-01', 'completed', '{}');
                     INSERT INTO callback_requests (call_sid, line, service, language, phone, postcode, help, not_before, created_at)
                       VALUES ('CA1', 'liege', 'errands', 'fr', '+32470123456', '4020', 'groceries',
                               '2026-12-01T09:00:00.000Z', '2026-12-01T09:00:00.000Z');",
                )?;
                Ok(())
            })
            .await
            .unwrap();
        let started = Instant::now();
        for _ in 0..20 {
            let filter = solidaire::store::volunteers::RosterFilter::default();
            std::hint::black_box(store.read(move |c| solidaire::store::volunteers::list(c, &filter)).await.unwrap());
        }
        println!("  of which reading the roster: {:.2} ms", started.elapsed().as_secs_f64() * 1e3 / 20.0);
        let ops = Ops::new(store, Arc::new(ManualClock::new(at)), chrono::Duration::minutes(15), InForce::new(Flows::bundled()));
        let id = solidaire::domain::RequestId(1);
        let warm = missions::matches(&ops, Door::Operator, id).await.unwrap();
        let rounds = 50;
        let started = Instant::now();
        for _ in 0..rounds {
            std::hint::black_box(missions::matches(&ops, Door::Operator, id).await.unwrap());
        }
        let per = started.elapsed() / rounds;
        println!(
            "matches use-case (SQLite read + rank), {ROSTER} volunteers: {:.2} ms per request ({} matches)",
            per.as_secs_f64() * 1e3,
            warm.matches.len()
        );
    });
}
