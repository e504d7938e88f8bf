//! The console's HTML, written with maud (escaped by construction). Pages are plain
//! server-rendered forms and tables: usable with the keyboard alone, on a phone, at 200 %
//! zoom, and with JavaScript off (one small script only keeps the queue fresh).

use axum::response::Html;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use maud::{DOCTYPE, Markup, html};

use super::viewer::Viewer;
use crate::domain::queue::{Filter, Request, RequestState};
use crate::domain::{Agent, Outcome, Priority, Role};
use crate::i18n::{current, tr, trf};
use crate::ops::queue::{Detail, shows_contact};
use crate::phone::mask;
use crate::sounds::Version;
use crate::store::time;

/// A whole page.
pub fn layout(title: &str, viewer: Option<&Viewer>, body: &Markup) -> Html<String> {
    Html(
        html! {
            (DOCTYPE)
            html lang=(current().code()) {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (title) " · solidaire" }
                    link rel="stylesheet" href="/assets/console.css";
                    script src="/assets/console.js" defer {}
                }
                body {
                    a.skip href="#main" { (tr("Skip to content")) }
                    header {
                        nav aria-label=(tr("Main")) {
                            a href="/console" { (tr("Queue")) }
                            @if let Some(v) = viewer {
                                @if crate::ops::missions::coordinates(v.actor()) {
                                    a href="/console/volunteers" { (tr("Volunteers")) }
                                    a href="/console/missions" { (tr("Missions")) }
                                    a href="/console/map" { (tr("Map")) }
                                }
                                @if v.agent.is_supervisor() {
                                    a href="/console/stats" { (tr("Statistics")) }
                                    a href="/console/agents" { (tr("Agents")) }
                                    a href="/console/prompts" { (tr("Prompts")) }
                                    a href="/console/lines" { (tr("Lines")) }
                                    a href="/console/calls" { (tr("Calls")) }
                                }
                                span.line { (lines_label(&v.line_names)) }
                                span.who { (v.agent.login) " (" (role_label(v.agent.role)) ")" }
                                form.inline method="post" action="/console/language" {
                                    input type="hidden" name="csrf" value=(v.csrf.clone().unwrap_or_default());
                                    label.visually-hidden for="language-choice" { (tr("Language of the console")) }
                                    select #language-choice name="language" {
                                        option value="" { (tr("The browser's language")) }
                                        @for l in crate::i18n::ALL { option value=(l.code()) lang=(l.code()) selected[l == current()] { (l.name()) } }
                                    }
                                    button type="submit" { (tr("Change the language")) }
                                }
                                form.inline method="post" action="/logout" {
                                    input type="hidden" name="csrf" value=(v.csrf.clone().unwrap_or_default());
                                    button type="submit" { (tr("Log out")) }
                                }
                            }
                        }
                    }
                    main #main { (body) }
                }
            }
        }
        .into_string(),
    )
}

/// The login form.
pub fn login(csrf: &str, failed: bool, lines: &[String]) -> Html<String> {
    layout(
        tr("Log in"),
        None,
        &html! {
            p.line { (lines.join(" · ")) }
            h1 { (tr("Log in")) }
            @if failed { p.error role="alert" { (tr("Wrong login or password.")) } }
            form method="post" action="/login" {
                input type="hidden" name="csrf" value=(csrf);
                label for="login" { (tr("Login")) }
                input #login name="login" autocomplete="username" required autofocus;
                label for="password" { (tr("Password")) }
                input #password name="password" type="password" autocomplete="current-password" required;
                button type="submit" { (tr("Log in")) }
            }
        },
    )
}

/// The lines a viewer works on, for the header: a name, two, or how many.
fn lines_label(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [a, b] => format!("{a} · {b}"),
        more => trf("{count} lines", &[("count", &more.len())]),
    }
}

