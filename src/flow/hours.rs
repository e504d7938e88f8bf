//! Opening hours: time ranges per weekday in the line's time zone, and closed dates.
//! Pure: the caller of [`Schedule::is_open`] says what time it is.

use std::collections::BTreeSet;
use std::ops::Range;

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Timelike, Utc, Weekday};
use chrono_tz::Tz;

use serde::Deserialize;
use toml::Spanned;

use crate::domain::week::parse_range;

/// `[line.hours]`: time ranges per weekday (`"08:30-12:15"`) and closed dates.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
#[derive(Default)]
pub struct Hours {
    pub monday: Option<Vec<Spanned<String>>>,
    pub tuesday: Option<Vec<Spanned<String>>>,
    pub wednesday: Option<Vec<Spanned<String>>>,
    pub thursday: Option<Vec<Spanned<String>>>,
    pub friday: Option<Vec<Spanned<String>>>,
    pub saturday: Option<Vec<Spanned<String>>>,
    pub sunday: Option<Vec<Spanned<String>>>,
    /// Dates (`YYYY-MM-DD`) the line is closed all day.
    #[serde(default)]
    pub holidays: Vec<Spanned<String>>,
}

/// Opening intervals of one day, as instants.
pub type Intervals = Vec<(DateTime<Utc>, DateTime<Utc>)>;

/// When a line is open.
#[derive(Debug, Clone)]
pub struct Schedule {
    tz: Tz,
    /// Monday first; minutes since midnight, end exclusive.
    week: [Vec<(u16, u16)>; 7],
    holidays: BTreeSet<NaiveDate>,
}

/// The hours a Belgian municipal helpline keeps when a flow says nothing.
const DEFAULT_DAY: &[&str] = &["08:30-12:15", "13:15-16:00"];

impl Schedule {
    /// Builds the schedule from the file's `[line.hours]`; errors carry the place of the
    /// bad value in the file.
    ///
    /// # Errors
    /// Every range or date that does not parse, with its span and a message.
    pub fn parse(tz: Tz, hours: &Hours) -> Result<Self, Vec<(Range<usize>, String)>> {
        let days = [
            &hours.monday,
            &hours.tuesday,
            &hours.wednesday,
            &hours.thursday,
            &hours.friday,
            &hours.saturday,
            &hours.sunday,
        ];
        let any_day_given = days.iter().any(|d| d.is_some());
        let mut errors = Vec::new();
        let mut week: [Vec<(u16, u16)>; 7] = Default::default();
        for (i, day) in days.iter().enumerate() {
            match day {
                Some(ranges) => {
                    for r in ranges {
                        match parse_range(r.get_ref()) {
                            Ok(range) => week[i].push(range),
                            Err(e) => errors.push((r.span(), e)),
                        }
                    }
                }
                None if !any_day_given && i < 5 => {
                    week[i] = DEFAULT_DAY.iter().filter_map(|r| parse_range(r).ok()).collect();
                }
                None => {}
            }
            week[i].sort_unstable();
            if week[i].windows(2).any(|w| w[0].1 > w[1].0) {
                let span = day.as_ref().and_then(|d| d.first()).map_or(0..0, toml::Spanned::span);
                errors.push((span, "time ranges of one day overlap".to_owned()));
            }
        }
        let mut holidays = BTreeSet::new();
        for h in &hours.holidays {
            match NaiveDate::parse_from_str(h.get_ref(), "%Y-%m-%d") {
                Ok(d) => {
                    holidays.insert(d);
                }
                Err(_) => errors.push((h.span(), format!("`{}` is not a date (YYYY-MM-DD)", h.get_ref()))),
            }
        }
        if errors.is_empty() { Ok(Self { tz, week, holidays }) } else { Err(errors) }
    }

    /// Whether the line is open at `now`.
    #[must_use]
    pub fn is_open(&self, now: DateTime<Utc>) -> bool {
        let local = now.with_timezone(&self.tz);
        if self.holidays.contains(&local.date_naive()) {
            return false;
        }
        let minute = u16::try_from(local.hour() * 60 + local.minute()).unwrap_or(0);
        self.week[day_index(local.weekday())].iter().any(|&(from, to)| (from..to).contains(&minute))
    }

