//! Daily call statistics, computed from the counters kept on each call and from the
//! callback requests; exported as CSV (RFC 4180) or JSON with the same columns in the same
//! order. Exports hold counts only, never a number. Every column is defined in the README.
//!
//! Days are local days in the line's time zone (23 or 25 hours at the daylight-saving
//! changes); hours are the hours that really happened that day, labelled with their
//! offset so the doubled autumn hour is two rows.

use std::collections::HashSet;
use std::fmt::Write as _;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use rusqlite::Connection;
use serde_json::{Map, Value};

use crate::domain::RequestState;
use crate::flow::Schedule;
use crate::store::{StoreError, reports, time};

/// What to compute.
#[derive(Debug, Clone)]
pub struct Query {
    /// First day.
    pub from: NaiveDate,
    /// Last day (inclusive).
    pub to: NaiveDate,
    /// One line (flow id), or all lines together.
    pub line: Option<String>,
    /// The days' time zone.
    pub tz: Tz,
    /// Opening hours, for the service level.
    pub schedule: Schedule,
    /// The service level counts first attempts within this many working hours.
    pub service_level_hours: u32,
    /// Now: requests still waiting count against the service level only once late.
    pub now: DateTime<Utc>,
}

/// The longest range computed at once.
pub const MAX_DAYS: i64 = 3660;

/// Keys counted at menus, in column order.
const KEYS: [(char, &str); 12] = [
    ('1', "key_1"),
    ('2', "key_2"),
    ('3', "key_3"),
    ('4', "key_4"),
    ('5', "key_5"),
    ('6', "key_6"),
    ('7', "key_7"),
    ('8', "key_8"),
    ('9', "key_9"),
    ('0', "key_0"),
    ('*', "key_star"),
    ('#', "key_hash"),
];

/// One value of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// A count.
    Count(u64),
    /// A measure that may not exist (no data: empty, never 0).
    Measure(Option<f64>),
    /// Text that may be empty.
    Text(Option<String>),
}

/// A row: named cells in a stable order.
pub type Row = Vec<(&'static str, Cell)>;

/// What one day's calls say, final: computed from the calls, or kept for a settled day
/// (every call of it ended) in `stats_call_days` and read back, always the same.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct CallDay {
    offered: u64,
    callers: u64,
    closed: u64,
    abandoned: u64,
    transfers: u64,
    transfers_answered: u64,
    outcomes: [u64; 4],
    keys: [u64; 12],
    invalid: u64,
    silences: u64,
    /// Mean and 90th percentile of the seconds in the menus, rounded to a tenth as shown
    /// (rounding them again changes nothing, whatever JSON did to their last bit).
    menu_mean: Option<f64>,
    menu_p90: Option<f64>,
    /// For each hour of the day: calls offered, while closed, abandoned, transfers.
    hours: Vec<[u64; 4]>,
}

/// A day's calls being counted.
#[derive(Debug, Default)]
struct CallTally {
    day: CallDay,
    callers: HashSet<String>,
    menu_seconds: Vec<f64>,
}

impl CallTally {
    fn new(hours: usize) -> Self {
        Self { day: CallDay { hours: vec![[0; 4]; hours], ..CallDay::default() }, ..Self::default() }
    }

    fn finish(mut self) -> CallDay {
        self.day.callers = self.callers.len() as u64;
        self.day.menu_mean = rounded(mean(&self.menu_seconds));
        self.day.menu_p90 = rounded(percentile(&mut self.menu_seconds, 0.9));
        self.day
    }
}

#[derive(Debug, Default, Clone)]
struct DayTally {
    calls: CallDay,
    requested: u64,
    completed: u64,
    unreachable: u64,
    open_at_end: i64,
    first_attempt_minutes: Vec<f64>,
    within: u64,
    judged: u64,
    /// Callback requests registered in each hour of the day.
    requested_per_hour: Vec<u64>,
    missions: MissionTally,
    outbound: OutboundTally,
}

/// The calls the service placed, by the day each thing happened.
#[derive(Debug, Default, Clone)]
struct OutboundTally {
    placed: u64,
    answered: u64,
    accepted: u64,
    bridged: u64,
    failed: u64,
}

