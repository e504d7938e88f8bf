//! Prompt management for supervisors: every prompt of each line with its text and
//! recording per language (each line has its own recordings), a player, upload of a new recording (checked, converted to
//! 8 kHz mono mu-law, in force on the next call without a restart), and the replaced
//! recordings kept, playable and restorable.

use crate::i18n::{tr, trf};
use axum::Router;
use axum::extract::{DefaultBodyLimit, Form, Multipart, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::errors::PageError;
use super::pages::{self, PromptRow};
use super::session::ConsoleSupervisor;
use super::state::AppState;
use crate::sounds::{self, Slot, wav};

/// Largest upload: two minutes of 48 kHz stereo 24-bit WAV, with room to spare.
const MAX_UPLOAD: usize = 40 * 1024 * 1024;

/// Routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console/prompts", get(list))
        .route(
            "/console/prompts/{line}/{lang}/{prompt}",
            get(detail).post(upload).layer(DefaultBodyLimit::max(MAX_UPLOAD)),
        )
        .route("/console/prompts/{line}/{lang}/{prompt}/restore", post(restore))
        .route("/console/prompts/{line}/{lang}/{prompt}/text", post(change_text))
        .route("/console/prompts/{line}/{lang}/{prompt}/versions/{file}", get(version_audio))
}

/// Every prompt of line `line` (every line: `None`), in every language of its line.
fn rows(app: &AppState, line: Option<&str>) -> Vec<PromptRow> {
    let flows = app.flows();
    let library = app.sounds();
    let mut out: Vec<PromptRow> = Vec::new();
    for flow in flows.iter().filter(|f| line.is_none_or(|l| f.id == l)) {
        for (id, texts) in &flow.file.prompts {
            for lang in &flow.file.line.languages {
                let lang = lang.get_ref();
                let Some(text) = texts.get(lang.as_str()) else { continue };
                out.push(PromptRow {
                    line: flow.id.clone(),
                    line_name: flow.file.line.name.clone(),
                    prompt: id.get_ref().clone(),
                    lang: lang.clone(),
                    text: text.clone(),
                    dynamic: sounds::is_dynamic(text),
                    recording: library.get(Slot::new(&flow.id, lang, id.get_ref())).cloned(),
                });
            }
        }
    }
    out
}

/// The prompt at `line/lang/prompt`, if `viewer` works on that line.
async fn find(
    app: &AppState,
    viewer: &super::viewer::Viewer,
    (line, lang, prompt): &(String, String, String),
) -> Option<PromptRow> {
    let mine = crate::ops::lines::worked_on(&app.ops, viewer.actor()).await.ok()?;
    if !mine.iter().any(|(id, _)| id == line) {
        return None;
    }
    rows(app, Some(line)).into_iter().find(|r| r.lang == *lang && r.prompt == *prompt)
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, pages::message(tr("Not found"), tr("No such prompt."), "/console/prompts"))
        .into_response()
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    line: Option<String>,
}

/// One line's prompts (the default line's unless `?line=` names another), with a link to
/// each other line's.
async fn list(
    State(app): State<AppState>,
    ConsoleSupervisor(viewer, _): ConsoleSupervisor,
    Query(query): Query<ListQuery>,
) -> Response {
    let lines = match crate::ops::lines::worked_on(&app.ops, viewer.actor()).await {
        Ok(lines) => lines,
        Err(e) => return PageError::from(e).into_response(),
    };
    let line = match query.line {
        Some(id) if lines.iter().any(|(l, _)| *l == id) => id,
        Some(_) => return not_found(),
        None => match lines.first() {
            Some((id, _)) => id.clone(),
            None => return not_found(),
        },
    };
    pages::prompts_page(&viewer, &lines, &line, &rows(&app, Some(&line))).into_response()
}

