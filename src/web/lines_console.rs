//! The supervisors' page of the lines: each line's numbers and service, the audit log of
//! its ends and reopenings, and the forms to end it (now or from a date) or reopen it.

use crate::i18n::{tr, trf};
use axum::Router;
use axum::extract::{Form, Path, State};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use maud::html;

use super::errors::PageError;
use super::pages::{self, layout, local};
use super::session::ConsoleSupervisor;
use super::state::AppState;
use crate::ops::agents::Manager;
use crate::ops::lines::{self, Service};

type Page = Result<axum::response::Response, PageError>;

/// Routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console/lines", get(page))
        .route("/console/lines/{line}", get(picture))
        .route("/console/lines/{line}/{action}", post(change))
}

async fn page(State(app): State<AppState>, ConsoleSupervisor(viewer, supervisor): ConsoleSupervisor) -> Page {
    let all = lines::list(&app.ops, Manager::from(supervisor)).await?;
    let csrf = viewer.csrf.clone().unwrap_or_default();
    let now = app.ops.now();
    Ok(layout(
        tr("Lines"),
        Some(&viewer),
        &html! {
            h1 { (tr("Lines")) }
            p { (tr("Ending a line's service: its callers hear its end-of-service message from the next call, and nothing else; the agents go on with its open requests. Reopening brings the menus back at once.")) }
            @for line in &all {
                @let tz = line.schedule.timezone();
                section aria-labelledby={ "line-" (line.id) } {
                    h2 id={ "line-" (line.id) } { (line.name) " (" (line.id) ")" }
                    p {
                        a href={ "/console/lines/" (line.id) } { (trf("See the menus of {line}", &[("line", &line.name)])) }
                        " · "
                        a href={ "/console/lines/" (line.id) "/try" } { (trf("Try {line}", &[("line", &line.name)])) }
                    }
                    dl.facts {
                        dt { (tr("Numbers")) } dd { (line.numbers.join(", ")) }
                        dt { (tr("Languages")) } dd { (line.languages.join(", ")) }
                        dt { (tr("Hours")) }
                        dd {
                            @if line.schedule.is_open(now) { (tr("open now")) } @else { (tr("closed now")) }
                            " (" (tz.name()) ")"
                            table.hours {
                                @for (day, ranges) in pages::WEEKDAYS.iter().zip(line.schedule.week()) {
                                    tr { th scope="row" { (pages::weekday(*day)) } td { @if ranges.is_empty() { (tr("closed")) } @else { (ranges.join(", ")) } } }
                                }
                            }
                            @let holidays: Vec<_> = line.schedule.holidays_from(now.with_timezone(&tz).date_naive()).collect();
                            @if !holidays.is_empty() {
                                p { (tr("Closed all day:")) " " (holidays.iter().map(|d| crate::i18n::current().date(*d)).collect::<Vec<_>>().join(", ")) }
                            }
                            p.hint { (tr("Hours and holidays are set in the line's flow file ([line.hours]); the service picks up a change within seconds.")) }
                        }
                        dt { (tr("Service")) }
                        dd {
                            @match line.service {
                                Service::Open => (tr("open")),
                                Service::Ends(at) => (trf("ends on {at}", &[("at", &local(at, tz))])),
                                Service::Ended(at) => strong { (trf("ended since {at}", &[("at", &local(at, tz))])) },
                            }
                        }
                    }
                    @if line.service == Service::Open {
                        @if line.can_end {
                            form method="post" action={ "/console/lines/" (line.id) "/end" } {
                                input type="hidden" name="csrf" value=(csrf);
                                label for={ "from-" (line.id) } { (tr("From (empty: now)")) }
                                input id={ "from-" (line.id) } name="from" type="date";
                                button type="submit" { (trf("End {line}'s service", &[("line", &line.name)])) }
                            }
                        } @else {
                            p { (tr("Its flow declares no end-of-service message ([line.end_of_service]): it cannot be ended.")) }
                        }
                    } @else {
                        form method="post" action={ "/console/lines/" (line.id) "/reopen" } {
                            input type="hidden" name="csrf" value=(csrf);
                            button.primary type="submit" { (trf("Reopen {line}", &[("line", &line.name)])) }
                        }
                    }
                    h3 { (tr("Notice before the menu")) }
                    @if let Some(n) = &line.notice {
                        p { (trf("From {from} until {until}:", &[("from", &local(n.starts_at, tz)), ("until", &local(n.ends_at, tz))])) }
                        dl { @for (lang, text) in &n.texts { dt { (lang) } dd { (text) } } }
                        form method="post" action={ "/console/lines/" (line.id) "/notice-remove" } {
                            input type="hidden" name="csrf" value=(csrf);
                            button type="submit" { (tr("Remove the notice")) }
                        }
                    }
                    form method="post" action={ "/console/lines/" (line.id) "/notice" } {
                        input type="hidden" name="csrf" value=(csrf);
                        @for lang in &line.languages {
                            label for={ "notice-" (line.id) "-" (lang) } { (trf("Text in {language}", &[("language", lang)])) }
                            input id={ "notice-" (line.id) "-" (lang) } name={ "text." (lang) } maxlength="300" required;
                        }
                        label for={ "notice-from-" (line.id) } { (tr("From (empty: now)")) }
                        input id={ "notice-from-" (line.id) } name="from" type="date";
                        label for={ "notice-until-" (line.id) } { (tr("Until (the morning of)")) }
                        input id={ "notice-until-" (line.id) } name="until" type="date" required;
                        button type="submit" { (tr("Put the notice before the menu")) }
                    }
                    @if !line.history.is_empty() {
                        h3 { (tr("Changes")) }
                        ul {
                            @for c in &line.history {
                                li { (local(c.at, tz)) " · " (c.action) " · " (c.login.as_deref().unwrap_or(tr("the command line"))) " " (c.detail) }
                            }
                        }
                    }
                }
            }
        },
    )
    .into_response())
}

