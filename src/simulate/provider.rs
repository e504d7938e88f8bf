//! The provider's REST API, simulated: the service places its calls here, and each rung
//! number answers as a test or the terminal says, through the same [`Softphone`] as the
//! calls to the line.

use std::sync::{Arc, Mutex};

use base64::Engine as _;

use super::phone::{CallRecord, Caller, Leg, Press, Softphone, Transfer, new_call_sid};

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

/// A call placed through the simulated provider's REST API, as it was asked for.
#[derive(Debug, Clone)]
pub struct Placed {
    /// The call id given.
    pub sid: String,
    /// The form posted to `Calls.json`.
    pub form: Vec<(String, String)>,
    /// What the phone rung lived (when someone answered).
    pub record: Option<CallRecord>,
    /// The service cancelled it while it rang.
    pub cancelled: bool,
}

impl Placed {
    /// The value of `name` in the form.
    #[must_use]
    pub fn field(&self, name: &str) -> Option<&str> {
        self.form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// Answers the simulated provider gives instead of placing a call: for one number (or
/// any), the status and the body.
type Refusals = Arc<Mutex<std::collections::VecDeque<(Option<String>, u16, String)>>>;

/// Decides how each rung number answers.
pub type Phones = Arc<dyn Fn(&str) -> Pickup + Send + Sync>;

/// The provider's REST API, simulated: `POST /2010-04-01/Accounts/{sid}/Calls.json`
/// (HTTP Basic with the account and its token, `To`, `From` and `Url` required, as the
/// real one) answers `201` with a call id, then rings the number: the phone answers as
/// [`Phones`] says, through the same [`Softphone`] as the calls to the line.
#[derive(Clone)]
pub struct Provider {
    /// Where it listens (`http://127.0.0.1:PORT`): the service's `twilio_api_url`.
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
    /// Whether a request names this account and carries its credentials (HTTP Basic).
    fn authorises(&self, account: &str, headers: &axum::http::HeaderMap) -> bool {
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", self.account, self.token))
        );
        account == self.account
            && headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(expected.as_str())
    }
}

impl Provider {
    /// Starts the simulated API on a free port, for `account` and `token`; it places no
    /// call until [`Provider::attach`]ed.
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
            .route("/2010-04-01/Accounts/{account}/Calls.json", axum::routing::post(place_call))
            .route("/2010-04-01/Accounts/{account}/Calls/{call}", axum::routing::post(update_call))
            .with_state(Arc::clone(&state));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { url, placed, refusals, state })
    }

    /// Sends the calls' webhooks through `phone`; each rung number answers as `phones`
    /// says.
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

