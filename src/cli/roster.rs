//! `solidaire volunteers …`: the roster at the server's command line, as the operator,
//! through the same use-cases as the console and the API ([`crate::ops::volunteers`]).
//! `import` reads a city's existing list (CSV); `export` writes the roster as CSV for
//! the coordinators, the only place numbers appear in full.

use std::io::Write;
use std::path::PathBuf;

use clap::Subcommand;

use crate::domain::volunteers::{Entry, Volunteer, VolunteerId, split_list};
use crate::ops::volunteers::{self, Change, Door};
use crate::phone::mask;
use crate::settings::Settings;
use crate::store::time;
use crate::store::volunteers::RosterFilter;

#[derive(Debug, Subcommand)]
pub(super) enum VolunteersCommand {
    /// Add a volunteer (active at once).
    Add {
        /// Their name.
        name: String,
        /// Their phone number (national or +international).
        #[arg(long)]
        phone: String,
        /// The postcode they live in.
        #[arg(long)]
        postcode: String,
        /// A section of the postcode (Wandre, Bressoux…).
        #[arg(long)]
        section: Option<String>,
        /// Kinds of help, ids of the line's `[line.helps]` (a,b).
        #[arg(long, default_value = "")]
        helps: String,
        /// Languages (fr,nl); the line's first by default.
        #[arg(long, default_value = "")]
        languages: String,
        /// How far they go, km (the line's default otherwise).
        #[arg(long)]
        radius_km: Option<f64>,
        /// When they can help (`mon 09:00-12:00; sat 10:00-18:00`); any hour otherwise.
        #[arg(long, default_value = "")]
        availability: String,
        /// Missions a week at most (3).
        #[arg(long)]
        weekly_max: Option<u32>,
        /// How they agreed to be on the roster (`paper form`, `e-mail`).
        #[arg(long)]
        consent: Option<String>,
        /// The line (flow id); the default line otherwise.
        #[arg(long)]
        line: Option<String>,
    },
    /// List the roster.
    List {
        /// `text` or `json`.
        #[arg(long, default_value = "text")]
        format: String,
        /// Only this postcode.
        #[arg(long)]
        postcode: Option<String>,
        /// Only those offering this kind of help (an id of `[line.helps]`).
        #[arg(long, value_name = "HELP")]
        kind: Option<String>,
    },
    /// Change a volunteer's record: only the fields given change.
    Edit {
        /// The volunteer's number.
        id: i64,
        /// Their name.
        #[arg(long)]
        name: Option<String>,
        /// Their phone number.
        #[arg(long)]
        phone: Option<String>,
        /// The postcode they live in.
        #[arg(long)]
        postcode: Option<String>,
        /// A section of the postcode.
        #[arg(long)]
        section: Option<String>,
        /// Kinds of help (a,b).
        #[arg(long)]
        helps: Option<String>,
        /// Languages (fr,nl).
        #[arg(long)]
        languages: Option<String>,
        /// When they can help; "" for any hour.
        #[arg(long)]
        availability: Option<String>,
        /// How far they go, km.
        #[arg(long)]
        radius_km: Option<f64>,
        /// Missions a week at most.
        #[arg(long)]
        weekly_max: Option<u32>,
    },
    /// Confirm a volunteer who signed up by phone.
    Confirm {
        /// The volunteer's number.
        id: i64,
    },
    /// Pause a volunteer (no missions until resumed).
    Pause {
        /// The volunteer's number.
        id: i64,
    },
    /// Resume a paused volunteer.
    Resume {
        /// The volunteer's number.
        id: i64,
    },
    /// Record that a volunteer left (the retention purges their number).
    Leave {
        /// The volunteer's number.
        id: i64,
    },
    /// Add a city's existing list: CSV with a header row naming the columns `name`,
    /// `phone`, `postcode` and optionally `section`, `helps`, `languages` (lists separated
    /// by `,` or `;`), `radius_km`, `availability`, `weekly_max`, `consent`, `notes`. Every
    /// row is checked; with any row refused nothing is added (unless --skip-refused).
    Import {
        /// The CSV file.
        file: PathBuf,
        /// The line (flow id); the default line otherwise.
        #[arg(long)]
        line: Option<String>,
        /// Add the good rows even when some are refused.
        #[arg(long)]
        skip_refused: bool,
    },
    /// Write the roster as CSV on standard output, numbers in full (for the coordinators).
    Export,
    /// Give a volunteer the account (role `volunteer`) they log in with.
    Link {
        /// The volunteer's number.
        id: i64,
        /// The account's login.
        login: String,
    },
}

