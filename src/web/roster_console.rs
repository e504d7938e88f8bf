//! The coordinators' console: the roster with its filters and a form to add someone, a
//! volunteer's page, a request's matches with their reasons and an "assign" button,
//! missions by state, and the map. Each handler reads its form into a use-case of
//! [`crate::ops::volunteers`] or [`crate::ops::missions`] and answers with a page or a
//! redirect; a wrong field comes back on the page, by name.

use crate::i18n::{tr, trf};
use axum::Router;
use axum::extract::{Form, Path, RawQuery, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono_tz::Tz;
use maud::{Markup, html};
use serde::Deserialize;

use super::errors::PageError;
use super::forms;
use super::pages::{layout, local, local_stored};
use super::session::ConsoleUser;
use super::state::AppState;
use super::viewer::Viewer;
use crate::domain::RequestId;
use crate::domain::missions::{MissionId, MissionState};
use crate::domain::volunteers::{Entry, Volunteer, VolunteerId, VolunteerState, split_list};
use crate::ops::Error;
use crate::ops::missions::{self, Matching, Step, View};
use crate::ops::volunteers::{self, Change, Detail};
use crate::phone::mask;
use crate::store::volunteers::RosterFilter;

/// Coordinators' routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console/volunteers", get(roster).post(add))
        .route("/console/volunteers/{id}", get(volunteer))
        .route("/console/volunteers/{id}/edit", post(edit))
        .route("/console/volunteers/{id}/{action}", post(change))
        .route("/console/requests/{id}/matches", get(matches))
        .route("/console/requests/{id}/assign", post(assign))
        .route("/console/requests/{id}/find-volunteer", post(find_volunteer))
        .route("/console/missions", get(missions_page))
        .route("/console/missions/{id}/{step}", post(step))
        .route("/console/map", get(map))
}

type Page = Result<Response, PageError>;

fn csrf(viewer: &Viewer) -> String {
    viewer.csrf.clone().unwrap_or_default()
}

async fn roster(
    State(app): State<AppState>,
    ConsoleUser(viewer): ConsoleUser,
    RawQuery(q): RawQuery,
) -> Page {
    let filter = forms::roster_filter(q.as_deref()).map_err(Error::Invalid)?;
    let list = volunteers::list(&app.ops, viewer.actor().into(), filter.clone()).await?;
    Ok(roster_page(&app, &viewer, &list, &filter, None, &NewForm::default()).into_response())
}

#[derive(Debug, Default, Deserialize)]
struct NewForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    postcode: String,
    #[serde(default)]
    section: String,
    #[serde(default)]
    helps: Vec<String>,
    #[serde(default)]
    languages: String,
    #[serde(default)]
    availability: String,
    #[serde(default)]
    radius_km: String,
    #[serde(default)]
    consent: String,
}

impl NewForm {
    /// Reads the form by hand: checkboxes repeat `helps` (serde_urlencoded has no lists).
    fn read(body: &[u8]) -> Self {
        let mut form = Self::default();
        for (k, v) in form_urlencoded::parse(body) {
            let v = v.into_owned();
            match k.as_ref() {
                "csrf" => form.csrf = v,
                "name" => form.name = v,
                "phone" => form.phone = v,
                "postcode" => form.postcode = v,
                "section" => form.section = v,
                "helps" => form.helps.push(v),
                "languages" => form.languages = v,
                "availability" => form.availability = v,
                "radius_km" => form.radius_km = v,
                "consent" => form.consent = v,
                _ => {}
            }
        }
        form
    }

    /// The distance typed, if any.
    fn radius(&self) -> Result<Option<f64>, Error> {
        match self.radius_km.trim() {
            "" => Ok(None),
            text => text.replace(',', ".").parse::<f64>().map(Some).map_err(|_| {
                Error::Field(crate::domain::volunteers::FieldError {
                    field: "radius_km",
                    problem: "a number of kilometres".to_owned(),
                })
            }),
        }
    }
}

