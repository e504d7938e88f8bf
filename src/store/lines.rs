//! Lines whose service has ended (`line_states`) and the audit log of ends and reopenings
//! (`line_history`). What they mean is decided by [`crate::ops::lines`].

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::{StoreError, time};
use crate::domain::AgentId;

/// Whether `line` has ended by `at`: its callers hear the end-of-service message.
///
/// # Errors
/// SQLite errors.
pub fn is_ended(conn: &Connection, line: &str, at: DateTime<Utc>) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM line_states WHERE line = ?1 AND ends_at <= ?2")?
        .query_row(params![line, time::format(at)], |_| Ok(()))
        .optional()?
        .is_some())
}

/// When each line that ends (or ended) does.
///
/// # Errors
/// SQLite errors.
pub fn ends(conn: &Connection) -> Result<Vec<(String, DateTime<Utc>)>, StoreError> {
    let rows: Vec<(String, String)> = conn
        .prepare_cached("SELECT line, ends_at FROM line_states ORDER BY line")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    Ok(rows.into_iter().filter_map(|(line, at)| time::parse(&at).map(|at| (line, at))).collect())
}

/// Ends `line` from `from`, noted as done by `by` at `at`.
///
/// # Errors
/// SQLite errors.
pub fn end(
    conn: &Connection,
    line: &str,
    from: DateTime<Utc>,
    by: Option<AgentId>,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO line_states (line, ends_at) VALUES (?1, ?2)
         ON CONFLICT (line) DO UPDATE SET ends_at = excluded.ends_at",
    )?
    .execute(params![line, time::format(from)])?;
    note(conn, line, "end", by, &format!("from {}", time::format(from)), at)
}

/// Reopens `line`; `false` if it had not ended nor been set to end.
///
/// # Errors
/// SQLite errors.
pub fn reopen(
    conn: &Connection,
    line: &str,
    by: Option<AgentId>,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let n = conn.prepare_cached("DELETE FROM line_states WHERE line = ?1")?.execute([line])?;
    if n > 0 {
        note(conn, line, "reopen", by, "", at)?;
    }
    Ok(n > 0)
}

fn note(
    conn: &Connection,
    line: &str,
    action: &str,
    by: Option<AgentId>,
    detail: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO line_history (line, action, agent_id, detail, at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![line, action, by.map(|a| a.0), detail, time::format(at)])?;
    Ok(())
}

/// One line of the audit log.
#[derive(Debug, Clone)]
pub struct Change {
    /// `end` or `reopen`.
    pub action: String,
    /// Who (`None`: the command line).
    pub login: Option<String>,
    /// From when, for an end.
    pub detail: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// The audit log of `line`, oldest first.
///
/// # Errors
/// SQLite errors.
pub fn history(conn: &Connection, line: &str) -> Result<Vec<Change>, StoreError> {
    let rows: Vec<(String, Option<String>, String, String)> = conn
        .prepare_cached(
            "SELECT h.action, a.login, h.detail, h.at FROM line_history h LEFT JOIN agents a ON a.id = h.agent_id
             WHERE h.line = ?1 ORDER BY h.id",
        )?
        .query_map([line], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<Result<_, _>>()?;
    Ok(rows
        .into_iter()
        .filter_map(|(action, login, detail, at)| {
            time::parse(&at).map(|at| Change { action, login, detail, at })
        })
        .collect())
}

/// The notice said before `line`'s menus at `at`, by language, if one is on.
///
/// # Errors
/// SQLite errors.
pub fn notice_at(
    conn: &Connection,
    line: &str,
    at: DateTime<Utc>,
) -> Result<Option<std::collections::BTreeMap<String, String>>, StoreError> {
    let texts: Option<String> = conn
        .prepare_cached(
            "SELECT texts FROM line_notices WHERE line = ?1 AND starts_at <= ?2 AND ends_at > ?2",
        )?
        .query_row(params![line, time::format(at)], |r| r.get(0))
        .optional()?;
    Ok(texts.and_then(|t| serde_json::from_str(&t).ok()))
}

/// A line's notice: its texts and its period.
#[derive(Debug, Clone)]
pub struct Notice {
    /// Language → text.
    pub texts: std::collections::BTreeMap<String, String>,
    /// From when.
    pub starts_at: DateTime<Utc>,
    /// Until when (excluded).
    pub ends_at: DateTime<Utc>,
}

/// The notice set on `line`, whatever its period.
///
/// # Errors
/// SQLite errors.
pub fn notice(conn: &Connection, line: &str) -> Result<Option<Notice>, StoreError> {
    let row: Option<(String, String, String)> = conn
        .prepare_cached("SELECT texts, starts_at, ends_at FROM line_notices WHERE line = ?1")?
        .query_row([line], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    Ok(row.and_then(|(texts, from, until)| {
        Some(Notice {
            texts: serde_json::from_str(&texts).ok()?,
            starts_at: time::parse(&from)?,
            ends_at: time::parse(&until)?,
        })
    }))
}

/// Sets `line`'s notice (replacing any), noted as done by `by` at `at`.
///
/// # Errors
/// SQLite errors.
pub fn set_notice(
    conn: &Connection,
    line: &str,
    notice: &Notice,
    by: Option<AgentId>,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let texts = serde_json::to_string(&notice.texts).unwrap_or_default();
    conn.prepare_cached(
        "INSERT INTO line_notices (line, texts, starts_at, ends_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (line) DO UPDATE SET texts = excluded.texts, starts_at = excluded.starts_at, ends_at = excluded.ends_at",
    )?
    .execute(params![line, texts, time::format(notice.starts_at), time::format(notice.ends_at)])?;
    let period = format!("{} to {}", time::format(notice.starts_at), time::format(notice.ends_at));
    note(conn, line, "notice", by, &period, at)
}

/// Removes `line`'s notice; `false` if it had none.
///
/// # Errors
/// SQLite errors.
pub fn clear_notice(
    conn: &Connection,
    line: &str,
    by: Option<AgentId>,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let n = conn.prepare_cached("DELETE FROM line_notices WHERE line = ?1")?.execute([line])?;
    if n > 0 {
        note(conn, line, "notice removed", by, "", at)?;
    }
    Ok(n > 0)
}
