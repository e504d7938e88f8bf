//! The console's HTML, written with maud (escaped by construction). Pages are plain
//! server-rendered forms and tables: usable with the keyboard alone, on a phone, at 200 %
//! zoom, and with JavaScript off (one small script only keeps the queue fresh).

use axum::response::Html;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use maud::{DOCTYPE, Markup, html};

use super::viewer::Viewer;
use crate::domain::queue::{Filter, Request};
use crate::domain::{Agent, Outcome, Priority};
use crate::ops::queue::{Detail, shows_contact};
use crate::phone::mask;
use crate::sounds::Version;
use crate::store::time;

/// A whole page.
pub fn layout(title: &str, viewer: Option<&Viewer>, body: &Markup) -> Html<String> {
    Html(
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (title) " · solidaire" }
                    link rel="stylesheet" href="/assets/console.css";
                    script src="/assets/console.js" defer {}
                }
                body {
                    a.skip href="#main" { "Skip to content" }
                    header {
                        nav aria-label="Main" {
                            a href="/console" { "Queue" }
                            @if let Some(v) = viewer {
                                @if crate::ops::missions::coordinates(v.actor()) {
                                    a href="/console/volunteers" { "Volunteers" }
                                    a href="/console/missions" { "Missions" }
                                    a href="/console/map" { "Map" }
                                }
                                @if v.agent.is_supervisor() {
                                    a href="/console/stats" { "Statistics" }
                                    a href="/console/agents" { "Agents" }
                                    a href="/console/prompts" { "Prompts" }
                                    a href="/console/lines" { "Lines" }
                                }
                                span.who { (v.agent.login) " (" (v.agent.role.as_str()) ")" }
                                form.inline method="post" action="/logout" {
                                    input type="hidden" name="csrf" value=(v.csrf.clone().unwrap_or_default());
                                    button type="submit" { "Log out" }
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
pub fn login(csrf: &str, failed: bool) -> Html<String> {
    layout(
        "Log in",
        None,
        &html! {
            h1 { "Log in" }
            @if failed { p.error role="alert" { "Wrong login or password." } }
            form method="post" action="/login" {
                input type="hidden" name="csrf" value=(csrf);
                label for="login" { "Login" }
                input #login name="login" autocomplete="username" required autofocus;
                label for="password" { "Password" }
                input #password name="password" type="password" autocomplete="current-password" required;
                button type="submit" { "Log in" }
            }
        },
    )
}

/// A short message with a way back.
pub fn message(title: &str, text: &str, back: &str) -> Html<String> {
    layout(title, None, &html! { h1 { (title) } p role="alert" { (text) } p { a href=(back) { "Back" } } })
}

/// `12 min`, `3 h 05`, `2 d 4 h`.
#[must_use]
pub fn age(since: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let minutes = (now - since).num_minutes().max(0);
    match minutes {
        0..60 => format!("{minutes} min"),
        60..1440 => format!("{} h {:02}", minutes / 60, minutes % 60),
        _ => format!("{} d {} h", minutes / 1440, minutes % 1440 / 60),
    }
}

/// A time in the line's time zone.
#[must_use]
pub fn local(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz).format("%a %d/%m %H:%M").to_string()
}

/// A stored time (a history line's) in the line's time zone.
#[must_use]
pub fn local_stored(at: &str, tz: Tz) -> String {
    time::parse(at).map_or_else(String::new, |t| local(t, tz))
}

fn priority(p: Priority) -> &'static str {
    match p {
        Priority::Urgent => "urgent",
        Priority::High => "high",
        Priority::Normal => "normal",
    }
}

/// The label of an outcome in the console's form.
fn outcome_label(name: &str) -> &'static str {
    match name {
        "reached_resolved" => "Reached – resolved",
        "reached_follow_up" => "Reached – follow-up (give a date)",
        "no_answer" => "No answer",
        "busy" => "Busy",
        "voicemail" => "Voicemail",
        "wrong_number" => "Wrong number",
        "no_longer_needed" => "No longer needed",
        "referred" => "Referred to a partner (name it)",
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
            p.empty { "No request is waiting." }
        } @else {
            table {
                caption { (requests.len()) " request(s), highest priority then oldest first" }
                thead { tr {
                    th scope="col" { "No." } th scope="col" { "Service" } th scope="col" { "Language" }
                    th scope="col" { "Postcode" } th scope="col" { "Waiting" } th scope="col" { "Attempts" }
                    th scope="col" { "Number" } th scope="col" { "Priority" }
                    @if supervisor { th scope="col" { "Held by" } }
                    th scope="col" { span.visually-hidden { "Action" } }
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
                                td { @match &r.holder { Some((_, login)) => (login), None => @if r.is_scheduled(now) { "due " (age(now, r.not_before)) } @else { "–" } } }
                            }
                            td {
                                @if r.holder.is_none() && r.not_before <= now {
                                    form.inline method="post" action={ "/console/requests/" (r.id) "/claim" } {
                                        input type="hidden" name="csrf" value=(csrf);
                                        button type="submit" aria-label={ "Take request " (r.id) } { "Take this one" }
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
        "Queue",
        Some(viewer),
        &html! {
            h1 { "Callback queue" }
            @if !mine.is_empty() {
                section aria-labelledby="mine" {
                    h2 #mine { "Your requests" }
                    ul { @for r in mine {
                        li { a href={ "/console/requests/" (r.id) } { "Request " (r.id) " · " (r.service) } }
                    } }
                }
            }
            form.filters method="get" action="/console" {
                div { label for="service" { "Service" }
                    select #service name="service" {
                        option value="" { "Any" }
                        @for s in services { option value=(s) selected[filter.service.as_deref() == Some(s.as_str())] { (s) } }
                    } }
                div { label for="language" { "Language" }
                    select #language name="language" {
                        option value="" { "Any" }
                        @for l in languages { option value=(l) selected[filter.language.as_deref() == Some(l.as_str())] { (l) } }
                    } }
                div { label for="postcode" { "Postcode" }
                    input #postcode name="postcode" inputmode="numeric" size="6" value=(filter.postcode.clone().unwrap_or_default()); }
                button type="submit" { "Filter" }
            }
            form method="post" action="/console/claim-next" {
                input type="hidden" name="csrf" value=(csrf);
                (hidden_filters(filter))
                button.primary type="submit" { "Take the next one" }
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
        &format!("Request {}", r.id),
        Some(viewer),
        &html! {
            h1 { "Request " (r.id) " · " (r.service) }
            @if crate::ops::missions::coordinates(viewer.actor()) && r.help.is_some() {
                p { a.button href=(action("matches")) { "Volunteers who can do it" } }
            }
            dl.facts {
                // Like the answers it comes from: for the holder, and for coordinators who match it.
                @if holder || crate::ops::missions::coordinates(viewer.actor()) {
                    @if let Some(help) = &r.help { dt { "Kind of help" } dd { (help) } }
                }
                @if let Some(mission) = r.mission { dt { "Mission" } dd { "mission " (mission) ", with the volunteers" } }
                dt { "State" } dd { (r.state) @if let Some((_, login)) = &r.holder { " by " (login) " until " (r.lease_until.map(|l| local(l, tz)).unwrap_or_default()) } }
                dt { "Language" } dd { (r.language) }
                dt { "Postcode" } dd { (r.postcode.as_deref().unwrap_or("–")) }
                dt { "Priority" } dd { (priority(r.priority)) }
                dt { "Waiting" } dd { (age(r.created_at, now)) " (since " (local(r.created_at, tz)) ")" }
                dt { "Attempts" } dd { (r.attempts) " / " (r.max_attempts) }
                dt { "Number" }
                dd {
                    @match (&r.phone, holder) {
                        (Some(phone), true) => a.phone href={ "tel:" (phone) } { (phone) },
                        (Some(phone), false) => (mask(phone)),
                        (None, _) => "removed",
                    }
                }
            }
            @if holder {
                section aria-labelledby="answers" {
                    h2 #answers { "What the caller said" }
                    @if let Some(map) = r.answers.as_object() {
                        @if map.is_empty() { p { "No answers recorded." } }
                        dl { @for (k, v) in map { dt { (k) } dd { (v.as_str().unwrap_or_default()) } } }
                    }
                    @if let Some(url) = &r.recording_url {
                        p { "Voice message:" }
                        audio controls preload="none" src=(url) { a href=(url) { "Listen to the message" } }
                    }
                }
                @if detail.calls.len() > 1 {
                    section aria-labelledby="calls" {
                        h2 #calls { "Each call" }
                        p { "The caller asked " (detail.calls.len()) " times; what each call said:" }
                        ol {
                            @for call in &detail.calls {
                                li {
                                    p { (call.at.map_or_else(|| "–".to_owned(), |at| local(at, tz))) }
                                    @if let Some(postcode) = &call.postcode { p { "Postcode " (postcode) } }
                                    dl { @for (k, v) in &call.answers { dt { (k) } dd { (v) } } }
                                    @if let Some(url) = &call.recording_url {
                                        audio controls preload="none" src=(url) { a href=(url) { "Listen to this message" } }
                                    }
                                }
                            }
                        }
                    }
                }
                @if calling && r.phone.is_some() {
                    form.inline method="post" action=(action("call")) {
                        input type="hidden" name="csrf" value=(csrf);
                        button.primary type="submit" { "Call through the line" }
                        " Your phone rings first; press 1 and the resident is rung, seeing the line's number, not yours."
                    }
                }
                section aria-labelledby="outcome" {
                    h2 #outcome { "Record the call" }
                    form method="post" action=(action("outcome")) {
                        input type="hidden" name="csrf" value=(csrf);
                        fieldset {
                            legend { "Outcome" }
                            @for value in Outcome::NAMES {
                                @let label = outcome_label(value);
                                div.choice {
                                    input type="radio" name="outcome" id={ "o-" (value) } value=(value) required;
                                    label for={ "o-" (value) } { (label) }
                                }
                            }
                        }
                        label for="follow_up" { "Follow-up date (for a follow-up)" }
                        input #follow_up type="datetime-local" name="follow_up";
                        label for="partner" { "Partner (for a referral)" }
                        input #partner name="partner";
                        label for="note" { "Note" }
                        textarea #note name="note" rows="3" {}
                        button.primary type="submit" { "Save the outcome" }
                    }
                }
            }
            @if r.holder.is_some() && (holder || supervisor) {
                form method="post" action=(action("release")) {
                    input type="hidden" name="csrf" value=(csrf);
                    button type="submit" { "Give it back to the queue" }
                }
            }
            @if r.holder.is_none() && r.is_due(now) {
                form method="post" action=(action("claim")) {
                    input type="hidden" name="csrf" value=(csrf);
                    button.primary type="submit" { "Take this one" }
                }
            }
            @if supervisor && r.state.is_active() {
                section aria-labelledby="supervise" {
                    h2 #supervise { "Supervise" }
                    form method="post" action=(action("reassign")) {
                        input type="hidden" name="csrf" value=(csrf);
                        label for="agent" { "Give to" }
                        select #agent name="agent" { @for a in agents.iter().filter(|a| !a.disabled) { option value=(a.login) { (a.login) } } }
                        button type="submit" { "Reassign" }
                    }
                    form method="post" action=(action("priority")) {
                        input type="hidden" name="csrf" value=(csrf);
                        label for="priority" { "Priority" }
                        select #priority name="priority" {
                            @for (v, l) in [(0, "normal"), (1, "high"), (2, "urgent")] { option value=(v) selected[r.priority.rank() == v] { (l) } }
                        }
                        button type="submit" { "Change" }
                    }
                    form method="post" action=(action("cancel")) {
                        input type="hidden" name="csrf" value=(csrf);
                        label for="reason" { "Reason for cancelling" }
                        input #reason name="reason" required;
                        button type="submit" { "Cancel the request" }
                    }
                }
            }
            section aria-labelledby="history" {
                h2 #history { "History" }
                ol.history { @for h in history {
                    li { time { (local_stored(&h.at, tz)) } " · " (h.agent.as_deref().unwrap_or("the line")) " · " (h.action) @if !h.detail.is_empty() { " · " (h.detail) } }
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
        "Agents",
        Some(viewer),
        &html! {
            h1 { "Agents" }
            @if let Some(n) = notice { p role="status" { (n) } }
            table {
                thead { tr { th scope="col" { "Login" } th scope="col" { "Role" } th scope="col" { "Lines" } th scope="col" { "State" } th scope="col" { span.visually-hidden { "Action" } } } }
                tbody { @for account in accounts {
                    @let a = &account.agent;
                    tr {
                        td { (a.login) } td { (a.role.as_str()) }
                        td { @if account.lines.is_empty() { "every line" } @else { (account.lines.iter().map(|l| name_of(l)).collect::<Vec<_>>().join(", ")) } }
                        td { @if a.disabled { "disabled" } @else { "active" } }
                        td {
                            @if !a.disabled && a.id != viewer.agent.id {
                                form.inline method="post" action={ "/console/agents/" (a.login) "/disable" } {
                                    input type="hidden" name="csrf" value=(csrf);
                                    button type="submit" { "Disable " (a.login) }
                                }
                            }
                            @if !a.disabled {
                                form.inline method="post" action={ "/console/agents/" (a.login) "/phone" } {
                                    input type="hidden" name="csrf" value=(csrf);
                                    label for={ "phone-" (a.login) } { "Phone rung by click-to-call" }
                                    input id={ "phone-" (a.login) } name="phone" type="tel" autocomplete="off" placeholder="0470 12 34 56 (empty: none)";
                                    button type="submit" { "Set " (a.login) "'s phone" }
                                }
                            }
                        }
                    }
                } }
            }
            h2 { "Add an account" }
            form method="post" action="/console/agents" {
                input type="hidden" name="csrf" value=(csrf);
                label for="new-login" { "Login" }
                input #new-login name="login" required pattern="[A-Za-z0-9._-]{2,64}";
                label for="new-role" { "Role" }
                select #new-role name="role" {
                    option value="agent" { "agent" }
                    option value="coordinator" { "coordinator" }
                    option value="supervisor" { "supervisor" }
                    @if every { option value="admin" { "administrator (every line)" } }
                }
                @if lines.len() > 1 {
                    fieldset {
                        legend { "Lines the account works on" @if every { " (not needed for an administrator)" } }
                        @for (id, name) in lines {
                            label.check { input type="checkbox" name="line" value=(id); " " (name) }
                        }
                    }
                }
                label for="new-password" { "Password (10 characters or more)" }
                input #new-password name="password" type="password" minlength="10" autocomplete="new-password" required;
                label for="new-phone" { "Phone rung by click-to-call (optional)" }
                input #new-phone name="phone" type="tel" autocomplete="off";
                button type="submit" { "Add" }
            }
        },
    )
}

fn recording_state(row: &PromptRow) -> Markup {
    html! {
        @if row.dynamic {
            "spoken (holds a number)"
        } @else if let Some(r) = &row.recording {
            (format!("recorded, {:.1} s", r.seconds))
            @if row.stale() { " " strong.error { "— made for an older text" } }
        } @else {
            "text-to-speech"
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
            nav.lines aria-label="Lines" { ul { @for (id, name) in lines {
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
        "Prompts",
        Some(viewer),
        &html! {
            h1 { "Prompts of " (name) }
            (line_links("/console/prompts", lines, line))
            p { (recorded) " of " (rows.len()) " prompts recorded"
                @if stale > 0 { ", " strong.error { (stale) " made for an older text" } }
                ". The others are spoken by the line's text-to-speech voice." }
            table {
                thead { tr { th scope="col" { "Prompt" } th scope="col" { "Language" } th scope="col" { "Text" } th scope="col" { "Recording" } } }
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
        &format!("Prompt {}", row.prompt),
        Some(viewer),
        &html! {
            h1 { "Prompt " (row.prompt) " (" (row.lang) ", " (row.line_name) ")" }
            @if let Some(n) = notice {
                @if error { p.error role="alert" { (n) } } @else { p role="status" { (n) } }
            }
            dl.facts {
                dt { "Text" } dd { (row.text) }
                dt { "Recording" } dd { (recording_state(row)) }
            }
            @if let Some(r) = &row.recording {
                audio controls preload="none" src={ "/sounds/" (row.slot().path()) ".wav?v=" (r.tag) } {
                    a href={ "/sounds/" (row.slot().path()) ".wav" } { "Download the recording" }
                }
            }
            @if !row.dynamic {
                h2 { "Replace the recording" }
                p { "A WAV file of 0.3 s to 2 minutes saying the text above. Any rate, mono or stereo: it is converted to 8 kHz mono, the telephone's format. The recording it replaces is kept below." }
                form method="post" action=(base) enctype="multipart/form-data" {
                    input type="hidden" name="csrf" value=(csrf);
                    label for="recording" { "WAV file" }
                    input #recording name="recording" type="file" accept=".wav,audio/wav,audio/x-wav" required;
                    button.primary type="submit" { "Upload and put in force" }
                }
            }
            h2 { "Earlier recordings" }
            @if versions.is_empty() {
                p.empty { "None kept yet." }
            } @else {
                table {
                    thead { tr { th scope="col" { "Replaced" } th scope="col" { "Length" } th scope="col" { "Text" } th scope="col" { "Listen" } th scope="col" { span.visually-hidden { "Action" } } } }
                    tbody { @for v in versions {
                        tr {
                            td { (v.replaced_at.with_timezone(&tz).format("%d/%m/%Y %H:%M:%S")) }
                            td { (format!("{:.1} s", v.seconds)) }
                            td { (v.text.as_deref().unwrap_or("(unknown)")) }
                            td { audio controls preload="none" src={ (base) "/versions/" (v.name) ".wav" } {} }
                            td { form.inline method="post" action={ (base) "/restore" } {
                                input type="hidden" name="csrf" value=(csrf);
                                input type="hidden" name="version" value=(v.name);
                                button type="submit" { "Restore this recording" }
                            } }
                        }
                    } }
                }
            }
            p { a href={ "/console/prompts?line=" (row.line) } { "All prompts of " (row.line_name) } }
        },
    )
}
