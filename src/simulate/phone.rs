//! The simulated provider's side of a call: it posts the webhooks and follows the
//! answers, in the dialect of the provider it plays ([`Signer`]): TwiML for Twilio and
//! SignalWire, TeXML for Telnyx (the same verbs, Telnyx's call ids and signature), JSON
//! verbs for jambonz (whose gather reports its own silence).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use quick_xml::Reader;
use quick_xml::events::Event as XmlEvent;
use sha1::{Digest, Sha1};

use crate::telephony::{Dialect, jambonz, signature, telnyx, unix_now};

/// The provider the simulated one plays, and how it signs its webhooks.
#[derive(Debug, Clone)]
pub enum Signer {
    /// A provider in `Dialect` whose secret the service does not have (development).
    Unsigned(Dialect),
    /// Twilio, with the account's auth token (`X-Twilio-Signature`).
    Twilio(String),
    /// SignalWire, with the project's signing key (`X-SignalWire-Signature`).
    SignalWire(String),
    /// Telnyx, with the private key whose public half the service has.
    Telnyx([u8; 32]),
    /// jambonz, with the application's webhook secret.
    Jambonz(String),
}

impl Signer {
    /// The dialect it speaks.
    #[must_use]
    pub fn dialect(&self) -> Dialect {
        match self {
            Self::Unsigned(d) => *d,
            Self::Twilio(_) | Self::SignalWire(_) => Dialect::Twilio,
            Self::Telnyx(_) => Dialect::Telnyx,
            Self::Jambonz(_) => Dialect::Jambonz,
        }
    }

    /// Each provider's own shape of call id.
    fn call_sid(&self) -> String {
        let twilio = new_call_sid();
        match self.dialect() {
            Dialect::Twilio => twilio,
            Dialect::Telnyx => format!("v3:{}", &twilio[2..]),
            Dialect::Jambonz => {
                let h = &twilio[2..];
                format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
            }
        }
    }
}

/// A jambonz webhook's JSON for the form fields the simulated provider uses.
fn jambonz_body(params: &[(String, String)]) -> String {
    let mut body = serde_json::Map::new();
    for (name, value) in params {
        let (key, value) = match name.as_str() {
            "CallSid" => ("call_sid", serde_json::json!(value)),
            "AccountSid" => ("account_sid", serde_json::json!(value)),
            "From" => ("from", serde_json::json!(value)),
            "To" => ("to", serde_json::json!(value)),
            "CallStatus" => ("call_status", serde_json::json!(value)),
            "Direction" if value == "inbound" => ("direction", serde_json::json!("inbound")),
            "Direction" => ("direction", serde_json::json!("outbound")),
            "Digits" => ("digits", serde_json::json!(value)),
            "DialCallStatus" => ("dial_call_status", serde_json::json!(value)),
            "DialCallSid" => ("dial_call_sid", serde_json::json!(value)),
            "CallDuration" => ("duration", serde_json::json!(value.parse::<i64>().unwrap_or(0))),
            "reason" => ("reason", serde_json::json!(value)),
            _ => continue,
        };
        body.insert(key.to_owned(), value);
    }
    serde_json::Value::Object(body).to_string()
}

/// A verb of a TwiML document, as far as a caller can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verb {
    /// Speech.
    Say {
        /// `language` attribute.
        language: String,
        /// The words.
        text: String,
    },
    /// Audio.
    Play(String),
    /// A question.
    Gather {
        /// Where the keys go.
        action: String,
        /// What is said while listening.
        prompts: Vec<Verb>,
        /// `finishOnKey`.
        finish_on_key: String,
    },
    /// Go to another URL.
    Redirect(String),
    /// A transfer.
    Dial {
        /// Where the result goes (none: the document continues).
        action: Option<String>,
        /// The number dialled.
        number: String,
    },
    /// A recording.
    Record {
        /// Where the recording goes.
        action: String,
    },
    /// End of call.
    Hangup,
    /// Anything else (`Pause`, …): no effect on the path.
    Other(String),
}

/// What a caller does when asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Press {
    /// Keys, without the finishing `#`.
    Keys(String),
    /// Nothing: the question times out.
    Silence,
    /// The caller hangs up.
    HangUp,
    /// The caller listens this long before answering (then is asked again).
    Wait(std::time::Duration),
}

