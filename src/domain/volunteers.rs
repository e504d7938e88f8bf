//! Volunteers: the neighbours in the roster, their ids and states, and what a volunteer
//! record must be before it is stored ([`Profile::check`]): a callable number, a known
//! postcode, kinds of help the line offers, languages, an availability that reads.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::places::{Places, Point};
use super::week::Availability;

/// A volunteer's number in the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct VolunteerId(pub i64);

impl std::fmt::Display for VolunteerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Where a volunteer is in the roster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VolunteerState {
    /// Signed up by phone; a coordinator confirms before any mission is offered.
    Pending,
    /// Can be offered missions.
    Active,
    /// Not for now (holidays, illness); keeps the record.
    Paused,
    /// Gone; the number is purged by the retention.
    Left,
}

impl VolunteerState {
    /// The stored word.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Paused => "paused",
            Self::Left => "left",
        }
    }

    /// Reads a stored or typed word.
    ///
    /// # Errors
    /// Any other word.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "pending" => Ok(Self::Pending),
            "active" => Ok(Self::Active),
            "paused" => Ok(Self::Paused),
            "left" => Ok(Self::Left),
            other => Err(format!("unknown state `{other}` (pending, active, paused or left)")),
        }
    }
}

impl std::fmt::Display for VolunteerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a volunteer offers and where: the part of the record matching reads.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// The postcode they live in.
    pub postcode: String,
    /// A section of it, when known (its coordinates are then used).
    pub section: Option<String>,
    /// Where they live, from the postcode (and section).
    pub point: Point,
    /// Languages they speak (`fr`, `nl`).
    pub languages: Vec<String>,
    /// Kinds of help they offer (ids of the line's catalogue).
    pub helps: Vec<String>,
    /// When they can help.
    pub availability: Availability,
    /// How far they go, in kilometres.
    pub radius_km: f64,
    /// Missions a week at most.
    pub weekly_max: u32,
}

/// A volunteer as stored.
#[derive(Debug, Clone)]
pub struct Volunteer {
    /// Its number.
    pub id: VolunteerId,
    /// The line (flow id) the volunteer helps.
    pub line: String,
    /// Name as typed by a coordinator; empty for a phone sign-up not yet confirmed.
    pub name: String,
    /// The name as said on the phone, for a phone sign-up.
    pub name_recording_url: Option<String>,
    /// E.164; `None` once purged.
    pub phone: Option<String>,
    /// What they offer, where and when.
    pub profile: Profile,
    /// Whether they take missions now (their own switch).
    pub on_duty: bool,
    /// Where they are in the roster.
    pub state: VolunteerState,
    /// When and how they agreed to be on the roster.
    pub consent: Option<(DateTime<Utc>, String)>,
    /// The coordinators' notes.
    pub notes: String,
    /// The account they log in with, if any.
    pub account: Option<super::AgentId>,
    /// When the record was made.
    pub created_at: DateTime<Utc>,
}

impl Volunteer {
    /// The name to show: the typed one, or a word saying it was recorded (or removed).
    #[must_use]
    pub fn display_name(&self) -> String {
        match (self.name.is_empty(), self.name_recording_url.is_some()) {
            (false, _) => self.name.clone(),
            (true, true) => format!("(name recorded by phone, #{})", self.id),
            (true, false) => format!("(volunteer #{})", self.id),
        }
    }
}

/// What a new or changed record says, before it is checked.
#[derive(Debug, Clone, Default)]
pub struct Entry {
    /// Name (required unless signed up by phone with a recording).
    pub name: String,
    /// The number as typed (national or international).
    pub phone: String,
    /// Postcode.
    pub postcode: String,
    /// A section of the postcode.
    pub section: Option<String>,
    /// Kinds of help, ids of the line's catalogue.
    pub helps: Vec<String>,
    /// Languages; none means the line's first.
    pub languages: Vec<String>,
    /// Weekday ranges; empty means any hour.
    pub availability: String,
    /// How far they go; `None` means the line's default.
    pub radius_km: Option<f64>,
    /// Missions a week at most; `None` means 3.
    pub weekly_max: Option<u32>,
    /// How consent was given (`paper form`, `by phone`, `e-mail`).
    pub consent_how: Option<String>,
    /// Notes.
    pub notes: String,
}