#[derive(Debug, Default, Clone)]
struct MissionTally {
    created: u64,
    accepted: u64,
    done: u64,
    not_done: u64,
    cancelled: u64,
    minutes_to_acceptance: Vec<f64>,
    volunteers: HashSet<i64>,
    /// Missions made and done per postcode.
    by_postcode: std::collections::BTreeMap<String, (u64, u64)>,
}

/// The computed figures.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// One row per day.
    pub days: Vec<Row>,
    /// One row per hour of every day.
    pub hours: Vec<Row>,
    /// One row per day and postcode that had missions.
    pub postcodes: Vec<Row>,
}

struct Calendar {
    from: NaiveDate,
    /// Start of each day and of the day after the last, UTC.
    starts: Vec<DateTime<Utc>>,
}

impl Calendar {
    fn new(query: &Query) -> Self {
        Self::between(query.from, query.to, query.tz)
    }

    /// The days `from` to `to` (inclusive) in `tz`.
    fn between(from: NaiveDate, to: NaiveDate, tz: Tz) -> Self {
        let mut starts = Vec::new();
        let mut date = from;
        loop {
            let midnight = date.and_hms_opt(0, 0, 0).unwrap_or_default();
            let start = tz
                .from_local_datetime(&midnight)
                .earliest()
                .map_or_else(|| Utc.from_utc_datetime(&midnight), |t| t.with_timezone(&Utc));
            starts.push(start);
            if date > to {
                break;
            }
            date = date.succ_opt().unwrap_or(date);
        }
        Self { from, starts }
    }

    /// The date of day `d`.
    fn date(&self, d: usize) -> NaiveDate {
        self.from + Duration::days(i64::try_from(d).unwrap_or(0))
    }

    fn days(&self) -> usize {
        self.starts.len() - 1
    }

    /// The day an instant falls in, if within the range.
    /// The instants the report covers: from its first day's start to its last day's end.
    fn span(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        (self.starts[0], self.starts[self.days()])
    }

    /// The day of a stored time, when it is one of the report's.
    fn day_of_stored(&self, at: Option<&str>) -> Option<usize> {
        at.and_then(time::parse).and_then(|t| self.day_of(t))
    }

    fn day_of(&self, at: DateTime<Utc>) -> Option<usize> {
        let i = self.starts.partition_point(|s| *s <= at);
        (1..=self.days()).contains(&i).then(|| i - 1)
    }

    /// Like `day_of`, but instants before the range give 0 and after it `days()`.
    fn clamp_day(&self, at: DateTime<Utc>) -> usize {
        self.starts.partition_point(|s| *s <= at).saturating_sub(1).min(self.days())
    }

    fn hours_of(&self, day: usize) -> usize {
        usize::try_from((self.starts[day + 1] - self.starts[day]).num_hours()).unwrap_or(24)
    }
}