/// How a transfer ends, from the caller's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transfer {
    /// Someone answered and the conversation ended.
    Answered,
    /// Nobody answered.
    NoAnswer,
    /// Busy.
    Busy,
    /// The caller hung up while it rang.
    HangUp,
}

/// The person on the phone.
pub trait Caller {
    /// Hears speech.
    fn hear(&mut self, language: &str, text: &str);
    /// Is asked something; answers with keys, silence or a hang-up.
    fn press(&mut self) -> Press;
    /// Is transferred to `number`.
    fn transfer(&mut self, number: &str) -> Transfer;
    /// Is recorded: `Some(seconds)` of speech, `None` for silence.
    fn record(&mut self) -> Option<u32>;
    /// Hears a recorded prompt (fetched as the provider would).
    fn play(&mut self, played: &Played) {
        let _ = played;
    }
}

/// A `<Play>` as the provider fetched it.
#[derive(Debug, Clone, PartialEq)]
pub struct Played {
    /// The URL in the TwiML.
    pub url: String,
    /// HTTP status of the fetch (0 when the server could not be reached).
    pub status: u16,
    /// Its `Content-Type`.
    pub content_type: String,
    /// Its length, when it is a WAV file.
    pub seconds: Option<f64>,
}

/// One request of the call, for inspection.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// The URL posted to.
    pub url: String,
    /// The form posted.
    pub params: Vec<(String, String)>,
    /// HTTP status.
    pub status: u16,
    /// Time from sending the request to the end of the answer.
    pub elapsed: std::time::Duration,
    /// The answer.
    pub body: String,
}

/// What happened during a call.
#[derive(Debug, Clone, Default)]
pub struct CallRecord {
    /// The CallSid used.
    pub sid: String,
    /// Every request and its answer.
    pub exchanges: Vec<Exchange>,
    /// Every `<Say>` heard, `(language, text)`.
    pub heard: Vec<(String, String)>,
    /// Every `<Play>`, fetched.
    pub played: Vec<Played>,
}

impl CallRecord {
    /// Everything heard, one line each.
    #[must_use]
    pub fn transcript(&self) -> String {
        self.heard.iter().map(|(_, t)| t.as_str()).collect::<Vec<_>>().join("\n")
    }

    /// Whether some heard text contains `needle`.
    #[must_use]
    pub fn heard(&self, needle: &str) -> bool {
        self.heard.iter().any(|(_, t)| t.contains(needle))
    }
}

/// A failure of the simulated provider.
#[derive(Debug, thiserror::Error)]
pub enum SoftphoneError {
    /// The server could not be reached.
    #[error("HTTP: {0}")]
    Http(String),
    /// The server answered something a provider would refuse.
    #[error("{url} answered {status}: {body}")]
    Refused {
        /// The URL.
        url: String,
        /// The status.
        status: u16,
        /// The body.
        body: String,
    },
    /// The answer is not TwiML.
    #[error("{url}: not TwiML: {reason}")]
    NotTwiml {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
}

/// A simulated provider placing calls to one server.
#[derive(Clone)]
pub struct Softphone {
    client: Client<HttpConnector, Full<Bytes>>,
    /// Where the server really listens (`http://127.0.0.1:8080`).
    server: String,
    /// The base URL the server writes in its TwiML (its public URL), mapped to `server`.
    public: String,
    signer: Signer,
    /// Audio already fetched, by URL: the provider caches prompts (their URL changes with
    /// the file), so a played prompt is fetched once, not on every call.
    audio: Arc<Mutex<HashMap<String, Played>>>,
    /// Time a caller takes before each webhook after the first (listening, pressing),
    /// on average: each pause is drawn between half and one and a half times it.
    pause: std::time::Duration,
}

static CALLS: AtomicU64 = AtomicU64::new(0);

/// A fresh `CA…` call id.
#[must_use]
pub fn new_call_sid() -> String {
    let n = CALLS.fetch_add(1, Ordering::Relaxed);
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let digest = Sha1::digest(format!("{nanos}-{n}-{}", std::process::id()).as_bytes());
    format!("CA{}", crate::auth::hex(&digest[..16]))
}

impl Softphone {
    /// Twilio calling `server`, which writes `public` in its links and checks
    /// signatures with `token` when given.
    #[must_use]
    pub fn new(server: &str, public: Option<&str>, token: Option<&str>) -> Self {
        let signer = token.map_or(Signer::Unsigned(Dialect::Twilio), |t| Signer::Twilio(t.to_owned()));
        Self::speaking(server, public, signer)
    }

