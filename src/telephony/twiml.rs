//! The engine's [`Action`]s as TwiML, written with quick-xml (so every text and attribute
//! is escaped). Every `<Gather>` and `<Record>` is followed by a `<Redirect>` to the
//! silence hook: when the caller presses nothing the provider falls through to the next
//! verb, and the call must never simply end.

use std::io::Cursor;

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};

use crate::flow::Voice;
use crate::flow::engine::{Action, Speech};
use crate::phone::E164;

/// Where the provider should post the next webhook of this call.
#[derive(Debug, Clone, Copy)]
pub struct Links<'a> {
    /// The public base URL (`https://line.example.org`), no trailing slash.
    pub base: &'a str,
    /// The step the next webhook will carry.
    pub step: u32,
}

impl Links<'_> {
    /// The absolute URL of hook `name` (`gather`, `silence`, `dial`, `record`).
    #[must_use]
    pub fn url(&self, name: &str) -> String {
        format!("{}/voice/{name}?s={}", self.base, self.step)
    }
}

/// How prompts sound on a line: the `<Say>` voice of each language, and the absolute URL
/// of a prompt's recording in a language, when there is one (then it is `<Play>`ed).
#[derive(Clone, Copy)]
pub struct Voices<'a> {
    /// `<Say>` settings of a flow language.
    pub voice: &'a dyn Fn(&str) -> Voice,
    /// The recording of (language, prompt id).
    pub recording: &'a dyn Fn(&str, &str) -> Option<String>,
}

impl std::fmt::Debug for Voices<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Voices").finish_non_exhaustive()
    }
}

type Xml = Writer<Cursor<Vec<u8>>>;
type XmlResult = std::io::Result<()>;

fn document(body: impl FnOnce(&mut Xml) -> XmlResult) -> String {
    let mut w = Writer::new(Cursor::new(Vec::with_capacity(1024)));
    let written = w
        .write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))
        .and_then(|()| w.create_element("Response").write_inner_content(body).map(|_| ()));
    // Writing to memory cannot fail.
    debug_assert!(written.is_ok());
    String::from_utf8(w.into_inner().into_inner()).unwrap_or_default()
}

fn say(w: &mut Xml, speech: &Speech, voices: Voices<'_>) -> XmlResult {
    if let Some(url) = speech.prompt.as_deref().and_then(|p| (voices.recording)(&speech.language, p)) {
        w.create_element("Play").write_text_content(BytesText::new(&url))?;
        return Ok(());
    }
    let v = (voices.voice)(&speech.language);
    let mut el = w.create_element("Say").with_attribute(("language", v.language.as_str()));
    if let Some(name) = &v.voice {
        el = el.with_attribute(("voice", name.as_str()));
    }
    el.write_text_content(BytesText::new(&speech.text))?;
    Ok(())
}

fn redirect(w: &mut Xml, url: &str) -> XmlResult {
    w.create_element("Redirect")
        .with_attribute(("method", "POST"))
        .write_text_content(BytesText::new(url))?;
    Ok(())
}

/// Renders a turn's actions: prompts with a recording are played, the others spoken.
#[must_use]
pub fn render(actions: &[Action], voice: Voices<'_>, links: Links<'_>) -> String {
    document(|w| {
        for action in actions {
            match action {
                Action::Say(speech) => say(w, speech, voice)?,
                Action::Gather { speech, num_digits, finish_on_key, timeout } => {
                    let action_url = links.url("gather");
                    let digits = num_digits.map(|n| n.to_string());
                    let finish = finish_on_key.map(String::from).unwrap_or_default();
                    let timeout = timeout.to_string();
                    let mut el = w
                        .create_element("Gather")
                        .with_attribute(("action", action_url.as_str()))
                        .with_attribute(("method", "POST"))
                        .with_attribute(("input", "dtmf"))
                        .with_attribute(("timeout", timeout.as_str()))
                        .with_attribute(("finishOnKey", finish.as_str()));
                    if let Some(d) = &digits {
                        el = el.with_attribute(("numDigits", d.as_str()));
                    }
                    el.write_inner_content(|w| speech.iter().try_for_each(|s| say(w, s, voice)))?;
                    redirect(w, &links.url("silence"))?;
                }
                Action::Dial { number, timeout } => {
                    let action_url = links.url("dial");
                    let timeout = timeout.to_string();
                    w.create_element("Dial")
                        .with_attribute(("action", action_url.as_str()))
                        .with_attribute(("method", "POST"))
                        .with_attribute(("timeout", timeout.as_str()))
                        .write_inner_content(|w| number_element(w, number))?;
                }
                Action::Record { max_seconds } => {
                    let action_url = links.url("record");
                    let max = max_seconds.to_string();
                    w.create_element("Record")
                        .with_attribute(("action", action_url.as_str()))
                        .with_attribute(("method", "POST"))
                        .with_attribute(("maxLength", max.as_str()))
                        .with_attribute(("playBeep", "true"))
                        .with_attribute(("finishOnKey", "#"))
                        .with_attribute(("timeout", "5"))
                        .write_empty()?;
                    redirect(w, &links.url("silence"))?;
                }
                Action::Hangup => {
                    w.create_element("Hangup").write_empty()?;
                }
            }
        }
        Ok(())
    })
}

fn number_element(w: &mut Xml, number: &E164) -> XmlResult {
    w.create_element("Number").write_text_content(BytesText::new(number.as_str()))?;
    Ok(())
}

/// What a caller hears when the service itself fails: an apology, then the fallback
/// number when there is one (a person), else a request to call back later.
#[must_use]
pub fn apology(speech: &[Speech], voice: Voices<'_>, fallback: Option<&E164>) -> String {
    document(|w| {
        for s in speech {
            say(w, s, voice)?;
        }
        if let Some(number) = fallback {
            w.create_element("Dial")
                .with_attribute(("timeout", "30"))
                .write_inner_content(|w| number_element(w, number))?;
        }
        w.create_element("Hangup").write_empty()?;
        Ok(())
    })
}

/// An empty document: the answer to a status callback that wants a body, and to a
/// webhook for a call that is over.
#[must_use]
pub fn hang_up() -> String {
    document(|w| {
        w.create_element("Hangup").write_empty()?;
        Ok(())
    })
}