/// Nearest-rank percentile (`p` in 0–1) of unsorted values.
fn percentile(values: &mut [f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
    let rank = ((p * values.len() as f64).ceil() as usize).clamp(1, values.len());
    Some(values[rank - 1])
}

#[allow(clippy::cast_precision_loss)]
fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// Rounded to a tenth, as shown.
fn rounded(v: Option<f64>) -> Option<f64> {
    v.map(|v| (v * 10.0).round() / 10.0)
}

/// The scope of kept figures: a line, or every line together.
fn scope(line: Option<&str>) -> &str {
    line.unwrap_or("*")
}

/// Computes the figures of every day of the query.
///
/// # Errors
/// SQLite errors.
pub fn compute(conn: &Connection, query: &Query) -> Result<Report, StoreError> {
    let calendar = Calendar::new(query);
    let mut days: Vec<DayTally> = (0..calendar.days())
        .map(|d| DayTally { requested_per_hour: vec![0; calendar.hours_of(d)], ..DayTally::default() })
        .collect();
    // The settled days' call figures as kept; the others' from their calls.
    let mut kept = vec![false; days.len()];
    let (from, to) = (query.from.to_string(), query.to.to_string());
    for (day, figures) in
        reports::settled_call_days(conn, scope(query.line.as_deref()), query.tz.name(), (&from, &to))?
    {
        let Some(d) = NaiveDate::parse_from_str(&day, "%Y-%m-%d")
            .ok()
            .and_then(|date| usize::try_from((date - calendar.from).num_days()).ok())
            .filter(|d| *d < days.len())
        else {
            continue;
        };
        if let Ok(figures) = serde_json::from_str::<CallDay>(&figures) {
            if figures.hours.len() == calendar.hours_of(d) {
                days[d].calls = figures;
                kept[d] = true;
            }
        }
    }
    let mut first = 0;
    while let Some(start) = (first..days.len()).find(|d| !kept[*d]) {
        let end = (start..days.len()).find(|d| kept[*d]).unwrap_or(days.len());
        for (d, figures) in count_calls(conn, query.line.as_deref(), &calendar, (start, end))? {
            days[d].calls = figures;
        }
        first = end;
    }
    count_callbacks(conn, query, &calendar, &mut days)?;
    count_missions(conn, query, &calendar, &mut days)?;
    count_outbound(conn, query, &calendar, &mut days)?;
    Ok(render(query, &calendar, days))
}

/// The call figures of days `start..end` of `calendar`, from their calls.
fn count_calls(
    conn: &Connection,
    line: Option<&str>,
    calendar: &Calendar,
    (start, end): (usize, usize),
) -> Result<Vec<(usize, CallDay)>, StoreError> {
    let mut tallies: Vec<CallTally> = (start..end).map(|d| CallTally::new(calendar.hours_of(d))).collect();
    if tallies.is_empty() {
        return Ok(Vec::new());
    }
    let long = end - start > 60;
    let (from, to) = (calendar.date(start).to_string(), calendar.date(end - 1).to_string());
    // Rows come grouped by day: the date is parsed once per day, not once per call.
    let mut last_day = (String::new(), None);
    reports::calls_between(conn, (&from, &to), line, long, |r| {
        if r.day != last_day.0 {
            let index = NaiveDate::parse_from_str(r.day, "%Y-%m-%d")
                .ok()
                .and_then(|d| usize::try_from((d - calendar.from).num_days()).ok())
                .filter(|i| (start..end).contains(i));
            last_day = (r.day.to_owned(), index);
        }
        let Some(index) = last_day.1 else { return };
        let started = time::parse(r.started_at).unwrap_or(calendar.starts[index]);
        let tally = &mut tallies[index - start];
        let t = &mut tally.day;
        t.offered += 1;
        if let Some(caller) = r.caller {
            if !tally.callers.contains(caller) {
                tally.callers.insert(caller.to_owned());
            }
        }
        let closed = r.open_at_arrival == Some(false);
        let abandoned = r.outcome == Some("abandoned");
        t.closed += u64::from(closed);
        t.abandoned += u64::from(abandoned);
        if let Some(i) =
            ["callback", "transferred", "informed", "no_response"].iter().position(|o| Some(*o) == r.outcome)
        {
            t.outcomes[i] += 1;
        }
        if let Some(left) = r.left_menu_at.and_then(time::parse) {
            #[allow(clippy::cast_precision_loss)]
            tally.menu_seconds.push((left - started).num_milliseconds().max(0) as f64 / 1000.0);
        }
        for key in r.menu_keys.chars() {
            if let Some(k) = KEYS.iter().position(|(c, _)| *c == key) {
                t.keys[k] += 1;
            }
        }
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        t.invalid += count(r.invalid);
        t.silences += count(r.silences);
        let transfers = count(r.transfers);
        t.transfers += transfers;
        t.transfers_answered += count(r.transfers_answered);
        let hour = usize::try_from((started - calendar.starts[index]).num_hours())
            .unwrap_or(0)
            .min(t.hours.len() - 1);
        let h = &mut t.hours[hour];
        h[0] += 1;
        h[1] += u64::from(closed);
        h[2] += u64::from(abandoned);
        h[3] += transfers;
    })?;
    Ok(tallies.into_iter().enumerate().map(|(i, t)| (start + i, t.finish())).collect())
}

/// Keeps the call figures of up to `at_most` settled days of `line` (or every line
/// together) in `tz` not kept yet (see [`unsettled`]). Returns how many it kept (0 when
/// all are).
///
/// # Errors
/// SQLite errors.
pub fn settle(
    conn: &Connection,
    line: Option<&str>,
    tz: Tz,
    today: NaiveDate,
    at_most: usize,
) -> Result<usize, StoreError> {
    let days = unsettled(conn, line, tz, today, at_most)?;
    let (Some(first), Some(last)) = (days.first(), days.last()) else { return Ok(0) };
    let calendar = Calendar::between(*first, *last, tz);
    for date in &days {
        let d = usize::try_from((*date - *first).num_days()).unwrap_or(0);
        for (_, figures) in count_calls(conn, line, &calendar, (d, d + 1))? {
            let json = serde_json::to_string(&figures)?;
            reports::keep_call_day(conn, &date.to_string(), scope(line), tz.name(), &json)?;
        }
    }
    Ok(days.len())
}

/// Up to `at_most` settled days of `line` (or every line together) in `tz` whose call
/// figures are not kept yet: days before `today` less two, all of whose calls have ended,
/// from the first day with a call, or a month before the last day kept. Read only.
///
/// # Errors
/// SQLite errors.
pub fn unsettled(
    conn: &Connection,
    line: Option<&str>,
    tz: Tz,
    today: NaiveDate,
    at_most: usize,
) -> Result<Vec<NaiveDate>, StoreError> {
    let scope = scope(line);
    let last = today - Duration::days(2);
    let parse = |day: Option<String>| day.and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok());
    let first = match parse(reports::last_settled_call_day(conn, scope, tz.name())?) {
        Some(kept) => kept - Duration::days(31),
        None => match parse(reports::first_call_day(conn, line)?) {
            Some(first) => first,
            None => return Ok(Vec::new()),
        },
    };
    if first > last {
        return Ok(Vec::new());
    }
    let kept: HashSet<String> =
        reports::settled_call_days(conn, scope, tz.name(), (&first.to_string(), &last.to_string()))?
            .into_iter()
            .map(|(day, _)| day)
            .collect();
    let mut days = Vec::new();
    let mut date = first;
    while date <= last && days.len() < at_most {
        let day = date.to_string();
        if !kept.contains(&day) && !reports::day_has_live_calls(conn, &day, line)? {
            days.push(date);
        }
        date = date.succ_opt().unwrap_or(last + Duration::days(1));
    }
    Ok(days)
}

