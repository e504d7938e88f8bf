//! The command line: `serve`, `flows check`, `sounds generate`, `stats`, `simulate`,
//! `loadtest`, `backup`, `purge`, `agents` and `volunteers`. Parses arguments, loads settings and calls
//! into the library ([`calls`] for the commands that place calls, [`admin`] for the
//! operator's, [`roster`] for the volunteers'); errors become a message and a non-zero exit.

mod admin;
mod calls;
mod roster;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::app::{Application, load_flows};
use crate::clock::SystemClock;
use crate::flow::load;
use crate::settings::{Flags, Settings};

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
        /// The provider placing the calls, in its own dialect and signature.
        #[arg(long, default_value = "twilio", value_parser = PROVIDERS)]
        provider: String,
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
        command: admin::AgentsCommand,
    },
    /// The volunteers' roster.
    Volunteers {
        #[command(subcommand)]
        command: roster::VolunteersCommand,
    },
    /// The lines this server answers: list them, end a line's service, reopen it.
    Lines {
        #[command(subcommand)]
        command: admin::LinesCommand,
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
        /// `caller`: call the line. `volunteer` (or `agent`): be the phone the line rings
        /// — the simulated provider's REST API answers the service's calls and rings
        /// this terminal.
        #[arg(long = "as", value_name = "WHO", default_value = "caller", value_parser = ["caller", "volunteer", "agent"])]
        who: String,
        /// With `--as volunteer`: where the simulated provider's REST API listens (the
        /// service's `twilio_api_url`, `telnyx_api_url` or `jambonz_api_url`).
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8089")]
        api: std::net::SocketAddr,
        /// The provider the call comes through, in its own dialect and signature (with
        /// `--as volunteer`: the provider whose REST API places the calls).
        #[arg(long, default_value = "twilio", value_parser = PROVIDERS)]
        provider: String,
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
/// The providers the simulated one can play (`simulate`, `loadtest`).
const PROVIDERS: [&str; 4] = ["twilio", "signalwire", "telnyx", "jambonz"];

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
        .with_writer(crate::logging::Escaping(std::io::stderr))
        // Colours would be escaped like any control character (and journald needs none).
        .with_ansi(false)
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
        Command::Simulate { line, from, url, who, api, provider } => {
            if who == "caller" {
                runtime.block_on(calls::simulate(settings, &line, &from, calls::Target { url, provider }))
            } else {
                runtime.block_on(calls::be_rung(settings, url, api, &provider))
            }
        }
        Command::Agents { command } => runtime.block_on(admin::manage_agents(&settings, command)),
        Command::Volunteers { command } => runtime.block_on(roster::manage(&settings, command)),
        Command::Lines { command } => runtime.block_on(admin::manage_lines(&settings, command)),
        Command::Purge => runtime.block_on(admin::purge_now(&settings)),
        Command::Backup { file } => admin::backup(&settings, &file),
        Command::Loadtest { url, calls, concurrency, line, pid, pause_ms, provider } => {
            runtime.block_on(calls::load_test(
                settings,
                calls::Target { url, provider },
                calls,
                concurrency,
                &line,
                pid,
                std::time::Duration::from_millis(pause_ms),
            ))
        }
        Command::Stats { date, to, line, hourly, format } => {
            match crate::stats::Request::parse(&date, to.as_deref(), line.as_deref(), hourly, Some(&format)) {
                Ok(request) => runtime.block_on(admin::export_stats(&settings, request)),
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
    let total = report.written.iter().fold(0.0, |sum, w| sum + w.1);
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
    let library = match Library::scan(root) {
        Ok(library) => library,
        Err(e) => {
            eprintln!("sounds folder {}: {e}", root.display());
            return 1;
        }
    };
    let found = findings(flows, &library);
    let mut stale = 0;
    let mut missing = Vec::new();
    for f in &found {
        match f {
            Finding::Stale { path, slot } => {
                stale += 1;
                eprintln!(
                    "{}: {}/{slot}.wav was not recorded for the prompt's current text: record it again, or run `solidaire sounds generate`",
                    path.display(),
                    root.display()
                );
            }
            Finding::Missing { slot } => missing.push(slot.clone()),
        }
    }
    for folder in library.misplaced() {
        stale += 1;
        eprintln!(
            "{}: recordings outside a line's folder are never played: move them to {}/<line>/{}/",
            folder.display(),
            root.display(),
            folder.file_name().map(|n| n.to_string_lossy()).unwrap_or_default()
        );
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

#[cfg(test)]
mod tests {
    #[test]
    fn every_command_line_is_well_formed() {
        // clap checks names and flags only when a command is parsed: check them all now.
        <super::Cli as clap::CommandFactory>::command().debug_assert();
    }
}
