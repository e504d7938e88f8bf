//! Statistics for supervisors: the export (`GET /api/stats/daily`) and the dashboard at
//! `/console/stats` (today so far, the last 30 days), charts drawn on the server.

use crate::i18n::{self, current, tr, trf};
use axum::Router;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{Duration, NaiveDate};
use maud::html;
use serde::Deserialize;

use super::charts::{Series, bars};
use super::errors::{ApiError, PageError};
use super::pages;
use super::session::{ApiSupervisor, ConsoleSupervisor};
use super::state::AppState;
use crate::ops::Supervisor;
use crate::stats::{Report, Request, Row, count, measure, text};

/// Statistics routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/api/stats/daily", get(export)).route("/console/stats", get(dashboard))
}

#[derive(Debug, Deserialize)]
struct ExportQuery {
    date: Option<String>,
    to: Option<String>,
    line: Option<String>,
    #[serde(default)]
    hourly: bool,
    format: Option<String>,
}

async fn run(app: &AppState, supervisor: Supervisor, request: &Request) -> crate::ops::Result<Report> {
    let flows = app.flows();
    crate::ops::stats::daily(&app.ops, supervisor.into(), &flows, app.settings.service_level_hours, request)
        .await
}

async fn export(
    State(app): State<AppState>,
    ApiSupervisor(_, supervisor): ApiSupervisor,
    Query(q): Query<ExportQuery>,
) -> Result<Response, ApiError> {
    let invalid = |message: String| ApiError::BadRequest("invalid", message);
    let date = q.date.as_deref().ok_or_else(|| invalid("`date` (YYYY-MM-DD) is required".to_owned()))?;
    let request = Request::parse(date, q.to.as_deref(), q.line.as_deref(), q.hourly, q.format.as_deref())
        .map_err(invalid)?;
    let report = run(&app, supervisor, &request).await?;
    let body = request.render(&report);
    if request.json {
        return Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response());
    }
    let name = format!(
        "attachment; filename=\"solidaire-{}{}-{}.csv\"",
        if request.hourly { "hourly-" } else { "" },
        request.from,
        request.to
    );
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, name)],
        body,
    )
        .into_response())
}

fn series<'a>(rows: &[Row], name: &'a str, fill: &'a str, column: &str) -> Series<'a> {
    #[allow(clippy::cast_precision_loss)]
    let values = rows.iter().map(|r| Some(count(r, column) as f64)).collect();
    Series { name, fill, values }
}

#[derive(Debug, Deserialize)]
struct DashboardQuery {
    line: Option<String>,
}