fn count_callbacks(
    conn: &Connection,
    query: &Query,
    calendar: &Calendar,
    days: &mut [DayTally],
) -> Result<(), StoreError> {
    let (start, end) = calendar.span();
    let mut open_delta = vec![0i64; days.len() + 1];
    let limit = i64::from(query.service_level_hours) * 60;
    let mut cache: std::collections::HashMap<NaiveDate, crate::flow::hours::Intervals> =
        std::collections::HashMap::new();
    let schedule = &query.schedule;
    let mut intervals =
        |date: NaiveDate| cache.entry(date).or_insert_with(|| schedule.open_intervals(date)).clone();
    reports::requests_alive(conn, (start, end), query.line.as_deref(), |r| {
        let Some(created) = time::parse(r.created_at) else { return };
        let first = r.first_attempt_at.and_then(time::parse);
        let closed = r.closed_at.and_then(time::parse);
        open_delta[calendar.clamp_day(created)] += 1;
        if let Some(closed) = closed {
            open_delta[calendar.clamp_day(closed)] -= 1;
            if let Some(d) = calendar.day_of(closed) {
                days[d].completed += u64::from(r.state == Some(RequestState::Done));
                days[d].unreachable += u64::from(r.state == Some(RequestState::Unreachable));
            }
        }
        let Some(d) = calendar.day_of(created) else { return };
        let t = &mut days[d];
        t.requested += 1;
        let hour = usize::try_from((created - calendar.starts[d]).num_hours())
            .unwrap_or(0)
            .min(t.requested_per_hour.len() - 1);
        t.requested_per_hour[hour] += 1;
        match first {
            Some(first) => {
                #[allow(clippy::cast_precision_loss)]
                t.first_attempt_minutes.push((first - created).num_seconds().max(0) as f64 / 60.0);
                t.judged += 1;
                t.within +=
                    u64::from(schedule.open_minutes_with(created, first, limit, &mut intervals) <= limit);
            }
            // Still waiting: it counts once it is late.
            None if r.state.is_some_and(RequestState::is_active)
                && schedule.open_minutes_with(created, query.now, limit, &mut intervals) > limit =>
            {
                t.judged += 1;
            }
            // Cancelled before any attempt: no service to measure.
            None => {}
        }
    })?;
    let mut open = 0;
    for (d, t) in days.iter_mut().enumerate() {
        open += open_delta[d];
        t.open_at_end = open;
    }
    Ok(())
}

