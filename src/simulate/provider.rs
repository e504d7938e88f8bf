//! The providers' REST APIs, simulated: the service places its calls here, and each rung
//! number answers as a test or the terminal says, through the same [`Softphone`] as the
//! calls to the line (which speaks the dialect of the provider it plays). One server
//! answers the three APIs the service speaks, each with its own credentials' scheme, its
//! own required fields and its own shape of answer and of error, as the real ones:
//! - Twilio's (and SignalWire's): `POST /2010-04-01/Accounts/{sid}/Calls.json`, a form,
//!   HTTP Basic;
//! - Telnyx's TeXML: `POST /v2/texml/Accounts/{sid}/Calls`, JSON, Bearer; its answer does
//!   not name the call, which its `initiated` status callback does;
//! - jambonz's: `POST /v1/Accounts/{sid}/Calls`, JSON, Bearer.

use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse as _, Response};
use base64::Engine as _;
use serde_json::{Value, json};

use super::phone::{CallRecord, Caller, Leg, Press, Softphone, Transfer};

/// How a phone rung by the simulated provider answers.
pub enum Pickup {
    /// A person, who lives the call.
    Person(Box<dyn Caller + Send>),
    /// An answering machine (detected: `AnsweredBy=machine_start`).
    Machine,
    /// Nobody answers.
    NoAnswer,
    /// Busy.
    Busy,
    /// Rings this long first, then answers as the inner pickup.
    After(std::time::Duration, Box<Pickup>),
    /// The service cancelled the call while it rang (set by the provider).
    Cancelled,
}

/// Which of the providers' APIs a call was asked through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Through {
    /// Twilio's (or SignalWire's).
    Twilio,
    /// Telnyx's TeXML API.
    Telnyx,
    /// jambonz's.
    Jambonz,
}

/// A call placed through the simulated provider's REST API, as it was asked for.
#[derive(Debug, Clone)]
pub struct Placed {
    /// The call id given.
    pub sid: String,
    /// The API it was asked through.
    pub through: Through,
    /// What was posted, each field by its name (a JSON object's inner fields as
    /// `to.number`).
    pub form: Vec<(String, String)>,
    /// What the phone rung lived (when someone answered).
    pub record: Option<CallRecord>,
    /// The service cancelled it while it rang.
    pub cancelled: bool,
}

impl Placed {
    /// The value of `name` as posted.
    #[must_use]
    pub fn field(&self, name: &str) -> Option<&str> {
        self.form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Whom it rang, whatever the API's name for it.
    #[must_use]
    pub fn to(&self) -> Option<&str> {
        self.field(self.names().to)
    }

    /// The number shown.
    #[must_use]
    pub fn from(&self) -> Option<&str> {
        self.field(self.names().from)
    }

    /// The webhook fetched when it is answered.
    #[must_use]
    pub fn url(&self) -> Option<&str> {
        self.field(self.names().url)
    }

    /// The webhook for its end.
    #[must_use]
    pub fn status_callback(&self) -> Option<&str> {
        self.field(self.names().status)
    }

    fn names(&self) -> Names {
        Names::of(self.through)
    }
}

/// Each API's names for what a placed call needs.
struct Names {
    to: &'static str,
    from: &'static str,
    url: &'static str,
    status: &'static str,
}

impl Names {
    fn of(through: Through) -> Self {
        match through {
            Through::Twilio | Through::Telnyx => {
                Self { to: "To", from: "From", url: "Url", status: "StatusCallback" }
            }
            Through::Jambonz => {
                Self { to: "to.number", from: "from", url: "call_hook.url", status: "call_status_hook.url" }
            }
        }
    }
}

/// Answers the simulated provider gives instead of placing a call: for one number (or
/// any), the status and the body.
type Refusals = Arc<Mutex<std::collections::VecDeque<(Option<String>, u16, String)>>>;

/// Decides how each rung number answers.
pub type Phones = Arc<dyn Fn(&str) -> Pickup + Send + Sync>;

/// The providers' REST APIs, simulated (see the module): a call asked for is answered
/// with its id, then rings the number: the phone answers as [`Phones`] says, through the
/// same [`Softphone`] as the calls to the line.
#[derive(Clone)]
pub struct Provider {
    /// Where it listens (`http://127.0.0.1:PORT`): the service's `twilio_api_url`,
    /// `telnyx_api_url` or `jambonz_api_url`.
    pub url: String,
    placed: Arc<Mutex<Vec<Placed>>>,
    /// Answers it gives, in turn, before the 201s (`503` to test retries).
    refusals: Refusals,
    state: Arc<ProviderState>,
}

struct ProviderState {
    account: String,
    token: String,
    /// The service's webhooks, and how each number answers.
    line: Mutex<Option<(Softphone, Phones)>>,
    /// Calls the service cancelled.
    cancelled: Mutex<std::collections::HashSet<String>>,
    placed: Arc<Mutex<Vec<Placed>>>,
    refusals: Refusals,
}

impl ProviderState {
    /// Whether a request names this account and carries its credentials: HTTP Basic
    /// with the account and its token for Twilio, the token as a Bearer key otherwise.
    fn authorises(&self, through: Through, account: &str, headers: &HeaderMap) -> bool {
        let expected = match through {
            Through::Twilio => format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", self.account, self.token))
            ),
            Through::Telnyx | Through::Jambonz => format!("Bearer {}", self.token),
        };
        account == self.account
            && headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(expected.as_str())
    }
}

