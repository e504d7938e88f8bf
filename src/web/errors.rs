//! The two ways a refusal or a failure is shown: [`ApiError`] as `{"error": {"code",
//! "message"}}` with a stable code, [`PageError`] as a console page with a way back. The
//! HTTP status of a use-case's [`Error`] is decided once, here. Database details are
//! logged, never shown.

use crate::i18n::{tr, trf};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use serde_json::json;

use super::pages;
use crate::ops::Error;
use crate::store::StoreError;

/// The status that answers a use-case's refusal.
fn status(error: &Error) -> StatusCode {
    match error {
        Error::NoSuchRequest
        | Error::NoSuchAgent
        | Error::NoSuchVolunteer
        | Error::NoSuchMission
        | Error::NoSuchLine
        | Error::NoSuchCall => StatusCode::NOT_FOUND,
        Error::NotHolder | Error::SupervisorsOnly | Error::CoordinatorsOnly | Error::StaffOnly => {
            StatusCode::FORBIDDEN
        }
        Error::Invalid(_) | Error::Field(_) => StatusCode::UNPROCESSABLE_ENTITY,
        Error::QueueEmpty
        | Error::NotAvailable
        | Error::TooManyClaims
        | Error::WrongState(_)
        | Error::CallingOff => StatusCode::CONFLICT,
        Error::BadLogin => StatusCode::UNAUTHORIZED,
        Error::TooManyAttempts(_) => StatusCode::TOO_MANY_REQUESTS,
        Error::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}

fn log(error: &Error, door: &str) {
    if let Error::Store(e) = error {
        tracing::error!(error = %e, "{door}: store failure");
    }
}

/// What the JSON API answers when it does not do what was asked.
#[derive(Debug)]
pub enum ApiError {
    /// The use-case refused or failed.
    Refused(Error),
    /// The request itself is malformed (`code` `bad_json` or `invalid`).
    BadRequest(&'static str, String),
    /// Nobody is logged in and no valid token was sent.
    Unauthenticated,
    /// A cookie-authenticated change without the session's CSRF token.
    Csrf,
    /// No such route or action.
    NotFound(&'static str),
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        Self::Refused(e)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        Self::Refused(Error::Store(e))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let field = match &self {
            Self::Refused(Error::Field(f)) => Some(f.field),
            _ => None,
        };
        let (status, code, message) = match self {
            Self::Refused(e) => {
                log(&e, "API");
                (status(&e), e.code(), e.to_string())
            }
            Self::BadRequest(code, message) => (StatusCode::BAD_REQUEST, code, message),
            Self::Unauthenticated => (
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "log in or send `Authorization: Bearer <token>`".to_owned(),
            ),
            Self::Csrf => (StatusCode::FORBIDDEN, "csrf", "missing or wrong X-CSRF-Token".to_owned()),
            Self::NotFound(what) => (StatusCode::NOT_FOUND, "not_found", what.to_owned()),
        };
        let mut error = json!({ "code": code, "message": message });
        if let Some(field) = field {
            error["field"] = field.into();
        }
        (status, Json(json!({ "error": error }))).into_response()
    }
}

/// What a console page answers when it does not do what was asked.
#[derive(Debug)]
pub enum PageError {
    /// The use-case refused or failed; the page links back to `back`.
    Refused {
        /// Why.
        error: Error,
        /// Where the "Back" link goes.
        back: String,
    },
    /// A form without the session's CSRF token.
    Csrf,
}

impl PageError {
    /// A refusal whose page links back to `back`, for `map_err`.
    pub fn back_to(back: &str) -> impl FnOnce(Error) -> Self + '_ {
        move |error| Self::Refused { error, back: back.to_owned() }
    }
}

impl From<Error> for PageError {
    fn from(error: Error) -> Self {
        Self::Refused { error, back: "/console".to_owned() }
    }
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        Self::from(Error::Store(e))
    }
}

/// A refusal in the console's language; the ones whose message the input made (a wrong
/// field, a state) stay as the use-case wrote them.
fn said(error: &Error) -> String {
    let fixed = match error {
        Error::NoSuchRequest => tr("no such request"),
        Error::NoSuchAgent => tr("no such agent"),
        Error::QueueEmpty => tr("no request is waiting"),
        Error::NotAvailable => tr("this request is held by someone else, closed, or not due yet"),
        Error::NotHolder => tr("only the agent holding the request can do this"),
        Error::SupervisorsOnly => tr("only supervisors can do this"),
        Error::NoSuchVolunteer => tr("no such volunteer"),
        Error::NoSuchMission => tr("no such mission"),
        Error::NoSuchLine => tr("no such line"),
        Error::NoSuchCall => tr("no such call"),
        Error::CoordinatorsOnly => tr("only coordinators and supervisors can do this"),
        Error::StaffOnly => tr("a volunteer's account sees only its own missions"),
        Error::TooManyClaims => {
            return trf(
                "you already hold {count} requests: record or give one back first",
                &[("count", &crate::domain::queue::MAX_CLAIMS)],
            );
        }
        other => return other.to_string(),
    };
    fixed.to_owned()
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            Self::Refused { error, back } => {
                log(&error, "console");
                let page = match &error {
                    Error::Store(_) => pages::message(
                        tr("Unavailable"),
                        tr("The database is unavailable. Try again in a moment."),
                        "/console",
                    ),
                    other => pages::message(tr("Not done"), &said(other), &back),
                };
                (status(&error), page).into_response()
            }
            Self::Csrf => (
                StatusCode::FORBIDDEN,
                pages::message(
                    tr("Form expired"),
                    tr("This form is out of date. Reload the page and try again."),
                    "/console",
                ),
            )
                .into_response(),
        }
    }
}
