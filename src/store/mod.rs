//! SQLite: the schema, one writer thread, a small pool of readers.
//!
//! Writes never run on the async workers. [`Store::write`] sends a closure to the writer
//! thread, which owns the only write connection and groups whatever is waiting into one
//! `BEGIN IMMEDIATE` transaction (each closure in its own savepoint, or keeping itself
//! whole, so that one failure does not undo the others). A closure's result is handed
//! back only after the transaction has committed and — for every write that holds a
//! promise — after the log has been flushed to the disk by the sync thread (`fdatasync`
//! of the write-ahead log, one for everything committed since the last): a caller is told
//! "registered" only once the row would survive a power cut. The steps of a call that
//! promise nothing ([`Store::write_step`]) are answered as soon as they are committed,
//! and the writer never waits for the disk. Reads run in `spawn_blocking` on pooled
//! read-only connections and never wait behind the writer (WAL).

pub mod agents;
pub mod backup;
pub mod call_paths;
pub mod callbacks;
pub mod calls;
pub mod lines;
pub mod missions;
pub mod outbound;
pub mod purge;
pub mod reports;
pub mod time;
pub mod volunteers;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OpenFlags};
use tokio::sync::{mpsc, oneshot};

/// The schema, applied to a new database.
pub const SCHEMA: &str = include_str!("../../schema.sql");

/// Migrations by version: index 0 brings a new database to version 1, index 1 to 2, ….
const MIGRATIONS: &[&str] = &[
    SCHEMA,
    include_str!("../../migrations/002_events_in_time_order.sql"),
    include_str!("../../migrations/003_what_each_call_said.sql"),
    include_str!("../../migrations/004_volunteers.sql"),
    include_str!("../../migrations/005_calling_out.sql"),
    include_str!("../../migrations/006_lines.sql"),
    include_str!("../../migrations/007_accounts_lines.sql"),
    include_str!("../../migrations/008_neighbourhoods.sql"),
    include_str!("../../migrations/009_dialects.sql"),
    include_str!("../../migrations/010_statistics_of_settled_days.sql"),
    include_str!("../../migrations/011_trial_calls.sql"),
    include_str!("../../migrations/012_new_calls_drop_kept_days_in_the_store.sql"),
    include_str!("../../migrations/013_the_callers_index_covers_the_repeated_calls_count.sql"),
    include_str!("../../migrations/014_changed_calls_check_their_kept_day_without_a_list.sql"),
];

/// Jobs the writer runs in one transaction at most.
const MAX_BATCH: usize = 64;

/// Upper bounds of the batch-size histogram.
pub const BATCH_BUCKETS: [u64; 7] = [1, 2, 4, 8, 16, 32, 64];

/// What the writer has done, for `/metrics`.
#[derive(Debug, Default)]
pub struct WriterStats {
    /// Transactions committed or attempted.
    pub batches: AtomicU64,
    /// Jobs run.
    pub jobs: AtomicU64,
    /// Batches by size, cumulative as Prometheus wants (`le` 1, 2, 4 … 64).
    pub batch_sizes: [AtomicU64; 7],
    /// Jobs that failed, commits that failed.
    pub errors: AtomicU64,
    /// Flushes of the log to the disk (each covers every promise committed before it).
    pub syncs: AtomicU64,
}