/// An error in the API's own shape.
fn error(through: Through, status: u16, code: u32, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    let body = match through {
        Through::Twilio => json!({ "code": code, "message": message, "status": status.as_u16() }),
        Through::Telnyx => {
            json!({ "errors": [{ "code": code.to_string(), "title": "Invalid request", "detail": message }] })
        }
        Through::Jambonz => json!({ "msg": message }),
    };
    (status, axum::Json(body)).into_response()
}

impl Provider {
    /// Starts the simulated APIs on a free port, for `account` and `token` (Twilio's auth
    /// token, or Telnyx's or jambonz's API key); it places no call until
    /// [`Provider::attach`]ed.
    ///
    /// # Errors
    /// When no port can be bound.
    pub async fn start(account: &str, token: &str) -> std::io::Result<Self> {
        Self::start_on(std::net::SocketAddr::from(([127, 0, 0, 1], 0)), account, token).await
    }

    /// [`Provider::start`] on `addr`.
    ///
    /// # Errors
    /// When `addr` cannot be bound.
    pub async fn start_on(addr: std::net::SocketAddr, account: &str, token: &str) -> std::io::Result<Self> {
        use axum::routing::{post, put};
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let placed: Arc<Mutex<Vec<Placed>>> = Arc::default();
        let refusals: Refusals = Arc::default();
        let state = Arc::new(ProviderState {
            account: account.to_owned(),
            token: token.to_owned(),
            line: Mutex::new(None),
            cancelled: Mutex::default(),
            placed: Arc::clone(&placed),
            refusals: Arc::clone(&refusals),
        });
        let app = axum::Router::new()
            .route("/2010-04-01/Accounts/{account}/Calls.json", post(place_twilio))
            .route("/2010-04-01/Accounts/{account}/Calls/{call}", post(update_twilio))
            .route("/v2/texml/Accounts/{account}/Calls", post(place_telnyx))
            .route("/v2/texml/Accounts/{account}/Calls/{call}", post(update_telnyx))
            .route("/v1/Accounts/{account}/Calls", post(place_jambonz))
            .route("/v1/Accounts/{account}/Calls/{call}", put(update_jambonz))
            .with_state(Arc::clone(&state));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { url, placed, refusals, state })
    }

    /// Sends the calls' webhooks through `phone` (in its dialect); each rung number
    /// answers as `phones` says.
    pub fn attach(&self, phone: Softphone, phones: Phones) {
        if let Ok(mut line) = self.state.line.lock() {
            *line = Some((phone, phones));
        }
    }

    /// The calls asked for so far.
    #[must_use]
    pub fn placed(&self) -> Vec<Placed> {
        self.placed.lock().map(|p| p.clone()).unwrap_or_default()
    }

    /// The next request is answered `status` with `body` instead of placing the call.
    pub fn refuse_next(&self, status: u16, body: &str) {
        if let Ok(mut r) = self.refusals.lock() {
            r.push_back((None, status, body.to_owned()));
        }
    }

    /// The next request to ring `to` is answered `status` with `body`.
    pub fn refuse_next_to(&self, to: &str, status: u16, body: &str) {
        if let Ok(mut r) = self.refusals.lock() {
            r.push_back((Some(to.to_owned()), status, body.to_owned()));
        }
    }
}

/// The fields of a JSON object, an inner object's as `outer.inner`.
fn flatten(prefix: &str, value: &Value, into: &mut Vec<(String, String)>) {
    match value {
        Value::Object(fields) => {
            for (k, v) in fields {
                let name = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                flatten(&name, v, into);
            }
        }
        Value::String(s) => into.push((prefix.to_owned(), s.clone())),
        Value::Null => {}
        other => into.push((prefix.to_owned(), other.to_string())),
    }
}