    /// The provider `signer` says calling `server`, which writes `public` in its links.
    #[must_use]
    pub fn speaking(server: &str, public: Option<&str>, signer: Signer) -> Self {
        let server = server.trim_end_matches('/').to_owned();
        Self {
            client: Client::builder(TokioExecutor::new()).build_http(),
            public: public.map_or_else(|| server.clone(), |p| p.trim_end_matches('/').to_owned()),
            server,
            signer,
            audio: Arc::default(),
            pause: std::time::Duration::ZERO,
        }
    }

    /// The same provider, its callers taking `pause` on average (between half and one and
    /// a half times it) before each webhook after the first (a real caller listens to a
    /// prompt for seconds; none by default).
    #[must_use]
    pub fn with_pause(mut self, pause: std::time::Duration) -> Self {
        self.pause = pause;
        self
    }

    /// The dialect it speaks.
    #[must_use]
    pub fn dialect(&self) -> Dialect {
        self.signer.dialect()
    }

    /// A fresh call id, in its provider's shape.
    #[must_use]
    pub fn new_sid(&self) -> String {
        self.signer.call_sid()
    }

    /// Posts a signed webhook to `url` (a public URL or a path): `params` (named as
    /// Twilio names them) as a form, or as jambonz's JSON.
    ///
    /// # Errors
    /// When the server cannot be reached.
    pub async fn post(&self, url: &str, params: &[(String, String)]) -> Result<Exchange, SoftphoneError> {
        // A gather's `reason` is jambonz's alone.
        let form: Vec<(String, String)>;
        let params = if self.dialect() == Dialect::Jambonz {
            params
        } else {
            form = params.iter().filter(|(name, _)| name != "reason").cloned().collect();
            &form
        };
        let public_url = if url.starts_with('/') { format!("{}{url}", self.public) } else { url.to_owned() };
        let target = match public_url.strip_prefix(&self.public) {
            Some(rest) => format!("{}{rest}", self.server),
            None => public_url.clone(),
        };
        let body = match self.dialect() {
            Dialect::Jambonz => jambonz_body(params),
            Dialect::Twilio | Dialect::Telnyx => {
                form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish()
            }
        };
        let mut request = hyper::Request::post(&target).header("content-type", self.dialect().body_type());
        match &self.signer {
            Signer::Unsigned(_) => {}
            Signer::Twilio(token) => {
                request =
                    request.header("x-twilio-signature", signature::compute(token, &public_url, params));
            }
            Signer::SignalWire(key) => {
                request =
                    request.header("x-signalwire-signature", signature::compute(key, &public_url, params));
            }
            Signer::Telnyx(seed) => {
                let (signature, timestamp) = telnyx::sign(seed, unix_now(), body.as_bytes());
                request = request
                    .header(telnyx::SIGNATURE_HEADER, signature)
                    .header(telnyx::TIMESTAMP_HEADER, timestamp);
            }
            Signer::Jambonz(secret) => {
                request =
                    request.header("jambonz-signature", jambonz::sign(secret, unix_now(), body.as_bytes()));
            }
        }
        let request =
            request.body(Full::new(Bytes::from(body))).map_err(|e| SoftphoneError::Http(e.to_string()))?;
        self.send(request, public_url, params.to_vec()).await
    }

    /// Fetches `path` from the server (health checks, prompt audio).
    ///
    /// # Errors
    /// When the server cannot be reached.
    pub async fn get(&self, path: &str) -> Result<Exchange, SoftphoneError> {
        let request = hyper::Request::get(format!("{}{path}", self.server))
            .body(Full::new(Bytes::new()))
            .map_err(|e| SoftphoneError::Http(e.to_string()))?;
        self.send(request, path.to_owned(), Vec::new()).await
    }

    /// Fetches a `<Play>` URL as the provider would (a public URL is mapped to the server),
    /// once: later plays of the same URL come from the cache.
    pub async fn fetch_audio(&self, url: &str) -> Played {
        if let Some(known) = self.audio.lock().ok().and_then(|cache| cache.get(url).cloned()) {
            return known;
        }
        let played = self.fetch_audio_now(url).await;
        if played.status == 200 {
            if let Ok(mut cache) = self.audio.lock() {
                cache.insert(url.to_owned(), played.clone());
            }
        }
        played
    }

