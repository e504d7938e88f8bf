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
    /// Its service.
    pub service: Service,
    /// Whether its flow declares an end-of-service message (needed to end it).
    pub can_end: bool,
    /// Ends and reopenings, oldest first.
    pub history: Vec<Change>,
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
pub async fn list(ops: &Ops, _by: Manager) -> Result<Vec<Line>> {
    let (flows, now) = (ops.flows(), ops.now());
    let lines = ops
        .store
        .read(move |c| {
            let ends = rows::ends(c)?;
            flows
                .iter()
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
                        service,
                        can_end: f.end_of_service().is_some(),
                        history: rows::history(c, &f.id)?,
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
    let flows = ops.flows();
    let flow = flows.get(id).ok_or_else(|| Error::Invalid(format!("no line `{id}`")))?;
    if flow.end_of_service().is_none() {
        return Err(Error::Invalid(format!(
            "line `{id}` declares no end-of-service message ([line.end_of_service] in its flow): callers would hear nothing"
        )));
    }
    let now = ops.now();
    let tz = flow.schedule.timezone();
    let at = match from {
        None => now,
        Some(day) => day
            .and_hms_opt(0, 0, 0)
            .and_then(|midnight| tz.from_local_datetime(&midnight).earliest())
            .map_or(now, |t| t.with_timezone(&Utc)),
    };
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
    if ops.flows().get(id).is_none() {
        return Err(Error::Invalid(format!("no line `{id}`")));
    }
    let (line, who, now) = (id.to_owned(), by(manager), ops.now());
    let reopened = change(ops, move |c| Ok(rows::reopen(c, &line, who, now)?)).await?;
    if !reopened {
        return Err(Error::Invalid(format!("line `{id}` has not ended")));
    }
    tracing::info!(line = %id, "line reopened");
    Ok(())
}
