//! `GET /sounds/<line>/<lang>/<prompt>.wav`: prompt audio for `<Play>`. The provider caches by
//! `ETag`, `Last-Modified` and `Cache-Control`, so they are always sent and conditional
//! requests get `304`. Nothing outside the sounds folder can be read: path segments are
//! plain names, and the file's real path (symbolic links resolved) must stay inside. The
//! recordings in force are served from memory (read with the folder, see
//! [`crate::sounds::Library`]).

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use chrono::{DateTime, Utc};

use super::state::AppState;
use crate::sounds::{Library, Slot};

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

/// A recording of the library by its URL path (`<line>/<lang>/<prompt>.wav`), when its
/// bytes are in memory.
fn in_memory(library: &Library, path: &str) -> Option<(String, u128, Bytes)> {
    let mut parts = path.strip_suffix(".wav")?.split('/');
    let slot = Slot::new(parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let recording = library.get(slot)?;
    let audio = recording.audio.as_ref()?;
    Some((recording.tag.clone(), recording.modified, audio.0.clone()))
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "no such sound\n").into_response()
}

async fn sound(State(app): State<AppState>, UrlPath(path): UrlPath<String>, headers: HeaderMap) -> Response {
    // The recordings in force are served from memory; anything else from the folder.
    if let Some((tag, modified, bytes)) = in_memory(&app.sounds(), &path) {
        return answer(&headers, &tag, modified, "audio/wav", || async move { Some(bytes) }).await;
    }
    let root = app.settings.sounds.clone();
    let found = tokio::task::spawn_blocking(move || {
        let file = locate(&root, &path)?;
        let kind = content_type(&file)?;
        let meta = std::fs::metadata(&file).ok()?;
        Some((file, kind, meta))
    })
    .await;
    let Ok(Some((file, kind, meta))) = found else { return not_found() };
    let modified = meta.modified().ok().and_then(|m| m.duration_since(UNIX_EPOCH).ok()).unwrap_or_default();
    let tag = crate::sounds::tag(&meta);
    answer(&headers, &tag, modified.as_nanos(), kind, || async move {
        tokio::fs::read(&file).await.ok().map(Bytes::from)
    })
    .await
}

/// The answer for a sound tagged `tag`: `304` when the provider's copy is current, else
/// the bytes `read` gives (`404` when it gives none), with the caching headers.
async fn answer<F, Fut>(
    headers: &HeaderMap,
    tag: &str,
    modified_nanos: u128,
    kind: &'static str,
    read: F,
) -> Response
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Option<Bytes>>,
{
    let etag = format!("\"{tag}\"");
    let seconds = i64::try_from(modified_nanos / 1_000_000_000).unwrap_or(0);
    let last_modified = DateTime::<Utc>::from_timestamp(seconds, 0).unwrap_or_default();
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
        match read().await {
            Some(bytes) => ([(header::CONTENT_TYPE, kind)], bytes).into_response(),
            None => return not_found(),
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