fn detail_page(
    app: &AppState,
    viewer: &super::viewer::Viewer,
    row: &PromptRow,
    notice: Option<&str>,
    error: bool,
) -> Response {
    let versions = sounds::versions(&app.settings.sounds, row.slot());
    let tz = app.timezone();
    let status = if error { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    (status, pages::prompt_page(viewer, row, &versions, tz, notice, error)).into_response()
}

async fn detail(
    State(app): State<AppState>,
    ConsoleSupervisor(viewer, _): ConsoleSupervisor,
    Path(at): Path<(String, String, String)>,
) -> Response {
    let Some(row) = find(&app, &viewer, &at).await else { return not_found() };
    detail_page(&app, &viewer, &row, None, false)
}

/// What went wrong while reading an upload, in the supervisor's words.
fn upload_problem(e: &axum::extract::multipart::MultipartError) -> String {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        trf("the file is too large: at most {size} MB", &[("size", &(MAX_UPLOAD / (1024 * 1024)))])
    } else {
        trf("the upload was cut short: {problem}", &[("problem", e)])
    }
}

/// Reads the upload form: the CSRF token and the file's bytes.
async fn read_upload(mut form: Multipart) -> Result<(String, Vec<u8>), String> {
    let mut csrf = String::new();
    let mut file = None;
    while let Some(field) = form.next_field().await.map_err(|e| upload_problem(&e))? {
        match field.name() {
            Some("csrf") => csrf = field.text().await.map_err(|e| upload_problem(&e))?,
            Some("recording") => file = Some(field.bytes().await.map_err(|e| upload_problem(&e))?.to_vec()),
            _ => {}
        }
    }
    let file = file.filter(|f| !f.is_empty()).ok_or_else(|| tr("choose a WAV file to upload").to_owned())?;
    Ok((csrf, file))
}

async fn upload(
    State(app): State<AppState>,
    ConsoleSupervisor(viewer, _): ConsoleSupervisor,
    Path(at): Path<(String, String, String)>,
    form: Multipart,
) -> Response {
    let Some(row) = find(&app, &viewer, &at).await else { return not_found() };
    let (csrf, bytes) = match read_upload(form).await {
        Ok(upload) => upload,
        Err(problem) => return detail_page(&app, &viewer, &row, Some(&problem), true),
    };
    if !viewer.csrf_ok(&csrf) {
        return PageError::Csrf.into_response();
    }
    if row.dynamic {
        let problem = tr("this prompt holds a number filled in during the call: it is always spoken");
        return detail_page(&app, &viewer, &row, Some(problem), true);
    }
    let root = app.settings.sounds.clone();
    let now = app.clock.now();
    let text = row.text.clone();
    let (line, lang, prompt) = at.clone();
    let not_saved = tr("the recording could not be saved (see the service log)");
    let stored = tokio::task::spawn_blocking(move || -> Result<f64, String> {
        let (phone, seconds) = wav::prepare(&bytes).map_err(|e| e.to_string())?;
        sounds::replace(&root, Slot::new(&line, &lang, &prompt), &phone, &text, now).map_err(|e| {
            tracing::error!(error = %e, "cannot write the recording");
            not_saved.to_owned()
        })?;
        Ok(seconds)
    })
    .await
    .unwrap_or_else(|e| Err(e.to_string()));
    match stored {
        Ok(seconds) => {
            app.refresh_sounds(true);
            tracing::info!(by = %viewer.agent.login, prompt = %row.slot().path(), seconds, "prompt recording replaced");
            let row = find(&app, &viewer, &at).await.unwrap_or(row);
            let notice = trf(
                "New recording in force ({seconds} s): callers hear it from their next prompt.",
                &[("seconds", &crate::i18n::current().number(seconds, 1))],
            );
            detail_page(&app, &viewer, &row, Some(&notice), false)
        }
        Err(problem) => detail_page(&app, &viewer, &row, Some(&problem), true),
    }
}

