//! The engine's [`Action`]s as TwiML, written straight into a string; every text and
//! attribute value goes through quick-xml's escaper. Every `<Gather>` and `<Record>` is
//! followed by a `<Redirect>` to the silence hook: when the caller presses nothing the
//! provider falls through to the next verb, and the call must never simply end.

use quick_xml::escape::escape;

use crate::flow::Voice;
use crate::flow::engine::{Action, DialStatus, Speech};
use crate::phone::E164;

/// Where the provider should post the next webhook of this call.
#[derive(Debug, Clone, Copy)]
pub struct Links<'a> {
    /// The public base URL (`https://line.example.org`), no trailing slash.
    pub base: &'a str,
    /// The step the next webhook will carry.
    pub step: u32,
    /// The call the service placed itself, whose webhooks live under `/voice/out/{id}/`;
    /// `None` for a call to the line.
    pub placed: Option<i64>,
    /// Where the call's dialect has its webhooks (`/voice`, `/voice/jambonz`…).
    pub prefix: &'a str,
}

impl Links<'_> {
    /// The absolute URL of hook `name` (`gather`, `silence`, `dial`, `record`).
    #[must_use]
    pub fn url(&self, name: &str) -> String {
        let prefix = self.prefix;
        match self.placed {
            None => format!("{}{prefix}/{name}?s={}", self.base, self.step),
            Some(id) => format!("{}{prefix}/out/{id}/{name}?s={}", self.base, self.step),
        }
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

/// A TwiML document being written: elements straight into one string, every text and
/// attribute value through quick-xml's escaper.
struct Xml(String);

impl Xml {
    fn open(&mut self, name: &str, attributes: &[(&str, &str)]) {
        self.0.push('<');
        self.0.push_str(name);
        for (key, value) in attributes {
            self.0.push(' ');
            self.0.push_str(key);
            self.0.push_str("=\"");
            self.0.push_str(&escape(*value));
            self.0.push('"');
        }
    }

    /// `<name …>inner</name>`.
    fn element(&mut self, name: &str, attributes: &[(&str, &str)], inner: impl FnOnce(&mut Self)) {
        self.open(name, attributes);
        self.0.push('>');
        inner(self);
        self.0.push_str("</");
        self.0.push_str(name);
        self.0.push('>');
    }

    /// `<name …>text</name>`.
    fn text(&mut self, name: &str, attributes: &[(&str, &str)], text: &str) {
        self.element(name, attributes, |w| w.0.push_str(&escape(text)));
    }

    /// `<name …/>`.
    fn empty(&mut self, name: &str, attributes: &[(&str, &str)]) {
        self.open(name, attributes);
        self.0.push_str("/>");
    }
}

fn document(body: impl FnOnce(&mut Xml)) -> String {
    let mut w = Xml(String::with_capacity(1024));
    w.0.push_str(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    w.element("Response", &[], body);
    w.0
}

fn say(w: &mut Xml, speech: &Speech, voices: Voices<'_>) {
    if let Some(url) = speech.prompt.as_deref().and_then(|p| (voices.recording)(&speech.language, p)) {
        w.text("Play", &[], &url);
        return;
    }
    let v = (voices.voice)(&speech.language);
    match &v.voice {
        Some(name) => w.text("Say", &[("language", &v.language), ("voice", name)], &speech.text),
        None => w.text("Say", &[("language", &v.language)], &speech.text),
    }
}

fn redirect(w: &mut Xml, url: &str) {
    w.text("Redirect", &[("method", "POST")], url);
}

/// Renders a turn's actions: prompts with a recording are played, the others spoken.
#[must_use]
pub fn render(actions: &[Action], voice: Voices<'_>, links: Links<'_>) -> String {
    document(|w| {
        for action in actions {
            match action {
                Action::Say(speech) => say(w, speech, voice),
                Action::Gather { speech, num_digits, finish_on_key, timeout } => {
                    let action_url = links.url("gather");
                    let timeout = timeout.to_string();
                    let mut finish = [0; 4];
                    let finish = finish_on_key.map_or("", |key| key.encode_utf8(&mut finish));
                    let digits = num_digits.map(|n| n.to_string());
                    let mut attributes = vec![
                        ("action", action_url.as_str()),
                        ("method", "POST"),
                        ("input", "dtmf"),
                        ("timeout", timeout.as_str()),
                        ("finishOnKey", finish),
                    ];
                    if let Some(d) = &digits {
                        attributes.push(("numDigits", d.as_str()));
                    }
                    w.element("Gather", &attributes, |w| speech.iter().for_each(|s| say(w, s, voice)));
                    redirect(w, &links.url("silence"));
                }
                Action::Dial { number, timeout, caller_id } => {
                    let action_url = links.url("dial");
                    let timeout = timeout.to_string();
                    let mut attributes = vec![
                        ("action", action_url.as_str()),
                        ("method", "POST"),
                        ("timeout", timeout.as_str()),
                    ];
                    if let Some(shown) = caller_id {
                        attributes.push(("callerId", shown.as_str()));
                    }
                    w.element("Dial", &attributes, |w| w.text("Number", &[], number.as_str()));
                }
                Action::Record { max_seconds } => {
                    let action_url = links.url("record");
                    let max = max_seconds.to_string();
                    w.empty(
                        "Record",
                        &[
                            ("action", &action_url),
                            ("method", "POST"),
                            ("maxLength", &max),
                            ("playBeep", "true"),
                            ("finishOnKey", "#"),
                            ("timeout", "5"),
                        ],
                    );
                    redirect(w, &links.url("silence"));
                }
                Action::Hangup => w.empty("Hangup", &[]),
                Action::Redirect(url) => redirect(w, url),
            }
        }
    })
}

/// An announcement, then a transfer to `then` when there is one, then the end of the
/// call: the apology when the service itself fails (then the fallback number), the
/// message of a line whose service has ended (then where it sends its callers).
#[must_use]
pub fn announce(speech: &[Speech], voice: Voices<'_>, then: Option<&E164>) -> String {
    let fallback = then;
    document(|w| {
        for s in speech {
            say(w, s, voice);
        }
        if let Some(number) = fallback {
            w.element("Dial", &[("timeout", "30")], |w| w.text("Number", &[], number.as_str()));
        }
        w.empty("Hangup", &[]);
    })
}

/// An empty document: the answer to a status callback that wants a body, and to a
/// webhook for a call that is over.
#[must_use]
pub fn hang_up() -> String {
    document(|w| w.empty("Hangup", &[]))
}

/// How a transfer ended, from TwiML's `DialCallStatus`.
#[must_use]
pub fn dial_status(word: &str) -> DialStatus {
    match word {
        "completed" | "answered" => DialStatus::Completed,
        "busy" => DialStatus::Busy,
        "no-answer" => DialStatus::NoAnswer,
        "canceled" => DialStatus::Canceled,
        _ => DialStatus::Failed,
    }
}

/// Whether a TwiML `CallStatus` says the call is over.
#[must_use]
pub fn is_final_status(word: &str) -> bool {
    matches!(word, "completed" | "busy" | "failed" | "no-answer" | "canceled")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::engine::Speech;

    #[test]
    fn texts_and_attributes_are_escaped_and_the_document_reads_back() {
        let speech = Speech {
            text: "Tom & Jerry <say> \"hi\" l'été".to_owned(),
            language: "fr".to_owned(),
            prompt: None,
        };
        let voice = |_: &str| Voice {
            language: "fr\"BE".to_owned(),
            voice: Some("A&B".to_owned()),
            telnyx: None,
            jambonz: None,
        };
        let none = |_: &str, _: &str| None;
        let actions = [
            Action::Gather {
                speech: vec![speech.clone()],
                num_digits: Some(1),
                finish_on_key: None,
                timeout: 5,
            },
            Action::Say(speech),
            Action::Hangup,
        ];
        let xml = render(
            &actions,
            Voices { voice: &voice, recording: &none },
            Links { base: "https://x.example/a?b=1&c=<2>", step: 3, placed: None, prefix: "/voice" },
        );
        assert_eq!(
            xml,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>\
             <Gather action=\"https://x.example/a?b=1&amp;c=&lt;2&gt;/voice/gather?s=3\" method=\"POST\" \
             input=\"dtmf\" timeout=\"5\" finishOnKey=\"\" numDigits=\"1\">\
             <Say language=\"fr&quot;BE\" voice=\"A&amp;B\">Tom &amp; Jerry &lt;say&gt; &quot;hi&quot; l&apos;été</Say>\
             </Gather><Redirect method=\"POST\">https://x.example/a?b=1&amp;c=&lt;2&gt;/voice/silence?s=3</Redirect>\
             <Say language=\"fr&quot;BE\" voice=\"A&amp;B\">Tom &amp; Jerry &lt;say&gt; &quot;hi&quot; l&apos;été</Say>\
             <Hangup/></Response>"
        );
        let mut reader = quick_xml::Reader::from_str(&xml);
        let mut elements = Vec::new();
        loop {
            match reader.read_event().expect("well-formed") {
                quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e) => {
                    elements.push(e.name().as_ref().to_owned());
                }
                quick_xml::events::Event::Eof => break,
                _ => {}
            }
        }
        assert_eq!(elements, ["Response", "Gather", "Say", "Redirect", "Say", "Hangup"]);
    }
}