async fn add(State(app): State<AppState>, ConsoleUser(viewer): ConsoleUser, body: axum::body::Bytes) -> Page {
    let form = NewForm::read(&body);
    if !viewer.csrf_ok(&form.csrf) {
        return Err(PageError::Csrf);
    }
    let radius_km = form.radius();
    let entry = radius_km.map(|radius_km| Entry {
        name: form.name.clone(),
        phone: form.phone.clone(),
        postcode: form.postcode.clone(),
        section: Some(form.section.clone()),
        helps: form.helps.clone(),
        languages: split_list(&form.languages),
        availability: form.availability.clone(),
        radius_km,
        weekly_max: None,
        consent_how: Some(form.consent.clone()),
        notes: String::new(),
    });
    let added = match entry {
        Ok(entry) => volunteers::add(&app.ops, viewer.actor().into(), None, entry).await,
        Err(e) => Err(e),
    };
    match added {
        Ok(id) => Ok(Redirect::to(&format!("/console/volunteers/{id}")).into_response()),
        Err(e @ (Error::Field(_) | Error::Invalid(_))) => {
            let list = volunteers::list(&app.ops, viewer.actor().into(), RosterFilter::default()).await?;
            let page =
                roster_page(&app, &viewer, &list, &RosterFilter::default(), Some(&e.to_string()), &form);
            Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// The language a line's labels (kinds of help) are shown in: the console's when the line
/// has it, else the line's first.
fn labels_language(flow: &crate::flow::Flow) -> String {
    let console = crate::i18n::current().code();
    if flow.file.line.languages.iter().any(|l| l.get_ref() == console) {
        console.to_owned()
    } else {
        flow.default_language().to_owned()
    }
}

fn state_word(v: &Volunteer) -> &'static str {
    match v.state {
        VolunteerState::Active if !v.on_duty => tr("active, off duty"),
        s => volunteer_state(s),
    }
}

/// A volunteer's state, as the console says it.
fn volunteer_state(state: VolunteerState) -> &'static str {
    match state {
        VolunteerState::Pending => tr("pending"),
        VolunteerState::Active => tr("active"),
        VolunteerState::Paused => tr("paused"),
        VolunteerState::Left => tr("left"),
    }
}

/// A mission's state, as the console says it.
fn mission_state(state: MissionState) -> &'static str {
    match state {
        MissionState::Proposed => tr("proposed"),
        MissionState::Offered => tr("offered"),
        MissionState::Accepted => tr("accepted"),
        MissionState::Done => tr("done"),
        MissionState::NotDone => tr("not done"),
        MissionState::Cancelled => tr("cancelled"),
    }
}

