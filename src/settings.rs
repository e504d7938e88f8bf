//! Typed settings, layered: embedded defaults < `solidaire.toml` (or `--config FILE`) <
//! `SOLIDAIRE_*` environment variables < command-line flags. Everything is checked before
//! the service starts; a bad value stops it with the key's name.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The service's settings, checked.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// The SQLite file.
    pub database: PathBuf,
    /// The flows folder.
    pub flows: PathBuf,
    /// Whether the flows folder was named (otherwise a missing `./ivr-flows` falls back to
    /// the flow bundled in the binary).
    pub flows_named: bool,
    /// Prompt audio served under `/sounds/`.
    pub sounds: PathBuf,
    /// The URL the provider calls, without a trailing slash (`https://line.example.org`).
    pub public_url: Option<String>,
    /// The provider's auth token: webhooks must be signed with it.
    pub twilio_auth_token: Option<Secret>,
    /// A SignalWire project's signing key: webhooks signed with it are accepted too
    /// (`X-SignalWire-Signature`, or `X-Twilio-Signature`, the same algorithm).
    pub signalwire_signing_key: Option<Secret>,
    /// Telnyx's public key (the 32 bytes given in base64 in its portal): TeXML webhooks
    /// under `/voice/telnyx/` must carry its Ed25519 signature.
    pub telnyx_public_key: Option<[u8; 32]>,
    /// The jambonz application's webhook secret: webhooks under `/voice/jambonz/` must
    /// carry its `Jambonz-Signature`.
    pub jambonz_webhook_secret: Option<Secret>,
    /// Development mode, declared: a provider whose secret is not set has its webhooks
    /// accepted unsigned (otherwise they are all refused).
    pub development: bool,
    /// The provider's account, for the calls the service places (`AC…`); without it, the
    /// service places none.
    pub twilio_account_sid: Option<String>,
    /// The provider's REST API address (Twilio's own by default; a mock in tests).
    pub twilio_api_url: String,
    /// A Telnyx API key: the service places its calls through Telnyx's TeXML API.
    pub telnyx_api_key: Option<Secret>,
    /// The Telnyx account the calls are placed for (`account_sid` in the TeXML API).
    pub telnyx_account_sid: Option<String>,
    /// The TeXML application the placed calls belong to (its id, `ApplicationSid`).
    pub telnyx_application_sid: Option<String>,
    /// Telnyx's API address (its own by default; a mock in tests).
    pub telnyx_api_url: String,
    /// A jambonz API key: the service places its calls through the jambonz server.
    pub jambonz_api_key: Option<Secret>,
    /// The jambonz account the calls are placed for.
    pub jambonz_account_sid: Option<String>,
    /// The jambonz server's REST API (`https://jambonz.example.org/v1`): self-hosted, so
    /// it has no default.
    pub jambonz_api_url: Option<String>,
    /// Log filter (`info`, `solidaire=debug`).
    pub log: String,
    /// How long a claim on a callback request lasts, minutes.
    pub lease_minutes: u32,
    /// Console sessions end after this much inactivity, minutes.
    pub session_idle_minutes: u32,
    /// The service level counts callback requests first attempted within this many
    /// working hours.
    pub service_level_hours: u32,
    /// Calls and closed requests are anonymised after this many days.
    pub retention_days: u32,
    /// Requests handled at once; beyond, `503` with `Retry-After`.
    pub max_in_flight: u32,
    /// Connections open at once; beyond, new ones wait until one closes.
    pub max_connections: u32,
    /// Who checkpoints the database's write-ahead log: the service, or Litestream while
    /// it replicates the database.
    pub checkpoints: crate::store::Checkpoints,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database: PathBuf::from("solidaire.db"),
            flows: PathBuf::from("ivr-flows"),
            flows_named: false,
            sounds: PathBuf::from("sounds"),
            public_url: None,
            twilio_auth_token: None,
            signalwire_signing_key: None,
            telnyx_public_key: None,
            jambonz_webhook_secret: None,
            development: false,
            twilio_account_sid: None,
            twilio_api_url: TWILIO_API.to_owned(),
            telnyx_api_key: None,
            telnyx_account_sid: None,
            telnyx_application_sid: None,
            telnyx_api_url: TELNYX_API.to_owned(),
            jambonz_api_key: None,
            jambonz_account_sid: None,
            jambonz_api_url: None,
            log: "info".to_owned(),
            lease_minutes: 15,
            session_idle_minutes: 30,
            service_level_hours: 4,
            retention_days: 90,
            max_in_flight: 512,
            max_connections: 4096,
            checkpoints: crate::store::Checkpoints::Service,
        }
    }
}