fn count_missions(
    conn: &Connection,
    query: &Query,
    calendar: &Calendar,
    days: &mut [DayTally],
) -> Result<(), StoreError> {
    let (start, end) = calendar.span();
    reports::missions_alive(conn, (start, end), query.line.as_deref(), |m| {
        let day = |at: Option<&str>| calendar.day_of_stored(at);
        if let Some(d) = day(Some(m.created_at)) {
            let t = &mut days[d].missions;
            t.created += 1;
            t.by_postcode.entry(m.postcode.to_owned()).or_default().0 += 1;
        }
        if let Some(d) = day(m.accepted_at) {
            let t = &mut days[d].missions;
            t.accepted += 1;
            t.volunteers.extend(m.volunteer);
            let (requested, accepted) = (time::parse(m.requested_at), m.accepted_at.and_then(time::parse));
            if let (Some(requested), Some(accepted)) = (requested, accepted) {
                #[allow(clippy::cast_precision_loss)]
                t.minutes_to_acceptance.push((accepted - requested).num_seconds().max(0) as f64 / 60.0);
            }
        }
        if let Some(d) = day(m.closed_at) {
            let t = &mut days[d].missions;
            match m.state {
                "done" => {
                    t.done += 1;
                    t.by_postcode.entry(m.postcode.to_owned()).or_default().1 += 1;
                }
                "not_done" => t.not_done += 1,
                "cancelled" => t.cancelled += 1,
                _ => {}
            }
        }
    })
}

fn count_outbound(
    conn: &Connection,
    query: &Query,
    calendar: &Calendar,
    days: &mut [DayTally],
) -> Result<(), StoreError> {
    let (start, end) = calendar.span();
    reports::outbound_between(conn, (start, end), query.line.as_deref(), |c| {
        let day = |at: Option<&str>| calendar.day_of_stored(at);
        if let Some(d) = day(c.placed_at) {
            days[d].outbound.placed += 1;
        }
        if let Some(d) = day(c.answered_at) {
            days[d].outbound.answered += 1;
            // An offer accepted on the phone (then put through, or not).
            if c.purpose == "offer" && matches!(c.outcome, Some("accepted" | "bridged")) {
                days[d].outbound.accepted += 1;
            }
        }
        if let Some(d) = day(c.bridged_at) {
            days[d].outbound.bridged += 1;
        }
        if c.state == "failed" {
            if let Some(d) = day(c.ended_at) {
                days[d].outbound.failed += 1;
            }
        }
    })
}

fn round1(v: Option<f64>) -> Cell {
    Cell::Measure(v.map(|v| (v * 10.0).round() / 10.0))
}