    async fn fetch_audio_now(&self, url: &str) -> Played {
        let target = match url.strip_prefix(&self.public) {
            Some(rest) => format!("{}{rest}", self.server),
            None => url.to_owned(),
        };
        let mut played =
            Played { url: url.to_owned(), status: 0, content_type: String::new(), seconds: None };
        let Ok(request) = hyper::Request::get(&target).body(Full::new(Bytes::new())) else { return played };
        let Ok(response) = self.client.request(request).await else { return played };
        played.status = response.status().as_u16();
        played.content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        if let Ok(body) = response.into_body().collect().await {
            played.seconds = crate::sounds::wav::seconds(&body.to_bytes());
        }
        played
    }

    async fn send(
        &self,
        request: hyper::Request<Full<Bytes>>,
        url: String,
        params: Vec<(String, String)>,
    ) -> Result<Exchange, SoftphoneError> {
        let sent = std::time::Instant::now();
        let response = self.client.request(request).await.map_err(|e| SoftphoneError::Http(e.to_string()))?;
        let status = response.status().as_u16();
        let bytes =
            response.into_body().collect().await.map_err(|e| SoftphoneError::Http(e.to_string()))?.to_bytes();
        let elapsed = sent.elapsed();
        Ok(Exchange { url, params, status, elapsed, body: String::from_utf8_lossy(&bytes).into_owned() })
    }

    /// The caller hears a `<Say>` or a `<Play>` (fetched as the provider would); other
    /// verbs are not heard.
    async fn listen(&self, verb: Verb, caller: &mut (impl Caller + ?Sized), record: &mut CallRecord) {
        match verb {
            Verb::Say { language, text } => {
                caller.hear(&language, &text);
                record.heard.push((language, text));
            }
            Verb::Play(url) => {
                let played = self.fetch_audio(&url).await;
                caller.play(&played);
                record.played.push(played);
            }
            _ => {}
        }
    }

    /// Places a call from `from` to `to` and lets `caller` live it to the end.
    ///
    /// # Errors
    /// When the server cannot be reached or answers what a provider would not accept.
    pub async fn call(
        &self,
        from: &str,
        to: &str,
        caller: &mut (impl Caller + ?Sized),
    ) -> Result<CallRecord, SoftphoneError> {
        let leg = Leg { sid: self.signer.call_sid(), from, to, direction: "inbound", answered_by: None };
        let prefix = self.dialect().prefix();
        self.follow(&leg, &format!("{prefix}/incoming"), &format!("{prefix}/status"), caller).await
    }