    /// Opening time between `from` and `to`, in minutes, counted up to `cap` (enough to
    /// decide whether it exceeds `cap` without walking years of days).
    #[must_use]
    pub fn open_minutes_between(&self, from: DateTime<Utc>, to: DateTime<Utc>, cap: i64) -> i64 {
        self.open_minutes_with(from, to, cap, &mut |date| self.open_intervals(date))
    }

    /// [`Schedule::open_minutes_between`], taking each day's open intervals from
    /// `intervals` (a cache, when many are counted).
    pub fn open_minutes_with(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        cap: i64,
        intervals: &mut dyn FnMut(NaiveDate) -> Intervals,
    ) -> i64 {
        if to <= from {
            return 0;
        }
        let mut total = 0;
        let mut date = from.with_timezone(&self.tz).date_naive();
        let last = to.with_timezone(&self.tz).date_naive();
        while date <= last && total <= cap {
            for (s, e) in intervals(date) {
                let (s, e) = (s.max(from), e.min(to));
                if e > s {
                    total += (e - s).num_minutes();
                }
            }
            let Some(next) = date.succ_opt() else { break };
            date = next;
        }
        total
    }

    /// The open intervals of a local date, as instants.
    #[must_use]
    pub fn open_intervals(&self, date: NaiveDate) -> Intervals {
        if self.holidays.contains(&date) {
            return Vec::new();
        }
        self.week[day_index(date.weekday())]
            .iter()
            .filter_map(|&(start, end)| Some((self.instant(date, start)?, self.instant(date, end)?)))
            .collect()
    }

    /// The instant a local time of day (minutes since midnight) falls on.
    fn instant(&self, date: NaiveDate, minute: u16) -> Option<DateTime<Utc>> {
        let midnight = date.and_hms_opt(0, 0, 0)?;
        let local = midnight + chrono::Duration::minutes(i64::from(minute));
        self.tz.from_local_datetime(&local).earliest().map(|t| t.with_timezone(&Utc))
    }

    /// The line's time zone.
    #[must_use]
    pub fn timezone(&self) -> Tz {
        self.tz
    }

    /// The instant the line has been open `minutes` since `from` (counting only opening
    /// hours, for sixty days at most; a line never open counts the clock's minutes).
    #[must_use]
    pub fn after_open_minutes(&self, from: DateTime<Utc>, minutes: i64) -> DateTime<Utc> {
        let mut left = chrono::Duration::minutes(minutes.max(0));
        let mut date = from.with_timezone(&self.tz).date_naive();
        for _ in 0..60 {
            for (start, end) in self.open_intervals(date) {
                let start = start.max(from);
                if end <= start {
                    continue;
                }
                if end - start >= left {
                    return start + left;
                }
                left -= end - start;
            }
            let Some(next) = date.succ_opt() else { break };
            date = next;
        }
        from + chrono::Duration::minutes(minutes.max(0))
    }

    /// The opening ranges of each day of the week, Monday first, as `08:30–12:15`.
    #[must_use]
    pub fn week(&self) -> [Vec<String>; 7] {
        let hm = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
        std::array::from_fn(|d| {
            self.week[d].iter().map(|&(from, to)| format!("{}–{}", hm(from), hm(to))).collect()
        })
    }

    /// The holidays (closed all day) from `from` on, in order.
    pub fn holidays_from(&self, from: NaiveDate) -> impl Iterator<Item = NaiveDate> + '_ {
        self.holidays.range(from..).copied()
    }
}

