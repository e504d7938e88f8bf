//! The commands that place calls against the real HTTP handlers: `simulate` (a caller at
//! the keyboard) and `loadtest` (many callers at once), each against a server at a URL or
//! one started in this process.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::Arc;

use crate::app::Application;
use crate::clock::SystemClock;
use crate::settings::Settings;
use crate::simulate::{Caller, Pickup, Press, Signer, Softphone, Transfer};

/// A service started in this process for a tool.
struct InProcess {
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl InProcess {
    async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.server.await;
    }
}

/// Where a tool's calls go and which provider places them.
#[derive(Debug, Clone)]
pub(super) struct Target {
    /// A running service; `None` starts one here.
    pub url: Option<String>,
    /// `twilio`, `signalwire`, `telnyx` or `jambonz`.
    pub provider: String,
}

/// The account of a simulated Telnyx or jambonz API.
const SIMULATED_ACCOUNT: &str = "00000000-0000-4000-8000-000000000000";

/// A secret made up for a service started here (a simulated provider's key).
fn made_up_secret() -> [u8; 32] {
    use sha2::Digest as _;
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    sha2::Sha256::digest(format!("{nanos}-{}", std::process::id())).into()
}

/// The provider for a tool: pointed at `target.url`, or at a service started here on a
/// free port. It signs as the real provider would: with the configured secret, or (for a
/// service started here) with one made up and given to the service. A provider that
/// cannot sign (Telnyx signs with a private key the settings never hold) posts unsigned:
/// the service at `url` must then run in development mode.
async fn softphone_for(
    mut settings: Settings,
    target: Target,
) -> anyhow::Result<(Softphone, Option<InProcess>)> {
    let here = target.url.is_none();
    let made_up = made_up_secret();
    let made_up_text = crate::auth::hex(&made_up);
    let exposed = |secret: &Option<crate::settings::Secret>| secret.as_ref().map(|s| s.expose().to_owned());
    let signer = match target.provider.as_str() {
        "signalwire" => exposed(&settings.signalwire_signing_key).map(Signer::SignalWire),
        "telnyx" if here => {
            settings.telnyx_public_key = Some(crate::telephony::telnyx::verifying_key(&made_up));
            Some(Signer::Telnyx(made_up))
        }
        "telnyx" => None,
        "jambonz" => match exposed(&settings.jambonz_webhook_secret) {
            Some(secret) => Some(Signer::Jambonz(secret)),
            None if here => {
                settings.jambonz_webhook_secret = Some(crate::settings::Secret::new(made_up_text));
                exposed(&settings.jambonz_webhook_secret).map(Signer::Jambonz)
            }
            None => None,
        },
        _ => exposed(&settings.twilio_auth_token).map(Signer::Twilio),
    };
    // SignalWire speaks Twilio's dialect.
    let dialect =
        crate::telephony::Dialect::from_name(&target.provider).unwrap_or(crate::telephony::Dialect::Twilio);
    let signer = signer.unwrap_or(Signer::Unsigned(dialect));
    let public = settings.public_url.clone();
    if let Some(url) = target.url {
        return Ok((Softphone::speaking(&url, public.as_deref(), signer), None));
    }
    // TwiML's signature covers the public URL, which a service started here has none of:
    // unsigned, it runs in development mode.
    if matches!(signer, Signer::Unsigned(_))
        || public.is_none() && dialect == crate::telephony::Dialect::Twilio
    {
        settings.development = true;
    }
    settings.listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    let app = Application::build(settings, Arc::new(SystemClock)).await?;
    let local = format!("http://127.0.0.1:{}", app.port());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    Ok((Softphone::speaking(&local, public.as_deref(), signer), Some(InProcess { stop, server })))
}