fn render(query: &Query, calendar: &Calendar, days: Vec<DayTally>) -> Report {
    let line = query.line.clone().unwrap_or_else(|| "all".to_owned());
    let mut day_rows = Vec::new();
    let mut hour_rows = Vec::new();
    let mut postcode_rows = Vec::new();
    for (d, mut t) in days.into_iter().enumerate() {
        let date = calendar.from + Duration::days(i64::try_from(d).unwrap_or(0));
        let label = |h: usize| {
            let at = calendar.starts[d] + Duration::hours(i64::try_from(h).unwrap_or(0));
            at.with_timezone(&query.tz).format("%H:%M%:z").to_string()
        };
        let c = &t.calls;
        let busiest = c
            .hours
            .iter()
            .enumerate()
            .filter(|(_, h)| h[0] > 0)
            .max_by(|a, b| a.1[0].cmp(&b.1[0]).then(b.0.cmp(&a.0)))
            .map(|(h, _)| label(h));
        #[allow(clippy::cast_precision_loss)]
        let service_level = (t.judged > 0).then(|| 100.0 * t.within as f64 / t.judged as f64);
        let mut row: Row = vec![
            ("date", Cell::Text(Some(date.to_string()))),
            ("line", Cell::Text(Some(line.clone()))),
            ("calls_offered", Cell::Count(c.offered)),
            ("distinct_callers", Cell::Count(c.callers)),
            ("calls_while_closed", Cell::Count(c.closed)),
            ("abandoned_in_menu", Cell::Count(c.abandoned)),
            ("transfers", Cell::Count(c.transfers)),
            ("transfers_answered", Cell::Count(c.transfers_answered)),
            ("transfers_unanswered", Cell::Count(c.transfers - c.transfers_answered.min(c.transfers))),
            ("outcome_callback", Cell::Count(c.outcomes[0])),
            ("outcome_transferred", Cell::Count(c.outcomes[1])),
            ("outcome_informed", Cell::Count(c.outcomes[2])),
            ("outcome_no_response", Cell::Count(c.outcomes[3])),
        ];
        row.extend(KEYS.iter().zip(c.keys).map(|((_, name), n)| (*name, Cell::Count(n))));
        row.extend([
            ("invalid_inputs", Cell::Count(c.invalid)),
            ("silences", Cell::Count(c.silences)),
            ("avg_seconds_in_menu", round1(c.menu_mean)),
            ("p90_seconds_in_menu", round1(c.menu_p90)),
            ("callbacks_requested", Cell::Count(t.requested)),
            ("callbacks_completed", Cell::Count(t.completed)),
            ("callbacks_unreachable", Cell::Count(t.unreachable)),
            ("callbacks_open_at_end_of_day", Cell::Count(u64::try_from(t.open_at_end).unwrap_or(0))),
            ("median_minutes_to_first_attempt", round1(percentile(&mut t.first_attempt_minutes, 0.5))),
            ("p90_minutes_to_first_attempt", round1(percentile(&mut t.first_attempt_minutes, 0.9))),
            ("service_level_hours", Cell::Count(u64::from(query.service_level_hours))),
            ("service_level_percent", round1(service_level)),
            ("busiest_hour", Cell::Text(busiest)),
        ]);
        let m = &mut t.missions;
        row.extend([
            ("missions_created", Cell::Count(m.created)),
            ("missions_accepted", Cell::Count(m.accepted)),
            ("missions_done", Cell::Count(m.done)),
            ("missions_not_done", Cell::Count(m.not_done)),
            ("missions_cancelled", Cell::Count(m.cancelled)),
            ("median_minutes_to_acceptance", round1(percentile(&mut m.minutes_to_acceptance, 0.5))),
            ("volunteers_on_missions", Cell::Count(m.volunteers.len() as u64)),
        ]);
        let o = &t.outbound;
        row.extend([
            ("outbound_calls_placed", Cell::Count(o.placed)),
            ("outbound_calls_answered", Cell::Count(o.answered)),
            ("offers_accepted_by_phone", Cell::Count(o.accepted)),
            ("outbound_calls_put_through", Cell::Count(o.bridged)),
            ("outbound_calls_failed", Cell::Count(o.failed)),
        ]);
        for (postcode, (created, done)) in &m.by_postcode {
            postcode_rows.push(vec![
                ("date", Cell::Text(Some(date.to_string()))),
                ("line", Cell::Text(Some(line.clone()))),
                ("postcode", Cell::Text(Some(postcode.clone()))),
                ("missions_created", Cell::Count(*created)),
                ("missions_done", Cell::Count(*done)),
            ]);
        }
        day_rows.push(row);
        for (h, (hour, requested)) in t.calls.hours.iter().zip(&t.requested_per_hour).enumerate() {
            hour_rows.push(vec![
                ("date", Cell::Text(Some(date.to_string()))),
                ("hour", Cell::Text(Some(label(h)))),
                ("line", Cell::Text(Some(line.clone()))),
                ("calls_offered", Cell::Count(hour[0])),
                ("calls_while_closed", Cell::Count(hour[1])),
                ("abandoned_in_menu", Cell::Count(hour[2])),
                ("transfers", Cell::Count(hour[3])),
                ("callbacks_requested", Cell::Count(*requested)),
            ]);
        }
    }
    Report { days: day_rows, hours: hour_rows, postcodes: postcode_rows }
}

fn csv_field(out: &mut String, text: &str) {
    if text.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&text.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(text);
    }
}

/// Rows as CSV (RFC 4180: comma-separated, CRLF line ends, a header row).
#[must_use]
pub fn to_csv(rows: &[Row]) -> String {
    let mut out = String::new();
    let Some(first) = rows.first() else { return out };
    out.push_str(&first.iter().map(|(name, _)| *name).collect::<Vec<_>>().join(","));
    out.push_str("\r\n");
    for row in rows {
        for (i, (_, cell)) in row.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            match cell {
                Cell::Count(n) => {
                    let _ = write!(out, "{n}");
                }
                Cell::Measure(Some(v)) => {
                    let _ = write!(out, "{v:.1}");
                }
                Cell::Measure(None) | Cell::Text(None) => {}
                Cell::Text(Some(t)) => csv_field(&mut out, t),
            }
        }
        out.push_str("\r\n");
    }
    out
}

