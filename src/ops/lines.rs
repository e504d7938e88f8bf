//! The lines a server answers, and the end of a line's service: a supervisor (or the
//! operator) ends a line, from now or from a date; its callers then hear the end-of-service
//! message its flow declares, and nothing else, while the agents go on working its open
//! requests. Reopening (a second wave) restores the menus. Both take effect on the next
//! call, whoever made them (the service or the command line, which share the database),
//! and both are in the line's audit log.

use chrono::{DateTime, NaiveDate, TimeZone as _, Utc};

use super::agents::Manager;
use super::{Error, Ops, Result, change};
use crate::store::lines::{self as rows, Change};

/// Where a line's service is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// Callers hear the menus.
    Open,
    /// It ends at this time (set ahead of time).
    Ends(DateTime<Utc>),
    /// It has ended since this time: callers hear the end-of-service message.
    Ended(DateTime<Utc>),
}

/// A line as the console and the command line list it.
#[derive(Debug, Clone)]
pub struct Line {
    /// Its id (the flow file's stem).
    pub id: String,
    /// Its name.
    pub name: String,
    /// The numbers it answers.
    pub numbers: Vec<String>,
    /// Its languages.
    pub languages: Vec<String>,
    /// Its service.
    pub service: Service,
    /// Whether its flow declares an end-of-service message (needed to end it).
    pub can_end: bool,
    /// Ends and reopenings, oldest first.
    pub history: Vec<Change>,
    /// The notice set before its menus, whatever its period.
    pub notice: Option<rows::Notice>,
    /// Its hours, time zone and holidays.
    pub schedule: crate::flow::hours::Schedule,
}

/// Line `id`'s flow, if `manager` works on it: another line is no line, as an unknown one.
async fn flow_for(ops: &Ops, manager: Manager, id: &str) -> Result<std::sync::Arc<crate::flow::Flow>> {
    let mine = manager.lines(ops).await?;
    ops.flows().get(id).filter(|_| mine.covers(id)).cloned().ok_or(Error::NoSuchLine)
}

/// Line `id`'s flow, for `manager` to try from the console.
///
/// # Errors
/// [`Error::NoSuchLine`] for a line they do not manage; the database's failure.
pub async fn to_try(ops: &Ops, manager: Manager, id: &str) -> Result<std::sync::Arc<crate::flow::Flow>> {
    flow_for(ops, manager, id).await
}

/// The lines `actor` works on, (id, name), the default line first: the lines a console
/// page about one line offers, the first being the one it shows unless told.
///
/// # Errors
/// The database's failure.
pub async fn worked_on(ops: &Ops, actor: super::Actor) -> Result<Vec<(String, String)>> {
    let mine = ops.store.read(move |c| super::lines_of(c, actor)).await?;
    let flows = ops.flows();
    let default = flows.default_line().id.clone();
    let mut out: Vec<(String, String)> = flows
        .iter()
        .filter(|f| mine.covers(&f.id))
        .map(|f| (f.id.clone(), f.file.line.name.clone()))
        .collect();
    out.sort_by_key(|(id, _)| *id != default);
    Ok(out)
}

fn by(manager: Manager) -> Option<crate::domain::AgentId> {
    match manager {
        Manager::Supervisor(s) => Some(s.id()),
        Manager::Operator => None,
    }
}

/// Every line of the flows in force, with its service.
///
/// # Errors
/// The database's failure.
pub async fn list(ops: &Ops, by: Manager) -> Result<Vec<Line>> {
    let (flows, now) = (ops.flows(), ops.now());
    let mine = by.lines(ops).await?;
    let lines = ops
        .store
        .read(move |c| {
            let ends = rows::ends(c)?;
            flows
                .iter()
                .filter(|f| mine.covers(&f.id))
                .map(|f| {
                    let service = match ends.iter().find(|(l, _)| *l == f.id) {
                        Some((_, at)) if *at <= now => Service::Ended(*at),
                        Some((_, at)) => Service::Ends(*at),
                        None => Service::Open,
                    };
                    Ok(Line {
                        id: f.id.clone(),
                        name: f.file.line.name.clone(),
                        numbers: f.numbers.iter().map(|n| n.as_str().to_owned()).collect(),
                        languages: f.languages.clone(),
                        service,
                        can_end: f.end_of_service().is_some(),
                        history: rows::history(c, &f.id)?,
                        notice: rows::notice(c, &f.id)?,
                        schedule: f.schedule.clone(),
                    })
                })
                .collect::<Result<Vec<_>, crate::store::StoreError>>()
        })
        .await?;
    Ok(lines)
}

