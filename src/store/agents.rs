//! Agents and supervisors, their API tokens and their console sessions. Secrets are never
//! stored: passwords as argon2id hashes, tokens and session ids as SHA-256 digests.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::{StoreError, time};

/// What an account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Works the queue.
    Agent,
    /// Also sees every request, releases, reassigns, cancels, manages accounts.
    Supervisor,
}

impl Role {
    /// Reads `agent` or `supervisor`.
    ///
    /// # Errors
    /// Any other word.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "agent" => Ok(Self::Agent),
            "supervisor" => Ok(Self::Supervisor),
            other => Err(format!("unknown role `{other}` (agent or supervisor)")),
        }
    }

    /// The stored word.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Agent => "agent",
            Self::Supervisor => "supervisor",
        }
    }
}

/// An account.
#[derive(Debug, Clone, Serialize)]
pub struct Agent {
    /// Id.
    pub id: i64,
    /// Login name.
    pub login: String,
    /// Role.
    pub role: Role,
    /// A disabled account cannot log in or use its tokens.
    pub disabled: bool,
}

impl Agent {
    /// Whether this is a supervisor.
    #[must_use]
    pub fn is_supervisor(&self) -> bool {
        self.role == Role::Supervisor
    }
}

fn read_agent(r: &rusqlite::Row<'_>) -> rusqlite::Result<Agent> {
    let role: String = r.get(2)?;
    Ok(Agent {
        id: r.get(0)?,
        login: r.get(1)?,
        role: if role == "supervisor" { Role::Supervisor } else { Role::Agent },
        disabled: r.get(3)?,
    })
}

/// Creates an account; `Ok(Err(..))` when the login is taken.
///
/// # Errors
/// SQLite errors.
pub fn add(
    conn: &Connection,
    login: &str,
    role: Role,
    password_hash: &str,
    at: DateTime<Utc>,
) -> Result<Result<i64, String>, StoreError> {
    let taken: bool =
        conn.query_row("SELECT count(*) > 0 FROM agents WHERE login = ?1", [login], |r| r.get(0))?;
    if taken {
        return Ok(Err(format!("login `{login}` is already taken")));
    }
    conn.execute(
        "INSERT INTO agents (login, role, password_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![login, role.as_str(), password_hash, time::format(at)],
    )?;
    Ok(Ok(conn.last_insert_rowid()))
}

/// Every account, by login.
///
/// # Errors
/// SQLite errors.
pub fn list(conn: &Connection) -> Result<Vec<Agent>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT id, login, role, disabled FROM agents ORDER BY login")?;
    let rows = stmt.query_map([], read_agent)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// An account by login, with its password hash.
///
/// # Errors
/// SQLite errors.
pub fn by_login(conn: &Connection, login: &str) -> Result<Option<(Agent, String)>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT id, login, role, disabled, password_hash FROM agents WHERE login = ?1")?
        .query_row([login], |r| Ok((read_agent(r)?, r.get(4)?)))
        .optional()?)
}

/// An account by id.
///
/// # Errors
/// SQLite errors.
pub fn by_id(conn: &Connection, id: i64) -> Result<Option<Agent>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT id, login, role, disabled FROM agents WHERE id = ?1")?
        .query_row([id], read_agent)
        .optional()?)
}

/// Disables an account and ends its sessions and tokens. Returns whether it exists.
///
/// # Errors
/// SQLite errors.
pub fn disable(conn: &Connection, login: &str) -> Result<bool, StoreError> {
    let Some((agent, _)) = by_login(conn, login)? else { return Ok(false) };
    conn.execute("UPDATE agents SET disabled = 1 WHERE id = ?1", [agent.id])?;
    conn.execute("DELETE FROM sessions WHERE agent_id = ?1", [agent.id])?;
    conn.execute("DELETE FROM api_tokens WHERE agent_id = ?1", [agent.id])?;
    Ok(true)
}

/// Stores an API token's digest for an account.
///
/// # Errors
/// SQLite errors.
pub fn add_token(
    conn: &Connection,
    agent: i64,
    token_hash: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO api_tokens (agent_id, token_hash, created_at) VALUES (?1, ?2, ?3)",
        params![agent, token_hash, time::format(at)],
    )?;
    Ok(())
}

/// The enabled account an API token belongs to.
///
/// # Errors
/// SQLite errors.
pub fn by_token(conn: &Connection, token_hash: &str) -> Result<Option<Agent>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT a.id, a.login, a.role, a.disabled FROM api_tokens t JOIN agents a ON a.id = t.agent_id
             WHERE t.token_hash = ?1 AND a.disabled = 0",
        )?
        .query_row([token_hash], read_agent)
        .optional()?)
}

/// A console session.
#[derive(Debug, Clone)]
pub struct Session {
    /// Whose.
    pub agent: Agent,
    /// The token its forms carry.
    pub csrf: String,
    /// Last request.
    pub last_seen: DateTime<Utc>,
}

/// Opens a session.
///
/// # Errors
/// SQLite errors.
pub fn create_session(
    conn: &Connection,
    token_hash: &str,
    agent: i64,
    csrf: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let now = time::format(at);
    conn.execute(
        "INSERT INTO sessions (token_hash, agent_id, csrf, created_at, last_seen) VALUES (?1, ?2, ?3, ?4, ?4)",
        params![token_hash, agent, csrf, now],
    )?;
    Ok(())
}

/// The session behind a cookie, if its account is enabled.
///
/// # Errors
/// SQLite errors.
pub fn session(conn: &Connection, token_hash: &str) -> Result<Option<Session>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT a.id, a.login, a.role, a.disabled, s.csrf, s.last_seen FROM sessions s
             JOIN agents a ON a.id = s.agent_id WHERE s.token_hash = ?1 AND a.disabled = 0",
        )?
        .query_row([token_hash], |r| {
            let last_seen: String = r.get(5)?;
            Ok(Session {
                agent: read_agent(r)?,
                csrf: r.get(4)?,
                last_seen: time::parse(&last_seen).unwrap_or_default(),
            })
        })
        .optional()?)
}

/// Marks a session as used now.
///
/// # Errors
/// SQLite errors.
pub fn touch_session(conn: &Connection, token_hash: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE sessions SET last_seen = ?2 WHERE token_hash = ?1",
        params![token_hash, time::format(at)],
    )?;
    Ok(())
}

/// Ends a session.
///
/// # Errors
/// SQLite errors.
pub fn end_session(conn: &Connection, token_hash: &str) -> Result<(), StoreError> {
    conn.execute("DELETE FROM sessions WHERE token_hash = ?1", [token_hash])?;
    Ok(())
}
