//! A small W3C WebDriver client for the browser tests: starts Debian's `chromedriver`,
//! opens headless Chromium sessions, and speaks plain JSON over HTTP.
#![allow(dead_code)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// The chromedriver process.
pub struct Driver {
    child: Child,
    url: String,
    http: Client<HttpConnector, Full<Bytes>>,
    profiles: tempfile::TempDir,
}

async fn try_call(
    http: &Client<HttpConnector, Full<Bytes>>,
    method: &str,
    url: &str,
    body: Option<Value>,
) -> Result<Value, String> {
    let request = hyper::Request::builder()
        .method(method)
        .uri(url)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.map(|b| b.to_string()).unwrap_or_default())))
        .unwrap();
    let response = http.request(request).await.map_err(|e| format!("WebDriver {method} {url}: {e}"))?;
    let bytes = response.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
    let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Ok(value.get("value").cloned().unwrap_or(Value::Null))
}

async fn call(
    http: &Client<HttpConnector, Full<Bytes>>,
    method: &str,
    url: &str,
    body: Option<Value>,
) -> Value {
    try_call(http, method, url, body).await.unwrap_or_else(|e| panic!("{e}"))
}

fn find_program(names: &[&str]) -> Option<String> {
    names.iter().find_map(|name| {
        std::env::var_os("PATH")?
            .to_str()?
            .split(':')
            .map(|dir| format!("{dir}/{name}"))
            .find(|p| std::path::Path::new(p).exists())
    })
}

impl Driver {
    /// Starts chromedriver. Panics with the way to install it when it is missing: the
    /// README's test command installs it.
    pub async fn start() -> Self {
        let driver = find_program(&["chromedriver"]).unwrap_or_else(|| {
            panic!("chromedriver is missing: run the README's test command (scripts/test), which installs Debian's chromium and chromium-driver")
        });
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        // Its own process group, so the browsers it starts end with it even when a test fails.
        let child = std::os::unix::process::CommandExt::process_group(&mut Command::new(driver), 0)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let url = format!("http://127.0.0.1:{port}");
        let http = Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
        let started = Instant::now();
        loop {
            let ready = tokio::time::timeout(
                Duration::from_secs(2),
                try_call(&http, "GET", &format!("{url}/status"), None),
            )
            .await;
            if ready.ok().and_then(Result::ok).is_some_and(|v| v["ready"] == true) {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(30), "chromedriver did not become ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Self { child, url, http, profiles: tempfile::tempdir().unwrap() }
    }

    /// A new headless browser with its own profile (its own cookies).
    pub async fn browser(&self, name: &str) -> Browser {
        self.browser_speaking(name, "en-US,en").await
    }

    /// A new headless browser asking for pages in `languages` (`Accept-Language`).
    pub async fn browser_speaking(&self, name: &str, languages: &str) -> Browser {
        let profile = self.profiles.path().join(name);
        let binary =
            find_program(&["chromium", "chromium-browser", "google-chrome"]).expect("chromium is installed");
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": binary,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--window-size=1100,900",
                    format!("--user-data-dir={}", profile.display()),
                    format!("--accept-lang={languages}"), format!("--lang={languages}"),
                ]
            }
        } } });
        let session = call(&self.http, "POST", &format!("{}/session", self.url), Some(capabilities)).await;
        let id = session["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no browser session: {session}"))
            .to_owned();
        Browser { base: format!("{}/session/{id}", self.url), http: self.http.clone() }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One browser window.
pub struct Browser {
    base: String,
    http: Client<HttpConnector, Full<Bytes>>,
}

impl Browser {
    async fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        call(&self.http, method, &format!("{}{path}", self.base), body).await
    }

    pub async fn goto(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({ "url": url }))).await;
    }

    pub async fn url(&self) -> String {
        self.cmd("GET", "/url", None).await.as_str().unwrap_or_default().to_owned()
    }

    async fn element(&self, css: &str) -> Option<String> {
        let found =
            self.cmd("POST", "/element", Some(json!({ "using": "css selector", "value": css }))).await;
        found.get(ELEMENT).and_then(Value::as_str).map(str::to_owned)
    }

    /// The element, waiting up to 10 s for it to appear.
    pub async fn wait_element(&self, css: &str) -> String {
        let started = Instant::now();
        loop {
            if let Some(id) = self.element(css).await {
                return id;
            }
            if started.elapsed() > Duration::from_secs(10) {
                let found = self
                    .cmd("POST", "/element", Some(json!({ "using": "css selector", "value": css })))
                    .await;
                let source = self.cmd("GET", "/source", None).await;
                panic!("no element {css} on {}: {found}\n{source}", self.url().await);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn exists(&self, css: &str) -> bool {
        self.element(css).await.is_some()
    }

    pub async fn click(&self, css: &str) {
        let id = self.wait_element(css).await;
        self.cmd("POST", &format!("/element/{id}/click"), Some(json!({}))).await;
    }

    pub async fn fill(&self, css: &str, text: &str) {
        let id = self.wait_element(css).await;
        self.cmd("POST", &format!("/element/{id}/clear"), Some(json!({}))).await;
        self.cmd("POST", &format!("/element/{id}/value"), Some(json!({ "text": text }))).await;
    }

    pub async fn text(&self, css: &str) -> String {
        let id = self.wait_element(css).await;
        self.cmd("GET", &format!("/element/{id}/text"), None).await.as_str().unwrap_or_default().to_owned()
    }

    /// Waits up to `seconds` until `check` holds for the text of `css`.
    pub async fn wait_text(&self, css: &str, seconds: u64, check: impl Fn(&str) -> bool) -> String {
        let started = Instant::now();
        loop {
            let text = match self.element(css).await {
                Some(id) => self
                    .cmd("GET", &format!("/element/{id}/text"), None)
                    .await
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                None => String::new(),
            };
            if check(&text) {
                return text;
            }
            if started.elapsed() > Duration::from_secs(seconds) {
                let source = self.cmd("GET", "/source", None).await;
                panic!("{css} never matched on {}; last text:\n{text}\n{source}", self.url().await);
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    /// Sends keys to whatever has the focus (keyboard-only use).
    pub async fn keys(&self, keys: &str) {
        let actions: Vec<Value> = keys
            .chars()
            .flat_map(|c| {
                [
                    json!({ "type": "keyDown", "value": c.to_string() }),
                    json!({ "type": "keyUp", "value": c.to_string() }),
                ]
            })
            .collect();
        self.cmd(
            "POST",
            "/actions",
            Some(json!({ "actions": [{ "type": "key", "id": "keyboard", "actions": actions }] })),
        )
        .await;
    }

    /// Runs a script in the page and returns its value.
    pub async fn script(&self, js: &str) -> Value {
        self.cmd("POST", "/execute/sync", Some(json!({ "script": js, "args": [] }))).await
    }

    pub async fn resize(&self, width: u32, height: u32) {
        self.cmd("POST", "/window/rect", Some(json!({ "width": width, "height": height }))).await;
    }

    pub async fn screenshot(&self, path: &std::path::Path) {
        use base64::Engine as _;
        let data = self.cmd("GET", "/screenshot", None).await;
        let png =
            base64::engine::general_purpose::STANDARD.decode(data.as_str().unwrap_or_default()).unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
    }

    pub async fn close(self) {
        self.cmd("DELETE", "", None).await;
    }
}