pub(super) async fn simulate(
    settings: Settings,
    line: &str,
    from: &str,
    target: Target,
) -> anyhow::Result<()> {
    let database = settings.database.clone();
    let sounds = settings.sounds.clone();
    let provider = target.provider.clone();
    let (phone, server) = softphone_for(settings, target).await?;
    println!("Calling {line} from {from} through {provider}. At a question type keys (0-9, *, #) and Enter;");
    println!("  t = stay silent, h = hang up. Database: {}", database.display());
    let record = phone.call(from, line, &mut Terminal { sounds }).await;
    if let Some(server) = server {
        server.stop().await;
    }
    let record = record?;
    println!("-- call {} ended after {} webhooks", record.sid, record.exchanges.len());
    Ok(())
}

/// `simulate --as volunteer`: the simulated provider's REST API on `addr`, each call the
/// service places ringing this terminal, placed through `provider`'s API (Twilio's for
/// `twilio` and `signalwire`, Telnyx's TeXML, jambonz's) and answered in its dialect.
/// Without `url`, a service is started here, placing its calls through it; with one, that
/// service must be started with the settings the command prints.
pub(super) async fn be_rung(
    mut settings: Settings,
    url: Option<String>,
    addr: std::net::SocketAddr,
    provider: &str,
) -> anyhow::Result<()> {
    use crate::settings::Secret;
    use crate::telephony::Dialect;
    let dialect = Dialect::from_name(provider).unwrap_or(Dialect::Twilio);
    let account = match dialect {
        Dialect::Twilio => {
            settings.twilio_account_sid.clone().unwrap_or_else(|| format!("AC{}", "0".repeat(32)))
        }
        Dialect::Telnyx => {
            settings.telnyx_account_sid.clone().unwrap_or_else(|| SIMULATED_ACCOUNT.to_owned())
        }
        Dialect::Jambonz => {
            settings.jambonz_account_sid.clone().unwrap_or_else(|| SIMULATED_ACCOUNT.to_owned())
        }
    };
    let exposed = |secret: &Option<Secret>, or: &str| {
        secret.as_ref().map_or_else(|| or.to_owned(), |s| s.expose().to_owned())
    };
    // Twilio's auth token signs the calls to the line too; the others' API key is its own.
    let token = exposed(&settings.twilio_auth_token, "simulated-token");
    let key = match dialect {
        Dialect::Twilio => token.clone(),
        Dialect::Telnyx => exposed(&settings.telnyx_api_key, "simulated-api-key"),
        Dialect::Jambonz => exposed(&settings.jambonz_api_key, "simulated-api-key"),
    };
    let api = crate::simulate::Provider::start_on(addr, &account, &key).await?;
    let sounds = settings.sounds.clone();
    let (phone, server) = if let Some(url) = url {
        println!("Simulated provider at {}. Start the service with:", api.url);
        let needs = match dialect {
            Dialect::Twilio => format!(
                "SOLIDAIRE_TWILIO_API_URL={} SOLIDAIRE_TWILIO_ACCOUNT_SID={account} SOLIDAIRE_TWILIO_AUTH_TOKEN=<its token>",
                api.url
            ),
            Dialect::Telnyx => format!(
                "SOLIDAIRE_TELNYX_API_URL={} SOLIDAIRE_TELNYX_ACCOUNT_SID={account} SOLIDAIRE_TELNYX_API_KEY={key} SOLIDAIRE_TELNYX_APPLICATION_SID=simulated SOLIDAIRE_DEVELOPMENT=true",
                api.url
            ),
            Dialect::Jambonz => format!(
                "SOLIDAIRE_JAMBONZ_API_URL={}/v1 SOLIDAIRE_JAMBONZ_ACCOUNT_SID={account} SOLIDAIRE_JAMBONZ_API_KEY={key} SOLIDAIRE_JAMBONZ_WEBHOOK_SECRET=<its secret>",
                api.url
            ),
        };
        println!("  {needs} SOLIDAIRE_PUBLIC_URL=<its URL>");
        // Telnyx signs with a private key no setting holds: its webhooks go unsigned.
        let signer = match dialect {
            Dialect::Twilio => Signer::Twilio(token),
            Dialect::Telnyx => Signer::Unsigned(Dialect::Telnyx),
            Dialect::Jambonz => settings
                .jambonz_webhook_secret
                .as_ref()
                .map_or(Signer::Unsigned(Dialect::Jambonz), |s| Signer::Jambonz(s.expose().to_owned())),
        };
        (Softphone::speaking(&url, settings.public_url.as_deref(), signer), None)
    } else {
        // The service's links must reach it: its public URL is the local address.
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        settings.listen = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let local = format!("http://127.0.0.1:{port}");
        settings.public_url = Some(local.clone());
        settings.twilio_auth_token = Some(Secret::new(token.clone()));
        let made_up = made_up_secret();
        let signer = match dialect {
            Dialect::Twilio => {
                settings.twilio_account_sid = Some(account.clone());
                settings.twilio_api_url.clone_from(&api.url);
                Signer::Twilio(token)
            }
            Dialect::Telnyx => {
                settings.telnyx_api_key = Some(Secret::new(key));
                settings.telnyx_account_sid = Some(account.clone());
                settings.telnyx_application_sid = Some("simulated".to_owned());
                settings.telnyx_api_url.clone_from(&api.url);
                settings.telnyx_public_key = Some(crate::telephony::telnyx::verifying_key(&made_up));
                Signer::Telnyx(made_up)
            }
            Dialect::Jambonz => {
                let secret = crate::auth::hex(&made_up);
                settings.jambonz_api_key = Some(Secret::new(key));
                settings.jambonz_account_sid = Some(account.clone());
                settings.jambonz_api_url = Some(format!("{}/v1", api.url));
                settings.jambonz_webhook_secret = Some(Secret::new(secret.clone()));
                Signer::Jambonz(secret)
            }
        };
        let app = Application::build(settings, Arc::new(SystemClock)).await?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until(async {
            let _ = stopped.await;
        }));
        println!(
            "Service at {local} (console at {local}/console), placing its calls through {provider}'s API at {}.",
            api.url
        );
        (Softphone::speaking(&local, Some(&local), signer), Some(InProcess { stop, server }))
    };
    println!("Waiting for the line to ring you; Ctrl-C to stop.");
    api.attach(
        phone,
        Arc::new(move |to: &str| {
            println!("\n☎ The line is ringing you ({}).", crate::phone::mask(to));
            loop {
                match ask("  [a]nswer, [n]o answer, [b]usy, answering [m]achine> ").as_str() {
                    "a" | "" => return Pickup::Person(Box::new(Terminal { sounds: sounds.clone() })),
                    "n" => return Pickup::NoAnswer,
                    "b" => return Pickup::Busy,
                    "m" => return Pickup::Machine,
                    _ => {}
                }
            }
        }),
    );
    tokio::signal::ctrl_c().await?;
    if let Some(server) = server {
        server.stop().await;
    }
    Ok(())
}

