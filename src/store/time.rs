//! The one timestamp format of the database: UTC, RFC 3339, milliseconds, `Z`
//! (`2026-11-21T08:30:00.000Z`). Fixed width, so text order is time order.

use chrono::{DateTime, SecondsFormat, Utc};

/// Formats an instant for the database.
#[must_use]
pub fn format(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Reads an instant written by [`format`].
#[must_use]
pub fn parse(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text).ok().map(|t| t.with_timezone(&Utc))
}
