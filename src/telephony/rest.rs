//! The provider's REST API for the calls the service places itself, one per dialect:
//! - Twilio (and SignalWire, the same API at the space's address):
//!   `POST {api}/2010-04-01/Accounts/{AccountSid}/Calls.json`, form-encoded, HTTP Basic
//!   with the account SID and the auth token; `201` with the call's `sid`; a refusal is
//!   JSON with `code` and `message`. Cancelled with `Status=canceled` on the call.
//! - Telnyx TeXML: `POST {api}/v2/texml/Accounts/{account_sid}/Calls`, JSON with the TeXML
//!   application's `ApplicationSid`, Bearer API key; the answer may not name the call, whose
//!   id then arrives with its first status callback (`initiated` is asked for). A refusal
//!   is `{"errors": [{"code", "title", "detail"}]}`. Cancelled like Twilio's, as a form.
//! - jambonz: `POST {api}/v1/Accounts/{account_sid}/Calls`, JSON (`to: {type: "phone"}`,
//!   `call_hook`, `call_status_hook`), Bearer API key; `201 {"sid"}`. Cancelled with
//!   `PUT …/Calls/{sid}` and `{"call_status": "no-answer"}`.

use std::time::Duration;

use base64::Engine as _;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use super::Dialect;
use crate::settings::{Secret, Settings};

/// Time allowed to the provider to answer one request.
const TIMEOUT: Duration = Duration::from_secs(15);

/// A call to place.
#[derive(Debug, Clone)]
pub struct Order {
    /// Whom to ring (E.164).
    pub to: String,
    /// The line's own number, shown to them.
    pub from: String,
    /// Our webhook, fetched when the call is answered (absolute).
    pub url: String,
    /// Our webhook for the call's end (absolute).
    pub status_callback: String,
    /// Seconds to let it ring.
    pub timeout: u16,
    /// Ask the provider to tell an answering machine from a person (`AnsweredBy`).
    pub machine_detection: bool,
}

/// Why a call was not placed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Worth trying again later: no answer, a 429 or a 5xx.
    #[error("{0}")]
    Retry(String),
    /// The provider refused it (a 4xx): trying again would not help.
    #[error("the provider refused the call ({status}{}): {message}", .code.map(|c| format!(", error {c}")).unwrap_or_default())]
    Refused {
        /// HTTP status.
        status: u16,
        /// The provider's error code.
        code: Option<i64>,
        /// The provider's message.
        message: String,
    },
}

type Https = hyper_rustls::HttpsConnector<HttpConnector>;

/// Whose API, and the credentials it wants.
#[derive(Clone)]
enum Account {
    /// Twilio's API (or SignalWire's): the account SID and its auth token.
    Twilio { account: String, token: Secret },
    /// Telnyx's TeXML API: the account, an API key, the TeXML application.
    Telnyx { account: String, key: Secret, application: String },
    /// A jambonz server's API: the account and an API key.
    Jambonz { account: String, key: Secret },
}

/// The provider's REST API, for one account.
#[derive(Clone)]
pub struct Api {
    base: String,
    account: Account,
    client: Client<Https, Full<Bytes>>,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field("base", &self.base)
            .field("dialect", &self.dialect())
            .finish_non_exhaustive()
    }
}

/// One request to the API.
struct Call<'a> {
    method: hyper::Method,
    url: String,
    content_type: &'a str,
    body: String,
}