/// A caller at the keyboard. Recorded prompts are shown with the text they say (read from
/// the local sounds folder) and how their URL answered.
struct Terminal {
    sounds: PathBuf,
}

impl Terminal {
    /// The text beside a played recording (`…/sounds/liege/fr/greeting.wav?v=…`), when
    /// known.
    fn text_of(&self, url: &str) -> Option<String> {
        let path = url.split("/sounds/").nth(1)?.split('?').next()?.strip_suffix(".wav")?;
        let mut parts = path.split('/');
        let (line, lang, prompt) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || ![line, lang, prompt].into_iter().all(crate::sounds::is_plain) {
            return None;
        }
        std::fs::read_to_string(self.sounds.join(line).join(lang).join(format!("{prompt}.txt")))
            .ok()
            .map(|t| t.trim().to_owned())
    }
}

fn ask(question: &str) -> String {
    print!("{question}");
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    match std::io::stdin().lock().read_line(&mut line) {
        Ok(0) | Err(_) => "h".to_owned(),
        Ok(_) => line.trim().to_owned(),
    }
}

impl Caller for Terminal {
    fn hear(&mut self, language: &str, text: &str) {
        println!("  [{language}] {text}");
    }

    fn play(&mut self, played: &crate::simulate::Played) {
        let length = played.seconds.map_or_else(|| "not a WAV file".to_owned(), |s| format!("{s:.1} s"));
        let status =
            if played.status == 200 { "200 OK".to_owned() } else { format!("{} FAILED", played.status) };
        let lang = played.url.split("/sounds/").nth(1).and_then(|p| p.split('/').nth(1)).unwrap_or("?");
        let text = self.text_of(&played.url).unwrap_or_else(|| "(recording)".to_owned());
        println!("  [{lang} ♪] {text}\n        {} ({status}, {}, {length})", played.url, played.content_type);
    }