/// Ends line `id` from the start of day `from` in the line's time zone, or now.
///
/// # Errors
/// [`Error::Invalid`] for an unknown line or one whose flow declares no end-of-service
/// message, the database's failure.
pub async fn end(ops: &Ops, manager: Manager, id: &str, from: Option<NaiveDate>) -> Result<DateTime<Utc>> {
    let flow = flow_for(ops, manager, id).await?;
    if flow.end_of_service().is_none() {
        return Err(Error::Invalid(format!(
            "line `{id}` declares no end-of-service message ([line.end_of_service] in its flow): callers would hear nothing"
        )));
    }
    let now = ops.now();
    let at = from.and_then(|day| day_start(ops, id, day)).unwrap_or(now);
    let (line, who) = (id.to_owned(), by(manager));
    change(ops, move |c| Ok(rows::end(c, &line, at, who, now)?)).await?;
    tracing::info!(line = %id, from = %at, "line's service ends");
    Ok(at)
}

/// Reopens line `id`: its menus are back on the next call.
///
/// # Errors
/// [`Error::Invalid`] for an unknown line or one that had not ended, the database's
/// failure.
pub async fn reopen(ops: &Ops, manager: Manager, id: &str) -> Result<()> {
    flow_for(ops, manager, id).await?;
    let (line, who, now) = (id.to_owned(), by(manager), ops.now());
    let reopened = change(ops, move |c| Ok(rows::reopen(c, &line, who, now)?)).await?;
    if !reopened {
        return Err(Error::Invalid(format!("line `{id}` has not ended")));
    }
    tracing::info!(line = %id, "line reopened");
    Ok(())
}

/// Longest notice, in characters per language: a few seconds before the menu.
pub const MAX_NOTICE: usize = 300;

/// Puts a notice before line `id`'s menus from the start of day `from` (or now) until the
/// start of day `until`, in the line's time zone: one text for every language of the line.
///
/// # Errors
/// [`Error::Invalid`] for an unknown line, a language missing or not the line's, a text
/// empty or too long, a period that ends before it starts; the database's failure.
pub async fn set_notice(
    ops: &Ops,
    manager: Manager,
    id: &str,
    texts: std::collections::BTreeMap<String, String>,
    from: Option<NaiveDate>,
    until: NaiveDate,
) -> Result<DateTime<Utc>> {
    let flow = flow_for(ops, manager, id).await?;
    for lang in texts.keys() {
        if !flow.languages.contains(lang) {
            return Err(Error::Invalid(format!(
                "`{lang}` is not a language of line `{id}` ({})",
                flow.languages.join(", ")
            )));
        }
    }
    for lang in &flow.languages {
        let text = texts.get(lang).map_or("", |t| t.trim());
        if text.is_empty() {
            return Err(Error::Invalid(format!(
                "the notice needs a text in `{lang}`: every caller hears it in every language"
            )));
        }
        if text.chars().count() > MAX_NOTICE {
            return Err(Error::Invalid(format!(
                "the `{lang}` text is over {MAX_NOTICE} characters: keep it to a few seconds"
            )));
        }
    }
    let now = ops.now();
    let starts_at = from.and_then(|d| day_start(ops, id, d)).unwrap_or(now);
    let until = day_start(ops, id, until).ok_or_else(|| Error::Invalid(format!("no line `{id}`")))?;
    if until <= starts_at {
        return Err(Error::Invalid("the notice ends before it starts".to_owned()));
    }
    let texts = texts.into_iter().map(|(l, t)| (l, t.trim().to_owned())).collect();
    let notice = rows::Notice { texts, starts_at, ends_at: until };
    let (line, who) = (id.to_owned(), by(manager));
    change(ops, move |c| Ok(rows::set_notice(c, &line, &notice, who, now)?)).await?;
    Ok(until)
}

