//! Agents and supervisors, their API tokens and their console sessions. Secrets are never
//! stored: passwords as argon2id hashes, tokens and session ids as SHA-256 digests.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::{StoreError, time};
use crate::domain::{Agent, AgentId, Role};

fn read_agent(r: &rusqlite::Row<'_>) -> rusqlite::Result<Agent> {
    let role: String = r.get(2)?;
    Ok(Agent {
        id: AgentId(r.get(0)?),
        login: r.get(1)?,
        // The schema's CHECK allows only the roles `Role::parse` reads.
        role: Role::parse(&role).unwrap_or(Role::Volunteer),
        disabled: r.get(3)?,
    })
}

/// Creates an account (its login must be free).
///
/// # Errors
/// SQLite errors.
pub fn add(
    conn: &Connection,
    login: &str,
    role: Role,
    password_hash: &str,
    at: DateTime<Utc>,
) -> Result<AgentId, StoreError> {
    conn.execute(
        "INSERT INTO agents (login, role, password_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![login, role.as_str(), password_hash, time::format(at)],
    )?;
    Ok(AgentId(conn.last_insert_rowid()))
}

/// The lines account `agent` works on, sorted (none: every line).
///
/// # Errors
/// SQLite errors.
pub fn lines(conn: &Connection, agent: AgentId) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT line FROM agent_lines WHERE agent_id = ?1 ORDER BY line")?;
    let rows = stmt.query_map([agent.0], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Every account's lines, by account (accounts with none are left out).
///
/// # Errors
/// SQLite errors.
pub fn all_lines(conn: &Connection) -> Result<std::collections::HashMap<AgentId, Vec<String>>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT agent_id, line FROM agent_lines ORDER BY agent_id, line")?;
    let mut out: std::collections::HashMap<AgentId, Vec<String>> = std::collections::HashMap::new();
    for row in stmt.query_map([], |r| Ok((AgentId(r.get(0)?), r.get::<_, String>(1)?)))? {
        let (agent, line) = row?;
        out.entry(agent).or_default().push(line);
    }
    Ok(out)
}

/// Gives account `agent` the lines it works on (replacing the ones it had).
///
/// # Errors
/// SQLite errors.
pub fn set_lines(conn: &Connection, agent: AgentId, lines: &[String]) -> Result<(), StoreError> {
    conn.execute("DELETE FROM agent_lines WHERE agent_id = ?1", [agent.0])?;
    let mut insert =
        conn.prepare_cached("INSERT OR IGNORE INTO agent_lines (agent_id, line) VALUES (?1, ?2)")?;
    for line in lines {
        insert.execute(params![agent.0, line])?;
    }
    Ok(())
}

/// The console's language account `agent` chose (`None`: the browser's).
///
/// # Errors
/// SQLite errors.
pub fn language(conn: &Connection, agent: AgentId) -> Result<Option<String>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT language FROM agents WHERE id = ?1")?
        .query_row([agent.0], |r| r.get(0))
        .optional()?
        .flatten())
}

/// Keeps the console's language account `agent` chose (`None`: the browser's).
///
/// # Errors
/// SQLite errors.
pub fn set_language(conn: &Connection, agent: AgentId, language: Option<&str>) -> Result<(), StoreError> {
    conn.execute("UPDATE agents SET language = ?2 WHERE id = ?1", params![agent.0, language])?;
    Ok(())
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

/// Account `id`.
///
/// # Errors
/// SQLite errors.
pub fn get(conn: &Connection, id: AgentId) -> Result<Option<Agent>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT id, login, role, disabled FROM agents WHERE id = ?1")?
        .query_row([id.0], read_agent)
        .optional()?)
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

/// Disables an account and ends its sessions and tokens.
///
/// # Errors
/// SQLite errors.
pub fn disable(conn: &Connection, agent: AgentId) -> Result<(), StoreError> {
    conn.execute("UPDATE agents SET disabled = 1 WHERE id = ?1", [agent.0])?;
    conn.execute("DELETE FROM sessions WHERE agent_id = ?1", [agent.0])?;
    conn.execute("DELETE FROM api_tokens WHERE agent_id = ?1", [agent.0])?;
    Ok(())
}

/// Stores an API token's digest for an account.
///
/// # Errors
/// SQLite errors.
pub fn add_token(
    conn: &Connection,
    agent: AgentId,
    token_hash: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO api_tokens (agent_id, token_hash, created_at) VALUES (?1, ?2, ?3)",
        params![agent.0, token_hash, time::format(at)],
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
    agent: AgentId,
    csrf: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let now = time::format(at);
    conn.execute(
        "INSERT INTO sessions (token_hash, agent_id, csrf, created_at, last_seen) VALUES (?1, ?2, ?3, ?4, ?4)",
        params![token_hash, agent.0, csrf, now],
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

/// The phone agent `agent` is rung on for click-to-call.
///
/// # Errors
/// SQLite errors.
pub fn phone(conn: &Connection, agent: AgentId) -> Result<Option<String>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT phone FROM agents WHERE id = ?1")?
        .query_row([agent.0], |r| r.get(0))
        .optional()?
        .flatten())
}

/// Sets the phone agent `agent` is rung on.
///
/// # Errors
/// SQLite errors.
pub fn set_phone(conn: &Connection, agent: AgentId, phone: Option<&str>) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE agents SET phone = ?2 WHERE id = ?1")?.execute(params![agent.0, phone])?;
    Ok(())
}
