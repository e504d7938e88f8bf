//! The one timestamp format of the database: UTC, RFC 3339, milliseconds, `Z`
//! (`2026-11-21T08:30:00.000Z`). Fixed width, so text order is time order.

use chrono::{DateTime, SecondsFormat, Utc};

/// Formats an instant for the database.
#[must_use]
pub fn format(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Reads an instant written by [`format`] (quickly: statistics read millions), or any
/// RFC 3339 time.
#[must_use]
pub fn parse(text: &str) -> Option<DateTime<Utc>> {
    parse_ours(text.as_bytes())
        .or_else(|| DateTime::parse_from_rfc3339(text).ok().map(|t| t.with_timezone(&Utc)))
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`, exactly.
fn parse_ours(b: &[u8]) -> Option<DateTime<Utc>> {
    if b.len() != 24
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'.'
        || b[23] != b'Z'
    {
        return None;
    }
    let n = |from: usize, to: usize| -> Option<u32> {
        b[from..to].iter().try_fold(0u32, |acc, c| c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0')))
    };
    let date = chrono::NaiveDate::from_ymd_opt(i32::try_from(n(0, 4)?).ok()?, n(5, 7)?, n(8, 10)?)?;
    let time = chrono::NaiveTime::from_hms_milli_opt(n(11, 13)?, n(14, 16)?, n(17, 19)?, n(20, 23)?)?;
    Some(date.and_time(time).and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_format_reads_back_exactly() {
        let at = DateTime::parse_from_rfc3339("2026-11-23T09:01:10.250Z").unwrap().with_timezone(&Utc);
        assert_eq!(format(at), "2026-11-23T09:01:10.250Z");
        assert_eq!(parse(&format(at)), Some(at));
        assert_eq!(parse("2026-11-23T10:01:10+01:00"), Some(at - chrono::Duration::milliseconds(250)));
        assert_eq!(parse("2026-13-23T09:01:10.250Z"), None);
    }
}