/// A short message with a way back.
pub fn message(title: &str, text: &str, back: &str) -> Html<String> {
    layout(
        title,
        None,
        &html! { h1 { (title) } p role="alert" { (text) } p { a href=(back) { (tr("Back")) } } },
    )
}

/// `12 min`, `3 h 05`, `2 d 4 h`.
#[must_use]
pub fn age(since: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let minutes = (now - since).num_minutes().max(0);
    match minutes {
        0..60 => trf("{minutes} min", &[("minutes", &minutes)]),
        60..1440 => trf(
            "{hours} h {minutes}",
            &[("hours", &(minutes / 60)), ("minutes", &format!("{:02}", minutes % 60))],
        ),
        _ => trf("{days} d {hours} h", &[("days", &(minutes / 1440)), ("hours", &(minutes % 1440 / 60))]),
    }
}

/// A time in the line's time zone.
#[must_use]
pub fn local(at: DateTime<Utc>, tz: Tz) -> String {
    current().day_time(&at.with_timezone(&tz))
}

/// A stored time (a history line's) in the line's time zone.
#[must_use]
pub fn local_stored(at: &str, tz: Tz) -> String {
    time::parse(at).map_or_else(String::new, |t| local(t, tz))
}

fn priority(p: Priority) -> &'static str {
    match p {
        Priority::Urgent => tr("urgent"),
        Priority::High => tr("high"),
        Priority::Normal => tr("normal"),
    }
}

/// The days of the week, Monday first.
pub const WEEKDAYS: [chrono::Weekday; 7] = [
    chrono::Weekday::Mon,
    chrono::Weekday::Tue,
    chrono::Weekday::Wed,
    chrono::Weekday::Thu,
    chrono::Weekday::Fri,
    chrono::Weekday::Sat,
    chrono::Weekday::Sun,
];

/// A day of the week, in the console's language.
#[must_use]
pub fn weekday(day: chrono::Weekday) -> &'static str {
    match day {
        chrono::Weekday::Mon => tr("Monday"),
        chrono::Weekday::Tue => tr("Tuesday"),
        chrono::Weekday::Wed => tr("Wednesday"),
        chrono::Weekday::Thu => tr("Thursday"),
        chrono::Weekday::Fri => tr("Friday"),
        chrono::Weekday::Sat => tr("Saturday"),
        chrono::Weekday::Sun => tr("Sunday"),
    }
}

/// A role, as the console names it.
#[must_use]
pub fn role_label(role: Role) -> &'static str {
    match role {
        Role::Agent => tr("agent"),
        Role::Supervisor => tr("supervisor"),
        Role::Coordinator => tr("coordinator"),
        Role::Volunteer => tr("volunteer"),
        Role::Admin => tr("administrator"),
    }
}

/// Where a request is, as the console says it.
fn state_label(state: RequestState) -> &'static str {
    match state {
        RequestState::Open => tr("open"),
        RequestState::Claimed => tr("claimed"),
        RequestState::Done => tr("done"),
        RequestState::Unreachable => tr("unreachable"),
        RequestState::Cancelled => tr("cancelled"),
    }
}

/// The label of an outcome in the console's form.
fn outcome_label(name: &str) -> &'static str {
    match name {
        "reached_resolved" => tr("Reached – resolved"),
        "reached_follow_up" => tr("Reached – follow-up (give a date)"),
        "no_answer" => tr("No answer"),
        "busy" => tr("Busy"),
        "voicemail" => tr("Voicemail"),
        "wrong_number" => tr("Wrong number"),
        "no_longer_needed" => tr("No longer needed"),
        "referred" => tr("Referred to a partner (name it)"),
        _ => "",
    }
}

/// The filters in a query string.
#[must_use]
pub fn filter_query(f: &Filter) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(f.service.iter().map(|v| ("service", v.as_str())))
        .extend_pairs(f.language.iter().map(|v| ("language", v.as_str())))
        .extend_pairs(f.postcode.iter().map(|v| ("postcode", v.as_str())))
        .finish()
}

