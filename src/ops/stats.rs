//! Statistics: the daily (and hourly) figures supervisors export for the council, from
//! the console, the API or the command line. Counts only, no personal data.

use super::agents::Manager;
use super::{Ops, Result};
use crate::flow::Flows;
use crate::stats::{self, Report, Request};

/// The figures `request` asks for, by the lines' calendars.
///
/// # Errors
/// The database's failure.
pub async fn daily(
    ops: &Ops,
    _by: Manager,
    flows: &Flows,
    service_level_hours: u32,
    request: &Request,
) -> Result<Report> {
    let query = request.query(flows, service_level_hours, ops.now());
    Ok(ops.store.read(move |c| stats::compute(c, &query)).await?)
}