async fn dashboard(
    State(app): State<AppState>,
    ConsoleSupervisor(viewer, supervisor): ConsoleSupervisor,
    Query(q): Query<DashboardQuery>,
) -> Result<Response, PageError> {
    let lines = crate::ops::lines::worked_on(&app.ops, viewer.actor()).await?;
    let every = app.flows().iter().count() == lines.len();
    // An account of some lines sees one line at a time; one of every line, all of them
    // together unless it picks one.
    let line = q
        .line
        .or_else(|| if every && lines.len() > 1 { None } else { lines.first().map(|(id, _)| id.clone()) });
    let flows = app.flows();
    let tz = line
        .as_deref()
        .and_then(|l| flows.named(l))
        .map_or_else(|| app.timezone(), |f| f.schedule.timezone());
    let today: NaiveDate = app.clock.now().with_timezone(&tz).date_naive();
    let first = today - Duration::days(29);
    let month = Request { from: first, to: today, line: line.clone(), hourly: true, json: false };
    let report = run(&app, supervisor, &month).await?;
    let line_name = line.as_deref().and_then(|l| flows.named(l)).map(|f| f.file.line.name.clone());
    let line_param = line.as_deref().map(|l| format!("&line={l}")).unwrap_or_default();
    // A range of days always has its last day; an empty row would only show zeros.
    let no_day = Row::new();
    let now = report.days.last().unwrap_or(&no_day);
    let today_s = today.to_string();
    let hours: Vec<&Row> =
        report.hours.iter().filter(|h| text(h, "date") == Some(today_s.as_str())).collect();
    let hour_labels: Vec<String> =
        hours.iter().map(|h| text(h, "hour").unwrap_or_default()[..2].to_owned()).collect();
    let hour_rows: Vec<Row> = hours.iter().map(|h| (*h).clone()).collect();
    let day_labels: Vec<String> =
        report.days.iter().map(|d| text(d, "date").unwrap_or_default()[5..].to_owned()).collect();
    let key_names = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "0", "*", "#"];
    let key_columns = [
        "key_1", "key_2", "key_3", "key_4", "key_5", "key_6", "key_7", "key_8", "key_9", "key_0", "key_star",
        "key_hash",
    ];
    #[allow(clippy::cast_precision_loss)]
    let key_totals: Vec<Option<f64>> = key_columns
        .iter()
        .map(|c| Some(report.days.iter().map(|d| count(d, c)).sum::<u64>() as f64))
        .collect();
    let waits: Vec<Option<f64>> =
        report.days.iter().map(|d| measure(d, "median_minutes_to_first_attempt")).collect();
    let figure = |label: &str, value: String| html! { div.figure { dt { (label) } dd { (value) } } };
    let opt = |v: Option<f64>, unit: &str| {
        v.map_or_else(|| "–".to_owned(), |v| format!("{}{unit}", current().number(v, 1)))
    };
    let downloads = |from: NaiveDate, to: NaiveDate, hourly: bool| {
        let base = format!(
            "/api/stats/daily?date={from}&to={to}{}{line_param}",
            if hourly { "&hourly=true" } else { "" }
        );
        html! {
            a.button href={ (base) "&format=csv" } download { "CSV" }
            " "
            a.button href={ (base) "&format=json" } download { "JSON" }
        }
    };
    Ok(pages::layout(
        tr("Statistics"),
        Some(&viewer),
        &html! {
            h1 { @if let Some(name) = &line_name { (trf("Statistics of {line}", &[("line", name)])) } @else { (tr("Statistics of every line")) } }
            (pages::line_links("/console/stats", &lines, line.as_deref().unwrap_or_default()))
            section aria-labelledby="today" {
                h2 #today { (trf("Today so far ({day})", &[("day", &current().date(today))])) }
                dl.figures {
                    (figure(tr("Calls offered"), i18n::count(count(now, "calls_offered"))))
                    (figure(tr("Distinct callers"), i18n::count(count(now, "distinct_callers"))))
                    (figure(tr("While closed"), i18n::count(count(now, "calls_while_closed"))))
                    (figure(tr("Abandoned in the menu"), i18n::count(count(now, "abandoned_in_menu"))))
                    (figure(tr("Transfers answered / not"), format!("{} / {}", i18n::count(count(now, "transfers_answered")), i18n::count(count(now, "transfers_unanswered")))))
                    (figure(tr("Callbacks requested"), i18n::count(count(now, "callbacks_requested"))))
                    (figure(tr("Callbacks completed"), i18n::count(count(now, "callbacks_completed"))))
                    (figure(tr("Still open"), i18n::count(count(now, "callbacks_open_at_end_of_day"))))
                    (figure(tr("Average time in the menu"), opt(measure(now, "avg_seconds_in_menu"), " s")))
                    (figure(tr("Service level"), opt(measure(now, "service_level_percent"), " %")))
                    (figure(tr("Busiest hour"), text(now, "busiest_hour").unwrap_or("–").to_owned()))
                }
                (bars("per-hour", tr("Calls per hour today"), &hour_labels, &[series(&hour_rows, tr("calls"), "#0b5394", "calls_offered"), series(&hour_rows, tr("callbacks requested"), "#e69138", "callbacks_requested")]))
                p { (tr("Download today by hour:")) " " (downloads(today, today, true)) }
            }
            section aria-labelledby="month" {
                h2 #month { (tr("Last 30 days")) }
                p { (tr("Download the 30 days:")) " " (downloads(first, today, false)) }
                (bars("per-day", tr("Calls per day"), &day_labels, &[series(&report.days, tr("calls"), "#0b5394", "calls_offered"), series(&report.days, tr("while closed"), "#999999", "calls_while_closed")]))
                (bars("per-option", tr("Keys pressed at menus, 30 days"), &key_names.map(str::to_owned), &[Series { name: tr("presses"), fill: "#38761d", values: key_totals }]))
                (bars("callbacks", tr("Callbacks requested and completed"), &day_labels, &[series(&report.days, tr("requested"), "#e69138", "callbacks_requested"), series(&report.days, tr("completed"), "#38761d", "callbacks_completed")]))
                (bars("waits", tr("Median minutes from request to first attempt"), &day_labels, &[Series { name: tr("minutes"), fill: "#674ea7", values: waits }]))
            }
        },
    )
    .into_response())
}