/// A secret whose `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    #[must_use]
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that needs it.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// A setting that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("setting `{key}` (from {origin}): {message}")]
pub struct SettingsError {
    /// The key as the user wrote it (`listen`, `SOLIDAIRE_LISTEN`, `--listen`).
    pub key: String,
    /// Where it came from.
    pub origin: String,
    /// What is wrong.
    pub message: String,
}

/// Values given on the command line.
#[derive(Debug, Clone, Default)]
pub struct Flags {
    /// `--config FILE`.
    pub config: Option<PathBuf>,
    /// `--listen ADDR`.
    pub listen: Option<String>,
    /// `--database PATH`.
    pub database: Option<PathBuf>,
    /// `--flows DIR`.
    pub flows: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Layer {
    listen: Option<String>,
    database: Option<PathBuf>,
    flows: Option<PathBuf>,
    sounds: Option<PathBuf>,
    public_url: Option<String>,
    twilio_auth_token: Option<String>,
    signalwire_signing_key: Option<String>,
    telnyx_public_key: Option<String>,
    jambonz_webhook_secret: Option<String>,
    development: Option<bool>,
    twilio_account_sid: Option<String>,
    twilio_api_url: Option<String>,
    telnyx_api_key: Option<String>,
    telnyx_account_sid: Option<String>,
    telnyx_application_sid: Option<String>,
    telnyx_api_url: Option<String>,
    jambonz_api_key: Option<String>,
    jambonz_account_sid: Option<String>,
    jambonz_api_url: Option<String>,
    log: Option<String>,
    lease_minutes: Option<u32>,
    session_idle_minutes: Option<u32>,
    service_level_hours: Option<u32>,
    retention_days: Option<u32>,
    max_in_flight: Option<u32>,
    max_connections: Option<u32>,
    checkpoints: Option<String>,
}

const ENV_KEYS: &[&str] = &[
    "listen",
    "database",
    "flows",
    "sounds",
    "public_url",
    "twilio_auth_token",
    "signalwire_signing_key",
    "telnyx_public_key",
    "jambonz_webhook_secret",
    "development",
    "twilio_account_sid",
    "twilio_api_url",
    "telnyx_api_key",
    "telnyx_account_sid",
    "telnyx_application_sid",
    "telnyx_api_url",
    "jambonz_api_key",
    "jambonz_account_sid",
    "jambonz_api_url",
    "log",
    "lease_minutes",
    "session_idle_minutes",
    "service_level_hours",
    "retention_days",
    "max_in_flight",
    "max_connections",
    "checkpoints",
];

/// Reads Telnyx's public key: base64 of 32 bytes, as its portal shows it.
fn telnyx_key(given: &str) -> Result<[u8; 32], String> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(given.trim())
        .map_err(|_| "is not base64 (copy the public key from Telnyx's portal)".to_owned())?;
    let key = <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| format!("is {} bytes once decoded; an Ed25519 public key is 32", bytes.len()))?;
    ed25519_dalek::VerifyingKey::from_bytes(&key)
        .map(|_| key)
        .map_err(|_| "is not an Ed25519 public key".to_owned())
}

/// Twilio's own API address, the default of `twilio_api_url`.
pub const TWILIO_API: &str = "https://api.twilio.com";

/// Telnyx's own API address, the default of `telnyx_api_url`.
pub const TELNYX_API: &str = "https://api.telnyx.com";

/// The default configuration file, read when it exists and `--config` is not given.
pub const DEFAULT_CONFIG: &str = "solidaire.toml";