fn lists(text: &str) -> Vec<String> {
    split_list(&text.replace(';', ","))
}

pub(super) async fn manage(settings: &Settings, command: VolunteersCommand) -> anyhow::Result<()> {
    let ops = super::admin::ops(settings)?;
    let door = Door::Operator;
    let change = |id: i64, what: Change| {
        let ops = ops.clone();
        async move {
            let state = volunteers::set(&ops, door, VolunteerId(id), what).await?;
            println!("volunteer {id}: {state}");
            anyhow::Ok(())
        }
    };
    match command {
        VolunteersCommand::Add {
            name,
            phone,
            postcode,
            section,
            helps,
            languages,
            radius_km,
            availability,
            weekly_max,
            consent,
            line,
        } => {
            let entry = Entry {
                name,
                phone,
                postcode,
                section,
                helps: lists(&helps),
                languages: lists(&languages),
                availability,
                radius_km,
                weekly_max,
                consent_how: consent,
                notes: String::new(),
            };
            let id = volunteers::add(&ops, door, line.as_deref(), entry).await?;
            println!("added volunteer {id}");
        }
        VolunteersCommand::List { format, postcode, kind } => {
            let filter = RosterFilter { postcode, help: kind, ..RosterFilter::default() };
            let roster = volunteers::list(&ops, door, filter).await?;
            match format.as_str() {
                "json" => {
                    let all: Vec<_> = roster.iter().map(crate::web::roster::volunteer_json).collect();
                    println!("{}", serde_json::to_string_pretty(&serde_json::json!({ "volunteers": all }))?);
                }
                "text" => {
                    for v in &roster {
                        println!(
                            "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                            v.id,
                            v.display_name(),
                            v.phone.as_deref().map(mask).unwrap_or_default(),
                            v.profile.postcode,
                            v.profile.helps.join(","),
                            v.state,
                            if v.on_duty { "on duty" } else { "off duty" }
                        );
                    }
                }
                other => anyhow::bail!("unknown format `{other}` (text or json)"),
            }
        }
        VolunteersCommand::Edit {
            id,
            name,
            phone,
            postcode,
            section,
            helps,
            languages,
            availability,
            radius_km,
            weekly_max,
        } => {
            let edit = crate::domain::volunteers::Edit {
                name,
                phone,
                postcode,
                section,
                helps: helps.as_deref().map(lists),
                languages: languages.as_deref().map(lists),
                availability,
                radius_km,
                weekly_max,
                notes: None,
            };
            volunteers::edit(&ops, door, VolunteerId(id), edit).await?;
            println!("volunteer {id} changed");
        }
        VolunteersCommand::Confirm { id } => change(id, Change::Confirm).await?,
        VolunteersCommand::Pause { id } => change(id, Change::Pause).await?,
        VolunteersCommand::Resume { id } => change(id, Change::Resume).await?,
        VolunteersCommand::Leave { id } => change(id, Change::Leave).await?,
        VolunteersCommand::Import { file, line, skip_refused } => {
            let rows = read_csv(&file)?;
            let total = rows.len();
            let report = volunteers::import(&ops, door, line.as_deref(), rows, skip_refused).await?;
            for (row, why) in &report.refused {
                eprintln!("{}: row {row}: {why}", file.display());
            }
            if !report.refused.is_empty() && !skip_refused {
                anyhow::bail!(
                    "{} of {total} row(s) refused: nothing imported (fix them, or use --skip-refused)",
                    report.refused.len()
                );
            }
            println!("imported {} of {total} row(s)", report.added.len());
        }
        VolunteersCommand::Export => {
            let roster = volunteers::list(&ops, door, RosterFilter::default()).await?;
            export(&roster, std::io::stdout().lock())?;
        }
        VolunteersCommand::Link { id, login } => {
            volunteers::link_account(&ops, door, VolunteerId(id), &login).await?;
            println!("volunteer {id} logs in as {login}");
        }
    }
    Ok(())
}

