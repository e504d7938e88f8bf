//! The callback queue's vocabulary and rules: a request's number, state and priority,
//! what an agent reports after calling ([`Outcome`]) and what that does to the request
//! ([`Outcome::attempt`]), when an unreached request comes back ([`back_off`]), which
//! requests merge ([`MERGE_WINDOW`]), and when a claim has lapsed.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// A callback request's number: the one told to the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RequestId(pub i64);

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::str::FromStr for RequestId {
    type Err = std::num::ParseIntError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse().map(Self)
    }
}

/// The urgency of a callback request; the queue serves higher first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// The usual.
    #[default]
    Normal,
    /// Before the usual (urgent transport falling back to a callback).
    High,
    /// Before everything.
    Urgent,
}

impl Priority {
    /// Stored value, and the API's: higher is served first.
    #[must_use]
    pub fn rank(self) -> i64 {
        match self {
            Self::Normal => 0,
            Self::High => 1,
            Self::Urgent => 2,
        }
    }

    /// The priority of a rank.
    ///
    /// # Errors
    /// A rank outside 0–2.
    pub fn from_rank(rank: i64) -> Result<Self, String> {
        match rank {
            0 => Ok(Self::Normal),
            1 => Ok(Self::High),
            2 => Ok(Self::Urgent),
            _ => Err("priority is 0 (normal), 1 (high) or 2 (urgent)".to_owned()),
        }
    }
}

/// Where a request is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    /// Waiting for an agent (perhaps not due yet).
    Open,
    /// An agent holds it under a lease.
    Claimed,
    /// Reached and dealt with, or handed to a partner.
    Done,
    /// Every attempt failed.
    Unreachable,
    /// Closed without being dealt with (wrong number, no longer needed, a supervisor).
    Cancelled,
}

impl RequestState {
    /// The stored word.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Claimed => "claimed",
            Self::Done => "done",
            Self::Unreachable => "unreachable",
            Self::Cancelled => "cancelled",
        }
    }

    /// Reads a stored word.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "open" => Self::Open,
            "claimed" => Self::Claimed,
            "done" => Self::Done,
            "unreachable" => Self::Unreachable,
            "cancelled" => Self::Cancelled,
            _ => return None,
        })
    }

    /// Still to be worked (open or claimed).
    #[must_use]
    pub fn is_active(self) -> bool {
        matches!(self, Self::Open | Self::Claimed)
    }
}

impl std::fmt::Display for RequestState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Requests from the same number for the same service within this window are merged.
pub const MERGE_WINDOW: Duration = Duration::hours(24);

/// When a request that was not reached comes back, by attempts made so far.
#[must_use]
pub fn back_off(attempts: i64) -> Duration {
    match attempts {
        ..=1 => Duration::minutes(30),
        2 => Duration::hours(2),
        _ => Duration::hours(24),
    }
}

/// A request as agents see it (the store fills it, [`Request::as_of`] settles its
/// claim). `phone` is the full number: the front doors mask it for everyone but the
/// holder of the claim.
#[derive(Debug, Clone)]
pub struct Request {
    /// Its number.
    pub id: RequestId,
    /// Flow id.
    pub line: String,
    /// Service (menu).
    pub service: String,
    /// Caller's language.
    pub language: String,
    /// Postcode, when asked.
    pub postcode: Option<String>,
    /// Served higher first.
    pub priority: Priority,
    /// E.164; `None` once anonymised.
    pub phone: Option<String>,
    /// Answers given on the line.
    pub answers: serde_json::Value,
    /// Voice message.
    pub recording_url: Option<String>,
    /// Where it is (a lapsed claim reads `Open` once settled).
    pub state: RequestState,
    /// Attempts made.
    pub attempts: i64,
    /// Attempts allowed.
    pub max_attempts: i64,
    /// Not shown before.
    pub not_before: DateTime<Utc>,
    /// Registered at.
    pub created_at: DateTime<Utc>,
    /// Holder of the claim (id, login) while the lease runs.
    pub holder: Option<(crate::domain::accounts::AgentId, String)>,
    /// End of the lease.
    pub lease_until: Option<DateTime<Utc>>,
    /// Last outcome or cancel reason.
    pub closed_reason: Option<String>,
    /// The kind of help asked for (an id of the line's `[line.helps]`).
    pub help: Option<String>,
    /// The live mission serving it: out of the agents' queue meanwhile.
    pub mission: Option<crate::domain::missions::MissionId>,
    /// The caller's neighbourhood (an id of the line's `[line.neighbourhoods]`).
    pub neighbourhood: Option<String>,
    /// Until then, only the referents of its neighbourhood see it in the queue (when it
    /// has any).
    pub reserved_until: Option<DateTime<Utc>>,
}