type Rest = axum::extract::State<Arc<ProviderState>>;
type OnAccount = axum::extract::Path<String>;
type OnCall = axum::extract::Path<(String, String)>;

async fn place_twilio(state: Rest, account: OnAccount, headers: HeaderMap, body: String) -> Response {
    let form: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes()).into_owned().collect();
    place(Through::Twilio, state, account, &headers, &form, &["To", "From", "Url"])
}

async fn place_telnyx(state: Rest, account: OnAccount, headers: HeaderMap, body: String) -> Response {
    let Ok(json) = serde_json::from_str::<Value>(&body) else {
        return error(Through::Telnyx, 400, 10015, "the body is not JSON");
    };
    let mut form = Vec::new();
    flatten("", &json, &mut form);
    place(Through::Telnyx, state, account, &headers, &form, &["ApplicationSid", "To", "From"])
}

async fn place_jambonz(state: Rest, account: OnAccount, headers: HeaderMap, body: String) -> Response {
    let Ok(json) = serde_json::from_str::<Value>(&body) else {
        return error(Through::Jambonz, 400, 0, "the body is not JSON");
    };
    let mut form = Vec::new();
    flatten("", &json, &mut form);
    let required = ["from", "to.type", "to.number", "call_hook.url", "call_status_hook.url"];
    place(Through::Jambonz, state, account, &headers, &form, &required)
}

/// A call asked for through `through`'s API: checked as that API checks it, answered,
/// then rung.
fn place(
    through: Through,
    axum::extract::State(state): Rest,
    axum::extract::Path(account): OnAccount,
    headers: &HeaderMap,
    form: &[(String, String)],
    required: &[&str],
) -> Response {
    if !state.authorises(through, &account, headers) {
        return error(through, 401, 20003, "Authenticate");
    }
    let names = Names::of(through);
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    if let Some(missing) = required.iter().find(|name| field(name).is_none()) {
        return error(through, 400, 21201, &format!("{missing} is required"));
    }
    let (Some(to), Some(from), Some(url)) = (field(names.to), field(names.from), field(names.url)) else {
        return error(through, 400, 21201, "To, From and Url are required");
    };
    let refusal = state.refusals.lock().ok().and_then(|mut r| {
        let at = r.iter().position(|(only, _, _)| only.as_ref().is_none_or(|n| *n == to))?;
        r.remove(at)
    });
    if let Some((_, status, body)) = refusal {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        return (status, body).into_response();
    }
    let Some((phone, phones)) = state.line.lock().ok().and_then(|l| l.clone()) else {
        return error(through, 503, 0, "the simulated provider is not attached to a service yet");
    };
    let sid = phone.new_sid();
    let index = {
        let Ok(mut placed) = state.placed.lock() else { return error(through, 500, 0, "poisoned") };
        placed.push(Placed {
            sid: sid.clone(),
            through,
            form: form.to_vec(),
            record: None,
            cancelled: false,
        });
        placed.len() - 1
    };
    let ring = Ring {
        state: Arc::clone(&state),
        phone,
        index,
        sid: sid.clone(),
        to: to.clone(),
        from: from.clone(),
        url,
        status_url: field(names.status),
        // Twilio's and Telnyx's `MachineDetection`; jambonz's `amd` is not simulated.
        detect: field("MachineDetection").is_some(),
        initiated: field("StatusCallbackEvent").is_some_and(|e| e.split(' ').any(|e| e == "initiated")),
    };
    tokio::spawn(ring.ring(phones));
    match through {
        Through::Twilio => (
            StatusCode::CREATED,
            axum::Json(json!({ "sid": sid, "status": "queued", "to": to, "from": from })),
        )
            .into_response(),
        // As Telnyx's API describes its answer: no call id in it.
        Through::Telnyx => {
            (StatusCode::OK, axum::Json(json!({ "from": from, "to": to, "status": "queued" })))
                .into_response()
        }
        Through::Jambonz => (StatusCode::CREATED, axum::Json(json!({ "sid": sid }))).into_response(),
    }
}

/// A call the simulated provider rings.
struct Ring {
    state: Arc<ProviderState>,
    phone: Softphone,
    index: usize,
    sid: String,
    to: String,
    from: String,
    url: String,
    status_url: Option<String>,
    detect: bool,
    /// Its `initiated` status is sent at once.
    initiated: bool,
}

impl Ring {
    /// Posts the call's status `status` to its status callback.
    async fn report(&self, status: &str) {
        if let Some(url) = &self.status_url {
            let params: Vec<(String, String)> = [
                ("CallSid", self.sid.as_str()),
                ("From", self.from.as_str()),
                ("To", self.to.as_str()),
                ("CallStatus", status),
                ("Direction", "outbound-api"),
                ("CallDuration", "0"),
            ]
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
            let _ = self.phone.post(url, &params).await;
        }
    }

