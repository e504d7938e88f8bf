//! Statistics: the daily (and hourly) figures supervisors export for the council, from
//! the console, the API or the command line. Counts only, no personal data.

use super::agents::Manager;
use super::{Error, Ops, Result};
use crate::flow::Flows;
use crate::stats::{self, Report, Request};

/// The figures `request` asks for, by the lines' calendars. A line is named by its id or
/// one of its numbers; without one, an account of some lines gets its first line's
/// figures, and the operator or an account of every line gets every line's.
///
/// # Errors
/// [`Error::NoSuchLine`] for an unknown line or one `by` does not work on; the database's
/// failure.
pub async fn daily(
    ops: &Ops,
    by: Manager,
    flows: &Flows,
    service_level_hours: u32,
    request: &Request,
) -> Result<Report> {
    let mine = by.lines(ops).await?;
    let mut request = request.clone();
    request.line = match request.line.as_deref() {
        Some(named) => {
            let flow = flows.named(named).filter(|f| mine.covers(&f.id)).ok_or(Error::NoSuchLine)?;
            Some(flow.id.clone())
        }
        None => mine.named().and_then(|lines| lines.first().cloned()),
    };
    let query = request.query(flows, service_level_hours, ops.now());
    Ok(ops.store.read(move |c| stats::compute(c, &query)).await?)
}
