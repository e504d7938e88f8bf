//! Time ranges in a week: `"08:30-12:15"` read into minutes since midnight, and a
//! volunteer's availability (`mon 09:00-12:00 14:00-17:00; sat 10:00-18:00`), checked
//! once: no empty range, no overlap, no unknown day.

use chrono::Weekday;

/// Minutes since midnight, end exclusive.
pub type Range = (u16, u16);

/// `"08:30-12:15"` → minutes since midnight; `24:00` may end a range.
///
/// # Errors
/// Not a range, or one that ends before it starts.
pub fn parse_range(text: &str) -> Result<Range, String> {
    let bad = || format!("`{text}` is not a time range like \"08:30-12:15\"");
    let (from, to) = text.split_once('-').ok_or_else(bad)?;
    let from = parse_time(from.trim()).ok_or_else(bad)?;
    let to = parse_time(to.trim()).ok_or_else(bad)?;
    if from >= to {
        return Err(format!("`{text}` ends before it starts"));
    }
    Ok((from, to))
}

fn parse_time(text: &str) -> Option<u16> {
    let (h, m) = text.split_once(':')?;
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    // Computed only once in range: `1131:06` would overflow.
    (h < 24 && m < 60 || h == 24 && m == 0).then(|| h * 60 + m)
}

fn format_time(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// When a volunteer can help: ranges per weekday in the line's time zone. No range at
/// all means any hour.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Availability {
    /// Monday first, sorted, never overlapping.
    week: [Vec<Range>; 7],
}

impl Availability {
    /// Reads `mon 09:00-12:00 14:00-17:00; sat 10:00-18:00` (days as `mon`…`sun` or in
    /// full, in English); the empty text is any hour.
    ///
    /// # Errors
    /// An unknown day, a day without ranges, a range that does not read or is empty, or
    /// two that overlap: the message says which.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut week: [Vec<Range>; 7] = Default::default();
        for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let mut words = part.split_whitespace();
            let day = words.next().unwrap_or_default();
            let index = day_of(day).ok_or_else(|| format!("`{day}` is not a day (mon, tue, … sun)"))?;
            let mut any = false;
            for range in words {
                week[index].push(parse_range(range)?);
                any = true;
            }
            if !any {
                return Err(format!("`{day}` has no time range (like `{day} 09:00-12:00`)"));
            }
        }
        for (i, day) in week.iter_mut().enumerate() {
            day.sort_unstable();
            if day.windows(2).any(|w| w[0].1 > w[1].0) {
                return Err(format!("the time ranges of {} overlap", DAYS[i]));
            }
        }
        Ok(Self { week })
    }

    /// Whether no range is given: any hour.
    #[must_use]
    pub fn is_any_hour(&self) -> bool {
        self.week.iter().all(Vec::is_empty)
    }

    /// Whether the volunteer is free on `day` at `minute` past midnight (local time).
    #[must_use]
    pub fn covers(&self, day: Weekday, minute: u16) -> bool {
        self.is_any_hour()
            || self.week[day.num_days_from_monday() as usize]
                .iter()
                .any(|&(from, to)| (from..to).contains(&minute))
    }
}

impl std::fmt::Display for Availability {
    /// The text [`Availability::parse`] reads; empty for any hour.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut first = true;
        for (i, ranges) in self.week.iter().enumerate().filter(|(_, r)| !r.is_empty()) {
            if !first {
                f.write_str("; ")?;
            }
            first = false;
            f.write_str(DAYS[i])?;
            for &(from, to) in ranges {
                write!(f, " {}-{}", format_time(from), format_time(to))?;
            }
        }
        Ok(())
    }
}

fn day_of(word: &str) -> Option<usize> {
    let word = word.to_ascii_lowercase();
    let full = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
    DAYS.iter().position(|d| *d == word).or_else(|| full.iter().position(|d| *d == word))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn availability_reads_back_what_it_writes() {
        let a = Availability::parse("sat 10:00-18:00; Monday 14:00-17:00 09:00-12:00").unwrap();
        assert_eq!(a.to_string(), "mon 09:00-12:00 14:00-17:00; sat 10:00-18:00");
        assert_eq!(Availability::parse(&a.to_string()).unwrap(), a);
        assert!(a.covers(Weekday::Mon, 9 * 60));
        assert!(!a.covers(Weekday::Mon, 12 * 60), "the end is exclusive");
        assert!(!a.covers(Weekday::Tue, 10 * 60));
        let any = Availability::parse("  ").unwrap();
        assert!(any.is_any_hour() && any.covers(Weekday::Sun, 3 * 60));
    }

    #[test]
    fn bad_availability_says_what_is_wrong() {
        for (text, says) in [
            ("mon 09:00-12:00 11:00-13:00", "overlap"),
            ("mon 12:00-09:00", "ends before"),
            ("mon 12:00-12:00", "ends before"),
            ("lundi 09:00-12:00", "not a day"),
            ("mon", "no time range"),
            ("mon 9h-12h", "not a time range"),
        ] {
            let e = Availability::parse(text).unwrap_err();
            assert!(e.contains(says), "{text}: {e}");
        }
    }
}