fn roster_page(
    app: &AppState,
    viewer: &Viewer,
    list: &[Volunteer],
    filter: &RosterFilter,
    problem: Option<&str>,
    form: &NewForm,
) -> axum::response::Html<String> {
    let flows = app.flows();
    let flow = flows.for_called("");
    let lang = labels_language(flow);
    layout(
        tr("Volunteers"),
        Some(viewer),
        &html! {
            h1 { (tr("Volunteers")) }
            form.filters method="get" action="/console/volunteers" {
                div { label for="f-postcode" { (tr("Postcode")) } input #f-postcode name="postcode" value=(filter.postcode.clone().unwrap_or_default()) inputmode="numeric"; }
                div {
                    label for="f-help" { (tr("Kind of help")) }
                    select #f-help name="help" {
                        option value="" { (tr("Any")) }
                        @for id in &flow.helps { option value=(id) selected[filter.help.as_deref() == Some(id)] { (flow.help_label(id, &lang)) } }
                    }
                }
                div {
                    label for="f-state" { (tr("State")) }
                    select #f-state name="state" {
                        option value="" { (tr("Any")) }
                        @for s in [VolunteerState::Pending, VolunteerState::Active, VolunteerState::Paused, VolunteerState::Left] {
                            option value=(s.as_str()) selected[filter.state == Some(s)] { (volunteer_state(s)) }
                        }
                    }
                }
                button type="submit" { (tr("Filter")) }
            }
            table {
                caption { (trf("{count} volunteer(s)", &[("count", &list.len())])) }
                thead { tr { th scope="col" { "#" } th scope="col" { (tr("Name")) } th scope="col" { (tr("Postcode")) } th scope="col" { (tr("Helps with")) } th scope="col" { (tr("Languages")) } th scope="col" { (tr("Number")) } th scope="col" { (tr("State")) } } }
                tbody {
                    @for v in list {
                        tr {
                            td { (v.id) }
                            td { a href={ "/console/volunteers/" (v.id) } { (v.display_name()) } }
                            td { (v.profile.postcode) @if let Some(s) = &v.profile.section { " " (s) } }
                            td { (v.profile.helps.iter().map(|h| flow.help_label(h, &lang)).collect::<Vec<_>>().join(", ")) }
                            td { (v.profile.languages.join(", ")) }
                            td { (v.phone.as_deref().map_or_else(|| tr("removed").to_owned(), mask)) }
                            td { (state_word(v)) }
                        }
                    }
                }
            }
            @if list.is_empty() { p.empty { (tr("Nobody matches these filters.")) } }
            section aria-labelledby="add" {
                h2 #add { (tr("Add a volunteer")) }
                p { (tr("Someone a coordinator adds is active at once: check who they are first.")) }
                @if let Some(problem) = problem { p.error role="alert" { (problem) } }
                form method="post" action="/console/volunteers" {
                    input type="hidden" name="csrf" value=(csrf(viewer));
                    label for="v-name" { (tr("Name")) } input #v-name name="name" required value=(form.name);
                    label for="v-phone" { (tr("Phone number")) } input #v-phone name="phone" type="tel" required value=(form.phone);
                    label for="v-postcode" { (tr("Postcode")) } input #v-postcode name="postcode" inputmode="numeric" required value=(form.postcode);
                    label for="v-section" { (tr("Section (optional)")) } input #v-section name="section" value=(form.section);
                    fieldset {
                        legend { (tr("Kinds of help")) }
                        @for id in &flow.helps {
                            div.choice { input type="checkbox" id={ "h-" (id) } name="helps" value=(id) checked[form.helps.contains(id)]; label for={ "h-" (id) } { (flow.help_label(id, &lang)) } }
                        }
                    }
                    label for="v-languages" { (tr("Languages")) " (" (flow.languages.join(", ")) ")" } input #v-languages name="languages" value=(form.languages) placeholder=(lang);
                    label for="v-availability" { (tr("Available (empty: any hour)")) } input #v-availability name="availability" value=(form.availability) placeholder="mon 09:00-12:00; sat 10:00-18:00";
                    label for="v-radius" { (tr("Goes up to (km)")) } input #v-radius name="radius_km" inputmode="decimal" value=(form.radius_km) placeholder=(flow.file.line.volunteering.radius_km);
                    label for="v-consent" { (tr("Consent given by")) } input #v-consent name="consent" value=(form.consent) placeholder=(tr("paper form"));
                    button.primary type="submit" { (tr("Add")) }
                }
            }
        },
    )
}

/// The edit form, filled with the record (or with what was typed, after a refusal).
fn edit_form(
    viewer: &Viewer,
    v: &Volunteer,
    helps: &[String],
    label: impl Fn(&str) -> String,
    typed: Option<&NewForm>,
) -> Markup {
    let p = &v.profile;
    let (name, postcode, section, languages, availability, radius) = match typed {
        Some(f) => (
            f.name.clone(),
            f.postcode.clone(),
            f.section.clone(),
            f.languages.clone(),
            f.availability.clone(),
            f.radius_km.clone(),
        ),
        None => (
            v.name.clone(),
            p.postcode.clone(),
            p.section.clone().unwrap_or_default(),
            p.languages.join(", "),
            p.availability.to_string(),
            p.radius_km.to_string(),
        ),
    };
    let checked: Vec<String> = typed.map_or_else(|| p.helps.clone(), |f| f.helps.clone());
    html! {
        form method="post" action={ "/console/volunteers/" (v.id) "/edit" } {
            input type="hidden" name="csrf" value=(csrf(viewer));
            label for="e-name" { (tr("Name")) } input #e-name name="name" value=(name);
            label for="e-phone" { (tr("Phone number (type it again to change it)")) }
            input #e-phone name="phone" type="tel" value=(typed.map(|f| f.phone.clone()).unwrap_or_default()) placeholder=(v.phone.as_deref().map(mask).unwrap_or_default());
            label for="e-postcode" { (tr("Postcode")) } input #e-postcode name="postcode" inputmode="numeric" value=(postcode);
            label for="e-section" { (tr("Section")) } input #e-section name="section" value=(section);
            fieldset {
                legend { (tr("Kinds of help")) }
                @for id in helps {
                    div.choice { input type="checkbox" id={ "e-h-" (id) } name="helps" value=(id) checked[checked.contains(id)]; label for={ "e-h-" (id) } { (label(id)) } }
                }
            }
            label for="e-languages" { (tr("Languages")) } input #e-languages name="languages" value=(languages);
            label for="e-availability" { (tr("Available (empty: any hour)")) } input #e-availability name="availability" value=(availability);
            label for="e-radius" { (tr("Goes up to (km)")) } input #e-radius name="radius_km" inputmode="decimal" value=(radius);
            button.primary type="submit" { (tr("Save")) }
        }
    }
}