/// Changes to a record: each field given replaces the record's, the others stay.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct Edit {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub postcode: Option<String>,
    pub section: Option<String>,
    pub helps: Option<Vec<String>>,
    pub languages: Option<Vec<String>>,
    pub availability: Option<String>,
    pub radius_km: Option<f64>,
    pub weekly_max: Option<u32>,
    pub notes: Option<String>,
}

impl Volunteer {
    /// The record as an entry, with `edit` applied: what is checked before it is stored.
    #[must_use]
    pub fn edited(&self, edit: Edit) -> Entry {
        let p = &self.profile;
        Entry {
            name: edit.name.unwrap_or_else(|| self.name.clone()),
            phone: edit.phone.or_else(|| self.phone.clone()).unwrap_or_default(),
            postcode: edit.postcode.unwrap_or_else(|| p.postcode.clone()),
            section: edit.section.or_else(|| p.section.clone()),
            helps: edit.helps.unwrap_or_else(|| p.helps.clone()),
            languages: edit.languages.unwrap_or_else(|| p.languages.clone()),
            availability: edit.availability.unwrap_or_else(|| p.availability.to_string()),
            radius_km: Some(edit.radius_km.unwrap_or(p.radius_km)),
            weekly_max: Some(edit.weekly_max.unwrap_or(p.weekly_max)),
            consent_how: None,
            notes: edit.notes.unwrap_or_else(|| self.notes.clone()),
        }
    }
}

/// What a line allows volunteers to say: its kinds of help, its languages, its region
/// for national numbers, its default distance.
#[derive(Debug, Clone, Copy)]
pub struct Catalogue<'a> {
    /// Ids of the kinds of help.
    pub helps: &'a [String],
    /// Languages of the line.
    pub languages: &'a [String],
    /// Where national numbers are read.
    pub region: crate::phone::Region,
    /// The distance of a volunteer who gives none.
    pub radius_km: f64,
}

/// A field that is wrong, and why: shown to whoever typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct FieldError {
    /// The field's name as the API spells it.
    pub field: &'static str,
    /// What is wrong.
    pub problem: String,
}

fn bad(field: &'static str, problem: impl Into<String>) -> FieldError {
    FieldError { field, problem: problem.into() }
}

/// Most missions a week a volunteer may take.
pub const MAX_WEEKLY: u32 = 50;
/// Farthest a volunteer may range.
pub const MAX_RADIUS_KM: f64 = 200.0;

impl Entry {
    /// Checks the entry against the line and the places: the phone in E.164, the profile.
    /// `named` says whether a name is required.
    ///
    /// # Errors
    /// The first field that is wrong.
    pub fn check(
        &self,
        catalogue: Catalogue<'_>,
        places: &Places,
        named: bool,
    ) -> Result<(crate::phone::E164, Profile), FieldError> {
        let name = self.name.trim();
        if named && name.is_empty() {
            return Err(bad("name", "a name is needed"));
        }
        if name.chars().count() > 120 || name.chars().any(char::is_control) {
            return Err(bad("name", "at most 120 characters, on one line"));
        }
        let phone = crate::phone::E164::parse(&self.phone, catalogue.region)
            .map_err(|e| bad("phone", format!("`{}`: {e}", self.phone.trim())))?;
        let postcode = places.find(&self.postcode).map_err(|e| bad("postcode", e))?;
        let section = self.section.as_deref().map(str::trim).filter(|s| !s.is_empty());
        let point = postcode.point(section).map_err(|e| bad("section", e))?;
        let helps = known("helps", &self.helps, catalogue.helps, "kind of help")?;
        if helps.is_empty() {
            return Err(bad("helps", format!("at least one kind of help ({})", catalogue.helps.join(", "))));
        }
        let mut languages = known("languages", &self.languages, catalogue.languages, "language")?;
        if languages.is_empty() {
            languages.extend(catalogue.languages.first().cloned());
        }
        let availability = Availability::parse(&self.availability).map_err(|e| bad("availability", e))?;
        let radius_km = self.radius_km.unwrap_or(catalogue.radius_km);
        if !(radius_km > 0.0 && radius_km <= MAX_RADIUS_KM) {
            return Err(bad("radius_km", format!("between 0 and {MAX_RADIUS_KM} km")));
        }
        let weekly_max = self.weekly_max.unwrap_or(3);
        if !(1..=MAX_WEEKLY).contains(&weekly_max) {
            return Err(bad("weekly_max", format!("between 1 and {MAX_WEEKLY} missions a week")));
        }
        let profile = Profile {
            postcode: postcode.code.clone(),
            section: section.map(|s| {
                postcode
                    .sections
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(s))
                    .map_or(s, |(n, _)| n)
                    .to_owned()
            }),
            point,
            languages,
            helps,
            availability,
            radius_km,
            weekly_max,
        };
        Ok((phone, profile))
    }
}

