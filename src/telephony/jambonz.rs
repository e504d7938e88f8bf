//! jambonz, the open-source voice platform a city runs on its own SIP trunk: webhooks
//! are JSON (`call_sid`, `from`, `to`, `call_status`; a gather's `reason` and `digits`; a
//! transfer's `dial_call_status`), answers are JSON arrays of verbs, and both are signed
//! with the application's webhook secret (`Jambonz-Signature: t=…,v1=…`).
//!
//! A `gather` that hears nothing calls its own `actionHook` with `reason: "timeout"`:
//! there is no fall-through to a following verb, so no `redirect` follows it, and the
//! silence is read from the result (no digits). jambonz has no verb that records a
//! message to a file: a message step goes straight to its silence route.

use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::Sha256;

use super::twiml::{Links, Voices};
use super::webhook::{Inbound, Unreadable, is_call_sid};
use crate::flow::engine::{Action, Speech};
use crate::phone::E164;

/// Seconds a signature's timestamp may be away from now.
pub const TOLERANCE_SECONDS: i64 = 300;

/// What the service reads of a jambonz webhook (every other field is ignored).
#[derive(Debug, Deserialize)]
struct Payload {
    call_sid: Option<String>,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    call_status: Option<String>,
    reason: Option<String>,
    digits: Option<String>,
    dial_call_status: Option<String>,
    duration: Option<i64>,
}

/// Reads a webhook's JSON body.
///
/// # Errors
/// A body that is not a JSON object of the expected shape, or names no call.
pub fn read(body: &[u8]) -> Result<Inbound, Unreadable> {
    let payload: Payload = serde_json::from_slice(body)
        .map_err(|_| Unreadable::Body("the body is not a jambonz JSON object"))?;
    let sid = payload.call_sid.filter(|s| is_call_sid(s)).ok_or(Unreadable::NoCall)?;
    // Keys count only when jambonz says keys ended the gather.
    let digits = match payload.reason.as_deref() {
        Some("dtmfDetected") | None => payload.digits,
        Some(_) => None,
    };
    Ok(Inbound {
        sid,
        from: payload.from,
        to: payload.to,
        call_status: payload.call_status,
        digits,
        dial_status: payload.dial_call_status,
        duration: payload.duration,
        ..Inbound::default()
    })
}

/// A prompt: played from its recording when there is one, else spoken.
fn prompt(speech: &Speech, voices: Voices<'_>) -> Value {
    if let Some(url) = speech.prompt.as_deref().and_then(|p| (voices.recording)(&speech.language, p)) {
        return json!({ "verb": "play", "url": url });
    }
    json!({ "verb": "say", "text": speech.text, "synthesizer": synthesizer(&speech.language, voices) })
}

fn synthesizer(language: &str, voices: Voices<'_>) -> Value {
    let voice = (voices.voice)(language);
    let engine = voice.jambonz.as_ref();
    let mut s = json!({
        "vendor": engine.map_or("default", |e| e.vendor.as_str()),
        "language": engine.and_then(|e| e.language.as_deref()).unwrap_or(&voice.language),
    });
    if let Some(name) = engine.and_then(|e| e.voice.as_deref()) {
        s["voice"] = json!(name);
    }
    s
}

/// The prompts of a gather: jambonz nests one `say` or one `play` in it, so prompts that
/// are all recordings become one `play` of several files, all spoken in one voice one
/// `say` of several texts; otherwise the first ones are said before the gather (keys
/// pressed then are not heard) and the last is nested.
fn gather_prompts(speech: &[Speech], voices: Voices<'_>) -> (Vec<Value>, Option<(&'static str, Value)>) {
    let mut verbs: Vec<Value> = speech.iter().map(|s| prompt(s, voices)).collect();
    let Some(last) = verbs.pop() else { return (verbs, None) };
    if verbs.is_empty() {
        return (verbs, Some(nested(last)));
    }
    let all = |kind: &str| verbs.iter().chain([&last]).all(|v| v["verb"] == kind);
    if all("play") {
        let urls: Vec<Value> = verbs.iter().chain([&last]).map(|v| v["url"].clone()).collect();
        return (Vec::new(), Some(("play", json!({ "url": urls }))));
    }
    if all("say") && verbs.iter().all(|v| v["synthesizer"] == last["synthesizer"]) {
        let texts: Vec<Value> = verbs.iter().chain([&last]).map(|v| v["text"].clone()).collect();
        return (Vec::new(), Some(("say", json!({ "text": texts, "synthesizer": last["synthesizer"] }))));
    }
    (verbs, Some(nested(last)))
}

/// A `say` or `play` verb as the object nested in a gather (without its `verb`).
fn nested(mut verb: Value) -> (&'static str, Value) {
    let kind = if verb["verb"] == "play" { "play" } else { "say" };
    if let Some(object) = verb.as_object_mut() {
        object.remove("verb");
    }
    (kind, verb)
}

fn dial(number: &E164, caller_id: Option<&E164>, timeout: u16, action: Option<String>) -> Value {
    let mut verb = json!({
        "verb": "dial",
        "target": [{ "type": "phone", "number": number.as_str() }],
        "timeout": timeout,
    });
    if let Some(url) = action {
        verb["actionHook"] = json!(url);
    }
    if let Some(shown) = caller_id {
        verb["callerId"] = json!(shown.as_str());
    }
    verb
}

fn document(verbs: Vec<Value>) -> String {
    Value::Array(verbs).to_string()
}