/// A failure of the store. Details are logged, never shown to callers or agents.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite refused.
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored value of the wrong type.
    #[error("stored value: {0}")]
    Value(#[from] rusqlite::types::FromSqlError),
    /// Stored JSON that does not read back.
    #[error("stored data: {0}")]
    Json(#[from] serde_json::Error),
    /// The database is newer than this binary.
    #[error("the database is at schema version {0}, newer than this program knows ({1})")]
    TooNew(i64, usize),
    /// The writer thread is gone.
    #[error("the database writer has stopped")]
    Closed,
    /// The transaction could not begin or commit.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// A state computed from memory no longer matches the stored call.
    #[error("the stored call has moved on")]
    Stale,
    /// A reader task panicked or was cancelled.
    #[error("a database reader failed: {0}")]
    Reader(String),
    /// The writer reached the job after its deadline: it was not run, nothing was written.
    #[error("the database was too busy to start this in time; nothing was written")]
    TooLate,
}

/// How a job's result reaches its caller, given the commit's failure (or the sync's).
type Delivery = Box<dyn FnOnce(Option<&str>) + Send>;
/// A write: given the connection inside the batch's transaction (or `None` when the
/// transaction could not begin), it runs and returns whether its result must wait for the
/// disk (a promise), and how to deliver it once the commit is known.
type Job = Box<dyn FnOnce(Option<&Connection>) -> (bool, Delivery) + Send>;

/// The database.
#[derive(Clone)]
pub struct Store {
    writer: mpsc::Sender<Job>,
    readers: Arc<Mutex<Vec<Connection>>>,
    path: Arc<PathBuf>,
    stats: Arc<WriterStats>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish_non_exhaustive()
    }
}

fn configure(conn: &Connection, synchronous: &str) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = {synchronous}; PRAGMA foreign_keys = ON;"
    ))?;
    conn.set_prepared_statement_cache_capacity(64);
    // One plan per statement, whatever the values bound: without it, statements with a
    // range over a bound value are compiled again on every run (the bundled SQLite has
    // STAT4), which showed as a tenth of the writer's time.
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    Ok(())
}

/// Brings the database to the newest schema version.
fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let known = MIGRATIONS.len();
    if version > i64::try_from(known).unwrap_or(i64::MAX) {
        return Err(StoreError::TooNew(version, known));
    }
    // Foreign keys are off while a migration runs (a table rebuilt with new constraints
    // is dropped and renamed, as SQLite's documentation prescribes), then checked whole
    // before the migration commits.
    conn.pragma_update(None, "foreign_keys", false)?;
    let migrated = (|| {
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(usize::try_from(version).unwrap_or(0)) {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            tx.execute_batch(sql)?;
            let broken: i64 =
                tx.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| r.get(0))?;
            if broken > 0 {
                return Err(StoreError::Unavailable(format!(
                    "migration {} would leave {broken} broken reference(s)",
                    i + 1
                )));
            }
            tx.pragma_update(None, "user_version", i64::try_from(i + 1).unwrap_or(i64::MAX))?;
            tx.commit()?;
        }
        Ok(())
    })();
    conn.pragma_update(None, "foreign_keys", true)?;
    migrated
}

/// Who copies the write-ahead log back into the database file (checkpoints).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Checkpoints {
    /// The service, four times a second.
    #[default]
    Service,
    /// Litestream, which must see every frame of the log before it is reused: the
    /// service checkpoints only when the log has grown past [`UNREPLICATED_LOG`] (Litestream
    /// stopped), so that the log cannot fill the disk.
    Litestream,
}

/// The log size past which the service checkpoints even when Litestream is to (a quarter
/// of Litestream's own emergency threshold, 500 MB).
pub const UNREPLICATED_LOG: u64 = 128 * 1024 * 1024;

