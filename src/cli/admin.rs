//! The operator's commands on the database: accounts (`agents`), statistics (`stats`),
//! the retention purge (`purge`) and a consistent copy (`backup`). Accounts and
//! statistics go through the same use-cases as the console and the API
//! ([`crate::ops`]), as the operator ([`Manager::Operator`]).

use std::io::BufRead;
use std::sync::Arc;

use clap::Subcommand;

use crate::app::load_flows;
use crate::clock::SystemClock;
use crate::ops::Ops;
use crate::ops::agents::{self, Manager};
use crate::settings::Settings;
use crate::store::Store;

#[derive(Debug, Subcommand)]
pub(super) enum AgentsCommand {
    /// Add an account; the password is read from standard input.
    Add {
        /// Login name (letters, digits, `.`, `_`, `-`).
        login: String,
        /// `agent`, `supervisor`, `coordinator`, `volunteer`, or `admin` (every line).
        #[arg(long, default_value = "agent")]
        role: String,
        /// The lines the account works on (herstal,liege): needed on a server with
        /// several lines, except for an administrator.
        #[arg(long, value_name = "LINES")]
        lines: Option<String>,
        /// For a coordinator: the postcodes they handle as a referent (4020,4030); all
        /// postcodes otherwise.
        #[arg(long, value_name = "CODES")]
        postcodes: Option<String>,
        /// For a coordinator of one line: the neighbourhoods of its `[line.neighbourhoods]`
        /// whose requests are theirs first (maille,mercure).
        #[arg(long, value_name = "IDS")]
        neighbourhoods: Option<String>,
        /// For a volunteer's account: the volunteer's number in the roster.
        #[arg(long, value_name = "ID")]
        volunteer: Option<i64>,
        /// The phone the line rings for this account's click-to-call (never shown to a
        /// resident).
        #[arg(long, value_name = "NUMBER")]
        phone: Option<String>,
    },
    /// Set the phone the line rings for an account's click-to-call (`none` removes it).
    Phone {
        /// Login name.
        login: String,
        /// The number, or `none`.
        number: String,
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
pub(super) enum LinesCommand {
    /// Every line, its numbers and its service (open, ends, ended), with who changed it.
    List,
    /// End a line's service: its callers hear its end-of-service message (on the next
    /// call, also while the service runs). Open requests stay workable.
    End {
        /// The line's id (its flow file's name).
        line: String,
        /// From the start of this day in the line's time zone (YYYY-MM-DD) instead of now.
        #[arg(long, value_name = "DATE")]
        from: Option<chrono::NaiveDate>,
    },
    /// Reopen a line whose service ended: its menus are back on the next call.
    Reopen {
        /// The line's id.
        line: String,
    },
    /// Put a short notice before the line's menus for a period, one text per language
    /// (`--text fr="…" --text nl="…"`); `--remove` takes it away.
    Notice {
        /// The line's id.
        line: String,
        /// `LANG=TEXT`, once for each language of the line.
        #[arg(long = "text", value_name = "LANG=TEXT")]
        texts: Vec<String>,
        /// From the start of this day (default: now).
        #[arg(long, value_name = "DATE")]
        from: Option<chrono::NaiveDate>,
        /// Until the start of this day (required with texts).
        #[arg(long, value_name = "DATE")]
        until: Option<chrono::NaiveDate>,
        /// Remove the line's notice.
        #[arg(long, conflicts_with_all = ["texts", "from", "until"])]
        remove: bool,
    },
}

/// A use-case's refusal for the operator; an unknown line named, with the lines there are.
fn named(ops: &crate::ops::Ops, line: &str, e: crate::ops::Error) -> anyhow::Error {
    match e {
        crate::ops::Error::NoSuchLine => {
            let known: Vec<String> = ops.flows().iter().map(|f| f.id.clone()).collect();
            anyhow::anyhow!("no line `{line}` (lines: {})", known.join(", "))
        }
        other => other.into(),
    }
}

pub(super) async fn manage_lines(settings: &Settings, command: LinesCommand) -> anyhow::Result<()> {
    use crate::ops::lines::{self, Service};
    let ops = ops(settings)?;
    let by = Manager::Operator;
    match command {
        LinesCommand::List => {
            for line in lines::list(&ops, by).await? {
                let service = match line.service {
                    Service::Open => "open".to_owned(),
                    Service::Ends(at) => format!("ends {}", crate::store::time::format(at)),
                    Service::Ended(at) => format!("ended since {}", crate::store::time::format(at)),
                };
                println!("{}\t{}\t{}\t{service}", line.id, line.name, line.numbers.join(","));
                for change in &line.history {
                    let who = change.login.as_deref().unwrap_or("the command line");
                    println!(
                        "\t{} {} by {who} {}",
                        crate::store::time::format(change.at),
                        change.action,
                        change.detail
                    );
                }
            }
        }
        LinesCommand::End { line, from } => {
            let at = lines::end(&ops, by, &line, from).await.map_err(|e| named(&ops, &line, e))?;
            println!(
                "line {line} ends from {}: its callers hear its end-of-service message",
                crate::store::time::format(at)
            );
        }
        LinesCommand::Reopen { line } => {
            lines::reopen(&ops, by, &line).await.map_err(|e| named(&ops, &line, e))?;
            println!("line {line} reopened: its menus are back on the next call");
        }
        LinesCommand::Notice { line, remove: true, .. } => {
            lines::clear_notice(&ops, by, &line).await.map_err(|e| named(&ops, &line, e))?;
            println!("line {line}: notice removed");
        }
        LinesCommand::Notice { line, texts, from, until, remove: false } => {
            let mut by_language = std::collections::BTreeMap::new();
            for t in &texts {
                let (lang, text) =
                    t.split_once('=').ok_or_else(|| anyhow::anyhow!("--text `{t}`: write LANG=TEXT"))?;
                by_language.insert(lang.trim().to_owned(), text.to_owned());
            }
            let until =
                until.ok_or_else(|| anyhow::anyhow!("--until DATE is required: a notice is for a period"))?;
            let until = lines::set_notice(&ops, by, &line, by_language, from, until)
                .await
                .map_err(|e| named(&ops, &line, e))?;
            println!(
                "line {line}: the notice is said before the menus until {}",
                crate::store::time::format(until)
            );
        }
    }
    Ok(())
}

/// The use-cases over the configured database, on the system clock.
pub(super) fn ops(settings: &Settings) -> anyhow::Result<Ops> {
    let store = Store::open_with(&settings.database, settings.checkpoints)?;
    let lease = chrono::Duration::minutes(i64::from(settings.lease_minutes));
    let (flows, _) = load_flows(settings).map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        anyhow::anyhow!("invalid flows:\n{}", lines.join("\n"))
    })?;
    Ok(Ops::new(store, Arc::new(SystemClock), lease, crate::flow::InForce::new(flows)))
}

fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let password = line.trim_end_matches(['\n', '\r']).to_owned();
    anyhow::ensure!(!password.is_empty(), "give the password on standard input");
    Ok(password)
}

pub(super) async fn manage_agents(settings: &Settings, command: AgentsCommand) -> anyhow::Result<()> {
    let ops = ops(settings)?;
    let by = Manager::Operator;
    match command {
        AgentsCommand::Add { login, role, lines, postcodes, neighbourhoods, volunteer, phone } => {
            anyhow::ensure!(postcodes.is_none() || role == "coordinator", "--postcodes is for a coordinator");
            anyhow::ensure!(
                neighbourhoods.is_none() || role == "coordinator",
                "--neighbourhoods is for a coordinator"
            );
            anyhow::ensure!(
                volunteer.is_none() || role == "volunteer",
                "--volunteer is for a volunteer's account"
            );
            let list = |l: Option<&str>| l.map(crate::domain::volunteers::split_list).unwrap_or_default();
            let lines = list(lines.as_deref());
            // Checked before the account exists: a referent never starts with everything.
            let referent = agents::Referent {
                postcodes: list(postcodes.as_deref()),
                neighbourhoods: list(neighbourhoods.as_deref()),
            };
            let scope: Vec<String> =
                referent.postcodes.iter().chain(&referent.neighbourhoods).cloned().collect();
            let password = read_password()?;
            agents::add(&ops, by, &login, &role, password, phone.as_deref(), &lines, referent)
                .await
                .map_err(|e| match e {
                    crate::ops::Error::Field(f) => anyhow::anyhow!("--{}: {}", f.field, f.problem),
                    other => other.into(),
                })?;
            let login = login.trim();
            if scope.is_empty() {
                println!("added {login} ({role})");
            } else {
                println!("added {login} ({role} of {})", scope.join(", "));
            }
            if let Some(id) = volunteer {
                let door = crate::ops::volunteers::Door::Operator;
                let id = crate::domain::volunteers::VolunteerId(id);
                crate::ops::volunteers::link_account(&ops, door, id, login).await?;
                println!("volunteer {id} logs in as {login}");
            }
        }
        AgentsCommand::Phone { login, number } => {
            let number = (number != "none").then_some(number);
            let shown = agents::set_phone(&ops, by, &login, number.as_deref()).await.map_err(|e| {
                if e.code() == "not_found" { anyhow::anyhow!("no account `{login}`") } else { e.into() }
            })?;
            match shown {
                Some(n) => println!("{login} is rung on {n} for click-to-call"),
                None => println!("{login} has no phone for click-to-call"),
            }
        }
        AgentsCommand::List => {
            for a in agents::list(&ops, by).await? {
                println!(
                    "{}\t{}\t{}\t{}",
                    a.agent.login,
                    a.agent.role.as_str(),
                    if a.agent.disabled { "disabled" } else { "active" },
                    if a.lines.is_empty() { "every line".to_owned() } else { a.lines.join(",") }
                );
            }
        }
        AgentsCommand::Disable { login } => {
            agents::disable(&ops, by, &login).await.map_err(|e| {
                if e.code() == "not_found" { anyhow::anyhow!("no account `{login}`") } else { e.into() }
            })?;
            println!("disabled {login}");
        }
        AgentsCommand::Token { login } => {
            let token = agents::issue_token(&ops, by, &login).await.map_err(|e| {
                if e.code() == "not_found" {
                    anyhow::anyhow!("no active account `{login}`")
                } else {
                    e.into()
                }
            })?;
            println!("{token}");
            eprintln!("This token is shown once; store it safely. Use it as: Authorization: Bearer <token>");
        }
    }
    Ok(())
}