impl Request {
    /// The request as it stands at `now`: a claim whose lease has run out is open again,
    /// with no holder.
    #[must_use]
    pub fn as_of(mut self, now: DateTime<Utc>) -> Self {
        let lapsed = self.state == RequestState::Claimed && self.lease_until.is_none_or(|l| l <= now);
        if lapsed {
            self.state = RequestState::Open;
            self.lease_until = None;
        }
        if self.state != RequestState::Claimed {
            self.holder = None;
        }
        self
    }

    /// Whether it is open and its time has come.
    #[must_use]
    pub fn is_due(&self, now: DateTime<Utc>) -> bool {
        self.state == RequestState::Open && self.not_before <= now && self.mission.is_none()
    }

    /// Open but scheduled for later (a back-off or a follow-up).
    #[must_use]
    pub fn is_scheduled(&self, now: DateTime<Utc>) -> bool {
        self.state == RequestState::Open && self.not_before > now
    }

    /// Whether `agent` holds its claim now.
    #[must_use]
    pub fn is_held_by(&self, agent: crate::domain::accounts::AgentId) -> bool {
        self.holder.as_ref().is_some_and(|(id, _)| *id == agent)
    }
}

/// Which requests a list shows.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only this service.
    pub service: Option<String>,
    /// Only this language.
    pub language: Option<String>,
    /// Only this postcode.
    pub postcode: Option<String>,
    /// Also requests held by others and those not due yet (supervisors).
    pub everything_active: bool,
    /// Only these postcodes (a referent's); empty: every one.
    pub postcodes: Vec<String>,
    /// Only these lines (an account's); `None`: every one.
    pub lines: Option<Vec<String>>,
    /// Only these neighbourhoods (a referent's); empty: every one.
    pub neighbourhoods: Vec<String>,
    /// Who is looking: a request kept for its neighbourhood's referents is shown to
    /// them only, until it is no longer kept. `None`: nobody in particular (every request).
    pub viewer: Option<crate::domain::accounts::AgentId>,
}

/// One line of a request's history.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryEntry {
    /// When (the stored form).
    pub at: String,
    /// Who (`None`: the line itself).
    pub agent: Option<String>,
    /// What.
    pub action: String,
    /// Details (outcome, note, reason).
    pub detail: String,
}

/// Claims one agent may hold at once: each shows a resident's full number.
pub const MAX_CLAIMS: usize = 5;

/// How far ahead a follow-up may be set.
pub const MAX_FOLLOW_UP: Duration = Duration::days(366);

/// What an agent did when calling back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Reached; nothing more to do.
    ReachedResolved,
    /// Reached; to be called again at this time.
    ReachedFollowUp(DateTime<Utc>),
    /// Nobody answered.
    NoAnswer,
    /// Busy.
    Busy,
    /// An answering machine.
    Voicemail,
    /// Someone else's number.
    WrongNumber,
    /// The caller no longer needs help.
    NoLongerNeeded,
    /// Handed to a partner service.
    Referred(String),
}

/// What recording an outcome does to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The state it moves to.
    pub state: RequestState,
    /// Attempts made, this one included.
    pub attempts: i64,
    /// When it comes back, if it does.
    pub not_before: Option<DateTime<Utc>>,
    /// The history line (outcome, details, the agent's note).
    pub detail: String,
}

impl Outcome {
    /// Every outcome's stable name, in the order forms offer them.
    pub const NAMES: &[&'static str] = &[
        "reached_resolved",
        "reached_follow_up",
        "no_answer",
        "busy",
        "voicemail",
        "wrong_number",
        "no_longer_needed",
        "referred",
    ];

