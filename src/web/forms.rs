//! Input the console and the API share, read at the edge: the queue's filter from a query
//! string, a `datetime-local` value in the line's time zone.

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

/// A request number as written in a path.
#[must_use]
pub fn request_id(text: &str) -> Option<crate::domain::RequestId> {
    text.parse().ok().filter(|&n: &i64| n > 0).map(crate::domain::RequestId)
}