fn hidden_filters(f: &Filter) -> Markup {
    html! {
        @if let Some(v) = &f.service { input type="hidden" name="service" value=(v); }
        @if let Some(v) = &f.language { input type="hidden" name="language" value=(v); }
        @if let Some(v) = &f.postcode { input type="hidden" name="postcode" value=(v); }
    }
}

/// The queue table, also served alone for the page to refresh itself.
#[must_use]
pub fn queue_table(requests: &[Request], viewer: &Viewer, now: DateTime<Utc>) -> Markup {
    let csrf = viewer.csrf.clone().unwrap_or_default();
    let supervisor = viewer.agent.is_supervisor();
    html! {
        @if requests.is_empty() {
            p.empty { (tr("No request is waiting.")) }
        } @else {
            table {
                caption { (trf("{count} request(s), highest priority then oldest first", &[("count", &requests.len())])) }
                thead { tr {
                    th scope="col" { (tr("No.")) } th scope="col" { (tr("Service")) } th scope="col" { (tr("Language")) }
                    th scope="col" { (tr("Postcode")) } th scope="col" { (tr("Waiting")) } th scope="col" { (tr("Attempts")) }
                    th scope="col" { (tr("Number")) } th scope="col" { (tr("Priority")) }
                    @if supervisor { th scope="col" { (tr("Held by")) } }
                    th scope="col" { span.visually-hidden { (tr("Action")) } }
                } }
                tbody {
                    @for r in requests {
                        tr data-request=(r.id) {
                            td { a href={ "/console/requests/" (r.id) } { (r.id) } }
                            td { (r.service) } td { (r.language) }
                            td { (r.postcode.as_deref().unwrap_or("–")) }
                            td { (age(r.created_at, now)) }
                            td { (r.attempts) " / " (r.max_attempts) }
                            td { (r.phone.as_deref().map(mask).unwrap_or_default()) }
                            td { (priority(r.priority)) }
                            @if supervisor {
                                td { @match &r.holder { Some((_, login)) => (login), None => @if r.is_scheduled(now) { (trf("due {in}", &[("in", &age(now, r.not_before))])) } @else { "–" } } }
                            }
                            td {
                                @if r.holder.is_none() && r.not_before <= now {
                                    form.inline method="post" action={ "/console/requests/" (r.id) "/claim" } {
                                        input type="hidden" name="csrf" value=(csrf);
                                        button type="submit" aria-label=(trf("Take request {id}", &[("id", &r.id)])) { (tr("Take this one")) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The queue page.
pub fn queue_page(
    viewer: &Viewer,
    mine: &[Request],
    requests: &[Request],
    filter: &Filter,
    choices: &(Vec<String>, Vec<String>),
    now: DateTime<Utc>,
) -> Html<String> {
    let csrf = viewer.csrf.clone().unwrap_or_default();
    let (services, languages) = choices;
    let query = filter_query(filter);
    layout(
        tr("Queue"),
        Some(viewer),
        &html! {
            h1 { (tr("Callback queue")) }
            @if !mine.is_empty() {
                section aria-labelledby="mine" {
                    h2 #mine { (tr("Your requests")) }
                    ul { @for r in mine {
                        li { a href={ "/console/requests/" (r.id) } { (trf("Request {id}", &[("id", &r.id)])) " · " (r.service) } }
                    } }
                }
            }
            form.filters method="get" action="/console" {
                div { label for="service" { (tr("Service")) }
                    select #service name="service" {
                        option value="" { (tr("Any")) }
                        @for s in services { option value=(s) selected[filter.service.as_deref() == Some(s.as_str())] { (s) } }
                    } }
                div { label for="language" { (tr("Language")) }
                    select #language name="language" {
                        option value="" { (tr("Any")) }
                        @for l in languages { option value=(l) selected[filter.language.as_deref() == Some(l.as_str())] { (l) } }
                    } }
                div { label for="postcode" { (tr("Postcode")) }
                    input #postcode name="postcode" inputmode="numeric" size="6" value=(filter.postcode.clone().unwrap_or_default()); }
                button type="submit" { (tr("Filter")) }
            }
            form method="post" action="/console/claim-next" {
                input type="hidden" name="csrf" value=(csrf);
                (hidden_filters(filter))
                button.primary type="submit" { (tr("Take the next one")) }
            }
            div #queue aria-live="polite" data-src={ "/console/queue?" (query) } {
                (queue_table(requests, viewer, now))
            }
        },
    )
}

/// One request.
pub fn request_page(
    viewer: &Viewer,
    detail: &Detail,
    agents: &[Agent],
    calling: bool,
    tz: Tz,
    now: DateTime<Utc>,
) -> Html<String> {
    let (r, history) = (&detail.request, &detail.history);
    let csrf = viewer.csrf.clone().unwrap_or_default();
    let holder = shows_contact(r, viewer.actor());
    let supervisor = viewer.agent.is_supervisor();
    let action = |what: &str| format!("/console/requests/{}/{what}", r.id);
    layout(
        &trf("Request {id}", &[("id", &r.id)]),
        Some(viewer),
        &html! {
            h1 { (trf("Request {id}", &[("id", &r.id)])) " · " (r.service) }
            @if crate::ops::missions::coordinates(viewer.actor()) && r.help.is_some() {
                p { a.button href=(action("matches")) { (tr("Volunteers who can do it")) } }
            }
            dl.facts {
                // Like the answers it comes from: for the holder, and for coordinators who match it.
                @if holder || crate::ops::missions::coordinates(viewer.actor()) {
                    @if let Some(help) = &r.help { dt { (tr("Kind of help")) } dd { (help) } }
                }
                @if let Some(mission) = r.mission { dt { (tr("Mission")) } dd { (trf("mission {id}, with the volunteers", &[("id", &mission)])) } }
                dt { (tr("State")) } dd { (state_label(r.state)) @if let Some((_, login)) = &r.holder { " " (trf("by {login} until {until}", &[("login", login), ("until", &r.lease_until.map(|l| local(l, tz)).unwrap_or_default())])) } }
                dt { (tr("Language")) } dd { (r.language) }
                dt { (tr("Postcode")) } dd { (r.postcode.as_deref().unwrap_or("–")) }
                @if let Some(n) = &r.neighbourhood {
                    dt { (tr("Neighbourhood")) }
                    dd {
                        (n)
                        @if let Some(until) = r.reserved_until.filter(|u| *u > now) {
                            " · " (trf("kept for its referents until {at}", &[("at", &local(until, tz))]))
                        }
                    }
                }
                dt { (tr("Priority")) } dd { (priority(r.priority)) }
                dt { (tr("Waiting")) } dd { (age(r.created_at, now)) " (" (trf("since {at}", &[("at", &local(r.created_at, tz))])) ")" }
                dt { (tr("Attempts")) } dd { (r.attempts) " / " (r.max_attempts) }
                dt { (tr("Number")) }
                dd {
                    @match (&r.phone, holder) {
                        (Some(phone), true) => a.phone href={ "tel:" (phone) } { (phone) },
                        (Some(phone), false) => (mask(phone)),
                        (None, _) => (tr("removed")),
                    }
                }
            }
            @if supervisor && !detail.calls.is_empty() {
                p.calls {
                    (tr("The path of each call that asked:")) " "
                    @for (i, call) in detail.calls.iter().enumerate() {
                        a href={ "/console/calls/" (call.call_sid) } { (trf("call {n}", &[("n", &(i + 1))])) } " "
                    }
                }
            }
            @if holder {
                section aria-labelledby="answers" {
                    h2 #answers { (tr("What the caller said")) }
                    @if let Some(map) = r.answers.as_object() {
                        @if map.is_empty() { p { (tr("No answers recorded.")) } }
                        dl { @for (k, v) in map { dt { (k) } dd { (v.as_str().unwrap_or_default()) } } }
                    }
                    @if let Some(url) = &r.recording_url {
                        p { (tr("Voice message:")) }
                        audio controls preload="none" src=(url) { a href=(url) { (tr("Listen to the message")) } }
                    }
                }
                @if detail.calls.len() > 1 {
                    section aria-labelledby="calls" {
                        h2 #calls { (tr("Each call")) }
                        p { (trf("The caller asked {count} times; what each call said:", &[("count", &detail.calls.len())])) }
                        ol {
                            @for call in &detail.calls {
                                li {
                                    p { (call.at.map_or_else(|| "–".to_owned(), |at| local(at, tz))) }
                                    @if let Some(postcode) = &call.postcode { p { (tr("Postcode")) " " (postcode) } }
                                    dl { @for (k, v) in &call.answers { dt { (k) } dd { (v) } } }
                                    @if let Some(url) = &call.recording_url {
                                        audio controls preload="none" src=(url) { a href=(url) { (tr("Listen to this message")) } }
                                    }
                                }
                            }
                        }
                    }
                }
                @if calling && r.phone.is_some() {
                    form.inline method="post" action=(action("call")) {
                        input type="hidden" name="csrf" value=(csrf);
                        button.primary type="submit" { (tr("Call through the line")) }
                        " " (tr("Your phone rings first; press 1 and the resident is rung, seeing the line's number, not yours."))
                    }
                }
                section aria-labelledby="outcome" {
                    h2 #outcome { (tr("Record the call")) }
                    form method="post" action=(action("outcome")) {
                        input type="hidden" name="csrf" value=(csrf);
                        fieldset {
                            legend { (tr("Outcome")) }
                            @for value in Outcome::NAMES {
                                @let label = outcome_label(value);
                                div.choice {
                                    input type="radio" name="outcome" id={ "o-" (value) } value=(value) required;
                                    label for={ "o-" (value) } { (label) }
                                }
                            }
                        }
                        label for="follow_up" { (tr("Follow-up date (for a follow-up)")) }
                        input #follow_up type="datetime-local" name="follow_up";
                        label for="partner" { (tr("Partner (for a referral)")) }
                        input #partner name="partner";
                        label for="note" { (tr("Note")) }
                        textarea #note name="note" rows="3" {}
                        button.primary type="submit" { (tr("Save the outcome")) }
                    }
                }
            }
            @if r.holder.is_some() && (holder || supervisor) {
                form method="post" action=(action("release")) {
                    input type="hidden" name="csrf" value=(csrf);
                    button type="submit" { (tr("Give it back to the queue")) }
                }
            }
            @if r.holder.is_none() && r.is_due(now) {
                form method="post" action=(action("claim")) {
                    input type="hidden" name="csrf" value=(csrf);
                    button.primary type="submit" { (tr("Take this one")) }
                }
            }
            @if supervisor && r.state.is_active() {
                section aria-labelledby="supervise" {
                    h2 #supervise { (tr("Supervise")) }
                    form method="post" action=(action("reassign")) {
                        input type="hidden" name="csrf" value=(csrf);
                        label for="agent" { (tr("Give to")) }
                        select #agent name="agent" { @for a in agents.iter().filter(|a| !a.disabled) { option value=(a.login) { (a.login) } } }
                        button type="submit" { (tr("Reassign")) }
                    }
                    form method="post" action=(action("priority")) {
                        input type="hidden" name="csrf" value=(csrf);
                        label for="priority" { (tr("Priority")) }
                        select #priority name="priority" {
                            @for (v, l) in [(0, "normal"), (1, "high"), (2, "urgent")] { option value=(v) selected[r.priority.rank() == v] { (tr(l)) } }
                        }
                        button type="submit" { (tr("Change")) }
                    }
                    form method="post" action=(action("cancel")) {
                        input type="hidden" name="csrf" value=(csrf);
                        label for="reason" { (tr("Reason for cancelling")) }
                        input #reason name="reason" required;
                        button type="submit" { (tr("Cancel the request")) }
                    }
                }
            }
            section aria-labelledby="history" {
                h2 #history { (tr("History")) }
                ol.history { @for h in history {
                    li { time { (local_stored(&h.at, tz)) } " · " (h.agent.as_deref().unwrap_or(tr("the line"))) " · " (h.action) @if !h.detail.is_empty() { " · " (h.detail) } }
                } }
            }
        },
    )
}

/// Account management.
pub fn agents_page(
    viewer: &Viewer,
    accounts: &[crate::ops::agents::Account],
    lines: &[(String, String)],
    every: bool,
    notice: Option<&str>,
) -> Html<String> {
    let csrf = viewer.csrf.clone().unwrap_or_default();
    let name_of = |id: &str| lines.iter().find(|(l, _)| l == id).map_or(id.to_owned(), |(_, n)| n.clone());
    layout(
        tr("Agents"),
        Some(viewer),
        &html! {
            h1 { (tr("Agents")) }
            @if let Some(n) = notice { p role="status" { (n) } }
            table {
                thead { tr { th scope="col" { (tr("Login")) } th scope="col" { (tr("Role")) } th scope="col" { (tr("Lines")) } th scope="col" { (tr("State")) } th scope="col" { span.visually-hidden { (tr("Action")) } } } }
                tbody { @for account in accounts {
                    @let a = &account.agent;
                    tr {
                        td { (a.login) } td { (role_label(a.role)) }
                        td { @if account.lines.is_empty() { (tr("every line")) } @else { (account.lines.iter().map(|l| name_of(l)).collect::<Vec<_>>().join(", ")) } }
                        td { @if a.disabled { (tr("disabled")) } @else { (tr("active")) } }
                        td {
                            @if !a.disabled && a.id != viewer.agent.id {
                                form.inline method="post" action={ "/console/agents/" (a.login) "/disable" } {
                                    input type="hidden" name="csrf" value=(csrf);
                                    button type="submit" { (trf("Disable {login}", &[("login", &a.login)])) }
                                }
                            }
                            @if !a.disabled {
                                form.inline method="post" action={ "/console/agents/" (a.login) "/phone" } {
                                    input type="hidden" name="csrf" value=(csrf);
                                    label for={ "phone-" (a.login) } { (tr("Phone rung by click-to-call")) }
                                    input id={ "phone-" (a.login) } name="phone" type="tel" autocomplete="off" placeholder=(tr("0470 12 34 56 (empty: none)"));
                                    button type="submit" { (trf("Set {login}'s phone", &[("login", &a.login)])) }
                                }
                            }
                        }
                    }
                } }
            }
            h2 { (tr("Add an account")) }
            form method="post" action="/console/agents" {
                input type="hidden" name="csrf" value=(csrf);
                label for="new-login" { (tr("Login")) }
                input #new-login name="login" required pattern="[A-Za-z0-9._-]{2,64}";
                label for="new-role" { (tr("Role")) }
                select #new-role name="role" {
                    option value="agent" { (tr("agent")) }
                    option value="coordinator" { (tr("coordinator")) }
                    option value="supervisor" { (tr("supervisor")) }
                    @if every { option value="admin" { (tr("administrator (every line)")) } }
                }
                @if lines.len() > 1 {
                    fieldset {
                        legend { (tr("Lines the account works on")) @if every { " " (tr("(not needed for an administrator)")) } }
                        @for (id, name) in lines {
                            label.check { input type="checkbox" name="line" value=(id); " " (name) }
                        }
                    }
                }
                fieldset {
                    legend { (tr("For a referent (a coordinator): what they handle")) }
                    label for="new-postcodes" { (tr("Postcodes (4030, 4031)")) }
                    input #new-postcodes name="postcodes" inputmode="numeric" autocomplete="off";
                    label for="new-neighbourhoods" { (tr("Or neighbourhoods of their line (maille, mercure)")) }
                    input #new-neighbourhoods name="neighbourhoods" autocomplete="off";
                }
                label for="new-password" { (tr("Password (10 characters or more)")) }
                input #new-password name="password" type="password" minlength="10" autocomplete="new-password" required;
                label for="new-phone" { (tr("Phone rung by click-to-call (optional)")) }
                input #new-phone name="phone" type="tel" autocomplete="off";
                button type="submit" { (tr("Add")) }
            }
        },
    )
}

fn recording_state(row: &PromptRow) -> Markup {
    html! {
        @if row.dynamic {
            (tr("spoken (holds a number)"))
        } @else if let Some(r) = &row.recording {
            (trf("recorded, {seconds} s", &[("seconds", &current().number(r.seconds, 1))]))
            @if row.stale() { " " strong.error { (tr("— made for an older text")) } }
        } @else {
            (tr("text-to-speech"))
        }
    }
}

/// One prompt in one language, as the console shows it.
#[derive(Debug, Clone)]
pub struct PromptRow {
    /// Prompt id.
    pub prompt: String,
    /// The line's id.
    pub line: String,
    /// The line's name.
    pub line_name: String,
    /// Language.
    pub lang: String,
    /// Its text in the flow.
    pub text: String,
    /// Filled in during the call: always spoken by text-to-speech.
    pub dynamic: bool,
    /// The recording in force.
    pub recording: Option<crate::sounds::Recording>,
}

impl PromptRow {
    /// Where its recording lives.
    #[must_use]
    pub fn slot(&self) -> crate::sounds::Slot<'_> {
        crate::sounds::Slot::new(&self.line, &self.lang, &self.prompt)
    }

    /// Recorded for another text than the flow's.
    #[must_use]
    pub fn stale(&self) -> bool {
        self.recording.as_ref().is_some_and(|r| !r.says(&self.text))
    }
}

/// Links from a page about one line (`current`, its id) to the same page of each other
/// line of `lines` (id, name): `{path}?line={id}`. Nothing with a single line.
#[must_use]
pub fn line_links(path: &str, lines: &[(String, String)], current: &str) -> Markup {
    html! {
        @if lines.len() > 1 {
            nav.lines aria-label=(tr("Lines")) { ul { @for (id, name) in lines {
                li { @if id == current { strong aria-current="page" { (name) } } @else { a href={ (path) "?line=" (id) } { (name) } } }
            } } }
        }
    }
}

/// One line's prompts with their recording state; `lines` (id, name) links to the others.
pub fn prompts_page(
    viewer: &Viewer,
    lines: &[(String, String)],
    line: &str,
    rows: &[PromptRow],
) -> Html<String> {
    let recorded = rows.iter().filter(|r| r.recording.is_some()).count();
    let stale = rows.iter().filter(|r| r.stale()).count();
    let name = lines.iter().find(|(id, _)| id == line).map_or(line, |(_, n)| n.as_str());
    layout(
        tr("Prompts"),
        Some(viewer),
        &html! {
            h1 { (trf("Prompts of {line}", &[("line", &name)])) }
            (line_links("/console/prompts", lines, line))
            p { (trf("{recorded} of {count} prompts recorded", &[("recorded", &recorded), ("count", &rows.len())]))
                @if stale > 0 { ", " strong.error { (trf("{count} made for an older text", &[("count", &stale)])) } }
                ". " (tr("The others are spoken by the line's text-to-speech voice.")) }
            table {
                thead { tr { th scope="col" { (tr("Prompt")) } th scope="col" { (tr("Language")) } th scope="col" { (tr("Text")) } th scope="col" { (tr("Recording")) } } }
                tbody { @for r in rows {
                    tr {
                        td { a href={ "/console/prompts/" (r.slot().path()) } { (r.prompt) } }
                        td { (r.lang) }
                        td { (r.text) }
                        td { (recording_state(r)) }
                    }
                } }
            }
        },
    )
}

/// One prompt: its recording, an upload form, the kept versions.
pub fn prompt_page(
    viewer: &Viewer,
    row: &PromptRow,
    versions: &[Version],
    tz: Tz,
    notice: Option<&str>,
    error: bool,
) -> Html<String> {
    let csrf = viewer.csrf.clone().unwrap_or_default();
    let base = format!("/console/prompts/{}", row.slot().path());
    layout(
        &trf("Prompt {prompt}", &[("prompt", &row.prompt)]),
        Some(viewer),
        &html! {
            h1 { (trf("Prompt {prompt}", &[("prompt", &row.prompt)])) " (" (row.lang) ", " (row.line_name) ")" }
            @if let Some(n) = notice {
                @if error { p.error role="alert" { (n) } } @else { p role="status" { (n) } }
            }
            dl.facts {
                dt { (tr("Text")) } dd { (row.text) }
                dt { (tr("Recording")) } dd { (recording_state(row)) }
            }
            @if let Some(r) = &row.recording {
                audio controls preload="none" src={ "/sounds/" (row.slot().path()) ".wav?v=" (r.tag) } {
                    a href={ "/sounds/" (row.slot().path()) ".wav" } { (tr("Download the recording")) }
                }
            }
            h2 { (tr("Change the words")) }
            p { (tr("The line's flow file is changed and checked as `solidaire flows check` would before it is saved; callers hear the new words from their next call. A recording made for the old words goes on being played until it is replaced.")) }
            form method="post" action={ (base) "/text" } {
                input type="hidden" name="csrf" value=(csrf);
                label for="text" { (tr("Words")) }
                textarea #text name="text" rows="4" cols="70" required { (row.text) }
                button type="submit" { (tr("Check and save")) }
            }
            @if !row.dynamic {
                h2 { (tr("Replace the recording")) }
                p { (tr("A WAV file of 0.3 s to 2 minutes saying the text above. Any rate, mono or stereo: it is converted to 8 kHz mono, the telephone's format. The recording it replaces is kept below.")) }
                form method="post" action=(base) enctype="multipart/form-data" {
                    input type="hidden" name="csrf" value=(csrf);
                    label for="recording" { (tr("WAV file")) }
                    input #recording name="recording" type="file" accept=".wav,audio/wav,audio/x-wav" required;
                    button.primary type="submit" { (tr("Upload and put in force")) }
                }
            }
            h2 { (tr("Earlier recordings")) }
            @if versions.is_empty() {
                p.empty { (tr("None kept yet.")) }
            } @else {
                table {
                    thead { tr { th scope="col" { (tr("Replaced")) } th scope="col" { (tr("Length")) } th scope="col" { (tr("Text")) } th scope="col" { (tr("Listen")) } th scope="col" { span.visually-hidden { (tr("Action")) } } } }
                    tbody { @for v in versions {
                        tr {
                            td { (current().date(v.replaced_at.with_timezone(&tz).date_naive())) " " (v.replaced_at.with_timezone(&tz).format("%H:%M:%S")) }
                            td { (current().number(v.seconds, 1)) " s" }
                            td { (v.text.as_deref().unwrap_or(tr("(unknown)"))) }
                            td { audio controls preload="none" src={ (base) "/versions/" (v.name) ".wav" } {} }
                            td { form.inline method="post" action={ (base) "/restore" } {
                                input type="hidden" name="csrf" value=(csrf);
                                input type="hidden" name="version" value=(v.name);
                                button type="submit" { (tr("Restore this recording")) }
                            } }
                        }
                    } }
                }
            }
            p { a href={ "/console/prompts?line=" (row.line) } { (trf("All prompts of {line}", &[("line", &row.line_name)])) } }
        },
    )
}
