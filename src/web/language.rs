//! The console's language for each request: the account's choice (kept in a cookie set at
//! login and when the account changes it), else the browser's `Accept-Language`, else
//! English. Pages read it through [`crate::i18n::tr`]; the console's `/console/language`
//! keeps an account's choice.

use axum::extract::Request;
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::Response;

use super::cookies::{cookie, set_cookie};
use super::state::AppState;
use crate::i18n::{self, Lang};

/// The cookie holding the account's choice.
pub const COOKIE: &str = "solidaire_lang";

/// The language a request is answered in.
#[must_use]
pub fn of(headers: &HeaderMap) -> Lang {
    cookie(headers, COOKIE)
        .and_then(Lang::parse)
        .or_else(|| {
            let accepted = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok())?;
            Lang::negotiate(accepted)
        })
        .unwrap_or_default()
}

/// Answers each request in its language.
pub async fn within(request: Request, next: Next) -> Response {
    let lang = of(request.headers());
    i18n::within(lang, next.run(request)).await
}

/// The cookie that makes `lang` the console's language in this browser (`None`: clears it).
#[must_use]
pub fn cookie_for(app: &AppState, lang: Option<Lang>) -> header::HeaderValue {
    match lang {
        Some(lang) => set_cookie(app, COOKIE, lang.code(), Some(400 * 24 * 3600)),
        None => set_cookie(app, COOKIE, "", Some(0)),
    }
}
