//! The provider's dialect (Twilio Programmable Voice and the providers that copy it):
//! webhook parameters in, TwiML out, and the request signature.

pub mod signature;
pub mod twiml;

/// A webhook's form parameters, in the order received. Unknown parameters are kept and
/// ignored: providers add new ones without notice.
#[derive(Debug, Clone, Default)]
pub struct Params {
    /// The decoded names and values, one after the other.
    text: String,
    /// Where each pair's name and value are in `text`.
    pairs: Vec<(std::ops::Range<usize>, std::ops::Range<usize>)>,
}

impl Params {
    /// Parses an `application/x-www-form-urlencoded` body (into one string: a webhook's
    /// twenty-odd parameters cost two allocations, not forty).
    #[must_use]
    pub fn parse(body: &[u8]) -> Self {
        let mut text = String::with_capacity(body.len());
        let mut pairs = Vec::with_capacity(24);
        for (name, value) in form_urlencoded::parse(body) {
            let start = text.len();
            text.push_str(&name);
            let middle = text.len();
            text.push_str(&value);
            pairs.push((start..middle, middle..text.len()));
        }
        Self { text, pairs }
    }

    /// Every pair, in the order sent.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(name, value)| (&self.text[name.clone()], &self.text[value.clone()]))
    }

    /// The first value of `name`.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&str> {
        self.iter().find(|(k, _)| *k == name).map(|(_, v)| v)
    }
}

/// A provider call id: `CA` + 32 hex for Twilio; other providers use other shapes, so any
/// short token of safe characters is accepted.
#[must_use]
pub fn is_call_sid(sid: &str) -> bool {
    (2..=128).contains(&sid.len())
        && sid.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
}