async fn place_call(
    axum::extract::State(state): axum::extract::State<Arc<ProviderState>>,
    axum::extract::Path(account): axum::extract::Path<String>,
    headers: axum::http::HeaderMap,
    body: String,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let error = |status: u16, code: u32, message: &str| {
        let status = axum::http::StatusCode::from_u16(status).unwrap_or(axum::http::StatusCode::BAD_REQUEST);
        (
            status,
            axum::Json(serde_json::json!({ "code": code, "message": message, "status": status.as_u16() })),
        )
            .into_response()
    };
    if !state.authorises(&account, &headers) {
        return error(401, 20003, "Authenticate");
    }
    let form: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes()).into_owned().collect();
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let (Some(to), Some(from), Some(url)) = (field("To"), field("From"), field("Url")) else {
        return error(400, 21201, "To, From and Url are required");
    };
    let refusal = state.refusals.lock().ok().and_then(|mut r| {
        let at = r.iter().position(|(only, _, _)| only.as_ref().is_none_or(|n| *n == to))?;
        r.remove(at)
    });
    if let Some((_, status, body)) = refusal {
        let status =
            axum::http::StatusCode::from_u16(status).unwrap_or(axum::http::StatusCode::SERVICE_UNAVAILABLE);
        return (status, body).into_response();
    }
    let Some((phone, phones)) = state.line.lock().ok().and_then(|l| l.clone()) else {
        return error(503, 0, "the simulated provider is not attached to a service yet");
    };
    let sid = new_call_sid();
    let index = {
        let Ok(mut placed) = state.placed.lock() else { return error(500, 0, "poisoned") };
        placed.push(Placed { sid: sid.clone(), form: form.clone(), record: None, cancelled: false });
        placed.len() - 1
    };
    let status_url = field("StatusCallback");
    let detect = field("MachineDetection").is_some();
    let ring = Arc::clone(&state);
    let call_sid = sid.clone();
    tokio::spawn(async move {
        let mut pickup = phones(&to);
        while let Pickup::After(wait, then) = pickup {
            tokio::time::sleep(wait).await;
            pickup = *then;
        }
        if ring.cancelled.lock().is_ok_and(|c| c.contains(&call_sid)) {
            if let Ok(mut placed) = ring.placed.lock() {
                placed[index].cancelled = true;
            }
            pickup = Pickup::Cancelled;
        }
        let end = |status: &'static str| {
            let (sid, from, to) = (call_sid.clone(), from.clone(), to.clone());
            let phone = phone.clone();
            let status_url = status_url.clone();
            async move {
                if let Some(url) = status_url {
                    let params: Vec<(String, String)> = [
                        ("CallSid", sid.as_str()),
                        ("From", from.as_str()),
                        ("To", to.as_str()),
                        ("CallStatus", status),
                        ("Direction", "outbound-api"),
                        ("CallDuration", "0"),
                    ]
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect();
                    let _ = phone.post(&url, &params).await;
                }
            }
        };
        match pickup {
            Pickup::NoAnswer => end("no-answer").await,
            Pickup::Busy => end("busy").await,
            Pickup::Cancelled => end("canceled").await,
            Pickup::After(..) => {}
            Pickup::Machine | Pickup::Person(_) => {
                let machine = matches!(pickup, Pickup::Machine);
                let answered_by = match (detect, machine) {
                    (false, _) => None,
                    (true, true) => Some("machine_start"),
                    (true, false) => Some("human"),
                };
                let leg = Leg {
                    sid: call_sid.clone(),
                    from: &from,
                    to: &to,
                    direction: "outbound-api",
                    answered_by,
                };
                let status = status_url.clone().unwrap_or_default();
                let mut caller: Box<dyn Caller + Send> = match pickup {
                    Pickup::Person(c) => c,
                    _ => Box::new(Machine),
                };
                let record = phone.follow(&leg, &url, &status, caller.as_mut()).await;
                match record {
                    Ok(record) => {
                        if let Ok(mut placed) = ring.placed.lock() {
                            placed[index].record = Some(record);
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "simulated outbound call failed"),
                }
            }
        }
    });
    (
        axum::http::StatusCode::CREATED,
        axum::Json(
            serde_json::json!({ "sid": sid, "status": "queued", "to": field("To"), "from": field("From") }),
        ),
    )
        .into_response()
}

/// `POST …/Calls/{sid}.json`: `Status=canceled` stops a call that still rings.
async fn update_call(
    axum::extract::State(state): axum::extract::State<Arc<ProviderState>>,
    axum::extract::Path((account, call)): axum::extract::Path<(String, String)>,
    headers: axum::http::HeaderMap,
    body: String,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    if !state.authorises(&account, &headers) {
        return (
            axum::http::StatusCode::UNAUTHORIZED,
            axum::Json(serde_json::json!({ "code": 20003, "message": "Authenticate" })),
        )
            .into_response();
    }
    let sid = call.trim_end_matches(".json").to_owned();
    let cancel = form_urlencoded::parse(body.as_bytes()).any(|(k, v)| k == "Status" && v == "canceled");
    if cancel {
        if let Ok(mut c) = state.cancelled.lock() {
            c.insert(sid.clone());
        }
    }
    (
        axum::http::StatusCode::OK,
        axum::Json(
            serde_json::json!({ "sid": sid, "status": if cancel { "canceled" } else { "in-progress" } }),
        ),
    )
        .into_response()
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
