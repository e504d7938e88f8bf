//! The provider's dialect (Twilio Programmable Voice and the providers that copy it):
//! webhook parameters in, TwiML out, and the request signature.

pub mod signature;
pub mod twiml;

/// A webhook's form parameters, in the order received. Unknown parameters are kept and
/// ignored: providers add new ones without notice.
#[derive(Debug, Clone, Default)]
pub struct Params(pub Vec<(String, String)>);

impl Params {
    /// Parses an `application/x-www-form-urlencoded` body.
    #[must_use]
    pub fn parse(body: &[u8]) -> Self {
        Self(form_urlencoded::parse(body).into_owned().collect())
    }

    /// The first value of `name`.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// A provider call id: `CA` + 32 hex for Twilio; other providers use other shapes, so any
/// short token of safe characters is accepted.
#[must_use]
pub fn is_call_sid(sid: &str) -> bool {
    (2..=128).contains(&sid.len())
        && sid.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
}
