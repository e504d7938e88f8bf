//! Matching a need with volunteers: pure, deterministic, tested without a database.
//!
//! Hard filters first, each with the reason a volunteer is left out: the volunteer is
//! active and on duty, offers the kind of help, lives within their own distance of the
//! need, is free at the wanted time, shares the caller's language, has room in the week,
//! and has not been asked too often this month (the French national volunteering
//! platform refuses a third solicitation in a month; the line sets its own cap). Then a
//! score out of 100 that weighs closeness (relative to how far each goes), current load
//! (fairness), continuity (who already helped this resident) and a preference for those
//! who do not range far, so that they stay free for the needs only they can reach. The
//! same roster always gives the same order: ties go to the nearer, then the older record.

use chrono::Weekday;

use super::places::Point;
use super::volunteers::{Volunteer, VolunteerId, VolunteerState};

/// What is needed, where and when.
#[derive(Debug, Clone)]
pub struct Need<'a> {
    /// The kind of help (an id of the line's catalogue).
    pub help: &'a str,
    /// Where the resident lives.
    pub point: Point,
    /// The caller's language.
    pub language: &'a str,
    /// When it is wanted, in the line's time zone: weekday and minute past midnight.
    pub when: (Weekday, u16),
}

/// A volunteer with what the store counted about them.
#[derive(Debug, Clone)]
pub struct Candidate<'a> {
    /// The record.
    pub volunteer: &'a Volunteer,
    /// Missions accepted in the last seven days.
    pub missions_this_week: u32,
    /// Offers made in the last thirty days.
    pub offers_this_month: u32,
    /// Missions done for this resident before.
    pub helped_before: u32,
}

/// The line's limits.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// Offers a volunteer may get in thirty days.
    pub offers_per_month: u32,
}

/// A volunteer who can take the need, best first.
#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    /// Who.
    pub volunteer: VolunteerId,
    /// Their place among the candidates given to [`rank`].
    pub index: usize,
    /// How far they live from the need, in km (one decimal).
    pub distance_km: f64,
    /// Out of 100, higher first (one decimal).
    pub score: f64,
    /// Why, in words: "2.1 km", "speaks fr", "1 mission this week", ….
    pub reasons: Vec<String>,
}

/// Why a volunteer was left out.
#[derive(Debug, Clone, PartialEq)]
pub enum LeftOut {
    /// Pending, paused or left.
    NotActive {
        /// The state.
        state: VolunteerState,
    },
    /// Their own switch is off.
    OffDuty,
    /// Does not offer this kind of help.
    OtherHelp,
    /// Lives farther than they go.
    TooFar {
        /// The distance, km.
        distance_km: f64,
        /// How far they go, km.
        radius_km: f64,
    },
    /// Not free at the wanted time.
    NotAvailable,
    /// Speaks none of the caller's language.
    NoSharedLanguage,
    /// Has as many missions this week as they take.
    WeekFull,
    /// Was offered the line's cap of missions this month.
    AskedEnough,
}

impl LeftOut {
    /// The reason in words.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Self::NotActive { state } => format!("{state}"),
            Self::OffDuty => "off duty".to_owned(),
            Self::OtherHelp => "does not offer this kind of help".to_owned(),
            Self::TooFar { distance_km, radius_km } => {
                format!("{distance_km:.1} km away, goes {radius_km:.0} km")
            }
            Self::NotAvailable => "not free at that time".to_owned(),
            Self::NoSharedLanguage => "does not speak the caller's language".to_owned(),
            Self::WeekFull => "has all the missions they take this week".to_owned(),
            Self::AskedEnough => "was asked enough times this month".to_owned(),
        }
    }
}

/// A volunteer left out, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Excluded {
    /// Who.
    pub volunteer: VolunteerId,
    /// Their place among the candidates given to [`rank`].
    pub index: usize,
    /// How far they live from the need, in km (one decimal).
    pub distance_km: f64,
    /// Why.
    pub why: LeftOut,
}

/// The volunteers who can take `need`, best first, and those left out with why, nearest
/// first.
#[must_use]
pub fn rank(need: &Need<'_>, candidates: &[Candidate<'_>], rules: Rules) -> (Vec<Match>, Vec<Excluded>) {
    let from_need = Ruler::at(need.point);
    let mut matches = Vec::new();
    let mut left_out = Vec::new();
    for (index, c) in candidates.iter().enumerate() {
        let distance = from_need.km(c.volunteer.profile.point);
        match assess(need, c, distance, rules) {
            Ok(mut m) => {
                m.index = index;
                matches.push(m);
            }
            Err(why) => {
                left_out.push(Excluded {
                    volunteer: c.volunteer.id,
                    index,
                    distance_km: round1(distance),
                    why,
                });
            }
        }
    }
    matches.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(a.distance_km.total_cmp(&b.distance_km))
            .then(a.volunteer.cmp(&b.volunteer))
    });
    left_out.sort_by(|a, b| a.distance_km.total_cmp(&b.distance_km).then(a.volunteer.cmp(&b.volunteer)));
    (matches, left_out)
}