/// Reads the rows of a city's list, numbered as in the file (the header is row 1).
fn read_csv(file: &std::path::Path) -> anyhow::Result<Vec<(usize, Entry)>> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_path(file)
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let headers: Vec<String> = reader.headers()?.iter().map(str::to_ascii_lowercase).collect();
    for needed in ["name", "phone", "postcode"] {
        anyhow::ensure!(
            headers.iter().any(|h| h == needed),
            "{}: no `{needed}` column in the header",
            file.display()
        );
    }
    let known = [
        "name",
        "phone",
        "postcode",
        "section",
        "helps",
        "languages",
        "radius_km",
        "availability",
        "weekly_max",
        "consent",
        "notes",
    ];
    if let Some(unknown) = headers.iter().find(|h| !known.contains(&h.as_str())) {
        anyhow::bail!("{}: unknown column `{unknown}` (known: {})", file.display(), known.join(", "));
    }
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| anyhow::anyhow!("{}: row {}: {e}", file.display(), i + 2))?;
        let cell = |name: &str| {
            headers.iter().position(|h| h == name).and_then(|p| record.get(p)).unwrap_or_default().to_owned()
        };
        let number =
            |name: &str| -> anyhow::Result<Option<String>> { Ok(Some(cell(name)).filter(|c| !c.is_empty())) };
        let radius_km = number("radius_km")?
            .map(|c| c.replace(',', ".").parse::<f64>())
            .transpose()
            .map_err(|_| anyhow::anyhow!("{}: row {}: radius_km is not a number", file.display(), i + 2))?;
        let weekly_max = number("weekly_max")?.map(|c| c.parse::<u32>()).transpose().map_err(|_| {
            anyhow::anyhow!("{}: row {}: weekly_max is not a whole number", file.display(), i + 2)
        })?;
        let entry = Entry {
            name: cell("name"),
            phone: cell("phone"),
            postcode: cell("postcode"),
            section: Some(cell("section")).filter(|s| !s.is_empty()),
            helps: lists(&cell("helps")),
            languages: lists(&cell("languages")),
            availability: cell("availability"),
            radius_km,
            weekly_max,
            consent_how: Some(cell("consent")).filter(|s| !s.is_empty()),
            notes: cell("notes"),
        };
        rows.push((i + 2, entry));
    }
    Ok(rows)
}

/// The roster as CSV, numbers in full.
fn export(roster: &[Volunteer], out: impl Write) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "id",
        "line",
        "name",
        "phone",
        "postcode",
        "section",
        "helps",
        "languages",
        "availability",
        "radius_km",
        "weekly_max",
        "on_duty",
        "state",
        "consent_at",
        "consent",
        "notes",
        "created_at",
    ])?;
    for v in roster {
        let p = &v.profile;
        w.write_record([
            v.id.to_string(),
            v.line.clone(),
            v.name.clone(),
            v.phone.clone().unwrap_or_default(),
            p.postcode.clone(),
            p.section.clone().unwrap_or_default(),
            p.helps.join(","),
            p.languages.join(","),
            p.availability.to_string(),
            p.radius_km.to_string(),
            p.weekly_max.to_string(),
            v.on_duty.to_string(),
            v.state.to_string(),
            v.consent.as_ref().map(|(at, _)| time::format(*at)).unwrap_or_default(),
            v.consent.as_ref().map(|(_, how)| how.clone()).unwrap_or_default(),
            v.notes.clone(),
            time::format(v.created_at),
        ])?;
    }
    w.flush()?;
    Ok(())
}
