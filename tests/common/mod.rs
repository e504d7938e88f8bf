//! Test helpers: a real server on a free port with its own database and an injected
//! clock, and a scripted caller for the simulated provider.
#![allow(dead_code)]

pub mod console;

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use rusqlite::Connection;
use solidaire::app::Application;
use solidaire::clock::ManualClock;
use solidaire::settings::{Secret, Settings};
use solidaire::simulate::{CallRecord, Caller, Exchange, Press, Provider, Softphone, Transfer};

/// The public URL the test server believes it is behind (a proxy in production).
pub const PUBLIC_URL: &str = "https://line.example.org";
/// The bundled line's number.
pub const LINE: &str = "+3280043436";
/// A Belgian mobile caller.
pub const CALLER: &str = "+32470123456";

/// A Brussels wall-clock time as UTC.
pub fn brussels(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    chrono_tz::Europe::Brussels.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap().with_timezone(&Utc)
}

/// Monday 23 November 2026, 10:00 in Brussels: the line is open.
pub fn open_hours() -> DateTime<Utc> {
    brussels(2026, 11, 23, 10, 0)
}

/// Sunday 22 November 2026, 10:00 in Brussels: the line is closed.
pub fn closed_hours() -> DateTime<Utc> {
    brussels(2026, 11, 22, 10, 0)
}

/// The value of a Prometheus series (name and labels as written) in a `/metrics` page.
pub fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .unwrap_or_else(|| panic!("no {series} in:\n{text}"))
        .parse()
        .unwrap()
}

pub fn repo_flows() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("ivr-flows")
}

pub struct TestApp {
    pub server: String,
    pub clock: ManualClock,
    pub db: PathBuf,
    pub token: Option<String>,
    pub public: Option<String>,
    pub dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

pub struct Options {
    pub at: DateTime<Utc>,
    pub token: Option<String>,
    pub flows: Option<PathBuf>,
    /// `None`: no public URL, links are built from the Host header (development mode).
    pub public_url: Option<String>,
    /// Requests in flight at once.
    pub max_in_flight: u32,
    /// Connections open at once.
    pub max_connections: u32,
    /// Who checkpoints the database.
    pub checkpoints: solidaire::store::Checkpoints,
    /// The sounds folder (default: an empty one in the test's folder).
    pub sounds: Option<PathBuf>,
    /// The database file (default: a new one in the test's folder).
    pub database: Option<PathBuf>,
    /// Calling out: the provider's account and REST API address (with `token`).
    pub calling: Option<(String, String)>,
    /// A SignalWire project's signing key.
    pub signalwire_key: Option<String>,
    /// Telnyx's public key (base64).
    pub telnyx_key: Option<String>,
    /// The jambonz application's webhook secret.
    pub jambonz_secret: Option<String>,
    /// Calling out through Telnyx's TeXML API or jambonz's instead of Twilio's: the
    /// simulated provider's address (the keys are [`API_KEY`], [`PROVIDER_ACCOUNT`] and
    /// [`TEXML_APPLICATION`]).
    pub calling_through: Option<(solidaire::simulate::Through, String)>,
    /// Declared development mode: a provider without its secret has its webhooks
    /// accepted unsigned (true by default in tests, most of which post unsigned).
    pub development: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            at: open_hours(),
            token: None,
            flows: None,
            public_url: Some(PUBLIC_URL.to_owned()),
            max_in_flight: 512,
            max_connections: 4096,
            checkpoints: solidaire::store::Checkpoints::Service,
            sounds: None,
            database: None,
            calling: None,
            signalwire_key: None,
            telnyx_key: None,
            jambonz_secret: None,
            calling_through: None,
            development: true,
        }
    }
}

