//! The command line: `serve`, `flows check`, `simulate`. Parses arguments, loads settings
//! and calls into the library; errors become a message and a non-zero exit.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::app::{Application, load_flows};
use crate::clock::SystemClock;
use crate::flow::load;
use crate::settings::{Flags, Settings};
use crate::simulate::{Caller, Press, Softphone, Transfer};

/// solidaire: a free solidarity phone line for a city.
#[derive(Debug, Parser)]
#[command(name = "solidaire", version, about)]
pub struct Cli {
    /// Settings file (default: ./solidaire.toml when it exists).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// SQLite database file (default: ./solidaire.db).
    #[arg(long, global = true, value_name = "PATH")]
    database: Option<PathBuf>,
    /// Flows folder (default: ./ivr-flows, or the bundled flow when it does not exist).
    #[arg(long, global = true, value_name = "DIR")]
    flows: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the service.
    Serve {
        /// Address to listen on (default: 127.0.0.1:8080).
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
    },
    /// Work with flow files.
    Flows {
        #[command(subcommand)]
        command: FlowsCommand,
    },
    /// Recorded prompts.
    Sounds {
        #[command(subcommand)]
        command: SoundsCommand,
    },
    /// Export daily call statistics (counts only, no personal data).
    Stats {
        /// First day (YYYY-MM-DD).
        #[arg(long)]
        date: String,
        /// Last day (default: the first).
        #[arg(long)]
        to: Option<String>,
        /// One line, by its called number (default: all lines together).
        #[arg(long, value_name = "NUMBER")]
        line: Option<String>,
        /// The hourly table.
        #[arg(long)]
        hourly: bool,
        /// `csv` or `json`.
        #[arg(long, default_value = "csv")]
        format: String,
    },
    /// Place many simulated calls at once and report throughput and latency. Signs with
    /// the configured token; starts the service in-process unless --url names one.
    Loadtest {
        /// A running server (its public URL is taken from the settings, if any).
        #[arg(long, value_name = "URL")]
        url: Option<String>,
        /// Calls to place.
        #[arg(long, default_value_t = 1000)]
        calls: usize,
        /// Callers at once.
        #[arg(long, default_value_t = 50)]
        concurrency: usize,
        /// The number dialled.
        #[arg(long, value_name = "NUMBER", default_value = "+3280043436")]
        line: String,
        /// The server's process id, to report its peak memory and its CPU time per webhook.
        #[arg(long)]
        pid: Option<u32>,
        /// Milliseconds each caller takes on average (half to one and a half times) before
        /// each webhook after the first (listening to the prompt, pressing a key); 0 sends
        /// the next one as soon as the answer comes.
        #[arg(long, value_name = "MS", default_value_t = 0)]
        pause_ms: u64,
    },
    /// Write a consistent copy of the database while the service runs.
    Backup {
        /// The copy to create (it must not exist yet).
        file: PathBuf,
    },
    /// Anonymise calls and closed requests older than `retention_days` now (the service
    /// also does it by itself every six hours).
    Purge,
    /// Manage agent and supervisor accounts.
    Agents {
        #[command(subcommand)]
        command: AgentsCommand,
    },
    /// Be a caller in the terminal: hear the prompts, type keys. Goes through the real
    /// HTTP handlers and the real database (a server started in-process, or --url).
    Simulate {
        /// The number dialled (chooses the line).
        #[arg(long, value_name = "NUMBER", default_value = "+3280043436")]
        line: String,
        /// The caller's number; "anonymous" for a withheld number.
        #[arg(long, value_name = "NUMBER", default_value = "+32470123456")]
        from: String,
        /// Call a server already running at this URL instead of starting one.
        #[arg(long, value_name = "URL")]
        url: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum AgentsCommand {
    /// Add an account; the password is read from standard input.
    Add {
        /// Login name (letters, digits, `.`, `_`, `-`).
        login: String,
        /// `agent` or `supervisor`.
        #[arg(long, default_value = "agent")]
        role: String,
    },
    /// List the accounts.
    List,
    /// Disable an account (its sessions and tokens end at once).
    Disable {
        /// Login name.
        login: String,
    },
    /// Create an API token for an account; it is shown once.
    Token {
        /// Login name.
        login: String,
    },
}

#[derive(Debug, Subcommand)]
enum FlowsCommand {
    /// Validate every flow; exit 1 with every problem, by file, line and column, and with
    /// every recording made for an older text than its prompt's. Prompts without a
    /// recording are listed (they are spoken by text-to-speech).
    Check {
        /// The folder (default: the configured flows folder).
        dir: Option<PathBuf>,
        /// The sounds folder (default: the configured one).
        #[arg(long, value_name = "DIR")]
        sounds: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum SoundsCommand {
    /// Record every prompt that has no recording, or one made for an older text, with
    /// espeak-ng, converted by sox to 8 kHz mono mu-law WAV.
    Generate {
        /// Record every prompt again, even those up to date (replaced ones are kept).
        #[arg(long)]
        force: bool,
    },
}

/// Threads for blocking work at most (reads of the database, files, password hashes).
const BLOCKING_THREADS: usize = 16;

/// Runs the command line.
#[must_use]
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let env: Vec<(String, String)> = std::env::vars().collect();
    let listen = match &cli.command {
        Command::Serve { listen } => listen.clone(),
        _ => None,
    };
    let flags = Flags {
        config: cli.config.clone(),
        listen,
        database: cli.database.clone(),
        flows: cli.flows.clone(),
    };
    let settings = match Settings::load(&flags, &env) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("solidaire: {e}");
            return ExitCode::from(2);
        }
    };
    let filter = match &cli.command {
        Command::Simulate { .. } | Command::Loadtest { .. } => "warn".to_owned(),
        _ => settings.log.clone(),
    };
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .init();
    // Blocking work (files, reads, password hashes) runs on a few long-lived threads: a
    // thread that ends leaves its allocator heap behind, and many short-lived ones
    // made the resident memory grow from load to load.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(BLOCKING_THREADS)
        .thread_keep_alive(std::time::Duration::from_secs(3600))
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("solidaire: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match cli.command {
        Command::Serve { .. } => runtime.block_on(serve(settings)),
        Command::Sounds { command: SoundsCommand::Generate { force } } => generate_sounds(&settings, force),
        Command::Flows { command: FlowsCommand::Check { dir, sounds } } => {
            return check_flows(&settings, dir.as_ref(), sounds.as_ref());
        }
        Command::Simulate { line, from, url } => runtime.block_on(simulate(settings, &line, &from, url)),
        Command::Agents { command } => runtime.block_on(manage_agents(&settings, command)),
        Command::Purge => runtime.block_on(purge_now(&settings)),
        Command::Backup { file } => backup(&settings, &file),
        Command::Loadtest { url, calls, concurrency, line, pid, pause_ms } => runtime.block_on(load_test(
            settings,
            url,
            calls,
            concurrency,
            &line,
            pid,
            std::time::Duration::from_millis(pause_ms),
        )),
        Command::Stats { date, to, line, hourly, format } => {
            match crate::stats::Request::parse(&date, to.as_deref(), line.as_deref(), hourly, Some(&format)) {
                Ok(request) => runtime.block_on(export_stats(&settings, request)),
                Err(problem) => {
                    eprintln!("solidaire: {problem}");
                    return ExitCode::from(2);
                }
            }
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("solidaire: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let app = Application::build(settings, Arc::new(SystemClock)).await?;
    app.run_until(shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
    tracing::info!("shutting down: finishing the requests in flight");
}

fn generate_sounds(settings: &Settings, force: bool) -> anyhow::Result<()> {
    let (flows, _) = load_flows(settings).map_err(|errors| {
        for e in &errors {
            eprintln!("{e}");
        }
        anyhow::anyhow!("{} problem(s) in the flows: mend them first (solidaire flows check)", errors.len())
    })?;
    let root = &settings.sounds;
    let report = crate::sounds::generate::generate(&flows, root, force, chrono::Utc::now(), &mut |line| {
        println!("{line}");
    })?;
    let total = report.written.iter().fold(0.0, |sum, w| sum + w.2);
    println!(
        "{} recording(s) written to {} ({total:.0} s in all), {} already up to date; spoken by text-to-speech during calls (they hold a number): {}",
        report.written.len(),
        root.display(),
        report.up_to_date,
        report.dynamic.join(", ")
    );
    Ok(())
}

/// Lists what the sounds folder lacks for the flows; returns the number of recordings
/// made for an older text (problems).
fn check_recordings(flows: &crate::flow::Flows, root: &std::path::Path) -> usize {
    use crate::sounds::{Finding, Library, findings};
    let library = Library::scan(root);
    let found = findings(flows, &library);
    let mut stale = 0;
    let mut missing = Vec::new();
    for f in &found {
        match f {
            Finding::Stale { path, prompt, lang } => {
                stale += 1;
                eprintln!(
                    "{}: prompt `{prompt}` ({lang}): {}/{lang}/{prompt}.wav was not recorded for the prompt's current text: record it again, or run `solidaire sounds generate`",
                    path.display(),
                    root.display()
                );
            }
            Finding::Missing { prompt, lang } => missing.push(format!("{lang}/{prompt}")),
        }
    }
    println!("{} recording(s) in {}", library.len(), root.display());
    if !missing.is_empty() {
        println!("spoken by text-to-speech (no recording): {}", missing.join(", "));
    }
    stale
}

fn check_flows(settings: &Settings, dir: Option<&PathBuf>, sounds: Option<&PathBuf>) -> ExitCode {
    let result = match dir {
        Some(dir) => load::load_dir(dir).map(|f| (f, Some((*dir).clone()))),
        None => load_flows(settings),
    };
    match result {
        Ok((flows, from)) => {
            let place = from.map_or_else(|| "bundled".to_owned(), |d| d.display().to_string());
            for flow in flows.iter() {
                println!(
                    "ok: {} ({}, {} nodes)",
                    flow.path.display(),
                    flow.file.line.name,
                    flow.file.nodes.len()
                );
            }
            println!("{} flow(s) valid in {place}", flows.iter().count());
            let stale = check_recordings(&flows, sounds.unwrap_or(&settings.sounds));
            if stale == 0 {
                ExitCode::SUCCESS
            } else {
                eprintln!("{stale} problem(s) found");
                ExitCode::FAILURE
            }
        }
        Err(errors) => {
            for e in &errors {
                eprintln!("{e}");
            }
            eprintln!("{} problem(s) found", errors.len());
            ExitCode::FAILURE
        }
    }
}

/// A service started in this process for a tool.
struct InProcess {
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl InProcess {
    async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.server.await;
    }
}

/// The provider for a tool: pointed at `url`, or at a service started here on a free
/// port. It signs with the configured token, as the real provider would.
async fn softphone_for(
    mut settings: Settings,
    url: Option<String>,
) -> anyhow::Result<(Softphone, Option<InProcess>)> {
    let token = settings.twilio_auth_token.as_ref().map(|t| t.expose().to_owned());
    let public = settings.public_url.clone();
    if let Some(url) = url {
        return Ok((Softphone::new(&url, public.as_deref(), token.as_deref()), None));
    }
    settings.listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    let app = Application::build(settings, Arc::new(SystemClock)).await?;
    let local = format!("http://127.0.0.1:{}", app.port());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    Ok((Softphone::new(&local, public.as_deref(), token.as_deref()), Some(InProcess { stop, server })))
}

async fn simulate(settings: Settings, line: &str, from: &str, url: Option<String>) -> anyhow::Result<()> {
    let database = settings.database.clone();
    let sounds = settings.sounds.clone();
    let (phone, server) = softphone_for(settings, url).await?;
    println!("Calling {line} from {from}. At a question type keys (0-9, *, #) and Enter;");
    println!("  t = stay silent, h = hang up. Database: {}", database.display());
    let record = phone.call(from, line, &mut Terminal { sounds }).await;
    if let Some(server) = server {
        server.stop().await;
    }
    let record = record?;
    println!("-- call {} ended after {} webhooks", record.sid, record.exchanges.len());
    Ok(())
}

/// A caller at the keyboard. Recorded prompts are shown with the text they say (read from
/// the local sounds folder) and how their URL answered.
struct Terminal {
    sounds: PathBuf,
}

impl Terminal {
    /// The text beside a played recording (`…/sounds/fr/greeting.wav?v=…`), when known.
    fn text_of(&self, url: &str) -> Option<String> {
        let path = url.split("/sounds/").nth(1)?.split('?').next()?;
        let (lang, file) = path.split_once('/')?;
        let prompt = file.strip_suffix(".wav")?;
        if !crate::sounds::is_plain(lang) || !crate::sounds::is_plain(prompt) {
            return None;
        }
        std::fs::read_to_string(self.sounds.join(lang).join(format!("{prompt}.txt")))
            .ok()
            .map(|t| t.trim().to_owned())
    }
}

fn ask(question: &str) -> String {
    print!("{question}");
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    match std::io::stdin().lock().read_line(&mut line) {
        Ok(0) | Err(_) => "h".to_owned(),
        Ok(_) => line.trim().to_owned(),
    }
}

impl Caller for Terminal {
    fn hear(&mut self, language: &str, text: &str) {
        println!("  [{language}] {text}");
    }

    fn play(&mut self, played: &crate::simulate::Played) {
        let length = played.seconds.map_or_else(|| "not a WAV file".to_owned(), |s| format!("{s:.1} s"));
        let status =
            if played.status == 200 { "200 OK".to_owned() } else { format!("{} FAILED", played.status) };
        let lang = played.url.split("/sounds/").nth(1).and_then(|p| p.split('/').next()).unwrap_or("?");
        let text = self.text_of(&played.url).unwrap_or_else(|| "(recording)".to_owned());
        println!("  [{lang} ♪] {text}\n        {} ({status}, {}, {length})", played.url, played.content_type);
    }

    fn press(&mut self) -> Press {
        loop {
            let answer = ask("keys> ");
            match answer.as_str() {
                "t" | "" => return Press::Silence,
                "h" => return Press::HangUp,
                keys if keys.chars().all(|c| c.is_ascii_digit() || c == '*' || c == '#') => {
                    return Press::Keys(keys.to_owned());
                }
                _ => println!("  (type digits, * or #; t for silence, h to hang up)"),
            }
        }
    }

    fn transfer(&mut self, number: &str) -> Transfer {
        loop {
            match ask(&format!("  ... ringing {number}: [a]nswered, [n]o answer, [b]usy, [h]ang up> "))
                .as_str()
            {
                "a" => return Transfer::Answered,
                "n" => return Transfer::NoAnswer,
                "b" => return Transfer::Busy,
                "h" => return Transfer::HangUp,
                _ => {}
            }
        }
    }

    fn record(&mut self) -> Option<u32> {
        let words = ask("  ... recording: say something (type words; empty = silence)> ");
        (!words.is_empty()).then(|| u32::try_from(words.split_whitespace().count()).unwrap_or(1).max(1) * 2)
    }
}

fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let password = line.trim_end_matches(['\n', '\r']).to_owned();
    anyhow::ensure!(!password.is_empty(), "give the password on standard input");
    Ok(password)
}

async fn manage_agents(settings: &Settings, command: AgentsCommand) -> anyhow::Result<()> {
    use crate::store::{Store, agents};
    let store = Store::open(&settings.database)?;
    let now = chrono::Utc::now();
    match command {
        AgentsCommand::Add { login, role } => {
            let role = agents::Role::parse(&role).map_err(anyhow::Error::msg)?;
            crate::web::console::check_login(&login).map_err(anyhow::Error::msg)?;
            let hash = crate::auth::hash_password(&read_password()?).map_err(anyhow::Error::msg)?;
            let name = login.clone();
            store
                .write(move |c| agents::add(c, &name, role, &hash, now))
                .await?
                .map_err(anyhow::Error::msg)?;
            println!("added {login} ({})", role.as_str());
        }
        AgentsCommand::List => {
            for a in store.read(agents::list).await? {
                println!(
                    "{}\t{}\t{}",
                    a.login,
                    a.role.as_str(),
                    if a.disabled { "disabled" } else { "active" }
                );
            }
        }
        AgentsCommand::Disable { login } => {
            let name = login.clone();
            anyhow::ensure!(store.write(move |c| agents::disable(c, &name)).await?, "no account `{login}`");
            println!("disabled {login}");
        }
        AgentsCommand::Token { login } => {
            let name = login.clone();
            let agent = store.read(move |c| agents::by_login(c, &name)).await?;
            let Some((agent, _)) = agent.filter(|(a, _)| !a.disabled) else {
                anyhow::bail!("no active account `{login}`");
            };
            let token = crate::auth::new_token();
            let digest = crate::auth::digest(&token);
            store.write(move |c| agents::add_token(c, agent.id, &digest, now)).await?;
            println!("{token}");
            eprintln!("This token is shown once; store it safely. Use it as: Authorization: Bearer <token>");
        }
    }
    Ok(())
}

async fn export_stats(settings: &Settings, request: crate::stats::Request) -> anyhow::Result<()> {
    let (flows, _) = load_flows(settings).map_err(|errors| {
        anyhow::anyhow!(errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))
    })?;
    let store = crate::store::Store::open(&settings.database)?;
    let query = request.query(&flows, settings.service_level_hours, chrono::Utc::now());
    let report = store.read(move |c| crate::stats::compute(c, &query)).await?;
    print!("{}", request.render(&report));
    Ok(())
}

async fn load_test(
    settings: Settings,
    url: Option<String>,
    calls: usize,
    concurrency: usize,
    line: &str,
    pid: Option<u32>,
    pause: std::time::Duration,
) -> anyhow::Result<()> {
    let (phone, server) = softphone_for(settings, url).await?;
    let phone = phone.with_pause(pause);
    let pid = if server.is_some() { Some(std::process::id()) } else { pid };
    if pause.is_zero() {
        println!("placing {calls} calls, {concurrency} at a time…");
    } else {
        println!(
            "placing {calls} calls, {concurrency} at a time, each caller pausing {pause:?} on average before each answer…"
        );
    }
    let cpu_before = pid.and_then(crate::loadtest::cpu_time);
    let report = crate::loadtest::run(&phone, line, calls, concurrency, false, 0).await;
    println!("{}", report.summary());
    if let (Some(before), Some(after)) = (cpu_before, pid.and_then(crate::loadtest::cpu_time)) {
        let used = after.saturating_sub(before);
        println!(
            "server CPU: {:.0} µs per webhook ({:.2} s in all){}",
            report.per_webhook(used).as_secs_f64() * 1e6,
            used.as_secs_f64(),
            if server.is_some() { " (in-process: includes the load generator)" } else { "" }
        );
    }
    if let Some((hwm, rss)) = pid.and_then(crate::loadtest::memory_kib) {
        println!(
            "server memory: peak {} MiB, now {} MiB{}",
            hwm / 1024,
            rss / 1024,
            if server.is_some() { " (in-process: includes the load generator)" } else { "" }
        );
    }
    if let Some(server) = server {
        server.stop().await;
    }
    anyhow::ensure!(report.errors == 0, "{} calls failed", report.errors);
    Ok(())
}

async fn purge_now(settings: &Settings) -> anyhow::Result<()> {
    let (flows, _) = load_flows(settings).map_err(|errors| {
        anyhow::anyhow!(errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))
    })?;
    let store = crate::store::Store::open(&settings.database)?;
    let purged = crate::app::purge(&store, &flows, settings.retention_days, chrono::Utc::now()).await?;
    println!(
        "anonymised {} calls and {} closed requests, deleted {} step records (older than {} days)",
        purged.calls, purged.requests, purged.events, settings.retention_days
    );
    Ok(())
}

/// `VACUUM INTO` reads one consistent snapshot (WAL readers never block the writer) and
/// writes a compact copy; the copy is then checked.
fn backup(settings: &Settings, file: &std::path::Path) -> anyhow::Result<()> {
    anyhow::ensure!(!file.exists(), "{} exists already: choose a new name", file.display());
    anyhow::ensure!(settings.database.exists(), "no database at {}", settings.database.display());
    let conn = rusqlite::Connection::open_with_flags(
        &settings.database,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    let target = file.to_str().ok_or_else(|| anyhow::anyhow!("the file name is not valid UTF-8"))?;
    conn.execute("VACUUM INTO ?1", [target])?;
    let copy = rusqlite::Connection::open_with_flags(file, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let check: String = copy.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    anyhow::ensure!(check == "ok", "the copy fails its integrity check: {check}");
    let calls: i64 = copy.query_row("SELECT count(*) FROM calls", [], |r| r.get(0))?;
    let requests: i64 = copy.query_row("SELECT count(*) FROM callback_requests", [], |r| r.get(0))?;
    println!("backed up to {} ({calls} calls, {requests} callback requests; integrity ok)", file.display());
    Ok(())
}