impl Settings {
    /// Loads the layers and checks them. `env` is the process environment (a parameter so
    /// tests need not touch the real one).
    ///
    /// # Errors
    /// The first bad value, named by its key and origin.
    pub fn load(flags: &Flags, env: &[(String, String)]) -> Result<Self, SettingsError> {
        let mut settings = Self::default();
        let (file_layer, file_origin) = read_config(flags.config.as_deref())?;
        settings.apply(file_layer, &|key| (key.to_owned(), file_origin.clone()))?;

        let mut env_layer = Layer::default();
        for (name, value) in env {
            let Some(key) = name.strip_prefix("SOLIDAIRE_") else { continue };
            let key = key.to_ascii_lowercase();
            let value = Some(value.clone());
            match key.as_str() {
                "listen" => env_layer.listen = value,
                "database" => env_layer.database = value.map(PathBuf::from),
                "flows" => env_layer.flows = value.map(PathBuf::from),
                "sounds" => env_layer.sounds = value.map(PathBuf::from),
                "public_url" => env_layer.public_url = value,
                "twilio_auth_token" => env_layer.twilio_auth_token = value,
                "signalwire_signing_key" => env_layer.signalwire_signing_key = value,
                "telnyx_public_key" => env_layer.telnyx_public_key = value,
                "jambonz_webhook_secret" => env_layer.jambonz_webhook_secret = value,
                "development" => {
                    let given = value.as_deref().unwrap_or_default().trim().to_ascii_lowercase();
                    env_layer.development = Some(match given.as_str() {
                        "1" | "true" | "yes" => true,
                        "0" | "false" | "no" | "" => false,
                        _ => {
                            return Err(SettingsError {
                                key: name.clone(),
                                origin: "the environment".to_owned(),
                                message: format!("`{given}` is not true or false"),
                            });
                        }
                    });
                }
                "twilio_account_sid" => env_layer.twilio_account_sid = value,
                "twilio_api_url" => env_layer.twilio_api_url = value,
                "telnyx_api_key" => env_layer.telnyx_api_key = value,
                "telnyx_account_sid" => env_layer.telnyx_account_sid = value,
                "telnyx_application_sid" => env_layer.telnyx_application_sid = value,
                "telnyx_api_url" => env_layer.telnyx_api_url = value,
                "jambonz_api_key" => env_layer.jambonz_api_key = value,
                "jambonz_account_sid" => env_layer.jambonz_account_sid = value,
                "jambonz_api_url" => env_layer.jambonz_api_url = value,
                "log" => env_layer.log = value,
                "checkpoints" => env_layer.checkpoints = value,
                "lease_minutes"
                | "session_idle_minutes"
                | "service_level_hours"
                | "retention_days"
                | "max_in_flight"
                | "max_connections" => {
                    let minutes =
                        value.as_deref().map(str::trim).and_then(|v| v.parse().ok()).ok_or_else(|| {
                            SettingsError {
                                key: name.clone(),
                                origin: "the environment".to_owned(),
                                message: format!(
                                    "`{}` is not a whole number",
                                    value.as_deref().unwrap_or_default()
                                ),
                            }
                        })?;
                    match key.as_str() {
                        "lease_minutes" => env_layer.lease_minutes = Some(minutes),
                        "session_idle_minutes" => env_layer.session_idle_minutes = Some(minutes),
                        "retention_days" => env_layer.retention_days = Some(minutes),
                        "max_in_flight" => env_layer.max_in_flight = Some(minutes),
                        "max_connections" => env_layer.max_connections = Some(minutes),
                        _ => env_layer.service_level_hours = Some(minutes),
                    }
                }
                _ => {
                    return Err(SettingsError {
                        key: name.clone(),
                        origin: "the environment".to_owned(),
                        message: format!(
                            "unknown setting; known: {}",
                            ENV_KEYS
                                .iter()
                                .map(|k| format!("SOLIDAIRE_{}", k.to_uppercase()))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    });
                }
            }
        }
        settings.apply(env_layer, &|key| {
            (format!("SOLIDAIRE_{}", key.to_uppercase()), "the environment".to_owned())
        })?;

        let flag_layer = Layer {
            listen: flags.listen.clone(),
            database: flags.database.clone(),
            flows: flags.flows.clone(),
            ..Layer::default()
        };
        settings.apply(flag_layer, &|key| (format!("--{key}"), "the command line".to_owned()))?;

        for (key, set) in [
            ("twilio_auth_token", settings.twilio_auth_token.is_some()),
            ("signalwire_signing_key", settings.signalwire_signing_key.is_some()),
        ] {
            if set && settings.public_url.is_none() {
                return Err(SettingsError {
                    key: "public_url".to_owned(),
                    origin: "the settings".to_owned(),
                    message: format!(
                        "must be set when {key} is: the provider signs the public URL it calls, which the server cannot guess behind a proxy"
                    ),
                });
            }
        }
        settings.check_calling_out()?;
        Ok(settings)
    }

    /// The service places its calls through one provider, with everything that
    /// provider's API and the placed calls' webhooks need.
    fn check_calling_out(&self) -> Result<(), SettingsError> {
        let refuse = |key: &str, message: String| SettingsError {
            key: key.to_owned(),
            origin: "the settings".to_owned(),
            message,
        };
        let by = [
            ("twilio_account_sid", self.twilio_account_sid.is_some()),
            ("telnyx_api_key", self.telnyx_api_key.is_some()),
            ("jambonz_api_key", self.jambonz_api_key.is_some()),
        ];
        let mut chosen = by.iter().filter(|(_, set)| *set).map(|(key, _)| *key);
        let Some(key) = chosen.next() else { return Ok(()) };
        if let Some(other) = chosen.next() {
            return Err(refuse(
                other,
                format!(
                    "the service places its calls through one provider, and {key} is set too: remove one"
                ),
            ));
        }
        let needs: &[(&str, bool, &str)] = match key {
            "twilio_account_sid" => &[(
                "twilio_auth_token",
                self.twilio_auth_token.is_some(),
                "the provider's REST API authenticates with it",
            )],
            "telnyx_api_key" => &[
                (
                    "telnyx_account_sid",
                    self.telnyx_account_sid.is_some(),
                    "the TeXML API places calls for an account",
                ),
                (
                    "telnyx_application_sid",
                    self.telnyx_application_sid.is_some(),
                    "the calls placed belong to a TeXML application",
                ),
                (
                    "telnyx_public_key",
                    self.telnyx_public_key.is_some() || self.development,
                    "the placed calls' webhooks are signed with it (or declare development)",
                ),
            ],
            _ => &[
                (
                    "jambonz_account_sid",
                    self.jambonz_account_sid.is_some(),
                    "the API places calls for an account",
                ),
                (
                    "jambonz_api_url",
                    self.jambonz_api_url.is_some(),
                    "jambonz is self-hosted: its address has no default",
                ),
                (
                    "jambonz_webhook_secret",
                    self.jambonz_webhook_secret.is_some() || self.development,
                    "the placed calls' webhooks are signed with it (or declare development)",
                ),
            ],
        };
        let public = (
            "public_url",
            self.public_url.is_some(),
            "the calls the service places fetch their answers from it",
        );
        match needs.iter().chain([&public]).find(|(_, set, _)| !set) {
            Some((missing, _, why)) => Err(refuse(missing, format!("must be set when {key} is: {why}"))),
            None => Ok(()),
        }
    }

    fn apply(&mut self, layer: Layer, name: &dyn Fn(&str) -> (String, String)) -> Result<(), SettingsError> {
        let error = |key: &str, message: String| {
            let (key, origin) = name(key);
            SettingsError { key, origin, message }
        };
        if let Some(listen) = layer.listen {
            self.listen = listen
                .parse()
                .map_err(|_| error("listen", format!("`{listen}` is not an address like 127.0.0.1:8080")))?;
        }
        if let Some(database) = layer.database {
            if database.as_os_str().is_empty() {
                return Err(error("database", "is empty".to_owned()));
            }
            self.database = database;
        }
        if let Some(flows) = layer.flows {
            self.flows = flows;
            self.flows_named = true;
        }
        if let Some(sounds) = layer.sounds {
            self.sounds = sounds;
        }
        if let Some(url) = layer.public_url {
            self.public_url = Some(check_public_url(&url).map_err(|m| error("public_url", m))?);
        }
        if let Some(token) = layer.twilio_auth_token {
            if token.trim().is_empty() {
                return Err(error(
                    "twilio_auth_token",
                    "is empty: remove it to run unsigned (development only)".to_owned(),
                ));
            }
            self.twilio_auth_token = Some(Secret::new(token.trim()));
        }
        if let Some(key) = layer.signalwire_signing_key {
            if key.trim().is_empty() {
                return Err(error(
                    "signalwire_signing_key",
                    "is empty: remove it, or give the project's signing key".to_owned(),
                ));
            }
            self.signalwire_signing_key = Some(Secret::new(key.trim()));
        }
        if let Some(key) = layer.telnyx_public_key {
            self.telnyx_public_key = Some(telnyx_key(&key).map_err(|m| error("telnyx_public_key", m))?);
        }
        if let Some(secret) = layer.jambonz_webhook_secret {
            if secret.trim().is_empty() {
                return Err(error(
                    "jambonz_webhook_secret",
                    "is empty: remove it, or give the application's webhook secret".to_owned(),
                ));
            }
            self.jambonz_webhook_secret = Some(Secret::new(secret.trim()));
        }
        if let Some(development) = layer.development {
            self.development = development;
        }
        if let Some(sid) = layer.twilio_account_sid {
            let sid = sid.trim();
            let hex = sid
                .strip_prefix("AC")
                .is_some_and(|h| h.len() == 32 && h.bytes().all(|b| b.is_ascii_hexdigit()));
            if !hex {
                return Err(error(
                    "twilio_account_sid",
                    format!("`{sid}` is not an account SID (AC followed by 32 hexadecimal digits)"),
                ));
            }
            self.twilio_account_sid = Some(sid.to_owned());
        }
        if let Some(url) = layer.twilio_api_url {
            self.twilio_api_url = check_public_url(&url).map_err(|m| error("twilio_api_url", m))?;
        }
        if let Some(url) = layer.telnyx_api_url {
            self.telnyx_api_url = check_public_url(&url).map_err(|m| error("telnyx_api_url", m))?;
        }
        if let Some(url) = layer.jambonz_api_url {
            self.jambonz_api_url = Some(check_public_url(&url).map_err(|m| error("jambonz_api_url", m))?);
        }
        for (key, value, target) in [
            ("telnyx_api_key", layer.telnyx_api_key, &mut self.telnyx_api_key),
            ("jambonz_api_key", layer.jambonz_api_key, &mut self.jambonz_api_key),
        ] {
            if let Some(value) = value {
                *target = Some(Secret::new(not_blank(key, &value).map_err(|m| error(key, m))?));
            }
        }
        for (key, value, target) in [
            ("telnyx_account_sid", layer.telnyx_account_sid, &mut self.telnyx_account_sid),
            ("telnyx_application_sid", layer.telnyx_application_sid, &mut self.telnyx_application_sid),
            ("jambonz_account_sid", layer.jambonz_account_sid, &mut self.jambonz_account_sid),
        ] {
            if let Some(value) = value {
                let id = not_blank(key, &value).map_err(|m| error(key, m))?;
                if id.contains(['/', '?', '#', ' ']) {
                    return Err(error(key, format!("`{id}` is not an id (it goes in the API's URLs)")));
                }
                *target = Some(id);
            }
        }
        for (key, value, target) in [
            ("lease_minutes", layer.lease_minutes, &mut self.lease_minutes),
            ("session_idle_minutes", layer.session_idle_minutes, &mut self.session_idle_minutes),
        ] {
            if let Some(minutes) = value {
                if !(1..=24 * 60).contains(&minutes) {
                    return Err(error(key, format!("{minutes} is not a number of minutes from 1 to 1440")));
                }
                *target = minutes;
            }
        }
        if let Some(hours) = layer.service_level_hours {
            if !(1..=168).contains(&hours) {
                return Err(error(
                    "service_level_hours",
                    format!("{hours} is not a number of hours from 1 to 168"),
                ));
            }
            self.service_level_hours = hours;
        }
        if let Some(days) = layer.retention_days {
            if !(1..=3650).contains(&days) {
                return Err(error(
                    "retention_days",
                    format!("{days} is not a number of days from 1 to 3650"),
                ));
            }
            self.retention_days = days;
        }
        if let Some(n) = layer.max_in_flight {
            if !(1..=100_000).contains(&n) {
                return Err(error(
                    "max_in_flight",
                    format!("{n} is not a number of requests from 1 to 100000"),
                ));
            }
            self.max_in_flight = n;
        }
        if let Some(n) = layer.max_connections {
            if !(16..=1_000_000).contains(&n) {
                return Err(error(
                    "max_connections",
                    format!("{n} is not a number of connections from 16 to 1000000"),
                ));
            }
            self.max_connections = n;
        }
        if let Some(by) = layer.checkpoints {
            self.checkpoints = match by.trim() {
                "service" => crate::store::Checkpoints::Service,
                "litestream" => crate::store::Checkpoints::Litestream,
                other => {
                    return Err(error(
                        "checkpoints",
                        format!("`{other}` is neither `service` nor `litestream`"),
                    ));
                }
            };
        }
        if let Some(log) = layer.log {
            tracing_subscriber::EnvFilter::try_new(&log)
                .map_err(|e| error("log", format!("`{log}`: {e}")))?;
            self.log = log;
        }
        Ok(())
    }
}

fn read_config(path: Option<&Path>) -> Result<(Layer, String), SettingsError> {
    let (path, required) = match path {
        Some(p) => (p.to_path_buf(), true),
        None => (PathBuf::from(DEFAULT_CONFIG), false),
    };
    let origin = path.display().to_string();
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => {
            return Ok((Layer::default(), origin));
        }
        Err(e) => {
            return Err(SettingsError {
                key: "--config".to_owned(),
                origin: "the command line".to_owned(),
                message: format!("cannot read {origin}: {e}"),
            });
        }
    };
    let layer: Layer = toml::from_str(&text).map_err(|e| {
        let line = e.span().map_or(0, |s| text[..s.start.min(text.len())].matches('\n').count() + 1);
        let key = e.message().split('`').nth(1).map_or_else(|| format!("line {line}"), str::to_owned);
        SettingsError {
            key,
            origin: format!("{origin}, line {line}"),
            message: e.message().trim().to_owned(),
        }
    })?;
    Ok((layer, origin))
}