fn day_index(day: Weekday) -> usize {
    day.num_days_from_monday() as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn brussels(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        chrono_tz::Europe::Brussels.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap().with_timezone(&Utc)
    }

    fn default_schedule() -> Schedule {
        let hours =
            Hours { holidays: vec![toml::Spanned::new(0..0, "2026-12-25".to_owned())], ..Hours::default() };
        Schedule::parse(chrono_tz::Europe::Brussels, &hours).unwrap()
    }

    /// Found by `scripts/fuzz flow`: an hour past 1092 overflowed the minutes (a panic
    /// with overflow checks on, a wrong time without).
    #[test]
    fn an_hour_out_of_range_is_a_problem_not_a_panic() {
        assert!(parse_range("1131:6-5:00").unwrap_err().contains("is not a time range"));
        assert!(parse_range("08:00-65535:00").is_err());
    }

    #[test]
    fn opening_time_is_counted_over_lunch_weekends_and_holidays() {
        let s = default_schedule();
        // Friday 27 November, 15:00: an hour that day, then Monday from 08:30.
        assert_eq!(s.after_open_minutes(brussels(2026, 11, 27, 15, 0), 120), brussels(2026, 11, 30, 9, 30));
        // Over lunch: 11:45 + 60 = 30 minutes before it, 30 after.
        assert_eq!(s.after_open_minutes(brussels(2026, 11, 23, 11, 45), 60), brussels(2026, 11, 23, 13, 45));
        // Left at night: counted from the opening.
        assert_eq!(s.after_open_minutes(brussels(2026, 11, 23, 22, 0), 30), brussels(2026, 11, 24, 9, 0));
        // Christmas Eve at 15:30, then Christmas (a holiday), then the weekend.
        assert_eq!(s.after_open_minutes(brussels(2026, 12, 24, 15, 30), 60), brussels(2026, 12, 28, 9, 0));
        // A line never open counts the clock.
        let never = Schedule { week: std::array::from_fn(|_| Vec::new()), ..default_schedule() };
        assert_eq!(
            never.after_open_minutes(brussels(2026, 11, 23, 10, 0), 60),
            brussels(2026, 11, 23, 11, 0)
        );
    }

    #[test]
    fn default_hours_have_a_lunch_break() {
        let s = default_schedule();
        // Monday 23 November 2026.
        assert!(!s.is_open(brussels(2026, 11, 23, 8, 29)));
        assert!(s.is_open(brussels(2026, 11, 23, 8, 30)));
        assert!(s.is_open(brussels(2026, 11, 23, 12, 14)));
        assert!(!s.is_open(brussels(2026, 11, 23, 12, 15)));
        assert!(!s.is_open(brussels(2026, 11, 23, 13, 0)));
        assert!(s.is_open(brussels(2026, 11, 23, 13, 15)));
        assert!(!s.is_open(brussels(2026, 11, 23, 16, 0)));
    }

    #[test]
    fn weekends_and_holidays_are_closed() {
        let s = default_schedule();
        assert!(!s.is_open(brussels(2026, 11, 22, 10, 0)), "Sunday");
        assert!(!s.is_open(brussels(2026, 12, 25, 10, 0)), "Christmas, a Friday");
    }

    #[test]
    fn summer_time_is_respected() {
        let s = default_schedule();
        // 1 July 2026 08:45 in Brussels is 06:45 UTC.
        assert!(s.is_open(Utc.with_ymd_and_hms(2026, 7, 1, 6, 45, 0).unwrap()));
        assert!(!s.is_open(Utc.with_ymd_and_hms(2026, 7, 1, 14, 30, 0).unwrap()));
    }

    #[test]
    fn open_minutes_count_only_opening_hours() {
        let s = default_schedule();
        // Monday 11:00 to 14:00: 75 min before lunch, 45 after.
        assert_eq!(
            s.open_minutes_between(brussels(2026, 11, 23, 11, 0), brussels(2026, 11, 23, 14, 0), 10_000),
            120
        );
        // Friday 15:00 to Monday 09:00: one hour on Friday, 30 min on Monday.
        assert_eq!(
            s.open_minutes_between(brussels(2026, 11, 27, 15, 0), brussels(2026, 11, 30, 9, 0), 10_000),
            90
        );
        assert_eq!(
            s.open_minutes_between(brussels(2026, 11, 30, 9, 0), brussels(2026, 11, 27, 15, 0), 10_000),
            0
        );
    }

    #[test]
    fn bad_ranges_are_reported() {
        assert!(parse_range("8h30-12h").is_err());
        assert!(parse_range("12:00-08:00").is_err());
        assert_eq!(parse_range("00:00-24:00"), Ok((0, 1440)));
    }
}
