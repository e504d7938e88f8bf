//! The console's cookies: reading one, and setting one HttpOnly, SameSite=Strict and, behind
//! https, Secure.

use axum::http::{HeaderMap, HeaderValue, header};

use super::state::AppState;

/// The value of cookie `name`.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Whether cookies travel only over HTTPS (the public URL is https).
fn secure(app: &AppState) -> bool {
    app.settings.public_url.as_deref().is_some_and(|u| u.starts_with("https://"))
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, Secure behind https; `max_age` in seconds.
#[must_use]
pub fn set_cookie(app: &AppState, name: &str, value: &str, max_age: Option<i64>) -> HeaderValue {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict");
    if secure(app) {
        c.push_str("; Secure");
    }
    if let Some(age) = max_age {
        c = format!("{c}; Max-Age={age}");
    }
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static(""))
}