/// `given`, trimmed, lower-cased, without repeats, each one of `allowed`.
fn known(
    field: &'static str,
    given: &[String],
    allowed: &[String],
    what: &str,
) -> Result<Vec<String>, FieldError> {
    let mut out: Vec<String> = Vec::new();
    for word in given.iter().map(|w| w.trim().to_ascii_lowercase()).filter(|w| !w.is_empty()) {
        if !allowed.contains(&word) {
            return Err(bad(
                field,
                format!("unknown {what} `{word}` (this line has {})", allowed.join(", ")),
            ));
        }
        if !out.contains(&word) {
            out.push(word);
        }
    }
    Ok(out)
}

/// Splits `a,b, c` into words (for lists typed in a form or on the command line).
#[must_use]
pub fn split_list(text: &str) -> Vec<String> {
    text.split(',').map(str::trim).filter(|w| !w.is_empty()).map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalogue<'a>(helps: &'a [String], languages: &'a [String]) -> Catalogue<'a> {
        Catalogue { helps, languages, region: crate::phone::Region::parse("BE").unwrap(), radius_km: 10.0 }
    }

    fn entry() -> Entry {
        Entry {
            name: "Anna".into(),
            phone: "0470 12 34 56".into(),
            postcode: "4020".into(),
            helps: vec!["Groceries".into()],
            ..Entry::default()
        }
    }

    #[test]
    fn an_entry_is_checked_into_a_profile_with_the_lines_defaults() {
        let helps = vec!["groceries".to_owned(), "listening".to_owned()];
        let languages = vec!["fr".to_owned(), "nl".to_owned()];
        let (phone, profile) = entry().check(catalogue(&helps, &languages), Places::builtin(), true).unwrap();
        assert_eq!(phone.as_str(), "+32470123456");
        assert_eq!(profile.helps, ["groceries"]);
        assert_eq!(profile.languages, ["fr"], "the line's first language");
        assert!((profile.radius_km - 10.0).abs() < f64::EPSILON);
        assert!(profile.availability.is_any_hour());
        let mut with_section = entry();
        with_section.section = Some("wandre".into());
        let (_, p) = with_section.check(catalogue(&helps, &languages), Places::builtin(), true).unwrap();
        assert_eq!(p.section.as_deref(), Some("Wandre"));
    }

    #[test]
    fn every_bad_field_is_named() {
        type Break = fn(&mut Entry);
        let helps = vec!["groceries".to_owned()];
        let languages = vec!["fr".to_owned()];
        let cases: [(Break, &str); 9] = [
            (|e| e.name.clear(), "name"),
            (|e| e.phone = "0900 12 345".into(), "phone"),
            (|e| e.phone = "12".into(), "phone"),
            (|e| e.postcode = "9999".into(), "postcode"),
            (|e| e.helps = vec!["juggling".into()], "helps"),
            (|e| e.helps.clear(), "helps"),
            (|e| e.languages = vec!["xx".into()], "languages"),
            (|e| e.availability = "mon 09:00-12:00 10:00-11:00".into(), "availability"),
            (|e| e.radius_km = Some(0.0), "radius_km"),
        ];
        for (break_it, field) in cases {
            let mut e = entry();
            break_it(&mut e);
            let error = e.check(catalogue(&helps, &languages), Places::builtin(), true).unwrap_err();
            assert_eq!(error.field, field, "{error}");
        }
    }
}