impl Store {
    /// Opens (creating and migrating) the database at `path` and starts the writer; the
    /// service checkpoints.
    ///
    /// # Errors
    /// When the file cannot be opened or migrated.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with(path, Checkpoints::Service)
    }

    /// [`Store::open`], with the checkpoints left to `checkpoints`.
    ///
    /// # Errors
    /// When the file cannot be opened or migrated.
    pub fn open_with(path: &Path, checkpoints: Checkpoints) -> Result<Self, StoreError> {
        let mut conn = Connection::open(path)?;
        // NORMAL: commits do not wait for the disk; the sync thread flushes the log before
        // any promise is delivered (a request confirmed to a caller must survive a power
        // cut, not only a crash). A process crash loses nothing committed either way.
        configure(&conn, "NORMAL")?;
        // Statement journals (the savepoints' copies of the pages a job touched) stay in
        // memory instead of spilling to temporary files.
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        migrate(&mut conn)?;
        // Checkpoints (copying the log back into the database file, with its own fsync)
        // run on a thread of their own, not inside the writer's commits.
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        let (tx, rx) = mpsc::channel::<Job>(4096);
        let stats = Arc::new(WriterStats::default());
        let alive = Arc::downgrade(&stats);
        let log = wal_path(path);
        let by = checkpoints;
        let checkpoints = Connection::open(path)?;
        configure(&checkpoints, "FULL")?;
        std::thread::Builder::new()
            .name("solidaire-db-checkpoint".to_owned())
            .spawn(move || checkpoint_loop(&checkpoints, &log, by, &alive))
            .map_err(|e| StoreError::Reader(e.to_string()))?;
        let (to_sync, syncs) = std::sync::mpsc::channel::<Vec<Delivery>>();
        let log = wal_path(path);
        let sync_stats = Arc::clone(&stats);
        std::thread::Builder::new()
            .name("solidaire-db-sync".to_owned())
            .spawn(move || sync_loop(&log, &syncs, &sync_stats))
            .map_err(|e| StoreError::Reader(e.to_string()))?;
        let writer_stats = Arc::clone(&stats);
        std::thread::Builder::new()
            .name("solidaire-db-writer".to_owned())
            .spawn(move || writer_loop(&conn, rx, &writer_stats, &to_sync))
            .map_err(|e| StoreError::Reader(e.to_string()))?;
        Ok(Self {
            writer: tx,
            readers: Arc::new(Mutex::new(Vec::new())),
            path: Arc::new(path.to_path_buf()),
            stats,
        })
    }

    /// The writer's counters.
    #[must_use]
    pub fn stats(&self) -> &WriterStats {
        &self.stats
    }

    /// The database file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on the writer thread inside a transaction; returns once it committed and
    /// is on the disk (whatever it changed survives a power cut).
    ///
    /// # Errors
    /// `f`'s own error (its changes are rolled back), or the commit's or the flush's.
    pub async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.write_step(move |conn| atomically(conn, |conn| f(conn).map(|value| (value, true)))).await
    }

    /// Runs `f` on the writer thread inside the batch's transaction, for a write that
    /// says itself whether it holds a promise (the `bool`): when it does not, it is
    /// answered once committed, without waiting for the disk — a call's steps, which a
    /// power cut ends anyway. `f` is not wrapped in a savepoint (which copies every page
    /// it touches, for a rollback a job of one or two rows can do itself): it must leave
    /// nothing behind when it fails, using [`atomically`] for anything larger.
    ///
    /// # Errors
    /// As [`Store::write`].
    pub async fn write_step<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<(T, bool), StoreError> + Send + 'static,
    {
        self.write_step_before(None, f).await
    }

    /// [`Store::write_step`], run only if the writer reaches it before `deadline`: later,
    /// it is dropped unrun and answered [`StoreError::TooLate`]. Once it has run, its
    /// result is always delivered, so that what the caller is told is what was stored:
    /// a step either is abandoned, writing nothing, or its answer is the committed one.
    ///
    /// # Errors
    /// As [`Store::write`], and [`StoreError::TooLate`].
    pub async fn write_step_before<T, F>(
        &self,
        deadline: Option<std::time::Instant>,
        f: F,
    ) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<(T, bool), StoreError> + Send + 'static,
    {
        let (done, result) = oneshot::channel::<Result<T, StoreError>>();
        let stats = Arc::clone(&self.stats);
        let job: Job = Box::new(move |conn: Option<&Connection>| {
            let outcome = match conn {
                _ if deadline.is_some_and(|d| std::time::Instant::now() > d) => Err(StoreError::TooLate),
                Some(conn) => f(conn),
                None => Err(StoreError::Unavailable("no transaction".to_owned())),
            };
            if outcome.is_err() {
                stats.errors.fetch_add(1, Ordering::Relaxed);
            }
            let durable = matches!(outcome, Ok((_, true)));
            let deliver: Delivery = Box::new(move |failure: Option<&str>| {
                let outcome = match (outcome, failure) {
                    (Ok(_), Some(e)) => Err(StoreError::Unavailable(e.to_owned())),
                    (outcome, _) => outcome.map(|(value, _)| value),
                };
                let _ = done.send(outcome);
            });
            (durable, deliver)
        });
        self.writer.send(job).await.map_err(|_| StoreError::Closed)?;
        result.await.map_err(|_| StoreError::Closed)?
    }

    /// Runs `f` on a read connection off the async workers.
    ///
    /// # Errors
    /// `f`'s error, or when no connection can be opened.
    pub async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let readers = Arc::clone(&self.readers);
        let path = Arc::clone(&self.path);
        tokio::task::spawn_blocking(move || {
            let pooled = readers.lock().map_err(|e| StoreError::Reader(e.to_string()))?.pop();
            let conn = if let Some(c) = pooled {
                c
            } else {
                let c = Connection::open_with_flags(
                    path.as_path(),
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                configure(&c, "NORMAL")?;
                c
            };
            let result = f(&conn);
            if let Ok(mut pool) = readers.lock() {
                if pool.len() < 8 {
                    pool.push(conn);
                }
            }
            result
        })
        .await
        .map_err(|e| StoreError::Reader(e.to_string()))?
    }
}