    async fn ring(self, phones: Phones) {
        if self.initiated {
            self.report("initiated").await;
        }
        let mut pickup = phones(&self.to);
        while let Pickup::After(wait, then) = pickup {
            tokio::time::sleep(wait).await;
            pickup = *then;
        }
        if self.state.cancelled.lock().is_ok_and(|c| c.contains(&self.sid)) {
            if let Ok(mut placed) = self.state.placed.lock() {
                placed[self.index].cancelled = true;
            }
            pickup = Pickup::Cancelled;
        }
        match pickup {
            Pickup::NoAnswer => self.report("no-answer").await,
            Pickup::Busy => self.report("busy").await,
            Pickup::Cancelled => self.report("canceled").await,
            Pickup::After(..) => {}
            Pickup::Machine | Pickup::Person(_) => {
                let machine = matches!(pickup, Pickup::Machine);
                let answered_by = match (self.detect, machine) {
                    (false, _) => None,
                    (true, true) => Some("machine_start"),
                    (true, false) => Some("human"),
                };
                let leg = Leg {
                    sid: self.sid.clone(),
                    from: &self.from,
                    to: &self.to,
                    direction: "outbound-api",
                    answered_by,
                };
                let status = self.status_url.clone().unwrap_or_default();
                let mut caller: Box<dyn Caller + Send> = match pickup {
                    Pickup::Person(c) => c,
                    _ => Box::new(Machine),
                };
                match self.phone.follow(&leg, &self.url, &status, caller.as_mut()).await {
                    Ok(record) => {
                        if let Ok(mut placed) = self.state.placed.lock() {
                            placed[self.index].record = Some(record);
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "simulated outbound call failed"),
                }
            }
        }
    }
}

/// The service cancels call `sid` while it rings.
fn cancel(state: &ProviderState, sid: &str) {
    if let Ok(mut c) = state.cancelled.lock() {
        c.insert(sid.to_owned());
    }
}

/// `POST …/Calls/{sid}.json`: `Status=canceled` stops a call that still rings.
async fn update_twilio(state: Rest, call: OnCall, headers: HeaderMap, body: String) -> Response {
    update_form(Through::Twilio, state, call, &headers, &body)
}

/// `POST /v2/texml/…/Calls/{sid}`: as Twilio's, a form.
async fn update_telnyx(state: Rest, call: OnCall, headers: HeaderMap, body: String) -> Response {
    update_form(Through::Telnyx, state, call, &headers, &body)
}

fn update_form(
    through: Through,
    axum::extract::State(state): Rest,
    axum::extract::Path((account, call)): OnCall,
    headers: &HeaderMap,
    body: &str,
) -> Response {
    if !state.authorises(through, &account, headers) {
        return error(through, 401, 20003, "Authenticate");
    }
    let sid = call.trim_end_matches(".json").to_owned();
    let canceled = form_urlencoded::parse(body.as_bytes()).any(|(k, v)| k == "Status" && v == "canceled");
    if canceled {
        cancel(&state, &sid);
    }
    let status = if canceled { "canceled" } else { "in-progress" };
    (StatusCode::OK, axum::Json(json!({ "sid": sid, "status": status }))).into_response()
}

/// `PUT /v1/…/Calls/{sid}`: `{"call_status": "no-answer"}` stops a call that still rings.
async fn update_jambonz(
    axum::extract::State(state): Rest,
    axum::extract::Path((account, sid)): OnCall,
    headers: HeaderMap,
    body: String,
) -> Response {
    if !state.authorises(Through::Jambonz, &account, &headers) {
        return error(Through::Jambonz, 401, 0, "Authenticate");
    }
    let Ok(json) = serde_json::from_str::<Value>(&body) else {
        return error(Through::Jambonz, 400, 0, "the body is not JSON");
    };
    match json.get("call_status").and_then(Value::as_str) {
        Some("no-answer" | "completed") => cancel(&state, &sid),
        Some(other) => return error(Through::Jambonz, 400, 0, &format!("invalid call_status: {other}")),
        None => {}
    }
    StatusCode::ACCEPTED.into_response()
}

/// An answering machine: hears everything, presses nothing, then hangs up.
struct Machine;

impl Caller for Machine {
    fn hear(&mut self, _: &str, _: &str) {}
    fn press(&mut self) -> Press {
        Press::HangUp
    }
    fn transfer(&mut self, _: &str) -> Transfer {
        Transfer::HangUp
    }
    fn record(&mut self) -> Option<u32> {
        None
    }
}