fn volunteer_id(text: &str) -> Result<VolunteerId, PageError> {
    forms::id(text).map(VolunteerId).ok_or(PageError::from(Error::NoSuchVolunteer))
}

async fn volunteer(
    State(app): State<AppState>,
    ConsoleUser(viewer): ConsoleUser,
    Path(id): Path<String>,
) -> Page {
    let detail = volunteers::get(&app.ops, viewer.actor().into(), volunteer_id(&id)?).await?;
    Ok(volunteer_page(&app, &viewer, &detail, app.timezone(), None).into_response())
}

async fn edit(
    State(app): State<AppState>,
    ConsoleUser(viewer): ConsoleUser,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Page {
    let form = NewForm::read(&body);
    if !viewer.csrf_ok(&form.csrf) {
        return Err(PageError::Csrf);
    }
    let id = volunteer_id(&id)?;
    let edited = match form.radius() {
        Ok(radius_km) => {
            // An empty phone field keeps the number (it is shown masked, never filled in).
            let phone = Some(form.phone.trim().to_owned()).filter(|p| !p.is_empty());
            let changes = crate::domain::volunteers::Edit {
                name: Some(form.name.clone()),
                phone,
                postcode: Some(form.postcode.clone()),
                section: Some(form.section.clone()),
                helps: Some(form.helps.clone()),
                languages: Some(split_list(&form.languages)),
                availability: Some(form.availability.clone()),
                radius_km,
                weekly_max: None,
                notes: None,
            };
            volunteers::edit(&app.ops, viewer.actor().into(), id, changes).await
        }
        Err(e) => Err(e),
    };
    match edited {
        Ok(()) => Ok(Redirect::to(&format!("/console/volunteers/{id}")).into_response()),
        Err(e @ (Error::Field(_) | Error::Invalid(_))) => {
            let detail = volunteers::get(&app.ops, viewer.actor().into(), id).await?;
            let page = volunteer_page(&app, &viewer, &detail, app.timezone(), Some((&e.to_string(), &form)));
            Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

fn volunteer_page(
    app: &AppState,
    viewer: &Viewer,
    d: &Detail,
    tz: Tz,
    refused: Option<(&str, &NewForm)>,
) -> axum::response::Html<String> {
    let v = &d.volunteer;
    let p = &v.profile;
    let flows = app.flows();
    let flow = flows.get(&v.line).unwrap_or_else(|| flows.for_called(""));
    let lang = labels_language(flow);
    let actions: Vec<(&str, &str)> = match (v.state, v.on_duty) {
        (VolunteerState::Pending, _) => {
            vec![("confirm", tr("Confirm")), ("pause", tr("Pause")), ("leave", tr("Has left"))]
        }
        (VolunteerState::Active, true) => {
            vec![("off-duty", tr("Off duty")), ("pause", tr("Pause")), ("leave", tr("Has left"))]
        }
        (VolunteerState::Active, false) => {
            vec![("on-duty", tr("On duty")), ("pause", tr("Pause")), ("leave", tr("Has left"))]
        }
        (VolunteerState::Paused, _) => vec![("resume", tr("Resume")), ("leave", tr("Has left"))],
        (VolunteerState::Left, _) => Vec::new(),
    };
    layout(
        &v.display_name(),
        Some(viewer),
        &html! {
            h1 { (v.display_name()) }
            dl.facts {
                dt { (tr("State")) } dd { (state_word(v)) }
                dt { (tr("Number")) } dd { (v.phone.as_deref().map_or_else(|| tr("removed").to_owned(), mask)) }
                dt { (tr("Lives in")) } dd { (p.postcode) @if let Some(s) = &p.section { " " (s) } }
                dt { (tr("Helps with")) } dd { (p.helps.iter().map(|h| flow.help_label(h, &lang)).collect::<Vec<_>>().join(", ")) }
                dt { (tr("Languages")) } dd { (p.languages.join(", ")) }
                dt { (tr("Available")) } dd { @if p.availability.is_any_hour() { (tr("any hour")) } @else { (p.availability.to_string()) } }
                dt { (tr("Goes up to")) } dd { (crate::i18n::measure(p.radius_km)) " km" }
                dt { (tr("At most")) } dd { (trf("{count} mission(s) a week", &[("count", &p.weekly_max)])) }
                dt { (tr("Consent")) } dd { @match &v.consent { Some((at, how)) => { (how) ", " (local(*at, tz)) }, None => (tr("not recorded")) } }
                @if !v.notes.is_empty() { dt { (tr("Notes")) } dd { (v.notes) } }
            }
            @if let Some(url) = &v.name_recording_url {
                p { (tr("Name as said on the phone:")) }
                audio controls preload="none" src=(url) { a href=(url) { (tr("Listen")) } }
            }
            @for (action, label) in actions {
                form.inline method="post" action={ "/console/volunteers/" (v.id) "/" (action) } {
                    input type="hidden" name="csrf" value=(csrf(viewer));
                    button type="submit" { (label) } " "
                }
            }
            @if v.state != VolunteerState::Left {
                details open[refused.is_some()] {
                    summary { (tr("Change the record")) }
                    @if let Some((problem, _)) = refused { p.error role="alert" { (problem) } }
                    (edit_form(viewer, v, &flow.helps, |id| flow.help_label(id, &lang).to_owned(), refused.map(|(_, f)| f)))
                }
            }
            section aria-labelledby="missions" {
                h2 #missions { (tr("Missions")) }
                @if d.missions.is_empty() { p.empty { (tr("None yet.")) } }
                ul { @for m in &d.missions { li { (trf("Mission {id}", &[("id", &m.id)])) " · " (flow.help_label(&m.help, &lang)) " · " (m.postcode) " · " (mission_state(m.state)) } } }
            }
            section aria-labelledby="history" {
                h2 #history { (tr("History")) }
                ol.history { @for h in &d.history { li { (local_stored(&h.at, tz)) " · " (h.agent.as_deref().unwrap_or(tr("the line"))) " · " (h.action) @if !h.detail.is_empty() { " · " (h.detail) } } } }
            }
        },
    )
}

#[derive(Debug, Deserialize)]
struct CsrfForm {
    csrf: String,
    volunteer: Option<i64>,
    #[serde(default)]
    note: String,
}

async fn change(
    State(app): State<AppState>,
    ConsoleUser(viewer): ConsoleUser,
    Path((id, action)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Page {
    if !viewer.csrf_ok(&form.csrf) {
        return Err(PageError::Csrf);
    }
    let id = volunteer_id(&id)?;
    let back = format!("/console/volunteers/{id}");
    let what = Change::parse(&action).ok_or(PageError::from(Error::NoSuchVolunteer))?;
    volunteers::set(&app.ops, viewer.actor().into(), id, what).await.map_err(PageError::back_to(&back))?;
    Ok(Redirect::to(&back).into_response())
}

fn request_id(text: &str) -> Result<RequestId, PageError> {
    forms::request_id(text).ok_or(PageError::from(Error::NoSuchRequest))
}

async fn matches(
    State(app): State<AppState>,
    ConsoleUser(viewer): ConsoleUser,
    Path(id): Path<String>,
) -> Page {
    let id = request_id(&id)?;
    let back = format!("/console/requests/{id}");
    let matching =
        missions::matches(&app.ops, viewer.actor().into(), id).await.map_err(PageError::back_to(&back))?;
    Ok(matches_page(&app, &viewer, &matching).into_response())
}

fn matches_page(app: &AppState, viewer: &Viewer, m: &Matching) -> axum::response::Html<String> {
    let r = &m.request;
    let flows = app.flows();
    let help = r.help.as_deref().unwrap_or_default();
    let label = flows.get(&r.line).map_or(help, |f| f.help_label(help, &r.language)).to_owned();
    let assign = format!("/console/requests/{}/assign", r.id);
    layout(
        &trf("Matches for request {id}", &[("id", &r.id)]),
        Some(viewer),
        &html! {
            h1 { (trf("Volunteers for request {id}", &[("id", &r.id)])) }
            p { (label) " · " (r.postcode.as_deref().unwrap_or("–")) " · " (trf("speaks {language}", &[("language", &r.language)])) " · "
                a href={ "/console/requests/" (r.id) } { (tr("the request")) } }
            @match &m.mission {
                Some(mission) => p { (trf("Mission {id} is {state}.", &[("id", &mission.id), ("state", &mission_state(mission.state))])) },
                None => form.inline method="post" action={ "/console/requests/" (r.id) "/find-volunteer" } {
                    input type="hidden" name="csrf" value=(csrf(viewer));
                    button type="submit" { (tr("Take it out of the queue: find a volunteer")) }
                },
            }
            @if m.matches.is_empty() { p.empty { (tr("No volunteer can take it now.")) } }
            ol.matches {
                @for (found, v) in &m.matches {
                    li {
                        strong { a href={ "/console/volunteers/" (v.id) } { (v.display_name()) } }
                        " · " (trf("score {score}", &[("score", &found.score)]))
                        ul.reasons { @for reason in &found.reasons { li { (reason) } } }
                        form.inline method="post" action=(assign) {
                            input type="hidden" name="csrf" value=(csrf(viewer));
                            input type="hidden" name="volunteer" value=(v.id.0);
                            button.primary type="submit" { (trf("Assign to {name}", &[("name", &v.display_name())])) }
                        }
                    }
                }
            }
            @if !m.left_out.is_empty() {
                section aria-labelledby="left-out" {
                    h2 #left-out { (tr("Left out")) }
                    ul { @for (v, why) in &m.left_out { li { (v.display_name()) ": " (why.describe()) } } }
                }
            }
        },
    )
}

async fn assign(
    State(app): State<AppState>,
    ConsoleUser(viewer): ConsoleUser,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Page {
    if !viewer.csrf_ok(&form.csrf) {
        return Err(PageError::Csrf);
    }
    let id = request_id(&id)?;
    let back = format!("/console/requests/{id}/matches");
    let volunteer = VolunteerId(form.volunteer.unwrap_or_default());
    missions::assign(&app.ops, viewer.actor().into(), id, volunteer)
        .await
        .map_err(PageError::back_to(&back))?;
    Ok(Redirect::to("/console/missions?state=accepted").into_response())
}

async fn find_volunteer(
    State(app): State<AppState>,
    ConsoleUser(viewer): ConsoleUser,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Page {
    if !viewer.csrf_ok(&form.csrf) {
        return Err(PageError::Csrf);
    }
    let id = request_id(&id)?;
    let back = format!("/console/requests/{id}/matches");
    missions::find_volunteer(&app.ops, viewer.actor().into(), id).await.map_err(PageError::back_to(&back))?;
    Ok(Redirect::to(&back).into_response())
}

async fn missions_page(
    State(app): State<AppState>,
    ConsoleUser(viewer): ConsoleUser,
    RawQuery(q): RawQuery,
) -> Page {
    let state = forms::mission_state(q.as_deref()).map_err(Error::Invalid)?;
    let views = missions::list(&app.ops, viewer.actor().into(), state).await?;
    Ok(layout(
        tr("Missions"),
        Some(&viewer),
        &html! {
            h1 { (tr("Missions")) }
            nav aria-label=(tr("By state")) {
                a href="/console/missions" { (tr("All")) } " "
                @for s in MissionState::ALL { a href={ "/console/missions?state=" (s.as_str()) } aria-current=[(state == Some(s)).then_some("page")] { (mission_state(s)) } " " }
            }
            (mission_table(&viewer, &views, app.ops.places_calls(), app.timezone()))
        },
    )
    .into_response())
}

fn mission_table(viewer: &Viewer, views: &[View], calling: bool, tz: Tz) -> Markup {
    html! {
        table {
            caption { (trf("{count} mission(s)", &[("count", &views.len())])) }
            thead { tr { th scope="col" { "#" } th scope="col" { (tr("Kind")) } th scope="col" { (tr("Neighbourhood")) } th scope="col" { (tr("State")) } th scope="col" { (tr("Volunteer")) } th scope="col" { (tr("Made")) } th scope="col" { (tr("Actions")) } } }
            tbody {
                @for v in views {
                    @let m = &v.mission;
                    tr {
                        td { (m.id) }
                        td { (v.help) }
                        td { (v.neighbourhood) }
                        td { (mission_state(m.state)) }
                        td { @if let Some(id) = m.volunteer { a href={ "/console/volunteers/" (id) } { "#" (id) } } @else { "–" } }
                        td { (local(m.created_at, tz)) }
                        td {
                            a href={ "/console/requests/" (m.request) "/matches" } { (tr("Matches")) } " "
                            @if m.state == MissionState::Accepted {
                                (step_button(viewer, m.id, "done", tr("Done")))
                                (step_button(viewer, m.id, "not-done", tr("Not done")))
                            }
                            @if calling && matches!(m.state, MissionState::Proposed | MissionState::Offered) {
                                (step_button(viewer, m.id, "offer", tr("Offer by phone")))
                            }
                            @if m.state.is_live() { (step_button(viewer, m.id, "cancel", tr("Cancel"))) }
                        }
                    }
                }
            }
        }
    }
}

fn step_button(viewer: &Viewer, id: MissionId, step: &str, label: &str) -> Markup {
    html! {
        form.inline method="post" action={ "/console/missions/" (id) "/" (step) } {
            input type="hidden" name="csrf" value=(csrf(viewer));
            button type="submit" { (label) } " "
        }
    }
}

async fn step(
    State(app): State<AppState>,
    ConsoleUser(viewer): ConsoleUser,
    Path((id, step)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Page {
    if !viewer.csrf_ok(&form.csrf) {
        return Err(PageError::Csrf);
    }
    let id = MissionId(forms::id(&id).ok_or(PageError::from(Error::NoSuchMission))?);
    let back = "/console/missions";
    if step == "offer" {
        // The line phones the best matches, a few at a time, until one accepts.
        crate::ops::calling::start_rounds(&app.ops, viewer.actor().into(), id)
            .await
            .map_err(PageError::back_to(back))?;
        return Ok(Redirect::to(back).into_response());
    }
    let step = Step::parse(&step).ok_or(PageError::from(Error::NoSuchMission))?;
    missions::step(&app.ops, viewer.actor().into(), id, step, form.note)
        .await
        .map_err(PageError::back_to(back))?;
    Ok(Redirect::to(back).into_response())
}

#[derive(Debug, Deserialize)]
struct LineQuery {
    line: Option<String>,
}

async fn map(
    State(app): State<AppState>,
    ConsoleUser(viewer): ConsoleUser,
    axum::extract::Query(query): axum::extract::Query<LineQuery>,
) -> Page {
    let lines = crate::ops::lines::worked_on(&app.ops, viewer.actor()).await?;
    let line = query.line.or_else(|| lines.first().map(|(id, _)| id.clone()));
    let places = missions::map(&app.ops, viewer.actor().into(), line.as_deref()).await?;
    let line = line.unwrap_or_default();
    Ok(layout(
        tr("Map"),
        Some(&viewer),
        &html! {
            h1 { (tr("Volunteers and missions by postcode")) }
            (super::pages::line_links("/console/map", &lines, &line))
            (super::map::map(&places))
        },
    )
    .into_response())
}