pub async fn spawn_app(options: Options) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let db = options.database.clone().unwrap_or_else(|| dir.path().join("solidaire.db"));
    let settings = Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        database: db.clone(),
        flows: options.flows.unwrap_or_else(repo_flows),
        flows_named: true,
        sounds: options.sounds.unwrap_or_else(|| dir.path().join("sounds")),
        public_url: options.public_url.clone(),
        twilio_auth_token: options.token.clone().map(Secret::new),
        signalwire_signing_key: options.signalwire_key.clone().map(Secret::new),
        telnyx_public_key: options.telnyx_key.as_deref().map(|key| {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.decode(key).unwrap().try_into().unwrap()
        }),
        jambonz_webhook_secret: options.jambonz_secret.clone().map(Secret::new),
        development: options.development,
        log: "warn".to_owned(),
        max_in_flight: options.max_in_flight,
        max_connections: options.max_connections,
        checkpoints: options.checkpoints,
        twilio_account_sid: options.calling.as_ref().map(|(account, _)| account.clone()),
        twilio_api_url: options
            .calling
            .as_ref()
            .map_or_else(|| Settings::default().twilio_api_url, |(_, url)| url.clone()),
        ..Settings::default()
    };
    let mut settings = settings;
    match &options.calling_through {
        Some((solidaire::simulate::Through::Telnyx, url)) => {
            settings.telnyx_api_key = Some(Secret::new(API_KEY));
            settings.telnyx_account_sid = Some(PROVIDER_ACCOUNT.to_owned());
            settings.telnyx_application_sid = Some(TEXML_APPLICATION.to_owned());
            settings.telnyx_api_url.clone_from(url);
        }
        Some((solidaire::simulate::Through::Jambonz, url)) => {
            settings.jambonz_api_key = Some(Secret::new(API_KEY));
            settings.jambonz_account_sid = Some(PROVIDER_ACCOUNT.to_owned());
            settings.jambonz_api_url = Some(format!("{url}/v1"));
        }
        Some((solidaire::simulate::Through::Twilio, _)) | None => {}
    }
    let clock = ManualClock::new(options.at);
    let app = Application::build(settings, Arc::new(clock.clone())).await.expect("the app builds");
    let server = format!("http://127.0.0.1:{}", app.port());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    TestApp { server, clock, db, token: options.token, public: options.public_url, dir, stop: Some(stop) }
}

impl TestApp {
    pub async fn open() -> Self {
        spawn_app(Options::default()).await
    }

    pub async fn closed() -> Self {
        spawn_app(Options { at: closed_hours(), ..Options::default() }).await
    }

    /// The provider, signing with the app's token.
    pub fn phone(&self) -> Softphone {
        Softphone::new(&self.server, self.public.as_deref(), self.token.as_deref())
    }

    /// Places a call from `from` that follows `script`; panics with the transcript when
    /// the script does not fit what the line asked.
    pub async fn call_from(&self, from: &str, script: &[Step]) -> CallRecord {
        self.place(from, Script::new(script)).await
    }

    /// Like `call_from`, each step taking the caller ten seconds on the app's clock.
    pub async fn call_paced(&self, from: &str, script: &[Step]) -> CallRecord {
        let mut caller = Script::new(script);
        caller.pace = Some((self.clock.clone(), chrono::Duration::seconds(10)));
        self.place(from, caller).await
    }

    /// Like `call_from`, to the line answering `to`.
    pub async fn call_line(&self, to: &str, from: &str, script: &[Step]) -> CallRecord {
        self.place_to(to, from, Script::new(script)).await
    }

    async fn place(&self, from: &str, caller: Script) -> CallRecord {
        self.place_to(LINE, from, caller).await
    }

    async fn place_to(&self, to: &str, from: &str, caller: Script) -> CallRecord {
        self.place_through(self.phone(), to, from, caller).await
    }

    /// Like `call_line`, through the provider `signer` plays (its dialect, its signature).
    pub async fn call_through(
        &self,
        signer: solidaire::simulate::Signer,
        to: &str,
        from: &str,
        script: &[Step],
    ) -> CallRecord {
        let phone = Softphone::speaking(&self.server, self.public.as_deref(), signer);
        self.place_through(phone, to, from, Script::new(script)).await
    }

    async fn place_through(&self, phone: Softphone, to: &str, from: &str, mut caller: Script) -> CallRecord {
        let record = phone.call(from, to, &mut caller).await.expect("the call goes through");
        assert!(
            caller.steps.is_empty(),
            "script not used up: {:?}\n--- heard:\n{}",
            caller.steps,
            record.transcript()
        );
        record
    }

    pub async fn call(&self, script: &[Step]) -> CallRecord {
        self.call_from(CALLER, script).await
    }

    pub fn db(&self) -> Connection {
        Connection::open(&self.db).unwrap()
    }

