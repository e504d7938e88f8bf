//! The provider's REST API for the calls the service places itself:
//! `POST {api}/2010-04-01/Accounts/{AccountSid}/Calls.json`, form-encoded, HTTP Basic with
//! the account SID and the auth token. The provider answers `201` with the call resource
//! (its `sid`); a refusal is JSON with `code` and `message`.

use std::time::Duration;

use base64::Engine as _;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

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

/// The provider's REST API, for one account.
#[derive(Clone)]
pub struct Api {
    base: String,
    account: String,
    token: Secret,
    client: Client<Https, Full<Bytes>>,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field("base", &self.base)
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

impl Api {
    /// The API at `base` (`https://api.twilio.com`, or a mock's address), for `account`.
    ///
    /// # Errors
    /// When the system's certificate authorities cannot be read (HTTPS needs them).
    pub fn new(base: &str, account: &str, token: Secret) -> std::io::Result<Self> {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            account: account.to_owned(),
            token,
            client: Client::builder(TokioExecutor::new()).build(https),
        })
    }

    /// The API the settings name, when the service places calls (`twilio_account_sid`
    /// set; the settings' check makes sure the token is too).
    ///
    /// # Errors
    /// When HTTPS cannot be set up (no certificate authorities on the system).
    pub fn from_settings(settings: &Settings) -> std::io::Result<Option<Self>> {
        match (&settings.twilio_account_sid, &settings.twilio_auth_token) {
            (Some(account), Some(token)) => {
                Self::new(&settings.twilio_api_url, account, token.clone()).map(Some)
            }
            _ => Ok(None),
        }
    }

    /// The URL calls are placed at.
    #[must_use]
    pub fn calls_url(&self) -> String {
        format!("{}/2010-04-01/Accounts/{}/Calls.json", self.base, self.account)
    }

    /// Cancels call `sid` if it still rings (`Status=canceled`; a call already answered is
    /// left alone).
    ///
    /// # Errors
    /// As [`Api::place`].
    pub async fn cancel(&self, sid: &str) -> Result<(), Refusal> {
        let url = format!("{}/2010-04-01/Accounts/{}/Calls/{sid}.json", self.base, self.account);
        self.post(url, "Status=canceled".to_owned()).await.map(|_| ())
    }

    /// Places a call; returns the provider's call id.
    ///
    /// # Errors
    /// [`Refusal::Retry`] when the provider could not be reached or asked to wait,
    /// [`Refusal::Refused`] when it refused the call.
    pub async fn place(&self, order: &Order) -> Result<String, Refusal> {
        let body = {
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
        };
        self.post(self.calls_url(), body).await
    }

    /// Posts `body` (a form) to `url` with the account's credentials; returns the call's
    /// `sid` from the answer.
    async fn post(&self, url: String, body: String) -> Result<String, Refusal> {
        let credentials = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            self.account,
            self.token.expose()
        ));
        let request = hyper::Request::post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .header("authorization", format!("Basic {credentials}"))
            .header("user-agent", concat!("solidaire/", env!("CARGO_PKG_VERSION")))
            .body(Full::new(Bytes::from(body)))
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

/// Reads the provider's answer to a placed call.
fn read_answer(status: u16, body: &[u8]) -> Result<String, Refusal> {
    let json: serde_json::Value = serde_json::from_slice(body).unwrap_or(serde_json::Value::Null);
    // Logged and shown to coordinators: the number it may quote is masked.
    let message = || {
        let said = json
            .get("message")
            .and_then(serde_json::Value::as_str)
            .map_or_else(|| String::from_utf8_lossy(body).chars().take(200).collect(), str::to_owned);
        crate::phone::mask_numbers_in(&said)
    };
    match status {
        200..=299 => json
            .get("sid")
            .and_then(serde_json::Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| Refusal::Retry(format!("the provider's answer {status} carries no sid"))),
        429 | 500..=599 => Err(Refusal::Retry(format!("the provider answered {status}: {}", message()))),
        _ => Err(Refusal::Refused {
            status,
            code: json.get("code").and_then(serde_json::Value::as_i64),
            message: message(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read_as_the_provider_means_them() {
        assert_eq!(read_answer(201, br#"{"sid": "CA0123", "status": "queued"}"#), Ok("CA0123".to_owned()));
        assert!(matches!(read_answer(201, b"{}"), Err(Refusal::Retry(_))));
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
    }
}