    fn press(&mut self) -> Press {
        loop {
            let answer = ask("keys> ");
            match answer.as_str() {
                "t" | "" => return Press::Silence,
                "h" => return Press::HangUp,
                keys if keys.chars().all(|c| c.is_ascii_digit() || c == '*' || c == '#') => {
                    return Press::Keys(keys.to_owned());
                }
                _ => println!("  (type digits, * or #; t for silence, h to hang up)"),
            }
        }
    }

    fn transfer(&mut self, number: &str) -> Transfer {
        loop {
            match ask(&format!("  ... ringing {number}: [a]nswered, [n]o answer, [b]usy, [h]ang up> "))
                .as_str()
            {
                "a" => return Transfer::Answered,
                "n" => return Transfer::NoAnswer,
                "b" => return Transfer::Busy,
                "h" => return Transfer::HangUp,
                _ => {}
            }
        }
    }

    fn record(&mut self) -> Option<u32> {
        let words = ask("  ... recording: say something (type words; empty = silence)> ");
        (!words.is_empty()).then(|| u32::try_from(words.split_whitespace().count()).unwrap_or(1).max(1) * 2)
    }
}

pub(super) async fn load_test(
    settings: Settings,
    target: Target,
    calls: usize,
    concurrency: usize,
    line: &str,
    pid: Option<u32>,
    pause: std::time::Duration,
) -> anyhow::Result<()> {
    let (phone, server) = softphone_for(settings, target).await?;
    let phone = phone.with_pause(pause);
    let pid = if server.is_some() { Some(std::process::id()) } else { pid };
    if pause.is_zero() {
        println!("placing {calls} calls, {concurrency} at a time…");
    } else {
        println!(
            "placing {calls} calls, {concurrency} at a time, each caller pausing {pause:?} on average before each answer…"
        );
    }
    let cpu_before = pid.and_then(crate::loadtest::cpu_time);
    let report = crate::loadtest::run(&phone, line, calls, concurrency, false, 0).await;
    println!("{}", report.summary());
    if let (Some(before), Some(after)) = (cpu_before, pid.and_then(crate::loadtest::cpu_time)) {
        let used = after.saturating_sub(before);
        println!(
            "server CPU: {:.0} µs per webhook ({:.2} s in all){}",
            report.per_webhook(used).as_secs_f64() * 1e6,
            used.as_secs_f64(),
            if server.is_some() { " (in-process: includes the load generator)" } else { "" }
        );
    }
    if let Some((hwm, rss)) = pid.and_then(crate::loadtest::memory_kib) {
        println!(
            "server memory: peak {} MiB, now {} MiB{}",
            hwm / 1024,
            rss / 1024,
            if server.is_some() { " (in-process: includes the load generator)" } else { "" }
        );
    }
    if let Some(server) = server {
        server.stop().await;
    }
    anyhow::ensure!(report.errors == 0, "{} calls failed", report.errors);
    Ok(())
}
