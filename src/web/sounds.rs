//! `GET /sounds/<lang>/<prompt>.wav`: prompt audio for `<Play>`. The provider caches by
//! `ETag`, `Last-Modified` and `Cache-Control`, so they are always sent and conditional
//! requests get `304`. Nothing outside the sounds folder can be read: path segments are
//! plain names, and the file's real path (symbolic links resolved) must stay inside.

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};

use super::AppState;

/// Routes (`HEAD` is answered by the `GET` route, without the body).
pub fn router() -> Router<AppState> {
    Router::new().route("/sounds/{*path}", get(sound))
}

fn content_type(path: &Path) -> Option<&'static str> {
    match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
        "wav" => Some("audio/wav"),
        "mp3" => Some("audio/mpeg"),
        _ => None,
    }
}

/// The file for a URL path, if it is a plain name inside the sounds folder.
fn locate(root: &Path, path: &str) -> Option<PathBuf> {
    let plain = |s: &str| {
        !s.is_empty()
            && !s.starts_with('.')
            && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    };
    if !path.split('/').all(plain) {
        return None;
    }
    let root = root.canonicalize().ok()?;
    let file = root.join(path).canonicalize().ok()?;
    (file.starts_with(&root) && file.is_file()).then_some(file)
}

const HTTP_DATE: &str = "%a, %d %b %Y %H:%M:%S GMT";

async fn sound(State(app): State<AppState>, UrlPath(path): UrlPath<String>, headers: HeaderMap) -> Response {
    let not_found = || (StatusCode::NOT_FOUND, "no such sound\n").into_response();
    let Some(file) = locate(&app.settings.sounds, &path) else { return not_found() };
    let Some(kind) = content_type(&file) else { return not_found() };
    let Ok(meta) = tokio::fs::metadata(&file).await else { return not_found() };
    let modified = meta.modified().ok().and_then(|m| m.duration_since(UNIX_EPOCH).ok()).unwrap_or_default();
    let etag = format!("\"{}\"", crate::sounds::tag(&meta));
    let last_modified = DateTime::<Utc>::from_timestamp(i64::try_from(modified.as_secs()).unwrap_or(0), 0)
        .unwrap_or_default();
    let unchanged = match headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) {
        Some(tags) => tags.split(',').any(|t| t.trim() == etag || t.trim() == "*"),
        None => headers
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| chrono::NaiveDateTime::parse_from_str(v, HTTP_DATE).ok())
            .is_some_and(|since| last_modified.naive_utc() <= since),
    };
    let mut response = if unchanged {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        match tokio::fs::read(&file).await {
            Ok(bytes) => ([(header::CONTENT_TYPE, kind)], bytes).into_response(),
            Err(_) => return not_found(),
        }
    };
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&last_modified.format(HTTP_DATE).to_string()) {
        h.insert(header::LAST_MODIFIED, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    response
}