/// Renders a turn's actions as a jambonz verb array.
#[must_use]
pub fn render(actions: &[Action], voices: Voices<'_>, links: Links<'_>) -> String {
    let mut verbs = Vec::with_capacity(actions.len() + 1);
    for action in actions {
        match action {
            Action::Say(speech) => verbs.push(prompt(speech, voices)),
            Action::Gather { speech, num_digits, finish_on_key, timeout } => {
                let (before, inside) = gather_prompts(speech, voices);
                verbs.extend(before);
                let mut gather = json!({
                    "verb": "gather",
                    "actionHook": links.url("gather"),
                    "input": ["digits"],
                    "timeout": timeout,
                });
                if let Some(n) = num_digits {
                    gather["numDigits"] = json!(n);
                }
                if let Some(key) = finish_on_key {
                    gather["finishOnKey"] = json!(key.to_string());
                }
                if let Some((kind, nested)) = inside {
                    gather[kind] = nested;
                }
                verbs.push(gather);
            }
            Action::Dial { number, timeout, caller_id } => {
                verbs.push(dial(number, caller_id.as_ref(), *timeout, Some(links.url("dial"))));
            }
            // No recording verb: the step's silence route, at once.
            Action::Record { .. } => {
                verbs.push(json!({ "verb": "redirect", "actionHook": links.url("silence") }));
            }
            Action::Hangup => verbs.push(json!({ "verb": "hangup" })),
            Action::Redirect(url) => verbs.push(json!({ "verb": "redirect", "actionHook": url })),
        }
    }
    // Nothing more to do ends the call, as an empty TwiML document does; jambonz wants
    // it said (an answer is at least one verb).
    if verbs.is_empty() {
        verbs.push(json!({ "verb": "hangup" }));
    }
    document(verbs)
}

/// An announcement, then a transfer to `then` when there is one, then the end of the call.
#[must_use]
pub fn announce(speech: &[Speech], voices: Voices<'_>, then: Option<&E164>) -> String {
    let mut verbs: Vec<Value> = speech.iter().map(|s| prompt(s, voices)).collect();
    if let Some(number) = then {
        verbs.push(dial(number, None, 30, None));
    }
    verbs.push(json!({ "verb": "hangup" }));
    document(verbs)
}

/// The end of the call, at once.
#[must_use]
pub fn hang_up() -> String {
    document(vec![json!({ "verb": "hangup" })])
}

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &str, timestamp: &str, body: &[u8]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `Jambonz-Signature` header jambonz sends for `body` at Unix time `timestamp`.
#[must_use]
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let t = timestamp.to_string();
    format!("t={t},v1={}", crate::auth::hex(&mac(secret, &t, body).finalize().into_bytes()))
}

/// Whether a `Jambonz-Signature` header is right for `body` with `secret`: one of its
/// `v1` signatures (there may be several while a secret is being changed) matches, and
/// its timestamp is within [`TOLERANCE_SECONDS`] of `now` (Unix seconds).
#[must_use]
pub fn is_valid(secret: &str, header: &str, body: &[u8], now: i64) -> bool {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for item in header.split(',') {
        match item.trim().split_once('=') {
            Some(("t", t)) => timestamp = Some(t),
            Some(("v1", v)) => signatures.push(v),
            _ => {}
        }
    }
    let Some(t) = timestamp else { return false };
    let Ok(at) = t.parse::<i64>() else { return false };
    if (now - at).abs() > TOLERANCE_SECONDS {
        return false;
    }
    signatures
        .iter()
        .any(|given| decode_hex(given).is_some_and(|bytes| mac(secret, t, body).verify_slice(&bytes).is_ok()))
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| text.get(i..i + 2).and_then(|pair| u8::from_str_radix(pair, 16).ok()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_is_checked_with_its_timestamp_and_any_of_its_signatures() {
        let body = br#"{"call_sid":"b1","from":"+32470123456"}"#;
        let header = sign("secret", 1_700_000_000, body);
        assert!(is_valid("secret", &header, body, 1_700_000_100));
        assert!(!is_valid("other", &header, body, 1_700_000_100));
        assert!(!is_valid("secret", &header, b"{}", 1_700_000_100));
        assert!(!is_valid("secret", &header, body, 1_700_000_301), "stale");
        assert!(!is_valid("secret", &header, body, 1_699_999_699), "from the future");
        let two = format!("{header},v1=00ff");
        let other_first = format!("t=1700000000,v1=abcd,{}", header.split_once(',').unwrap().1);
        assert!(is_valid("secret", &two, body, 1_700_000_000));
        assert!(is_valid("secret", &other_first, body, 1_700_000_000));
        for bad in ["", "t=1700000000", "v1=00", "t=x,v1=00", "t=1700000000,v1=zz"] {
            assert!(!is_valid("secret", bad, body, 1_700_000_000), "{bad}");
        }
    }

    #[test]
    fn a_gather_result_reads_as_keys_only_when_keys_ended_it() {
        let read =
            |extra: &str| read(format!(r#"{{"call_sid":"abc-1","to":"+3280043436"{extra}}}"#).as_bytes());
        assert_eq!(read(r#","reason":"dtmfDetected","digits":"2""#).unwrap().digits.as_deref(), Some("2"));
        assert_eq!(read(r#","reason":"timeout","digits":"2""#).unwrap().digits, None);
        assert_eq!(read(r#","reason":"speechDetected""#).unwrap().digits, None);
        assert_eq!(read("").unwrap().to, "+3280043436");
        assert_eq!(super::read(br#"{"from":"x"}"#).unwrap_err(), Unreadable::NoCall);
        assert!(matches!(super::read(b"call_sid=abc"), Err(Unreadable::Body(_))));
        assert!(matches!(super::read(b"[1]"), Err(Unreadable::Body(_))));
    }
}