    /// Lives a call from its first webhook `first` (a path or a public URL) to its end,
    /// then sends its status callback to `status`.
    ///
    /// # Errors
    /// When the server cannot be reached or answers what a provider would not accept.
    pub async fn follow(
        &self,
        leg: &Leg<'_>,
        first: &str,
        status: &str,
        caller: &mut (impl Caller + ?Sized),
    ) -> Result<CallRecord, SoftphoneError> {
        let Leg { sid, from, to, direction, answered_by } = leg;
        let (sid, from, to) = (sid.clone(), *from, *to);
        let mut record = CallRecord { sid: sid.clone(), ..CallRecord::default() };
        let dialect = self.dialect();
        let account = match dialect {
            Dialect::Twilio => "AC00000000000000000000000000000000",
            Dialect::Telnyx | Dialect::Jambonz => "4e3b0c5a-9f3e-4d61-8c84-3f2b7d1a6e90",
        };
        // Telnyx's older form of the call id, sent beside it.
        let legacy = format!("v2:{}", sid.trim_start_matches("v3:"));
        let base = |extra: &[(&str, &str)]| -> Vec<(String, String)> {
            let mut fields = vec![
                ("CallSid", sid.as_str()),
                ("AccountSid", account),
                ("From", from),
                ("To", to),
                ("Caller", from),
                ("Called", to),
                ("CallStatus", "in-progress"),
                ("ApiVersion", "2010-04-01"),
                ("Direction", direction),
            ];
            if let Some(a) = answered_by {
                fields.push(("AnsweredBy", a));
            }
            if dialect == Dialect::Telnyx {
                fields.extend([("CallSidLegacy", legacy.as_str()), ("ConnectionId", "1494404757140276705")]);
            }
            let mut p: Vec<(String, String)> = fields
                .iter()
                .filter(|(k, _)| !extra.iter().any(|(e, _)| e == k))
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            p.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
            p
        };
        let mut next: Option<(String, Vec<(String, String)>)> = Some((first.to_owned(), base(&[])));
        let mut requests = 0;
        let mut draw = sid
            .bytes()
            .fold(0x9E37_79B9_7F4A_7C15_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3));
        'call: while let Some((url, params)) = next.take() {
            requests += 1;
            if requests > 500 {
                break;
            }
            if requests > 1 && !self.pause.is_zero() {
                // Callers do not answer in step: each pause is between half and one and a
                // half times the one asked for.
                draw ^= draw << 13;
                draw ^= draw >> 7;
                draw ^= draw << 17;
                let spread = 0.5 + f64::from(u32::try_from(draw % 1000).unwrap_or(0)) / 1000.0;
                tokio::time::sleep(self.pause.mul_f64(spread)).await;
            }
            let exchange = self.post(&url, &params).await?;
            record.exchanges.push(exchange.clone());
            if exchange.status != 200 {
                return Err(SoftphoneError::Refused {
                    url: exchange.url,
                    status: exchange.status,
                    body: exchange.body,
                });
            }
            let verbs = match self.dialect() {
                Dialect::Jambonz => parse_jambonz(&exchange.body),
                Dialect::Twilio | Dialect::Telnyx => parse(&exchange.body),
            }
            .map_err(|reason| SoftphoneError::NotTwiml { url: exchange.url.clone(), reason })?;
            for verb in verbs {
                match verb {
                    Verb::Say { .. } | Verb::Play(_) => self.listen(verb, caller, &mut record).await,
                    Verb::Gather { action, prompts, finish_on_key } => {
                        for prompt in prompts {
                            self.listen(prompt, caller, &mut record).await;
                        }
                        let mut press = caller.press();
                        while let Press::Wait(listening) = press {
                            tokio::time::sleep(listening).await;
                            press = caller.press();
                        }
                        match press {
                            Press::Keys(keys) => {
                                let keys = match finish_on_key.chars().next() {
                                    Some(k) => keys.trim_end_matches(k).to_owned(),
                                    None => keys,
                                };
                                next = Some((
                                    action,
                                    base(&[
                                        ("Digits", &keys),
                                        ("FinishedOnKey", ""),
                                        ("msg", "Gather End"),
                                        ("reason", "dtmfDetected"),
                                    ]),
                                ));
                                continue 'call;
                            }
                            // jambonz reports the silence to the gather's own hook; the
                            // others fall through to the next verb.
                            Press::Silence | Press::Wait(_) if self.dialect() == Dialect::Jambonz => {
                                next = Some((action, base(&[("reason", "timeout")])));
                                continue 'call;
                            }
                            Press::Silence | Press::Wait(_) => {}
                            Press::HangUp => break 'call,
                        }
                    }
                    Verb::Redirect(url) => {
                        next = Some((url, base(&[])));
                        continue 'call;
                    }
                    Verb::Dial { action, number } => {
                        let status = match caller.transfer(&number) {
                            Transfer::Answered => "completed",
                            Transfer::NoAnswer => "no-answer",
                            Transfer::Busy => "busy",
                            Transfer::HangUp => break 'call,
                        };
                        if let Some(action) = action {
                            next = Some((
                                action,
                                base(&[
                                    ("DialCallStatus", status),
                                    ("DialCallSid", "CA11111111111111111111111111111111"),
                                ]),
                            ));
                            continue 'call;
                        }
                    }
                    Verb::Record { action } => {
                        if let Some(seconds) = caller.record() {
                            let url = format!("https://recordings.example.invalid/{sid}.wav");
                            let seconds = seconds.to_string();
                            next = Some((
                                action,
                                base(&[
                                    ("RecordingUrl", &url),
                                    ("RecordingDuration", &seconds),
                                    ("Digits", "#"),
                                ]),
                            ));
                            continue 'call;
                        }
                    }
                    Verb::Hangup => break 'call,
                    Verb::Other(_) => {}
                }
            }
        }
        let ended = self
            .post(
                status,
                &base(&[
                    ("CallStatus", "completed"),
                    ("CallDuration", "60"),
                    ("SequenceNumber", "3"),
                    ("CallbackSource", "call-progress-events"),
                ]),
            )
            .await?;
        record.exchanges.push(ended);
        Ok(record)
    }
}

