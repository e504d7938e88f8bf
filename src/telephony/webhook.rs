//! A webhook as the service reads it, whatever the provider: its form parameters
//! ([`Params`]), and what the service uses of it ([`Inbound`]).

/// The real time, Unix seconds: a signature's timestamp is the provider's clock, not the
/// line's (Telnyx's and jambonz's signatures are refused 300 s away from it).
#[must_use]
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A webhook, read: what the service uses of it, whatever the dialect's names.
#[derive(Debug, Clone, Default)]
pub struct Inbound {
    /// The provider's call id, checked by [`is_call_sid`].
    pub sid: String,
    /// The caller (or the number the service rang), as sent.
    pub from: String,
    /// The number called, as sent.
    pub to: String,
    /// The call's status word (`in-progress`, `completed`, `no-answer`, …).
    pub call_status: Option<String>,
    /// Keys pressed at a gather; `None` or empty when nothing was.
    pub digits: Option<String>,
    /// How a transfer ended, in the provider's words.
    pub dial_status: Option<String>,
    /// Who answered a call the service placed (`human`, `machine_start`, …).
    pub answered_by: Option<String>,
    /// A recorded message's address and length in seconds.
    pub recording: Option<(String, u32)>,
    /// The status callback's sequence number.
    pub sequence: Option<i64>,
    /// The call's length in seconds, in a final status callback.
    pub duration: Option<i64>,
}

impl Inbound {
    /// Reads the form parameters of TwiML and TeXML.
    ///
    /// # Errors
    /// A form that names no call.
    pub fn from_form(params: &Params) -> Result<Self, Unreadable> {
        // One pass over the form (a provider sends two dozen parameters), the first value
        // of each name kept, as `Params::get` reads it.
        let mut named: [Option<&str>; FORM_NAMES.len()] = [None; FORM_NAMES.len()];
        for (name, value) in params.iter() {
            if let Some(at) = FORM_NAMES.iter().position(|n| *n == name) {
                named[at].get_or_insert(value);
            }
        }
        let [
            sid,
            from,
            to,
            call_status,
            digits,
            dial_status,
            answered_by,
            recording_url,
            recording_duration,
            sequence,
            duration,
        ] = named;
        let text = |value: Option<&str>| value.map(str::to_owned);
        let sid = sid.filter(|s| is_call_sid(s)).ok_or(Unreadable::NoCall)?;
        let recording = recording_url
            .filter(|u| !u.is_empty())
            .map(|url| (url.to_owned(), recording_duration.and_then(|d| d.parse().ok()).unwrap_or(0)));
        Ok(Self {
            sid: sid.to_owned(),
            from: text(from).unwrap_or_default(),
            to: text(to).unwrap_or_default(),
            call_status: text(call_status),
            digits: text(digits),
            dial_status: text(dial_status),
            answered_by: text(answered_by),
            recording,
            sequence: sequence.and_then(|s| s.parse().ok()),
            duration: duration.and_then(|s| s.parse().ok()),
        })
    }
}

/// The form parameters [`Inbound::from_form`] reads, in the order it takes them.
const FORM_NAMES: [&str; 11] = [
    "CallSid",
    "From",
    "To",
    "CallStatus",
    "Digits",
    "DialCallStatus",
    "AnsweredBy",
    "RecordingUrl",
    "RecordingDuration",
    "SequenceNumber",
    "CallDuration",
];

/// A webhook body the service cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unreadable {
    /// Not the dialect's format.
    #[error("{0}")]
    Body(&'static str),
    /// No call id, or a malformed one.
    #[error("missing or malformed call id")]
    NoCall,
}

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
    /// twenty-odd parameters cost two allocations, not forty). Decoded as the
    /// `form_urlencoded` crate does — `+` is a space, `%XX` a byte, a malformed escape
    /// kept as written — in one pass.
    ///
    /// # Errors
    /// A body whose decoded bytes are not UTF-8. The provider sends UTF-8; replacing what
    /// is invalid would make distinct bodies (`%FE`, `%FF`) read, and sign, alike.
    pub fn parse(body: &[u8]) -> Result<Self, NotUtf8> {
        let mut bytes = Vec::with_capacity(body.len());
        let mut pairs = Vec::with_capacity(24);
        for pair in body.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
            let (name, value) = match pair.iter().position(|&b| b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &pair[pair.len()..]),
            };
            let start = bytes.len();
            decode_into(&mut bytes, name);
            let middle = bytes.len();
            decode_into(&mut bytes, value);
            pairs.push((start..middle, middle..bytes.len()));
        }
        let text = String::from_utf8(bytes).map_err(|_| NotUtf8)?;
        // Each name and value must be text on its own, not only all of them together:
        // with the whole valid, that is each of them starting and ending on a character.
        let on_characters = |(name, value): &(std::ops::Range<usize>, std::ops::Range<usize>)| {
            [name.start, name.end, value.end].into_iter().all(|at| text.is_char_boundary(at))
        };
        if !pairs.iter().all(on_characters) {
            return Err(NotUtf8);
        }
        Ok(Self { text, pairs })
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

/// A webhook body whose decoded bytes are not UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the body is not UTF-8 once decoded")]
pub struct NotUtf8;