impl Api {
    fn build(base: &str, account: Account) -> std::io::Result<Self> {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            account,
            client: Client::builder(TokioExecutor::new()).build(https),
        })
    }

    /// Twilio's API at `base` (`https://api.twilio.com`, a SignalWire space, or a mock's
    /// address), for `account`.
    ///
    /// # Errors
    /// When the system's certificate authorities cannot be read (HTTPS needs them).
    pub fn new(base: &str, account: &str, token: Secret) -> std::io::Result<Self> {
        Self::build(base, Account::Twilio { account: account.to_owned(), token })
    }

    /// Telnyx's TeXML API at `base`, for `account`, placing calls as TeXML `application`.
    ///
    /// # Errors
    /// As [`Api::new`].
    pub fn telnyx(base: &str, account: &str, key: Secret, application: &str) -> std::io::Result<Self> {
        Self::build(
            base,
            Account::Telnyx { account: account.to_owned(), key, application: application.to_owned() },
        )
    }

    /// A jambonz server's API at `base` (with or without its `/v1`), for `account`.
    ///
    /// # Errors
    /// As [`Api::new`].
    pub fn jambonz(base: &str, account: &str, key: Secret) -> std::io::Result<Self> {
        let base = base.trim_end_matches('/');
        Self::build(
            base.strip_suffix("/v1").unwrap_or(base),
            Account::Jambonz { account: account.to_owned(), key },
        )
    }

    /// The API the settings name, when the service places calls: Twilio's with
    /// `twilio_account_sid`, Telnyx's with `telnyx_api_key`, jambonz's with
    /// `jambonz_api_key` (the settings' check makes sure only one is set, with what it
    /// needs).
    ///
    /// # Errors
    /// When HTTPS cannot be set up (no certificate authorities on the system).
    pub fn from_settings(settings: &Settings) -> std::io::Result<Option<Self>> {
        if let (Some(account), Some(token)) = (&settings.twilio_account_sid, &settings.twilio_auth_token) {
            return Self::new(&settings.twilio_api_url, account, token.clone()).map(Some);
        }
        if let (Some(key), Some(account), Some(application)) =
            (&settings.telnyx_api_key, &settings.telnyx_account_sid, &settings.telnyx_application_sid)
        {
            return Self::telnyx(&settings.telnyx_api_url, account, key.clone(), application).map(Some);
        }
        if let (Some(key), Some(account), Some(url)) =
            (&settings.jambonz_api_key, &settings.jambonz_account_sid, &settings.jambonz_api_url)
        {
            return Self::jambonz(url, account, key.clone()).map(Some);
        }
        Ok(None)
    }

    /// The dialect the calls it places are answered in: their webhooks' prefix.
    #[must_use]
    pub fn dialect(&self) -> Dialect {
        match self.account {
            Account::Twilio { .. } => Dialect::Twilio,
            Account::Telnyx { .. } => Dialect::Telnyx,
            Account::Jambonz { .. } => Dialect::Jambonz,
        }
    }

    /// The URL calls are placed at.
    #[must_use]
    pub fn calls_url(&self) -> String {
        let base = &self.base;
        match &self.account {
            Account::Twilio { account, .. } => format!("{base}/2010-04-01/Accounts/{account}/Calls.json"),
            Account::Telnyx { account, .. } => format!("{base}/v2/texml/Accounts/{account}/Calls"),
            Account::Jambonz { account, .. } => format!("{base}/v1/Accounts/{account}/Calls"),
        }
    }

    /// Cancels call `sid` if it still rings (a call already answered is left alone).
    ///
    /// # Errors
    /// As [`Api::place`].
    pub async fn cancel(&self, sid: &str) -> Result<(), Refusal> {
        let base = &self.base;
        let call = match &self.account {
            Account::Twilio { account, .. } => Call {
                method: hyper::Method::POST,
                url: format!("{base}/2010-04-01/Accounts/{account}/Calls/{sid}.json"),
                content_type: FORM,
                body: "Status=canceled".to_owned(),
            },
            Account::Telnyx { account, .. } => Call {
                method: hyper::Method::POST,
                url: format!("{base}/v2/texml/Accounts/{account}/Calls/{sid}"),
                content_type: FORM,
                body: "Status=canceled".to_owned(),
            },
            Account::Jambonz { account, .. } => Call {
                method: hyper::Method::PUT,
                url: format!("{base}/v1/Accounts/{account}/Calls/{sid}"),
                content_type: JSON,
                body: serde_json::json!({ "call_status": "no-answer" }).to_string(),
            },
        };
        self.send(call).await.map(|_| ())
    }

    /// Places a call; returns the provider's call id, when its answer gives it (Telnyx's
    /// may not: the id then comes with the call's first status callback).
    ///
    /// # Errors
    /// [`Refusal::Retry`] when the provider could not be reached or asked to wait,
    /// [`Refusal::Refused`] when it refused the call.
    pub async fn place(&self, order: &Order) -> Result<Option<String>, Refusal> {
        let call = Call {
            method: hyper::Method::POST,
            url: self.calls_url(),
            content_type: if matches!(self.account, Account::Twilio { .. }) { FORM } else { JSON },
            body: self.order_body(order),
        };
        let sid = self.send(call).await?;
        match (sid, &self.account) {
            (Some(sid), _) => Ok(Some(sid)),
            (None, Account::Telnyx { .. }) => Ok(None),
            (None, _) => Err(Refusal::Retry("the provider's answer carries no call id".to_owned())),
        }
    }

    /// The body asking for `order`, in the API's own terms.
    fn order_body(&self, order: &Order) -> String {
        match &self.account {
            Account::Twilio { .. } => {
                let timeout = order.timeout.to_string();
                let mut form = form_urlencoded::Serializer::new(String::new());
                form.append_pair("To", &order.to)
                    .append_pair("From", &order.from)
                    .append_pair("Url", &order.url)
                    .append_pair("Method", "POST")
                    .append_pair("StatusCallback", &order.status_callback)
                    .append_pair("StatusCallbackMethod", "POST")
                    .append_pair("Timeout", &timeout);
                if order.machine_detection {
                    form.append_pair("MachineDetection", "Enable");
                }
                form.finish()
            }
            Account::Telnyx { application, .. } => {
                let mut body = serde_json::json!({
                    "ApplicationSid": application,
                    "To": order.to,
                    "From": order.from,
                    "Url": order.url,
                    "UrlMethod": "POST",
                    "StatusCallback": order.status_callback,
                    "StatusCallbackMethod": "POST",
                    // `initiated` names the call at once, so a ringing one can be cancelled.
                    "StatusCallbackEvent": "initiated completed",
                    "Timeout": order.timeout,
                });
                if order.machine_detection {
                    body["MachineDetection"] = "Enable".into();
                }
                body.to_string()
            }
            Account::Jambonz { .. } => serde_json::json!({
                "from": order.from,
                "to": { "type": "phone", "number": order.to },
                "call_hook": { "url": order.url, "method": "POST" },
                "call_status_hook": { "url": order.status_callback, "method": "POST" },
                "timeout": order.timeout,
            })
            .to_string(),
        }
    }

    /// The `authorization` header.
    fn authorization(&self) -> String {
        match &self.account {
            Account::Twilio { account, token } => format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{account}:{}", token.expose()))
            ),
            Account::Telnyx { key, .. } | Account::Jambonz { key, .. } => format!("Bearer {}", key.expose()),
        }
    }

    /// Sends `call` with the account's credentials; returns the call id the answer gives.
    async fn send(&self, call: Call<'_>) -> Result<Option<String>, Refusal> {
        let request = hyper::Request::builder()
            .method(call.method)
            .uri(call.url)
            .header("content-type", call.content_type)
            .header("accept", "application/json")
            .header("authorization", self.authorization())
            .header("user-agent", concat!("solidaire/", env!("CARGO_PKG_VERSION")))
            .body(Full::new(Bytes::from(call.body)))
            .map_err(|e| Refusal::Retry(e.to_string()))?;
        let answer = tokio::time::timeout(TIMEOUT, async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| Refusal::Retry(format!("the provider cannot be reached: {e}")))?;
            let status = response.status().as_u16();
            let bytes =
                response.into_body().collect().await.map_err(|e| Refusal::Retry(e.to_string()))?.to_bytes();
            Ok::<_, Refusal>((status, bytes))
        })
        .await
        .map_err(|_| Refusal::Retry(format!("the provider did not answer within {} s", TIMEOUT.as_secs())))?;
        let (status, bytes) = answer?;
        read_answer(status, &bytes)
    }
}

