//! A consistent copy of the database while the service runs. `VACUUM INTO` reads one
//! snapshot (WAL readers never block the writer) and writes a compact copy, which is then
//! checked and counted.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use super::StoreError;

/// What the copy holds, as read back from it.
#[derive(Debug, Clone)]
pub struct Copy {
    /// SQLite's `integrity_check` of the copy (`ok`).
    pub integrity: String,
    /// Calls in the copy.
    pub calls: i64,
    /// Callback requests in the copy.
    pub requests: i64,
}

/// Copies the database at `database` to `file` (which must not exist).
///
/// # Errors
/// SQLite errors, or a file name that is not UTF-8.
pub fn copy(database: &Path, file: &Path) -> Result<Copy, StoreError> {
    let conn = Connection::open_with_flags(database, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    let target = file
        .to_str()
        .ok_or_else(|| StoreError::Unavailable("the file name is not valid UTF-8".to_owned()))?;
    conn.execute("VACUUM INTO ?1", [target])?;
    let copy = Connection::open_with_flags(file, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    Ok(Copy {
        integrity: copy.query_row("PRAGMA integrity_check", [], |r| r.get(0))?,
        calls: copy.query_row("SELECT count(*) FROM calls", [], |r| r.get(0))?,
        requests: copy.query_row("SELECT count(*) FROM callback_requests", [], |r| r.get(0))?,
    })
}