/// Runs `f` inside a savepoint of the writer's transaction: when it fails, what it
/// changed is undone and the other jobs of the batch are kept.
///
/// # Errors
/// `f`'s error, or SQLite's.
pub fn atomically<T>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    // Cached: these run for every webhook, parsing them each time showed in profiles.
    conn.prepare_cached("SAVEPOINT job")?.execute([])?;
    match f(conn) {
        Ok(value) => {
            conn.prepare_cached("RELEASE job")?.execute([])?;
            Ok(value)
        }
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK TO job; RELEASE job");
            Err(e)
        }
    }
}

/// Runs `f` and undoes whatever it wrote, keeping its result: a trial call's request is
/// registered by the same code as a real one, then discarded.
///
/// # Errors
/// `f`'s, or the savepoint's.
pub fn discarded<T>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    conn.execute_batch("SAVEPOINT discarded")?;
    let result = f(conn);
    conn.execute_batch("ROLLBACK TO discarded; RELEASE discarded")?;
    result
}

/// Copies the write-ahead log back into the database file four times a second, without
/// blocking the writer (`PASSIVE`), until the store is dropped (`alive` gone). With
/// Litestream checkpointing, only once the log is past [`UNREPLICATED_LOG`].
fn checkpoint_loop(conn: &Connection, log: &Path, by: Checkpoints, alive: &std::sync::Weak<WriterStats>) {
    let mut failures = 0u32;
    let mut warned = false;
    while alive.strong_count() > 0 {
        std::thread::sleep(std::time::Duration::from_millis(250));
        if by == Checkpoints::Litestream {
            let size = std::fs::metadata(log).map_or(0, |m| m.len());
            if size < UNREPLICATED_LOG {
                warned = false;
                continue;
            }
            if !warned {
                warned = true;
                tracing::warn!(log = %log.display(), bytes = size, "the database log is not being checkpointed: is Litestream running? The service checkpoints it meanwhile");
            }
        }
        match conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(0)) {
            Ok(_) => failures = 0,
            Err(e) => {
                failures += 1;
                if failures == 1 || failures % 240 == 0 {
                    tracing::warn!(error = %e, "checkpoint failed; the log grows until one succeeds");
                }
            }
        }
    }
}

/// The write-ahead log of the database at `path`.
fn wal_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}