const FORM: &str = "application/x-www-form-urlencoded";
const JSON: &str = "application/json";

/// Reads the provider's answer: the call id it gives (`sid`, or Telnyx's `call_sid`), or
/// why it refused (Twilio's `code` and `message`, Telnyx's `errors`, jambonz's `msg`).
fn read_answer(status: u16, body: &[u8]) -> Result<Option<String>, Refusal> {
    let json: serde_json::Value = serde_json::from_slice(body).unwrap_or(serde_json::Value::Null);
    let first_error = json.pointer("/errors/0");
    // Logged and shown to coordinators: the number it may quote is masked.
    let message = || {
        let said = ["message", "msg"]
            .iter()
            .find_map(|k| json.get(k).and_then(serde_json::Value::as_str))
            .map(str::to_owned)
            .or_else(|| {
                let error = first_error?;
                let part = |k: &str| error.get(k).and_then(serde_json::Value::as_str);
                match (part("title"), part("detail")) {
                    (Some(title), Some(detail)) => Some(format!("{title}: {detail}")),
                    (title, detail) => title.or(detail).map(str::to_owned),
                }
            })
            .unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(200).collect());
        crate::phone::mask_numbers_in(&said)
    };
    match status {
        200..=299 => Ok(["sid", "call_sid"]
            .iter()
            .find_map(|k| json.get(k).and_then(serde_json::Value::as_str))
            .filter(|s| !s.is_empty())
            .map(str::to_owned)),
        429 | 500..=599 => Err(Refusal::Retry(format!("the provider answered {status}: {}", message()))),
        _ => Err(Refusal::Refused {
            status,
            code: json.get("code").and_then(serde_json::Value::as_i64).or_else(|| {
                let code = first_error?.get("code")?;
                code.as_i64().or_else(|| code.as_str()?.parse().ok())
            }),
            message: message(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read_as_the_provider_means_them() {
        assert_eq!(
            read_answer(201, br#"{"sid": "CA0123", "status": "queued"}"#),
            Ok(Some("CA0123".to_owned()))
        );
        assert_eq!(
            read_answer(200, br#"{"call_sid": "v3:abc", "status": "queued"}"#),
            Ok(Some("v3:abc".to_owned()))
        );
        assert_eq!(read_answer(200, br#"{"from": "+3243000000", "status": "queued"}"#), Ok(None));
        assert!(matches!(read_answer(503, b"busy"), Err(Refusal::Retry(m)) if m.contains("503")));
        assert!(matches!(read_answer(429, b"{}"), Err(Refusal::Retry(_))));
        let refused = read_answer(
            400,
            br#"{"code": 21219, "message": "The number +32470111111 is unverified.", "status": 400}"#,
        );
        assert_eq!(
            refused,
            Err(Refusal::Refused {
                status: 400,
                code: Some(21219),
                message: "The number +32 4** ** ** 11 is unverified.".to_owned()
            }),
            "the number it quotes is masked"
        );
        assert!(refused.unwrap_err().to_string().contains("error 21219"));
        let telnyx = read_answer(
            422,
            br#"{"errors": [{"code": "10015", "title": "Invalid value", "detail": "To +32470111111 is not valid"}]}"#,
        );
        assert_eq!(
            telnyx,
            Err(Refusal::Refused {
                status: 422,
                code: Some(10015),
                message: "Invalid value: To +32 4** ** ** 11 is not valid".to_owned()
            })
        );
        let jambonz = read_answer(400, br#"{"msg": "unknown application"}"#);
        assert!(
            matches!(jambonz, Err(Refusal::Refused { status: 400, code: None, message }) if message == "unknown application")
        );
    }
}
