//! Who is looking: the authenticated account behind a console page or an API call, with
//! its session's CSRF token. Made by the extractors of [`super::session`].

use crate::domain::Agent;
use crate::ops::Actor;

/// An authenticated account.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// The account.
    pub agent: Agent,
    /// The session's CSRF token (`None` when authenticated by an API token).
    pub csrf: Option<String>,
    /// The session's digest, for logout.
    pub(crate) session: Option<String>,
    /// The names of the lines it works on, for the console's header (empty: not asked).
    pub line_names: Vec<String>,
}

impl Viewer {
    /// The account as the use-cases see it.
    #[must_use]
    pub fn actor(&self) -> Actor {
        Actor::of(&self.agent)
    }

    /// Whether `given` is this session's CSRF token. Token-authenticated requests carry no
    /// cookie a third-party page could ride on, so they need none.
    #[must_use]
    pub fn csrf_ok(&self, given: &str) -> bool {
        self.csrf.as_deref().is_none_or(|expected| constant_time_eq(expected.as_bytes(), given.as_bytes()))
    }
}

/// Compares secrets without telling by its timing where they differ.
#[must_use]
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