/// Flushes the write-ahead log to the disk, then delivers the promises committed before:
/// one `fdatasync` for all that is waiting. Ends when the writer does.
fn sync_loop(log: &Path, waiting: &std::sync::mpsc::Receiver<Vec<Delivery>>, stats: &WriterStats) {
    // The log keeps its file while the database is open (SQLite truncates it, never
    // replaces it); the file is opened again only after a failure.
    let mut file: Option<std::fs::File> = None;
    while let Ok(first) = waiting.recv() {
        let mut deliveries = first;
        while let Ok(more) = waiting.try_recv() {
            deliveries.extend(more);
        }
        // Everything these promises wrote was written to the log before it was handed
        // here; fdatasync of the file makes all of it durable, whichever descriptor wrote.
        let flushed = match &file {
            Some(f) => f.sync_data(),
            None => std::fs::File::open(log).and_then(|f| f.sync_data().map(|()| file = Some(f))),
        };
        if flushed.is_err() {
            file = None;
        }
        stats.syncs.fetch_add(1, Ordering::Relaxed);
        let failure = flushed.err().map(|e| {
            stats.errors.fetch_add(1, Ordering::Relaxed);
            tracing::error!(error = %e, file = %log.display(), "cannot flush the database log to the disk");
            format!("flushing the log failed: {e}")
        });
        for deliver in deliveries {
            deliver(failure.as_deref());
        }
    }
}