/// Appends `encoded`, form-decoded, to `out`.
fn decode_into(out: &mut Vec<u8>, mut encoded: &[u8]) {
    while let Some(i) = encoded.iter().position(|&b| b == b'+' || b == b'%') {
        out.extend_from_slice(&encoded[..i]);
        let hex = |at: usize| encoded.get(at).and_then(|&b| char::from(b).to_digit(16));
        match (encoded[i], hex(i + 1), hex(i + 2)) {
            (b'+', ..) => {
                out.push(b' ');
                encoded = &encoded[i + 1..];
            }
            // Two hex digits make one byte.
            (_, Some(high), Some(low)) => {
                out.push(u8::try_from(high * 16 + low).unwrap_or_default());
                encoded = &encoded[i + 3..];
            }
            // A '%' not followed by two hex digits stays as it is.
            _ => {
                out.push(b'%');
                encoded = &encoded[i + 1..];
            }
        }
    }
    out.extend_from_slice(encoded);
}

/// A provider call id: `CA` + 32 hex for Twilio; other providers use other shapes, so any
/// short token of safe characters is accepted.
#[must_use]
pub fn is_call_sid(sid: &str) -> bool {
    (2..=128).contains(&sid.len())
        && sid.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::Params;

    fn reference(body: &[u8]) -> Vec<(String, String)> {
        form_urlencoded::parse(body).map(|(n, v)| (n.into_owned(), v.into_owned())).collect()
    }

    fn parsed(body: &[u8]) -> Vec<(String, String)> {
        Params::parse(body).unwrap().iter().map(|(n, v)| (n.to_owned(), v.to_owned())).collect()
    }

    #[test]
    fn a_webhook_body_is_decoded() {
        let body = b"CallSid=CA1&From=%2B32470123456&To=%2B3280043436&Digits=1&CallStatus=in-progress\
                     &Caller+Name=Jos%C3%A9+Dupont&Empty=&Flag&%ZZ=50%&&";
        let params = Params::parse(body).unwrap();
        assert_eq!(params.get("From"), Some("+32470123456"));
        assert_eq!(params.get("Caller Name"), Some("José Dupont"));
        assert_eq!(params.get("Empty"), Some(""));
        assert_eq!(params.get("Flag"), Some(""));
        assert_eq!(params.get("%ZZ"), Some("50%"));
        assert_eq!(params.get("Missing"), None);
        assert_eq!(parsed(body), reference(body));
    }

    #[test]
    fn bytes_that_are_not_utf8_are_refused_so_that_distinct_bodies_never_read_alike() {
        for body in [&b"A=%FF&B=ok"[..], b"A=%FE&B=ok", b"A=%C3&%A9=x", b"%E2%82=%AC", b"A=\xff\xfe"] {
            assert_eq!(Params::parse(body).unwrap_err(), super::NotUtf8, "{body:?}");
        }
        assert_eq!(parsed(b"A=%C3%A9"), [("A".to_owned(), "é".to_owned())]);
    }

    proptest! {
        #[test]
        fn any_body_decodes_as_the_form_crate_decodes_it(
            body in proptest::collection::vec(
                prop_oneof![Just(b'&'), Just(b'='), Just(b'+'), Just(b'%'), Just(b'a'), Just(b'F'),
                            Just(b'3'), Just(b'C'), Just(b'9'), any::<u8>()],
                0..64,
            )
        ) {
            if Params::parse(&body).is_ok() {
                prop_assert_eq!(parsed(&body), reference(&body));
            } else {
                // Refused only when the form crate had to replace something.
                let replaced = reference(&body).iter().any(|(n, v)| n.contains(char::REPLACEMENT_CHARACTER) || v.contains(char::REPLACEMENT_CHARACTER));
                prop_assert!(replaced, "refused a body the form crate decodes without loss");
            }
        }

        #[test]
        fn a_form_is_read_as_each_name_s_first_value(
            pairs in proptest::collection::vec(
                (
                    prop_oneof![Just("CallSid"), Just("From"), Just("To"), Just("CallStatus"), Just("Digits"),
                                Just("DialCallStatus"), Just("AnsweredBy"), Just("RecordingUrl"),
                                Just("RecordingDuration"), Just("SequenceNumber"), Just("CallDuration"),
                                Just("Caller"), Just("callsid")],
                    prop_oneof![Just(""), Just("CA0f"), Just("12"), Just("+32470123456"), Just("x y"), Just("-3")],
                ),
                0..16,
            )
        ) {
            let body: Vec<u8> = form_urlencoded::Serializer::new(String::new()).extend_pairs(&pairs).finish().into_bytes();
            let params = Params::parse(&body).unwrap();
            let first = |name: &str| params.get(name);
            let read = super::Inbound::from_form(&params);
            match first("CallSid").filter(|s| super::is_call_sid(s)) {
                None => prop_assert_eq!(read.unwrap_err(), super::Unreadable::NoCall),
                Some(sid) => {
                    let read = read.unwrap();
                    prop_assert_eq!(read.sid.as_str(), sid);
                    prop_assert_eq!(read.from.as_str(), first("From").unwrap_or_default());
                    prop_assert_eq!(read.to.as_str(), first("To").unwrap_or_default());
                    prop_assert_eq!(read.call_status.as_deref(), first("CallStatus"));
                    prop_assert_eq!(read.digits.as_deref(), first("Digits"));
                    prop_assert_eq!(read.dial_status.as_deref(), first("DialCallStatus"));
                    prop_assert_eq!(read.answered_by.as_deref(), first("AnsweredBy"));
                    let recording = first("RecordingUrl").filter(|u| !u.is_empty()).map(|u| {
                        (u.to_owned(), first("RecordingDuration").and_then(|d| d.parse().ok()).unwrap_or(0))
                    });
                    prop_assert_eq!(read.recording, recording);
                    prop_assert_eq!(read.sequence, first("SequenceNumber").and_then(|s| s.parse().ok()));
                    prop_assert_eq!(read.duration, first("CallDuration").and_then(|s| s.parse().ok()));
                }
            }
        }
    }
}