    pub fn count(&self, sql: &str) -> i64 {
        self.db().query_row(sql, [], |r| r.get(0)).unwrap()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The provider account of the tests that place calls.
pub const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
/// Its auth token (webhooks are signed with it).
pub const AUTH_TOKEN: &str = "test-auth-token";

/// A server that places calls through a simulated provider, whose phones answer as
/// `phones` says.
pub async fn calling_app(options: Options, phones: solidaire::simulate::Phones) -> (TestApp, Provider) {
    let provider = Provider::start(ACCOUNT, AUTH_TOKEN).await.unwrap();
    let app = spawn_app(Options {
        token: Some(AUTH_TOKEN.to_owned()),
        calling: Some((ACCOUNT.to_owned(), provider.url.clone())),
        ..options
    })
    .await;
    provider.attach(app.phone(), phones);
    (app, provider)
}

/// The API key of the tests placing calls through Telnyx or jambonz.
pub const API_KEY: &str = "KEY0197-test-api-key";
/// Their account at that provider.
pub const PROVIDER_ACCOUNT: &str = "4e3b0c5a-9f3e-4d61-8c84-3f2b7d1a6e90";
/// The TeXML application the calls placed through Telnyx belong to.
pub const TEXML_APPLICATION: &str = "1494404757140276705";
/// The Telnyx private key (seed) signing the webhooks of the calls placed through it.
pub const TELNYX_SEED: [u8; 32] = [7; 32];
/// The jambonz application's webhook secret, for the calls placed through it.
pub const JAMBONZ_WEBHOOK_SECRET: &str = "wh_secret_of_the_placed_calls";

/// Like [`calling_app`], the calls placed through `through`'s API, and their webhooks
/// signed and worded as that provider does.
pub async fn calling_app_through(
    through: solidaire::simulate::Through,
    options: Options,
    phones: solidaire::simulate::Phones,
) -> (TestApp, Provider) {
    use solidaire::simulate::{Signer, Through};
    if through == Through::Twilio {
        return calling_app(options, phones).await;
    }
    let provider = Provider::start(PROVIDER_ACCOUNT, API_KEY).await.unwrap();
    let (signer, options) = match through {
        Through::Telnyx => (
            Signer::Telnyx(TELNYX_SEED),
            Options { telnyx_key: Some(solidaire::telephony::telnyx::public_key(&TELNYX_SEED)), ..options },
        ),
        _ => (
            Signer::Jambonz(JAMBONZ_WEBHOOK_SECRET.to_owned()),
            Options { jambonz_secret: Some(JAMBONZ_WEBHOOK_SECRET.to_owned()), ..options },
        ),
    };
    let app = spawn_app(Options {
        token: Some(AUTH_TOKEN.to_owned()),
        calling_through: Some((through, provider.url.clone())),
        development: false,
        ..options
    })
    .await;
    provider.attach(Softphone::speaking(&app.server, app.public.as_deref(), signer), phones);
    (app, provider)
}

/// Waits (up to ten seconds) until `check` holds.
pub async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..200 {
        if check() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("still not the case after 10 s: {what}");
}

/// One thing the scripted caller does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Keys(&'static str),
    Silence,
    HangUp,
    Transfer(Transfer),
    Record(Option<u32>),
    /// Listens this many milliseconds before pressing anything.
    Wait(u64),
}

#[allow(unused_imports)]
pub use Step::{HangUp, Keys, Silence};

/// The keys of an errands request with caller ID: `language` (1 fr, 2 nl, 3 de), errands,
/// 65 or over, postcode 4020, `errand` (1 groceries, 2 pharmacy), the number confirmed,
/// then a voice message of `message` seconds, or none.
pub fn errands(language: &'static str, errand: &'static str, message: Option<u32>) -> Vec<Step> {
    let mut steps = vec![Keys(language), Keys("3"), Keys("1"), Keys("4020"), Keys(errand), Keys("1")];
    match message {
        Some(seconds) => steps.extend([Keys("1"), Step::Record(Some(seconds))]),
        None => steps.push(Keys("2")),
    }
    steps
}

pub struct Script {
    pub steps: VecDeque<Step>,
    pub dialled: Vec<String>,
    /// Moves this clock forward before each step: the caller takes time to answer.
    pub pace: Option<(ManualClock, chrono::Duration)>,
}

impl Script {
    pub fn new(steps: &[Step]) -> Self {
        Self { steps: steps.iter().copied().collect(), dialled: Vec::new(), pace: None }
    }

    fn next_step(&mut self) -> Option<Step> {
        if let Some((clock, by)) = &self.pace {
            clock.advance(*by);
        }
        self.steps.pop_front()
    }
}

impl Caller for Script {
    fn hear(&mut self, _language: &str, _text: &str) {}

    fn press(&mut self) -> Press {
        match self.next_step() {
            Some(Step::Keys(k)) => Press::Keys(k.to_owned()),
            Some(Step::Silence) => Press::Silence,
            Some(Step::Wait(ms)) => Press::Wait(std::time::Duration::from_millis(ms)),
            Some(Step::HangUp) | None => Press::HangUp,
            Some(other) => panic!("the line asked for keys, the script had {other:?}"),
        }
    }

    fn transfer(&mut self, number: &str) -> Transfer {
        self.dialled.push(number.to_owned());
        match self.next_step() {
            Some(Step::Transfer(t)) => t,
            Some(Step::HangUp) | None => Transfer::HangUp,
            Some(other) => panic!("the line transferred to {number}, the script had {other:?}"),
        }
    }