fn writer_loop(
    conn: &Connection,
    mut rx: mpsc::Receiver<Job>,
    stats: &WriterStats,
    to_sync: &std::sync::mpsc::Sender<Vec<Delivery>>,
) {
    while let Some(first) = rx.blocking_recv() {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        if let Err(e) = conn.prepare_cached("BEGIN IMMEDIATE").and_then(|mut s| s.execute([])) {
            tracing::error!(error = %e, "cannot begin a write transaction");
            let failure = format!("cannot begin: {e}");
            for job in jobs {
                (job(None).1)(Some(&failure));
            }
            continue;
        }
        stats.batches.fetch_add(1, Ordering::Relaxed);
        stats.jobs.fetch_add(jobs.len() as u64, Ordering::Relaxed);
        for (bucket, bound) in stats.batch_sizes.iter().zip(BATCH_BUCKETS) {
            if jobs.len() as u64 <= bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        let done: Vec<(bool, Delivery)> = jobs.into_iter().map(|job| job(Some(conn))).collect();
        let commit = conn.prepare_cached("COMMIT").and_then(|mut s| s.execute([]).map(|_| ()));
        if let Err(e) = &commit {
            stats.errors.fetch_add(1, Ordering::Relaxed);
            tracing::error!(error = %e, batch = done.len(), "write transaction failed to commit");
            let _ = conn.execute_batch("ROLLBACK");
            let failure = format!("commit failed: {e}");
            for (_, deliver) in done {
                deliver(Some(&failure));
            }
            continue;
        }
        let mut promises = Vec::new();
        for (durable, deliver) in done {
            if durable {
                promises.push(deliver);
            } else {
                deliver(None);
            }
        }
        if !promises.is_empty() {
            if let Err(unsent) = to_sync.send(promises) {
                // The sync thread is gone: nothing can be promised.
                for deliver in unsent.0 {
                    deliver(Some("the database sync thread has stopped"));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_3_database_with_accounts_in_use_keeps_them_through_the_rebuild_of_agents() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v3.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch("PRAGMA foreign_keys = ON;").unwrap();
            for sql in &MIGRATIONS[..3] {
                conn.execute_batch(sql).unwrap();
            }
            conn.pragma_update(None, "user_version", 3).unwrap();
            conn.execute_batch(
                "INSERT INTO agents (id, login, role, password_hash, disabled, created_at) VALUES
                   (7, 'anna', 'agent', 'h1', 0, '2026-01-01T00:00:00.000Z'),
                   (9, 'sue', 'supervisor', 'h2', 1, '2026-01-02T00:00:00.000Z');
                 INSERT INTO sessions (token_hash, agent_id, csrf, created_at, last_seen)
                   VALUES ('s1', 7, 'c', '2026-11-20T10:00:00.000Z', '2026-11-20T10:00:00.000Z');
                 INSERT INTO api_tokens (agent_id, token_hash, created_at) VALUES (9, 't1', '2026-11-20T10:00:00.000Z');
                 INSERT INTO calls (sid, line, started_at, day, status, state)
                   VALUES ('CA1', 'liege', '2026-11-20T10:00:00.000Z', '2026-11-20', 'completed', '{}');
                 INSERT INTO callback_requests (call_sid, line, service, language, phone, state, claimed_by,
                     lease_until, not_before, created_at)
                   VALUES ('CA1', 'liege', 'errands', 'fr', '+32470123456', 'claimed', 7,
                     '2026-11-20T10:15:00.000Z', '2026-11-20T10:00:00.000Z', '2026-11-20T10:00:00.000Z');
                 INSERT INTO callback_history (request_id, agent_id, action, at) VALUES (1, 7, 'claimed', '2026-11-20T10:00:00.000Z');",
            )
            .unwrap();
        }
        let _store = Store::open(&path).unwrap();
        let conn = Connection::open(&path).unwrap();
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
        assert_eq!(version, i64::try_from(MIGRATIONS.len()).unwrap());
        let accounts: Vec<(i64, String, String, bool)> = conn
            .prepare("SELECT id, login, role, disabled FROM agents ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            accounts,
            [(7, "anna".into(), "agent".into(), false), (9, "sue".into(), "supervisor".into(), true)]
        );
        let session: i64 = conn
            .query_row("SELECT agent_id FROM sessions WHERE token_hash = 's1'", [], |r| r.get(0))
            .unwrap();
        assert_eq!(session, 7, "sessions still point at their account");
        let broken: i64 =
            conn.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| r.get(0)).unwrap();
        assert_eq!(broken, 0);
        // The references still hold: the rebuilt table is the one they name.
        conn.execute_batch("PRAGMA foreign_keys = ON;").unwrap();
        let orphan = conn.execute("INSERT INTO sessions (token_hash, agent_id, csrf, created_at, last_seen) VALUES ('s2', 99, 'c', 'x', 'x')", []);
        assert!(orphan.is_err(), "a session of no account is refused");
        assert!(
            conn.execute("DELETE FROM agents WHERE id = 7", []).is_err(),
            "an account in use cannot vanish"
        );
        let role = conn.execute("UPDATE agents SET role = 'coordinator' WHERE id = 7", []).unwrap();
        assert_eq!(role, 1, "the new roles are allowed");
        assert_eq!(conn.execute("UPDATE agents SET role = 'admin' WHERE id = 7", []).unwrap(), 1);
        assert!(conn.execute("UPDATE agents SET role = 'root' WHERE id = 7", []).is_err(), "others are not");
    }

    #[test]
    fn a_version_1_database_is_migrated_with_its_step_log_and_replays_still_found() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v1.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(SCHEMA).unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
            conn.execute_batch(
                "INSERT INTO calls (sid, line, started_at, day, status, state)
                   VALUES ('CA1', 'liege', '2026-11-20T10:00:00.000Z', '2026-11-20', 'completed', '{}');
                 INSERT INTO events (call_sid, step, kind, node, input, result, at, response) VALUES
                   ('CA1', 0, 'incoming', 'language', '', 'asked', '2026-11-20T10:00:00.000Z', '<Response>0</Response>'),
                   ('CA1', 1, 'gather', 'main', '1', 'asked', '2026-11-20T10:00:05.000Z', '<Response>1</Response>');",
            )
            .unwrap();
        }
        let _store = Store::open(&path).unwrap();
        let conn = Connection::open(&path).unwrap();
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
        assert_eq!(version, i64::try_from(MIGRATIONS.len()).unwrap());
        let call = calls::find(&conn, "CA1").unwrap().unwrap();
        assert_eq!(call.last_event, Some(2));
        assert_eq!(
            calls::response_of(&conn, &call, "CA1", 1).unwrap().as_deref(),
            Some("<Response>1</Response>")
        );
        assert_eq!(
            calls::response_of(&conn, &call, "CA1", 0).unwrap().as_deref(),
            Some("<Response>0</Response>")
        );
        assert_eq!(calls::response_of(&conn, &call, "CA1", 7).unwrap(), None);
        let indexes: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events'")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(indexes, vec!["events_by_time".to_owned()], "the log grows at its end only");
    }
}