/// Removes line `id`'s notice.
///
/// # Errors
/// [`Error::Invalid`] for an unknown line or one without a notice; the database's failure.
pub async fn clear_notice(ops: &Ops, manager: Manager, id: &str) -> Result<()> {
    flow_for(ops, manager, id).await?;
    let (line, who, now) = (id.to_owned(), by(manager), ops.now());
    if change(ops, move |c| Ok(rows::clear_notice(c, &line, who, now)?)).await? {
        Ok(())
    } else {
        Err(Error::Invalid(format!("line `{id}` has no notice")))
    }
}

/// The start of day `day` in the time zone of line `id` (or `None` for an unknown line).
fn day_start(ops: &Ops, id: &str, day: NaiveDate) -> Option<DateTime<Utc>> {
    let tz = ops.flows().get(id)?.schedule.timezone();
    day.and_hms_opt(0, 0, 0)
        .and_then(|midnight| tz.from_local_datetime(&midnight).earliest())
        .map(|t| t.with_timezone(&Utc))
}

/// What the picture of a line's menus needs: its flow in force, the problems of its file
/// as it is now on disk (a change that does not validate is not in force), and where its
/// callers hung up in the menus over the last 30 days.
#[derive(Debug, Clone)]
pub struct Picture {
    /// The flow in force.
    pub flow: std::sync::Arc<crate::flow::Flow>,
    /// The file's problems, by line and column (none when it validates).
    pub problems: Vec<crate::flow::FlowError>,
    /// Calls that hung up in the menus, by node, most first.
    pub hangups: Vec<(String, i64)>,
}

/// Line `id`'s [`Picture`], when `manager` works on it.
///
/// # Errors
/// [`Error::NoSuchLine`]; the database's failure.
pub async fn picture(ops: &Ops, manager: Manager, id: &str) -> Result<Picture> {
    let flow = flow_for(ops, manager, id).await?;
    let path = flow.path.clone();
    let problems = tokio::task::spawn_blocking(move || match path.parent() {
        Some(dir) if path.exists() => match crate::flow::load::load_dir_quick(dir) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.into_iter().filter(|e| e.path == path).collect(),
        },
        _ => Vec::new(),
    })
    .await
    .unwrap_or_default();
    let (line, since) = (flow.id.clone(), ops.now() - chrono::Duration::days(30));
    let hangups = ops.store.read(move |c| crate::store::reports::hangups_by_node(c, &line, since)).await?;
    Ok(Picture { flow, problems, hangups })
}

/// Changes the words of prompt `prompt` in `language` on line `id`, in its flow file (see
/// [`crate::flow::edit`]), and puts the flows in force at once (the next call hears it).
///
/// # Errors
/// [`Error::NoSuchLine`]; [`Error::Invalid`] for an empty text, an unknown prompt or
/// language, a flow bundled in the program (no file to edit), or a change the flows'
/// check refuses (with every problem, by file, line and column); nothing is changed then.
pub async fn set_prompt_text(
    ops: &Ops,
    manager: Manager,
    id: &str,
    language: &str,
    prompt: &str,
    text: &str,
) -> Result<()> {
    let flow = flow_for(ops, manager, id).await?;
    let text = text.trim().replace("\r\n", "\n");
    if text.is_empty() {
        return Err(Error::Invalid("a prompt cannot be silent: give its words".to_owned()));
    }
    if !flow.languages.iter().any(|l| l == language) || !flow.file.prompts.contains_key(prompt) {
        return Err(Error::Invalid(format!("line {id} has no prompt {prompt} in {language}")));
    }
    if !flow.path.is_file() {
        return Err(Error::Invalid(
            "this line's flow is the one bundled in the program: start the service with a flows folder to edit it"
                .to_owned(),
        ));
    }
    let (path, language, prompt) = (flow.path.clone(), language.to_owned(), prompt.to_owned());
    let written = tokio::task::spawn_blocking(move || {
        crate::flow::edit::set_prompt_text(&path, &prompt, &language, &text)
    })
    .await
    .map_err(|e| Error::Invalid(e.to_string()))?;
    match written {
        Ok(flows) => {
            ops.replace_flows(flows);
            Ok(())
        }
        Err(problems) => {
            Err(Error::Invalid(problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")))
        }
    }
}