#[derive(Debug, Deserialize)]
struct TextForm {
    csrf: String,
    text: String,
}

/// The new words of a prompt, written in the line's flow file once checked.
async fn change_text(
    State(app): State<AppState>,
    ConsoleSupervisor(viewer, supervisor): ConsoleSupervisor,
    Path(at): Path<(String, String, String)>,
    Form(form): Form<TextForm>,
) -> Response {
    let Some(row) = find(&app, &viewer, &at).await else { return not_found() };
    if !viewer.csrf_ok(&form.csrf) {
        return PageError::Csrf.into_response();
    }
    let (line, lang, prompt) = &at;
    let by = crate::ops::agents::Manager::from(supervisor);
    match crate::ops::lines::set_prompt_text(&app.ops, by, line, lang, prompt, &form.text).await {
        Ok(()) => {
            tracing::info!(by = %viewer.agent.login, prompt = %row.slot().path(), "prompt text changed");
            let row = find(&app, &viewer, &at).await.unwrap_or(row);
            let mut notice =
                tr("New words saved in the flow file: callers hear them from their next call.").to_owned();
            if row.stale() {
                notice.push(' ');
                notice.push_str(tr(
                    "Its recording says the old words: replace it below (it is played until then).",
                ));
            }
            detail_page(&app, &viewer, &row, Some(&notice), false)
        }
        Err(crate::ops::Error::Invalid(problems)) => {
            let notice = trf("Not saved: {problems}", &[("problems", &problems)]);
            detail_page(&app, &viewer, &row, Some(&notice), true)
        }
        Err(e) => PageError::back_to("/console/prompts")(e).into_response(),
    }
}

#[derive(Debug, Deserialize)]
struct RestoreForm {
    csrf: String,
    version: String,
}

async fn restore(
    State(app): State<AppState>,
    ConsoleSupervisor(viewer, _): ConsoleSupervisor,
    Path(at): Path<(String, String, String)>,
    Form(form): Form<RestoreForm>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return PageError::Csrf.into_response();
    }
    let Some(row) = find(&app, &viewer, &at).await else { return not_found() };
    let root = app.settings.sounds.clone();
    let now = app.clock.now();
    let ((line, lang, prompt), version) = (at.clone(), form.version.clone());
    let restored = tokio::task::spawn_blocking(move || {
        sounds::restore(&root, Slot::new(&line, &lang, &prompt), &version, now)
    })
    .await;
    match restored {
        Ok(Ok(())) => {
            app.refresh_sounds(true);
            let path = row.slot().path();
            tracing::info!(by = %viewer.agent.login, prompt = %path, version = %form.version, "prompt recording restored");
            Redirect::to(&format!("/console/prompts/{path}")).into_response()
        }
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => not_found(),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "cannot restore the recording");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                pages::message(
                    tr("Not done"),
                    tr("The recording could not be restored."),
                    "/console/prompts",
                ),
            )
                .into_response()
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// A kept version's audio, for the page's player (the versions are not under `/sounds`).
async fn version_audio(
    State(app): State<AppState>,
    ConsoleSupervisor(viewer, _): ConsoleSupervisor,
    Path((line, lang, prompt, file)): Path<(String, String, String, String)>,
) -> Response {
    let Some(name) = file.strip_suffix(".wav") else { return not_found() };
    if find(&app, &viewer, &(line.clone(), lang.clone(), prompt.clone())).await.is_none() {
        return not_found();
    }
    let slot = Slot::new(&line, &lang, &prompt);
    let known = sounds::versions(&app.settings.sounds, slot).into_iter().any(|v| v.name == name);
    if !known {
        return not_found();
    }
    let path = sounds::versions_dir(&app.settings.sounds, slot).join(&file);
    match tokio::fs::read(path).await {
        Ok(bytes) => ([(header::CONTENT_TYPE, "audio/wav")], bytes).into_response(),
        Err(_) => not_found(),
    }
}
