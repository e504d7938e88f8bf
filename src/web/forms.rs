//! Input the console and the API share, read at the edge: the queue's and the roster's
//! filters and a mission state from a query string, a `datetime-local` value in the
//! line's time zone, a record's number in a path.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};

use crate::domain::queue::Filter;

/// Reads `service=…&language=…&postcode=…&all=true`; empty values mean "any". `all` is a
/// wish: only a supervisor's is granted (see [`crate::ops::queue::list`]).
#[must_use]
pub fn filter(query: Option<&str>) -> Filter {
    let mut filter = Filter::default();
    for (k, v) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        let value = Some(v.trim().to_owned()).filter(|v| !v.is_empty());
        match k.as_ref() {
            "service" => filter.service = value,
            "language" => filter.language = value,
            "postcode" => filter.postcode = value,
            "all" => filter.everything_active = v == "true",
            _ => {}
        }
    }
    filter
}

/// Reads a `datetime-local` value (`2026-11-25T09:00`) in the line's time zone.
#[must_use]
pub fn local_time(value: Option<&str>, tz: chrono_tz::Tz) -> Option<DateTime<Utc>> {
    let naive = NaiveDateTime::parse_from_str(value?.trim(), "%Y-%m-%dT%H:%M").ok()?;
    tz.from_local_datetime(&naive).earliest().map(|t| t.with_timezone(&Utc))
}

/// A record's number as written in a path: a positive integer.
#[must_use]
pub fn id(text: &str) -> Option<i64> {
    text.parse().ok().filter(|&n: &i64| n > 0)
}

/// A request number as written in a path.
#[must_use]
pub fn request_id(text: &str) -> Option<crate::domain::RequestId> {
    id(text).map(crate::domain::RequestId)
}

/// The roster's filter from a query string (`postcode`, `help`, `state`).
///
/// # Errors
/// A state that is not one.
pub fn roster_filter(query: Option<&str>) -> Result<crate::store::volunteers::RosterFilter, String> {
    let mut filter = crate::store::volunteers::RosterFilter::default();
    for (k, v) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        let value = Some(v.trim().to_owned()).filter(|v| !v.is_empty());
        match k.as_ref() {
            "line" => filter.line = value,
            "postcode" => filter.postcode = value,
            "help" => filter.help = value,
            "state" => {
                filter.state =
                    value.map(|s| crate::domain::volunteers::VolunteerState::parse(&s)).transpose()?;
            }
            _ => {}
        }
    }
    Ok(filter)
}

/// The mission state a query string asks for (`state=accepted`), if any.
///
/// # Errors
/// A word that is not a mission state.
pub fn mission_state(query: Option<&str>) -> Result<Option<crate::domain::missions::MissionState>, String> {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .filter(|(k, v)| k == "state" && !v.trim().is_empty())
        .map(|(_, v)| crate::domain::missions::MissionState::parse(v.trim()))
        .next()
        .transpose()
}
