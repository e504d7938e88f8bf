//! Accounts: agents and supervisors, their ids, and the shape of a login name.

use serde::Serialize;

/// An account's number in the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct AgentId(pub i64);

impl std::fmt::Display for AgentId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// What an account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Works the queue.
    Agent,
    /// Also sees every request, releases, reassigns, cancels, manages accounts; keeps
    /// the volunteers' roster like a coordinator.
    Supervisor,
    /// Works the queue, keeps the volunteers' roster and assigns missions; with
    /// postcodes of their own, a referent who handles only those.
    Coordinator,
    /// A volunteer who logs in: sees and answers only their own missions, never the queue.
    Volunteer,
    /// A supervisor of every line of the server, whatever lines the account names.
    Admin,
}

impl Role {
    /// Reads `agent`, `supervisor`, `coordinator` or `volunteer`.
    ///
    /// # Errors
    /// Any other word.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "agent" => Ok(Self::Agent),
            "supervisor" => Ok(Self::Supervisor),
            "coordinator" => Ok(Self::Coordinator),
            "volunteer" => Ok(Self::Volunteer),
            "admin" => Ok(Self::Admin),
            other => {
                Err(format!("unknown role `{other}` (agent, supervisor, coordinator, volunteer or admin)"))
            }
        }
    }

    /// The stored word.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Agent => "agent",
            Self::Supervisor => "supervisor",
            Self::Coordinator => "coordinator",
            Self::Volunteer => "volunteer",
            Self::Admin => "admin",
        }
    }
}

/// An account.
#[derive(Debug, Clone, Serialize)]
pub struct Agent {
    /// Its number.
    pub id: AgentId,
    /// Login name.
    pub login: String,
    /// What it may do.
    pub role: Role,
    /// A disabled account cannot log in or use its tokens.
    pub disabled: bool,
}

impl Agent {
    /// Whether this is a supervisor (an administrator is one, of every line).
    #[must_use]
    pub fn is_supervisor(&self) -> bool {
        matches!(self.role, Role::Supervisor | Role::Admin)
    }
}

/// Checks a login name: 2–64 letters, digits, `.`, `_` or `-` (it appears in logs and
/// URLs, so nothing else).
///
/// # Errors
/// What is wrong with it.
pub fn check_login(login: &str) -> Result<(), String> {
    let ok = (2..=64).contains(&login.len())
        && login.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err("a login has 2 to 64 letters, digits, dots, dashes or underscores".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_login_is_short_plain_text() {
        assert!(check_login("anna.b-2_x").is_ok());
        for bad in ["a", "anna b", "anna\nINFO", "émile", &"x".repeat(65)] {
            assert!(check_login(bad).is_err(), "{bad:?}");
        }
    }
}