    /// The stable name (`no_answer`).
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::ReachedResolved => "reached_resolved",
            Self::ReachedFollowUp(_) => "reached_follow_up",
            Self::NoAnswer => "no_answer",
            Self::Busy => "busy",
            Self::Voicemail => "voicemail",
            Self::WrongNumber => "wrong_number",
            Self::NoLongerNeeded => "no_longer_needed",
            Self::Referred(_) => "referred",
        }
    }

    /// Reads an outcome from its name and the extra it needs.
    ///
    /// # Errors
    /// An unknown name, a follow-up without a date, a referral without a partner.
    pub fn parse(
        name: &str,
        follow_up: Option<DateTime<Utc>>,
        partner: Option<&str>,
    ) -> Result<Self, String> {
        Ok(match name {
            "reached_resolved" => Self::ReachedResolved,
            "reached_follow_up" => Self::ReachedFollowUp(follow_up.ok_or("a follow-up needs a date")?),
            "no_answer" => Self::NoAnswer,
            "busy" => Self::Busy,
            "voicemail" => Self::Voicemail,
            "wrong_number" => Self::WrongNumber,
            "no_longer_needed" => Self::NoLongerNeeded,
            "referred" => match partner.map(str::trim) {
                Some(p) if !p.is_empty() => Self::Referred(p.to_owned()),
                _ => return Err("a referral needs the partner's name".to_owned()),
            },
            other => return Err(format!("unknown outcome `{other}`")),
        })
    }

    /// What this outcome does to `request` at `now`. Not reached (no answer, busy,
    /// voicemail): back to the queue after a [`back_off`], or closed as unreachable once
    /// the attempts are used up. `format` writes a time into the history line.
    ///
    /// # Errors
    /// A follow-up date that is not in the future, or further than [`MAX_FOLLOW_UP`]
    /// (a request scheduled for the year 9999 would be hidden for ever).
    pub fn attempt(
        &self,
        request: &Request,
        note: &str,
        now: DateTime<Utc>,
        format: impl Fn(DateTime<Utc>) -> String,
    ) -> Result<Attempt, String> {
        let attempts = request.attempts + 1;
        let of = || format!("attempt {attempts} of {}", request.max_attempts);
        let (state, not_before, detail) = match self {
            Self::ReachedResolved => (RequestState::Done, None, String::new()),
            Self::ReachedFollowUp(when) => {
                if *when <= now {
                    return Err("the follow-up date must be in the future".to_owned());
                }
                if *when > now + MAX_FOLLOW_UP {
                    return Err("the follow-up date must be within a year".to_owned());
                }
                (RequestState::Open, Some(*when), format!("follow-up {}", format(*when)))
            }
            Self::NoAnswer | Self::Busy | Self::Voicemail if attempts >= request.max_attempts => {
                (RequestState::Unreachable, None, of())
            }
            Self::NoAnswer | Self::Busy | Self::Voicemail => {
                (RequestState::Open, Some(now + back_off(attempts)), of())
            }
            Self::WrongNumber | Self::NoLongerNeeded => (RequestState::Cancelled, None, String::new()),
            Self::Referred(partner) => (RequestState::Done, None, format!("partner: {partner}")),
        };
        let mut detail = [self.name().to_owned(), detail, note.trim().to_owned()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("; ");
        if state == RequestState::Unreachable {
            detail.push_str("; closed as unreachable");
        }
        Ok(Attempt { state, attempts, not_before, detail })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, h, 0, 0).unwrap()
    }

    fn request(attempts: i64) -> Request {
        Request {
            id: RequestId(1),
            line: "liege".to_owned(),
            service: "errands".to_owned(),
            language: "fr".to_owned(),
            postcode: None,
            priority: Priority::Normal,
            phone: None,
            answers: serde_json::Value::Null,
            recording_url: None,
            state: RequestState::Claimed,
            attempts,
            max_attempts: 3,
            not_before: at(8),
            created_at: at(8),
            holder: Some((crate::domain::accounts::AgentId(7), "anna".to_owned())),
            lease_until: Some(at(10)),
            closed_reason: None,
            help: None,
            mission: None,
            neighbourhood: None,
            reserved_until: None,
        }
    }

    #[test]
    fn an_unanswered_call_comes_back_later_each_time_then_closes_as_unreachable() {
        let now = at(9);
        let first = Outcome::NoAnswer.attempt(&request(0), "", now, |t| t.to_string()).unwrap();
        assert_eq!((first.state, first.not_before), (RequestState::Open, Some(now + Duration::minutes(30))));
        let second = Outcome::Busy.attempt(&request(1), "", now, |t| t.to_string()).unwrap();
        assert_eq!(second.not_before, Some(now + Duration::hours(2)));
        let last = Outcome::Voicemail.attempt(&request(2), " left word ", now, |t| t.to_string()).unwrap();
        assert_eq!(last.state, RequestState::Unreachable);
        assert_eq!(last.detail, "voicemail; attempt 3 of 3; left word; closed as unreachable");
    }

    #[test]
    fn a_follow_up_must_be_in_the_future() {
        let now = at(9);
        let past = Outcome::ReachedFollowUp(at(8)).attempt(&request(0), "", now, |t| t.to_string());
        assert!(past.is_err());
        let later = Outcome::ReachedFollowUp(at(12)).attempt(&request(0), "", now, |_| "noon".to_owned());
        assert_eq!(later.unwrap().detail, "reached_follow_up; follow-up noon");
    }

    #[test]
    fn a_lapsed_claim_reads_open_without_a_holder() {
        let held = request(0).as_of(at(9));
        assert!(held.is_held_by(crate::domain::accounts::AgentId(7)));
        let lapsed = request(0).as_of(at(10));
        assert_eq!(
            (lapsed.state, lapsed.holder.clone(), lapsed.lease_until),
            (RequestState::Open, None, None)
        );
        assert!(lapsed.is_due(at(10)));
    }

    #[test]
    fn every_outcome_name_reads_back() {
        for name in Outcome::NAMES {
            let outcome = Outcome::parse(name, Some(at(12)), Some("CPAS")).unwrap();
            assert_eq!(outcome.name(), *name);
        }
        assert!(Outcome::parse("referred", None, Some("  ")).is_err());
        assert!(Outcome::parse("lost", None, None).is_err());
    }
}