fn flows_of(settings: &Settings) -> anyhow::Result<crate::flow::Flows> {
    let (flows, _) = load_flows(settings).map_err(|errors| {
        anyhow::anyhow!(errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))
    })?;
    Ok(flows)
}

pub(super) async fn export_stats(settings: &Settings, request: crate::stats::Request) -> anyhow::Result<()> {
    let flows = flows_of(settings)?;
    let report = crate::ops::stats::daily(
        &ops(settings)?,
        Manager::Operator,
        &flows,
        settings.service_level_hours,
        &request,
    )
    .await?;
    print!("{}", request.render(&report));
    Ok(())
}

pub(super) async fn purge_now(settings: &Settings) -> anyhow::Result<()> {
    let flows = flows_of(settings)?;
    let store = Store::open_with(&settings.database, settings.checkpoints)?;
    let purged = crate::app::purge(&store, &flows, settings.retention_days, chrono::Utc::now()).await?;
    println!(
        "anonymised {} calls and {} closed requests, deleted {} step records, removed the numbers of {} volunteers who left (older than {} days)",
        purged.calls, purged.requests, purged.events, purged.volunteers, settings.retention_days
    );
    Ok(())
}

pub(super) fn backup(settings: &Settings, file: &std::path::Path) -> anyhow::Result<()> {
    anyhow::ensure!(!file.exists(), "{} exists already: choose a new name", file.display());
    anyhow::ensure!(settings.database.exists(), "no database at {}", settings.database.display());
    let copy = crate::store::backup::copy(&settings.database, file)?;
    anyhow::ensure!(copy.integrity == "ok", "the copy fails its integrity check: {}", copy.integrity);
    println!(
        "backed up to {} ({} calls, {} callback requests; integrity ok)",
        file.display(),
        copy.calls,
        copy.requests
    );
    Ok(())
}