/// Rows as JSON objects with the same names and order; missing measures are `null`.
#[must_use]
pub fn to_json(rows: &[Row]) -> Value {
    Value::Array(
        rows.iter()
            .map(|row| {
                let mut object = Map::new();
                for (name, cell) in row {
                    let value = match cell {
                        Cell::Count(n) => Value::from(*n),
                        Cell::Measure(v) => v.map_or(Value::Null, Value::from),
                        Cell::Text(t) => t.clone().map_or(Value::Null, Value::from),
                    };
                    object.insert((*name).to_owned(), value);
                }
                Value::Object(object)
            })
            .collect(),
    )
}

/// A count by name, for charts.
#[must_use]
pub fn count(row: &Row, name: &str) -> u64 {
    row.iter().find(|(n, _)| *n == name).map_or(0, |(_, c)| match c {
        Cell::Count(n) => *n,
        _ => 0,
    })
}

/// A measure by name, for charts.
#[must_use]
pub fn measure(row: &Row, name: &str) -> Option<f64> {
    row.iter().find(|(n, _)| *n == name).and_then(|(_, c)| match c {
        Cell::Measure(v) => *v,
        _ => None,
    })
}

/// A text by name.
#[must_use]
pub fn text<'r>(row: &'r Row, name: &str) -> Option<&'r str> {
    row.iter().find(|(n, _)| *n == name).and_then(|(_, c)| match c {
        Cell::Text(t) => t.as_deref(),
        _ => None,
    })
}

/// A stats request as people write it: dates, an optional line number, the format.
#[derive(Debug, Clone)]
pub struct Request {
    /// First day.
    pub from: NaiveDate,
    /// Last day.
    pub to: NaiveDate,
    /// The line's id or one of its numbers (`None`: all lines).
    pub line: Option<String>,
    /// The hourly table instead of the daily one (CSV), or as well (JSON).
    pub hourly: bool,
    /// `csv` or `json`.
    pub json: bool,
}

impl Request {
    /// Reads `date`, `to`, `line`, `hourly` and `format`.
    ///
    /// # Errors
    /// A message naming the bad value.
    pub fn parse(
        date: &str,
        to: Option<&str>,
        line: Option<&str>,
        hourly: bool,
        format: Option<&str>,
    ) -> Result<Self, String> {
        let day = |s: &str| {
            NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                .map_err(|_| format!("`{s}` is not a date (YYYY-MM-DD)"))
        };
        let from = day(date)?;
        let to = to.filter(|t| !t.trim().is_empty()).map_or(Ok(from), day)?;
        if to < from {
            return Err(format!("the range ends ({to}) before it starts ({from})"));
        }
        if (to - from).num_days() >= MAX_DAYS {
            return Err(format!("at most {MAX_DAYS} days at once"));
        }
        let json = match format.unwrap_or("csv") {
            "csv" => false,
            "json" => true,
            other => return Err(format!("unknown format `{other}` (csv or json)")),
        };
        Ok(Self { from, to, line: line.map(str::to_owned).filter(|l| !l.trim().is_empty()), hourly, json })
    }

    /// The computation for `flows`: the named line's time zone and hours, or the default
    /// line's for all lines together.
    #[must_use]
    pub fn query(&self, flows: &crate::flow::Flows, service_level_hours: u32, now: DateTime<Utc>) -> Query {
        let flow = self.line.as_deref().and_then(|l| flows.named(l)).unwrap_or_else(|| flows.default_line());
        Query {
            from: self.from,
            to: self.to,
            line: self.line.as_ref().map(|_| flow.id.clone()),
            tz: flow.schedule.timezone(),
            schedule: flow.schedule.clone(),
            service_level_hours,
            now,
        }
    }

    /// The export: CSV text, or a JSON document.
    #[must_use]
    pub fn render(&self, report: &Report) -> String {
        if self.json {
            let mut doc = Map::new();
            doc.insert("days".to_owned(), to_json(&report.days));
            doc.insert("postcodes".to_owned(), to_json(&report.postcodes));
            if self.hourly {
                doc.insert("hours".to_owned(), to_json(&report.hours));
            }
            let mut text = Value::Object(doc).to_string();
            text.push('\n');
            text
        } else if self.hourly {
            to_csv(&report.hours)
        } else {
            to_csv(&report.days)
        }
    }
}