    fn record(&mut self) -> Option<u32> {
        match self.next_step() {
            Some(Step::Record(r)) => r,
            other => panic!("the line started a recording, the script had {other:?}"),
        }
    }
}

/// A JSON client for `/api`.
pub struct Api {
    client: hyper_util::client::legacy::Client<
        hyper_util::client::legacy::connect::HttpConnector,
        http_body_util::Full<hyper::body::Bytes>,
    >,
    server: String,
}

impl Api {
    pub fn new(app: &TestApp) -> Self {
        Self::at(&app.server)
    }

    /// A client of the server at `server` (one started by another process).
    pub fn at(server: &str) -> Self {
        Self {
            client: hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http(),
            server: server.to_owned(),
        }
    }

    /// Sends a request; `auth` is a bearer token. Returns the status and the JSON body
    /// (`Null` when empty).
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        auth: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        use http_body_util::BodyExt;
        let mut request = hyper::Request::builder().method(method).uri(format!("{}{path}", self.server));
        if let Some(token) = auth {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let bytes = body.map(|b| b.to_string()).unwrap_or_default();
        let request = request
            .header("content-type", "application/json")
            .body(http_body_util::Full::new(hyper::body::Bytes::from(bytes)))
            .unwrap();
        let response = self.client.request(request).await.unwrap();
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let json =
            if bytes.is_empty() { serde_json::Value::Null } else { serde_json::from_slice(&bytes).unwrap() };
        (status, json)
    }

    /// Points the client at another server.
    pub fn set_server(&mut self, server: &str) {
        server.clone_into(&mut self.server);
    }

    pub async fn get(&self, path: &str, token: &str) -> (u16, serde_json::Value) {
        self.send("GET", path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        self.send("POST", path, Some(token), Some(body)).await
    }
}

impl TestApp {
    /// Runs the command line on the app's database and the repository's flows, with
    /// `input` on standard input (the command line runs on the real clock).
    pub fn cli(&self, args: &[&str], input: &str) -> std::process::Output {
        use std::io::Write as _;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_solidaire"))
            .env_clear()
            .arg("--database")
            .arg(&self.db)
            .arg("--flows")
            .arg(repo_flows())
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    }

    /// Adds an account from the command line (`agents add LOGIN --role ROLE` and
    /// `more`, password `correct horse battery`); returns an API token for it.
    pub fn account(&self, login: &str, role: &str, more: &[&str]) -> String {
        let mut args = vec!["agents", "add", login, "--role", role];
        args.extend_from_slice(more);
        let out = self.cli(&args, "correct horse battery\n");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let out = self.cli(&["agents", "token", login], "");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().lines().last().unwrap().trim().to_owned()
    }

    /// Adds an account directly in the database; returns an API token for it.
    pub fn add_agent(&self, login: &str, role: &str, password: &str) -> String {
        let hash = solidaire::auth::hash_password(password).unwrap();
        let db = self.db();
        db.execute(
            "INSERT INTO agents (login, role, password_hash, created_at) VALUES (?1, ?2, ?3, '2026-01-01T00:00:00.000Z')",
            rusqlite::params![login, role, hash],
        )
        .unwrap();
        let token = solidaire::auth::new_token();
        db.execute(
            "INSERT INTO api_tokens (agent_id, token_hash, created_at) VALUES (?1, ?2, '2026-01-01T00:00:00.000Z')",
            rusqlite::params![db.last_insert_rowid(), solidaire::auth::digest(&token)],
        )
        .unwrap();
        token
    }

    /// The provider announces a call from `CALLER` (only the first webhook; the call stays
    /// in the menu).
    pub async fn incoming(&self) -> Exchange {
        self.phone()
            .post(
                "/voice/incoming",
                &[("CallSid", "CA0123456789abcdef0123456789abcdef"), ("From", CALLER), ("To", LINE)]
                    .map(|(k, v)| (k.to_owned(), v.to_owned())),
            )
            .await
            .unwrap()
    }

    /// A caller asks for errands (groceries) and is registered; returns the call.
    pub async fn errands_request(&self, from: &str) -> CallRecord {
        let call = self.call_from(from, &errands("1", "1", None)).await;
        assert!(call.heard("Votre demande est enregistrée"), "{}", call.transcript());
        call
    }
}

/// Runs `script` in Node with the test tools installed by `scripts/test` (the providers'
/// SDKs, jambonz's schemas) on `NODE_PATH`, `input` as JSON on its standard input; returns
/// what it prints, as JSON.
pub fn node(script: &str, input: &serde_json::Value) -> serde_json::Value {
    use std::io::Write as _;
    let tools = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/tools/npm/node_modules");
    assert!(tools.exists(), "the test tools are missing: run scripts/test, which installs them from npm");
    let mut child = std::process::Command::new("node")
        .arg("-e")
        .arg(script)
        .env("NODE_PATH", &tools)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("node runs (scripts/test installs it)");
    child.stdin.take().unwrap().write_all(input.to_string().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}
