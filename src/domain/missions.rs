//! Missions: a request handed to volunteers, its states and which changes are allowed.
//! proposed (looking for a volunteer) → offered (asked to some) → accepted (one said
//! yes, or a coordinator assigned one) → done / not done / cancelled. A mission that ends
//! without being done gives its request back to the agents' queue.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::RequestId;
use super::volunteers::VolunteerId;

/// A mission's number in the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct MissionId(pub i64);

impl std::fmt::Display for MissionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Where a mission is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MissionState {
    /// Looking for a volunteer.
    Proposed,
    /// Offered to one volunteer or more; the first to accept takes it.
    Offered,
    /// A volunteer has it.
    Accepted,
    /// Done.
    Done,
    /// The volunteer could not do it; the request is back in the queue.
    NotDone,
    /// Called off; the request is back in the queue.
    Cancelled,
}

impl MissionState {
    /// Every state, in life order.
    pub const ALL: [Self; 6] =
        [Self::Proposed, Self::Offered, Self::Accepted, Self::Done, Self::NotDone, Self::Cancelled];

    /// The stored word.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Proposed => "proposed",
            Self::Offered => "offered",
            Self::Accepted => "accepted",
            Self::Done => "done",
            Self::NotDone => "not_done",
            Self::Cancelled => "cancelled",
        }
    }

    /// Reads a stored word (or `not-done`, as in URLs).
    ///
    /// # Errors
    /// Any other word.
    pub fn parse(text: &str) -> Result<Self, String> {
        Self::ALL.into_iter().find(|s| s.as_str() == text.replace('-', "_")).ok_or_else(|| {
            format!(
                "unknown mission state `{text}` (proposed, offered, accepted, done, not_done or cancelled)"
            )
        })
    }

    /// Whether the mission still serves its request.
    #[must_use]
    pub fn is_live(self) -> bool {
        matches!(self, Self::Proposed | Self::Offered | Self::Accepted)
    }

    /// Whether `self` may become `next`.
    #[must_use]
    pub fn may_become(self, next: Self) -> bool {
        use MissionState::{Accepted, Cancelled, Done, NotDone, Offered, Proposed};
        matches!(
            (self, next),
            (Proposed | Offered, Offered | Accepted)
                | (Offered, Proposed)
                | (Accepted, Done | NotDone | Proposed)
                | (Proposed | Offered | Accepted, Cancelled)
        )
    }
}

impl std::fmt::Display for MissionState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A mission as stored.
#[derive(Debug, Clone)]
pub struct Mission {
    /// Its number.
    pub id: MissionId,
    /// The request it serves.
    pub request: RequestId,
    /// The line (flow id).
    pub line: String,
    /// The kind of help.
    pub help: String,
    /// Where the resident lives.
    pub postcode: String,
    /// The caller's language.
    pub language: String,
    /// Where it is.
    pub state: MissionState,
    /// Who accepted it (or was assigned).
    pub volunteer: Option<VolunteerId>,
    /// Made at.
    pub created_at: DateTime<Utc>,
    /// Accepted at.
    pub accepted_at: Option<DateTime<Utc>>,
    /// Done, not done or cancelled at.
    pub closed_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::MissionState::*;
    use super::*;

    #[test]
    fn a_closed_mission_stays_closed() {
        for closed in [Done, NotDone, Cancelled] {
            assert!(!closed.is_live());
            assert!(MissionState::ALL.iter().all(|&s| !closed.may_become(s)), "{closed}");
        }
        assert!(Proposed.may_become(Accepted) && Offered.may_become(Accepted));
        assert!(Accepted.may_become(Done) && !Proposed.may_become(Done));
        assert_eq!(MissionState::parse("not-done"), Ok(NotDone));
    }
}

/// How the line offers a mission by phone (`missions.phoning`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phoning {
    /// It does not.
    No,
    /// Round after round of the best matches, until someone accepts.
    Rounds,
    /// Only the volunteers a coordinator named; then back to the coordinators.
    Named,
}

impl Phoning {
    /// Its code in the database (`missions.phoning`).
    #[must_use]
    pub fn code(self) -> i64 {
        match self {
            Self::No => 0,
            Self::Rounds => 1,
            Self::Named => 2,
        }
    }

    /// Reads the code (anything unknown: not phoning).
    #[must_use]
    pub fn of(code: i64) -> Self {
        match code {
            1 => Self::Rounds,
            2 => Self::Named,
            _ => Self::No,
        }
    }
}