/// One leg of a call, as the provider describes it in every webhook.
#[derive(Debug, Clone)]
pub struct Leg<'a> {
    /// `CallSid`.
    pub sid: String,
    /// `From`.
    pub from: &'a str,
    /// `To`.
    pub to: &'a str,
    /// `Direction`: `inbound`, or `outbound-api` for a call placed through the REST API.
    pub direction: &'a str,
    /// `AnsweredBy`, when the call asked for answering-machine detection.
    pub answered_by: Option<&'a str>,
}

/// Reads a TwiML document into its verbs, refusing what the provider would refuse.
///
/// # Errors
/// A document that is not `<?xml …?><Response>…</Response>`.
pub fn parse(xml: &str) -> Result<Vec<Verb>, String> {
    if !xml.starts_with("<?xml") {
        return Err("the document must start with <?xml".to_owned());
    }
    let mut reader = Reader::from_str(xml);
    // Elements being read: name, attributes, text, child verbs.
    let mut stack: Vec<Open> = Vec::new();
    let mut root: Option<Vec<Verb>> = None;
    loop {
        match reader.read_event().map_err(|e| e.to_string())? {
            XmlEvent::Start(e) => {
                let name = e.name().as_ref().to_owned();
                stack.push(Open { name, attrs: attributes(&e)?, text: String::new(), children: Vec::new() });
            }
            XmlEvent::Empty(e) => {
                let name = e.name().as_ref().to_owned();
                let verb = verb(&name, &attributes(&e)?, "", Vec::new())?;
                stack.last_mut().ok_or("element outside <Response>")?.children.push(verb);
            }
            XmlEvent::Text(t) => {
                let text = t.xml10_content();
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&text);
                }
            }
            XmlEvent::GeneralRef(r) => {
                let text = match r.resolve_char_ref().map_err(|e| e.to_string())? {
                    Some(c) => c.to_string(),
                    None => quick_xml::escape::unescape(&format!("&{};", r.xml10_content()))
                        .map_err(|e| e.to_string())?
                        .into_owned(),
                };
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&text);
                }
            }
            XmlEvent::End(_) => {
                let Open { name, attrs, text, children } = stack.pop().ok_or("unbalanced end tag")?;
                if stack.is_empty() {
                    if name != "Response" {
                        return Err(format!("the root is <{name}>, not <Response>"));
                    }
                    root = Some(children);
                } else {
                    let verb = verb(&name, &attrs, &text, children)?;
                    stack.last_mut().ok_or("unbalanced")?.children.push(verb);
                }
            }
            XmlEvent::Eof => break,
            _ => {}
        }
    }
    root.ok_or_else(|| "no <Response>".to_owned())
}

fn attributes(e: &quick_xml::events::BytesStart<'_>) -> Result<Vec<(String, String)>, String> {
    e.attributes()
        .map(|a| {
            let a = a.map_err(|e| e.to_string())?;
            let value = a
                .normalized_value(quick_xml::XmlVersion::Explicit1_0)
                .map_err(|e| e.to_string())?
                .into_owned();
            Ok((a.key.as_ref().to_owned(), value))
        })
        .collect()
}

/// An element whose end tag has not been read yet.
struct Open {
    name: String,
    attrs: Vec<(String, String)>,
    text: String,
    children: Vec<Verb>,
}