/// A value that must say something: trimmed, or why it cannot be used.
fn not_blank(key: &str, value: &str) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(format!("is empty: remove {key}, or give its value"));
    }
    Ok(value.to_owned())
}

fn check_public_url(url: &str) -> Result<String, String> {
    let url = url.trim().trim_end_matches('/');
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| format!("`{url}` must start with https:// (or http:// for tests)"))?;
    if rest.is_empty() || rest.contains(['?', '#', ' ']) {
        return Err(format!("`{url}` must be a scheme and host, optionally a path, without query"));
    }
    Ok(url.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn environment_overrides_defaults_and_flags_override_environment() {
        let flags = Flags { listen: Some("127.0.0.1:9000".into()), ..Flags::default() };
        let s = Settings::load(
            &flags,
            &env(&[("SOLIDAIRE_LISTEN", "127.0.0.1:7000"), ("SOLIDAIRE_DATABASE", "x.db")]),
        )
        .unwrap();
        assert_eq!(s.listen.port(), 9000);
        assert_eq!(s.database, PathBuf::from("x.db"));
    }

    #[test]
    fn bad_values_name_their_key() {
        let e = Settings::load(&Flags::default(), &env(&[("SOLIDAIRE_LISTEN", "nowhere")])).unwrap_err();
        assert_eq!(e.key, "SOLIDAIRE_LISTEN");
        let e = Settings::load(&Flags::default(), &env(&[("SOLIDAIRE_TWILIO_TOKEN", "x")])).unwrap_err();
        assert_eq!(e.key, "SOLIDAIRE_TWILIO_TOKEN");
        let e = Settings::load(&Flags::default(), &env(&[("SOLIDAIRE_PUBLIC_URL", "line.example.org")]))
            .unwrap_err();
        assert_eq!(e.key, "SOLIDAIRE_PUBLIC_URL");
    }

    #[test]
    fn a_token_needs_a_public_url() {
        let e =
            Settings::load(&Flags::default(), &env(&[("SOLIDAIRE_TWILIO_AUTH_TOKEN", "abc")])).unwrap_err();
        assert_eq!(e.key, "public_url");
        let s = Settings::load(
            &Flags::default(),
            &env(&[
                ("SOLIDAIRE_TWILIO_AUTH_TOKEN", "abc"),
                ("SOLIDAIRE_PUBLIC_URL", "https://line.example.org/"),
            ]),
        )
        .unwrap();
        assert_eq!(s.public_url.as_deref(), Some("https://line.example.org"));
        assert_eq!(format!("{:?}", s.twilio_auth_token), "Some(Secret(***))");
    }

    #[test]
    fn each_providers_secret_is_checked_by_its_name() {
        let load = |pairs: &[(&str, &str)]| Settings::load(&Flags::default(), &env(pairs));
        let key = |value| load(&[("SOLIDAIRE_TELNYX_PUBLIC_KEY", value)]);
        let e = key("not base64!").unwrap_err();
        assert!(e.key == "SOLIDAIRE_TELNYX_PUBLIC_KEY" && e.message.contains("not base64"), "{e}");
        let e = key("AAAA").unwrap_err();
        assert!(e.message.contains("3 bytes once decoded"), "{e}");
        let public = "O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik=";
        assert_eq!(key(public).unwrap().telnyx_public_key.map(|k| k[0]), Some(0x3b));
        let e = load(&[("SOLIDAIRE_JAMBONZ_WEBHOOK_SECRET", " ")]).unwrap_err();
        assert_eq!(e.key, "SOLIDAIRE_JAMBONZ_WEBHOOK_SECRET", "{e}");
        let s = load(&[("SOLIDAIRE_JAMBONZ_WEBHOOK_SECRET", "wh_s3cret")]).unwrap();
        assert_eq!(format!("{:?}", s.jambonz_webhook_secret), "Some(Secret(***))");
        assert!(!s.development, "development is declared, never assumed");
        assert!(load(&[("SOLIDAIRE_DEVELOPMENT", "true")]).unwrap().development);
        let e = load(&[("SOLIDAIRE_DEVELOPMENT", "maybe")]).unwrap_err();
        assert!(e.key == "SOLIDAIRE_DEVELOPMENT" && e.message.contains("true or false"), "{e}");
    }

    #[test]
    fn a_signalwire_signing_key_needs_a_public_url_and_is_never_shown() {
        let key = ("SOLIDAIRE_SIGNALWIRE_SIGNING_KEY", "PSKabc");
        let e = Settings::load(&Flags::default(), &env(&[key])).unwrap_err();
        assert!(e.key == "public_url" && e.message.contains("signalwire_signing_key"), "{e}");
        let e = Settings::load(&Flags::default(), &env(&[("SOLIDAIRE_SIGNALWIRE_SIGNING_KEY", " ")]))
            .unwrap_err();
        assert_eq!(e.key, "SOLIDAIRE_SIGNALWIRE_SIGNING_KEY", "{e}");
        let s = Settings::load(
            &Flags::default(),
            &env(&[key, ("SOLIDAIRE_PUBLIC_URL", "https://line.example.org")]),
        )
        .unwrap();
        assert_eq!(format!("{:?}", s.signalwire_signing_key), "Some(Secret(***))");
        assert_eq!(s.signalwire_signing_key.unwrap().expose(), "PSKabc");
    }

    #[test]
    fn calling_out_needs_the_account_the_token_and_the_public_url() {
        let sid = ("SOLIDAIRE_TWILIO_ACCOUNT_SID", "AC0123456789abcdef0123456789abcdef");
        let e = Settings::load(&Flags::default(), &env(&[sid])).unwrap_err();
        assert_eq!(e.key, "twilio_auth_token", "{e}");
        let e =
            Settings::load(&Flags::default(), &env(&[("SOLIDAIRE_TWILIO_ACCOUNT_SID", "AC12")])).unwrap_err();
        assert_eq!(e.key, "SOLIDAIRE_TWILIO_ACCOUNT_SID", "{e}");
        let e = Settings::load(&Flags::default(), &env(&[("SOLIDAIRE_TWILIO_API_URL", "api.example")]))
            .unwrap_err();
        assert_eq!(e.key, "SOLIDAIRE_TWILIO_API_URL", "{e}");
        let s = Settings::load(
            &Flags::default(),
            &env(&[
                sid,
                ("SOLIDAIRE_TWILIO_AUTH_TOKEN", "abc"),
                ("SOLIDAIRE_PUBLIC_URL", "https://line.example.org"),
                ("SOLIDAIRE_TWILIO_API_URL", "http://127.0.0.1:4010/"),
            ]),
        )
        .unwrap();
        assert_eq!(s.twilio_api_url, "http://127.0.0.1:4010");
        let api = crate::telephony::rest::Api::from_settings(&s).unwrap().expect("calling out is on");
        assert_eq!(
            api.calls_url(),
            "http://127.0.0.1:4010/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Calls.json"
        );
        assert!(crate::telephony::rest::Api::from_settings(&Settings::default()).unwrap().is_none());
    }

    #[test]
    fn calls_are_placed_through_one_provider_with_what_its_api_needs() {
        let public = ("SOLIDAIRE_PUBLIC_URL", "https://line.example.org");
        let telnyx = [
            ("SOLIDAIRE_TELNYX_API_KEY", "KEY0123"),
            ("SOLIDAIRE_TELNYX_ACCOUNT_SID", "4e3b0c5a-9f3e-4d61-8c84-3f2b7d1a6e90"),
            ("SOLIDAIRE_TELNYX_APPLICATION_SID", "1494404757140276705"),
            ("SOLIDAIRE_TELNYX_PUBLIC_KEY", "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="),
            public,
        ];
        let s = Settings::load(&Flags::default(), &env(&telnyx)).unwrap();
        let api = crate::telephony::rest::Api::from_settings(&s).unwrap().expect("calling out is on");
        assert_eq!(api.dialect(), crate::telephony::Dialect::Telnyx);
        assert_eq!(
            api.calls_url(),
            "https://api.telnyx.com/v2/texml/Accounts/4e3b0c5a-9f3e-4d61-8c84-3f2b7d1a6e90/Calls"
        );
        for (left_out, key) in [(2, "telnyx_application_sid"), (3, "telnyx_public_key"), (4, "public_url")] {
            let given: Vec<_> =
                telnyx.iter().enumerate().filter(|(i, _)| *i != left_out).map(|(_, kv)| *kv).collect();
            let e = Settings::load(&Flags::default(), &env(&given)).unwrap_err();
            assert_eq!(e.key, key, "{e}");
        }
        let e =
            Settings::load(&Flags::default(), &env(&[("SOLIDAIRE_TELNYX_ACCOUNT_SID", "a/b")])).unwrap_err();
        assert_eq!(e.key, "SOLIDAIRE_TELNYX_ACCOUNT_SID", "{e}");

        let jambonz = [
            ("SOLIDAIRE_JAMBONZ_API_KEY", "0c6a-key"),
            ("SOLIDAIRE_JAMBONZ_ACCOUNT_SID", "9351f46a-678c-43f5-b8a6-d4eb58d131af"),
            ("SOLIDAIRE_JAMBONZ_WEBHOOK_SECRET", "wh_secret"),
            public,
        ];
        let e = Settings::load(&Flags::default(), &env(&jambonz)).unwrap_err();
        assert_eq!(e.key, "jambonz_api_url", "self-hosted: no default: {e}");
        let mut with_url = jambonz.to_vec();
        with_url.push(("SOLIDAIRE_JAMBONZ_API_URL", "https://jambonz.example.org/v1/"));
        let s = Settings::load(&Flags::default(), &env(&with_url)).unwrap();
        let api = crate::telephony::rest::Api::from_settings(&s).unwrap().expect("calling out is on");
        assert_eq!(
            api.calls_url(),
            "https://jambonz.example.org/v1/Accounts/9351f46a-678c-43f5-b8a6-d4eb58d131af/Calls"
        );

        let mut both = with_url.clone();
        both.extend([
            ("SOLIDAIRE_TWILIO_ACCOUNT_SID", "AC0123456789abcdef0123456789abcdef"),
            ("SOLIDAIRE_TWILIO_AUTH_TOKEN", "abc"),
        ]);
        let e = Settings::load(&Flags::default(), &env(&both)).unwrap_err();
        assert_eq!(e.key, "jambonz_api_key", "{e}");
        assert!(e.message.contains("one provider") && e.message.contains("twilio_account_sid"), "{e}");
        let e = Settings::load(&Flags::default(), &env(&[("SOLIDAIRE_JAMBONZ_API_KEY", " ")])).unwrap_err();
        assert_eq!(e.key, "SOLIDAIRE_JAMBONZ_API_KEY", "{e}");
    }

    #[test]
    fn the_example_settings_file_is_valid() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/solidaire.toml");
        let flags = Flags { config: Some(path), ..Flags::default() };
        let s = Settings::load(&flags, &[]).unwrap();
        assert_eq!(s.public_url.as_deref(), Some("https://solidaire.example.org"));
        assert_eq!((s.retention_days, s.max_in_flight, s.lease_minutes), (90, 512, 15));
    }

    #[test]
    fn checkpoints_and_max_connections_are_checked_and_named() {
        let e = Settings::load(&Flags::default(), &env(&[("SOLIDAIRE_CHECKPOINTS", "cron")])).unwrap_err();
        assert_eq!(e.key, "SOLIDAIRE_CHECKPOINTS", "{e}");
        assert!(e.message.contains("neither `service` nor `litestream`"), "{e}");
        let e = Settings::load(&Flags::default(), &env(&[("SOLIDAIRE_MAX_CONNECTIONS", "3")])).unwrap_err();
        assert_eq!(e.key, "SOLIDAIRE_MAX_CONNECTIONS", "{e}");
        let e =
            Settings::load(&Flags::default(), &env(&[("SOLIDAIRE_MAX_CONNECTIONS", "many")])).unwrap_err();
        assert!(e.message.contains("not a whole number"), "{e}");
        let s = Settings::load(&Flags::default(), &env(&[("SOLIDAIRE_CHECKPOINTS", "litestream")])).unwrap();
        assert_eq!(s.checkpoints, crate::store::Checkpoints::Litestream);
    }

    #[test]
    fn unknown_keys_in_the_file_are_refused_with_their_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.toml");
        std::fs::write(&path, "listen = \"127.0.0.1:1\"\ntwilio_token = \"x\"\n").unwrap();
        let flags = Flags { config: Some(path), ..Flags::default() };
        let e = Settings::load(&flags, &[]).unwrap_err();
        assert_eq!(e.key, "twilio_token", "{e}");
        assert!(e.origin.ends_with("line 2"), "{e}");
    }
}