/// Distances from one point, on the plane tangent to it: within 100 km the error is
/// under half a percent (a few hundred metres, below the centroids' own kilometre), and
/// each distance costs a square root instead of four trigonometric functions.
struct Ruler {
    from: Point,
    /// Kilometres per degree of longitude, and of latitude, at `from`.
    per_lon: f64,
    per_lat: f64,
}

impl Ruler {
    fn at(from: Point) -> Self {
        let per_lat = 6371.0_f64.to_radians();
        Self { from, per_lon: per_lat * from.lat.to_radians().cos(), per_lat }
    }

    fn km(&self, to: Point) -> f64 {
        let dx = (to.lon - self.from.lon) * self.per_lon;
        let dy = (to.lat - self.from.lat) * self.per_lat;
        dx.hypot(dy)
    }
}

fn assess(need: &Need<'_>, c: &Candidate<'_>, distance: f64, rules: Rules) -> Result<Match, LeftOut> {
    let v = c.volunteer;
    let p = &v.profile;
    if v.state != VolunteerState::Active {
        return Err(LeftOut::NotActive { state: v.state });
    }
    if !v.on_duty {
        return Err(LeftOut::OffDuty);
    }
    if !p.helps.iter().any(|h| h == need.help) {
        return Err(LeftOut::OtherHelp);
    }
    if distance > p.radius_km {
        return Err(LeftOut::TooFar { distance_km: round1(distance), radius_km: p.radius_km });
    }
    if !p.availability.covers(need.when.0, need.when.1) {
        return Err(LeftOut::NotAvailable);
    }
    if !p.languages.iter().any(|l| l == need.language) {
        return Err(LeftOut::NoSharedLanguage);
    }
    if c.missions_this_week >= p.weekly_max {
        return Err(LeftOut::WeekFull);
    }
    if c.offers_this_month >= rules.offers_per_month {
        return Err(LeftOut::AskedEnough);
    }
    let closeness = 1.0 - distance / p.radius_km;
    let room = 1.0 - f64::from(c.missions_this_week) / f64::from(p.weekly_max);
    let continuity = if c.helped_before > 0 { 1.0 } else { 0.0 };
    let homebody = 1.0 - p.radius_km.min(50.0) / 50.0;
    let score = 40.0 * closeness + 30.0 * room + 20.0 * continuity + 10.0 * homebody;
    let mut reasons = vec![format!("{:.1} km", round1(distance)), format!("speaks {}", need.language)];
    reasons.push(match c.missions_this_week {
        0 => "no mission this week".to_owned(),
        1 => "1 mission this week".to_owned(),
        n => format!("{n} missions this week"),
    });
    if c.helped_before > 0 {
        reasons.push("helped this resident before".to_owned());
    }
    if !p.availability.is_any_hour() {
        reasons.push("free at that time".to_owned());
    }
    Ok(Match { volunteer: v.id, index: 0, distance_km: round1(distance), score: round1(score), reasons })
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;
    use crate::domain::places::Places;
    use crate::domain::volunteers::Profile;
    use crate::domain::week::Availability;

    fn volunteer(id: i64, postcode: &str, helps: &[&str]) -> Volunteer {
        let point = Places::builtin().find(postcode).unwrap().centre;
        Volunteer {
            id: VolunteerId(id),
            line: "liege".into(),
            name: format!("V{id}"),
            name_recording_url: None,
            phone: Some(format!("+3247000000{id}")),
            profile: Profile {
                postcode: postcode.into(),
                section: None,
                point,
                languages: vec!["fr".into()],
                helps: helps.iter().map(|&h| h.to_owned()).collect(),
                availability: Availability::default(),
                radius_km: 10.0,
                weekly_max: 3,
            },
            on_duty: true,
            state: VolunteerState::Active,
            consent: None,
            notes: String::new(),
            account: None,
            created_at: DateTime::<Utc>::UNIX_EPOCH,
        }
    }

    fn need() -> Need<'static> {
        Need {
            help: "groceries",
            point: Places::builtin().find("4020").unwrap().centre,
            language: "fr",
            when: (Weekday::Tue, 10 * 60),
        }
    }

    fn candidates(roster: &[Volunteer]) -> Vec<Candidate<'_>> {
        roster
            .iter()
            .map(|v| Candidate {
                volunteer: v,
                missions_this_week: 0,
                offers_this_month: 0,
                helped_before: 0,
            })
            .collect()
    }

    const RULES: Rules = Rules { offers_per_month: 2 };

    #[test]
    fn the_nearest_free_neighbour_comes_first_and_the_others_say_why_not() {
        let mut roster = vec![
            volunteer(1, "4030", &["groceries"]),
            volunteer(2, "4020", &["groceries", "pharmacy"]),
            volunteer(3, "4800", &["groceries"]),
            volunteer(4, "4020", &["groceries"]),
            volunteer(5, "4020", &["pets"]),
        ];
        roster[3].on_duty = false;
        let (matches, left_out) = rank(&need(), &candidates(&roster), RULES);
        let order: Vec<i64> = matches.iter().map(|m| m.volunteer.0).collect();
        assert_eq!(order, [2, 1]);
        assert_eq!(matches[0].reasons[..3], ["0.0 km", "speaks fr", "no mission this week"]);
        assert!(matches[1].distance_km > 1.0 && matches[1].distance_km < 4.0, "{:?}", matches[1]);
        let why: Vec<(i64, &LeftOut)> = left_out.iter().map(|e| (e.volunteer.0, &e.why)).collect();
        assert_eq!(why[0], (4, &LeftOut::OffDuty), "nearest first: {why:?}");
        assert_eq!(why[1], (5, &LeftOut::OtherHelp));
        assert!(matches!(why[2], (3, LeftOut::TooFar { .. })), "{why:?}");
        assert!(left_out[2].distance_km > 17.0, "{:?}", left_out[2]);
        assert_eq!(matches[1].index, 0, "the position among the candidates");
    }

    #[test]
    fn each_hard_filter_leaves_a_volunteer_out() {
        type Change = fn(&mut Volunteer, &mut Candidate<'_>);
        let base = volunteer(1, "4020", &["groceries"]);
        let cases: [(Change, LeftOut); 5] = [
            (|v, _| v.state = VolunteerState::Pending, LeftOut::NotActive { state: VolunteerState::Pending }),
            (|v, _| v.profile.languages = vec!["nl".into()], LeftOut::NoSharedLanguage),
            (
                |v, _| v.profile.availability = Availability::parse("sat 10:00-18:00").unwrap(),
                LeftOut::NotAvailable,
            ),
            (|_, c| c.missions_this_week = 3, LeftOut::WeekFull),
            (|_, c| c.offers_this_month = 2, LeftOut::AskedEnough),
        ];
        for (change, expected) in cases {
            let mut v = base.clone();
            let mut probe =
                Candidate { volunteer: &base, missions_this_week: 0, offers_this_month: 0, helped_before: 0 };
            change(&mut v, &mut probe);
            let c = Candidate { volunteer: &v, ..probe };
            let (matches, left_out) = rank(&need(), &[c], RULES);
            assert!(matches.is_empty());
            assert_eq!(left_out[0].why, expected);
        }
    }

    #[test]
    fn load_and_continuity_move_a_volunteer_up_or_down() {
        let roster = vec![volunteer(1, "4020", &["groceries"]), volunteer(2, "4020", &["groceries"])];
        let mut cs = candidates(&roster);
        let (m, _) = rank(&need(), &cs, RULES);
        assert_eq!(m[0].volunteer.0, 1, "a tie goes to the older record");
        cs[0].missions_this_week = 2;
        let (m, _) = rank(&need(), &cs, RULES);
        assert_eq!(m[0].volunteer.0, 2, "the less busy first");
        assert!(m[1].reasons.contains(&"2 missions this week".to_owned()));
        cs[0].helped_before = 1;
        let (m, _) = rank(&need(), &cs, RULES);
        assert_eq!(m[0].volunteer.0, 1, "who helped this resident before");
        assert!(m[0].reasons.contains(&"helped this resident before".to_owned()));
    }

    #[test]
    fn the_ruler_agrees_with_the_great_circle_within_the_ranges_volunteers_go() {
        let places = Places::builtin();
        let liege = places.find("4020").unwrap().centre;
        for code in ["4030", "4800", "4000", "5000", "6000", "1000"] {
            let other = places.find(code).unwrap().centre;
            let (planar, sphere) = (Ruler::at(liege).km(other), liege.km_to(other));
            assert!(sphere < 100.0, "{code}");
            assert!((planar - sphere).abs() <= sphere * 0.005, "{code}: {planar} vs {sphere}");
        }
    }

    #[test]
    fn the_same_roster_gives_the_same_order() {
        let roster: Vec<Volunteer> = (1..=40)
            .map(|i| {
                volunteer(
                    i,
                    ["4020", "4030", "4000", "4031"][usize::try_from(i % 4).unwrap()],
                    &["groceries"],
                )
            })
            .collect();
        let mut cs = candidates(&roster);
        let order = |cs: &[Candidate<'_>]| -> Vec<(VolunteerId, f64)> {
            rank(&need(), cs, RULES).0.iter().map(|m| (m.volunteer, m.score)).collect()
        };
        let first = order(&cs);
        cs.reverse();
        assert_eq!(order(&cs), first);
    }
}