fn verb(name: &str, attrs: &[(String, String)], text: &str, children: Vec<Verb>) -> Result<Verb, String> {
    let attr = |k: &str| attrs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let absolute = |k: &str| -> Result<String, String> {
        let url = attr(k).ok_or_else(|| format!("<{name}> without {k}"))?;
        if url.starts_with("http://") || url.starts_with("https://") {
            Ok(url)
        } else {
            Err(format!("<{name} {k}=\"{url}\"> is not an absolute URL"))
        }
    };
    Ok(match name {
        "Say" => Verb::Say { language: attr("language").unwrap_or_default(), text: text.trim().to_owned() },
        "Play" => Verb::Play(text.trim().to_owned()),
        "Gather" => {
            if children.iter().any(|c| !matches!(c, Verb::Say { .. } | Verb::Play(_) | Verb::Other(_))) {
                return Err("only <Say>, <Play> and <Pause> may be inside <Gather>".to_owned());
            }
            Verb::Gather {
                action: absolute("action")?,
                prompts: children,
                finish_on_key: attr("finishOnKey").unwrap_or_else(|| "#".to_owned()),
            }
        }
        "Redirect" => {
            let url = text.trim().to_owned();
            if !url.starts_with("http") {
                return Err(format!("<Redirect>{url}</Redirect> is not an absolute URL"));
            }
            Verb::Redirect(url)
        }
        "Dial" => {
            let number = children
                .iter()
                .find_map(|c| match c {
                    Verb::Other(n) => Some(n.clone()),
                    _ => None,
                })
                .unwrap_or_else(|| text.trim().to_owned());
            Verb::Dial { action: attr("action"), number }
        }
        "Number" => Verb::Other(text.trim().to_owned()),
        "Record" => Verb::Record { action: absolute("action")? },
        "Hangup" => Verb::Hangup,
        "Pause" => Verb::Other(String::new()),
        other => return Err(format!("unknown verb <{other}>")),
    })
}

/// Reads a jambonz answer (a JSON array of verbs) into the same verbs, refusing what
/// jambonz would refuse: not an array, a verb without its required fields, a hook that is
/// not an absolute URL.
///
/// # Errors
/// A document jambonz could not run.
pub fn parse_jambonz(body: &str) -> Result<Vec<Verb>, String> {
    let verbs: Vec<serde_json::Value> =
        serde_json::from_str(body).map_err(|e| format!("not a JSON array of verbs: {e}"))?;
    verbs.iter().map(jambonz_verb).collect()
}

fn jambonz_verb(verb: &serde_json::Value) -> Result<Verb, String> {
    let name = verb["verb"].as_str().ok_or("a verb without `verb`")?;
    let hook = |key: &str| -> Result<String, String> {
        let url = verb[key].as_str().ok_or_else(|| format!("`{name}` without {key}"))?;
        if url.starts_with("http://") || url.starts_with("https://") {
            Ok(url.to_owned())
        } else {
            Err(format!("`{name}` {key} `{url}` is not an absolute URL"))
        }
    };
    let texts = |value: &serde_json::Value| -> Vec<String> {
        match value {
            serde_json::Value::Array(items) => {
                items.iter().filter_map(|t| t.as_str().map(str::to_owned)).collect()
            }
            other => other.as_str().map(str::to_owned).into_iter().collect(),
        }
    };
    let spoken = |say: &serde_json::Value| -> Vec<Verb> {
        let language = say["synthesizer"]["language"].as_str().unwrap_or_default().to_owned();
        texts(&say["text"]).into_iter().map(|text| Verb::Say { language: language.clone(), text }).collect()
    };
    Ok(match name {
        "say" => spoken(verb).pop().ok_or("`say` without text")?,
        "play" => Verb::Play(texts(&verb["url"]).pop().ok_or("`play` without url")?),
        "gather" => {
            let mut prompts = Vec::new();
            if verb["say"].is_object() {
                prompts.extend(spoken(&verb["say"]));
            }
            if verb["play"].is_object() {
                prompts.extend(texts(&verb["play"]["url"]).into_iter().map(Verb::Play));
            }
            Verb::Gather {
                action: hook("actionHook")?,
                prompts,
                finish_on_key: verb["finishOnKey"].as_str().unwrap_or_default().to_owned(),
            }
        }
        "redirect" => Verb::Redirect(hook("actionHook")?),
        "dial" => {
            let number = verb["target"]
                .as_array()
                .and_then(|targets| targets.first())
                .and_then(|t| t["number"].as_str())
                .ok_or("`dial` without a phone target")?;
            let action = verb.get("actionHook").map(|_| hook("actionHook")).transpose()?;
            Verb::Dial { action, number: number.to_owned() }
        }
        "hangup" => Verb::Hangup,
        "pause" => Verb::Other(String::new()),
        other => return Err(format!("unknown verb `{other}`")),
    })
}