/// The form's fields: `csrf`, `from`, `until`, `text.<lang>`.
type Fields = Vec<(String, String)>;

fn field<'a>(form: &'a Fields, name: &str) -> &'a str {
    form.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.trim())
}

fn date(text: &str) -> Result<Option<chrono::NaiveDate>, crate::ops::Error> {
    match text {
        "" => Ok(None),
        day => chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| crate::ops::Error::Invalid(format!("`{day}` is not a date (YYYY-MM-DD)"))),
    }
}

async fn change(
    State(app): State<AppState>,
    ConsoleSupervisor(viewer, supervisor): ConsoleSupervisor,
    Path((line, action)): Path<(String, String)>,
    Form(form): Form<Fields>,
) -> Page {
    if !viewer.csrf_ok(field(&form, "csrf")) {
        return Err(PageError::Csrf);
    }
    let back = "/console/lines";
    let by = Manager::from(supervisor);
    match action.as_str() {
        "end" => {
            let from = date(field(&form, "from")).map_err(PageError::back_to(back))?;
            lines::end(&app.ops, by, &line, from).await.map_err(PageError::back_to(back))?;
            tracing::info!(by = %viewer.agent.login, line = %line, "line's service ended from the console");
        }
        "notice" => {
            let texts = form
                .iter()
                .filter_map(|(k, v)| k.strip_prefix("text.").map(|lang| (lang.to_owned(), v.clone())))
                .collect();
            let from = date(field(&form, "from")).map_err(PageError::back_to(back))?;
            let until = date(field(&form, "until"))
                .and_then(|d| {
                    d.ok_or_else(|| crate::ops::Error::Invalid("give the day the notice ends".to_owned()))
                })
                .map_err(PageError::back_to(back))?;
            lines::set_notice(&app.ops, by, &line, texts, from, until)
                .await
                .map_err(PageError::back_to(back))?;
        }
        "notice-remove" => {
            lines::clear_notice(&app.ops, by, &line).await.map_err(PageError::back_to(back))?;
        }
        "reopen" => {
            lines::reopen(&app.ops, by, &line).await.map_err(PageError::back_to(back))?;
            tracing::info!(by = %viewer.agent.login, line = %line, "line reopened from the console");
        }
        _ => return Err(PageError::from(crate::ops::Error::Invalid("no such action".to_owned()))),
    }
    Ok(Redirect::to(back).into_response())
}

#[derive(Debug, serde::Deserialize)]
struct PictureQuery {
    lang: Option<String>,
}

/// `/console/lines/{line}`: the line's menus as a graph (or its file's problems), in one
/// of its languages, with the node where callers most often hang up.
async fn picture(
    State(app): State<AppState>,
    ConsoleSupervisor(viewer, supervisor): ConsoleSupervisor,
    Path(line): Path<String>,
    axum::extract::Query(query): axum::extract::Query<PictureQuery>,
) -> Page {
    use super::flow_graph::{self, Route};
    let picture = lines::picture(&app.ops, Manager::from(supervisor), &line)
        .await
        .map_err(super::errors::PageError::back_to("/console/lines"))?;
    let flow = &picture.flow;
    let language = query
        .lang
        .filter(|l| flow.languages.contains(l))
        .unwrap_or_else(|| flow.default_language().to_owned());
    let hot = picture.hangups.first().map(|(node, n)| (node.as_str(), *n));
    let (boxes, edges) = flow_graph::graph(flow, &language);
    let title = trf("The menus of {line}", &[("line", &flow.file.line.name)]);
    Ok(layout(
        &title,
        Some(&viewer),
        &html! {
            h1 { (title) }
            p { a href={ "/console/lines/" (flow.id) "/try" } { (trf("Try {line}", &[("line", &flow.file.line.name)])) } }
            @if !picture.problems.is_empty() {
                section.problems aria-labelledby="problems" {
                    h2 #problems { (tr("Its file does not validate")) }
                    p { (tr("The menus below are the ones in force; the change in the file is not, until these problems are mended:")) }
                    ul { @for problem in &picture.problems { li { code { (problem.to_string()) } } } }
                }
            }
            nav aria-label=(tr("Language")) {
                (tr("Prompts in:")) " "
                @for l in &flow.languages {
                    @if *l == language { strong { (l) } } @else { a href={ "/console/lines/" (flow.id) "?lang=" (l) } { (l) } }
                    " "
                }
            }
            p.legend {
                (tr("Arrows: a key (solid), silence (dashes), a wrong key (dots), too many failures (dash-dot, red), 0 for a person (fine dots). A double box ends the call or transfers it; a red box is where callers most often hang up."))
            }
            figure.graph {
                (flow_graph::svg(flow, &language, hot))
            }
            details {
                summary { (tr("The same menus as a list")) }
                ul {
                    @for (i, b) in boxes.iter().enumerate() {
                        li {
                            strong { (b.id) } " (" (b.kind) ")"
                            @if let Some(mark) = &b.mark { " — " (mark) }
                            @if let Some(text) = &b.text { ": " (text) }
                            ul {
                                @for e in edges.iter().filter(|e| e.from == i && e.route != Route::Person) {
                                    li { (e.label) " → " (boxes[e.to].id) }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
    .into_response())
}
