//! The provider as a dialect: which routes its webhooks come to, how they are read, and
//! how the engine's actions are written back to it.

use super::jambonz;
use super::twiml::{self, Links, Voices};
use super::webhook::{Inbound, Params, Unreadable};
use crate::flow::engine::{Action, Speech};
use crate::phone::E164;

/// The provider's wire format, chosen by the webhook's route and remembered by the call:
/// how a webhook is read and checked, and how an answer is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// Twilio's TwiML, and SignalWire's cXML (the same verbs, parameters and signature):
    /// `/voice/…`.
    Twilio,
    /// Telnyx TeXML: TwiML verbs and form parameters, signed with Ed25519:
    /// `/voice/telnyx/…`.
    Telnyx,
    /// jambonz: JSON in and out, signed with HMAC-SHA256: `/voice/jambonz/…`.
    Jambonz,
}

impl Dialect {
    /// Every dialect.
    pub const ALL: [Self; 3] = [Self::Twilio, Self::Telnyx, Self::Jambonz];

    /// The name stored with a call and used in settings and on the command line.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Twilio => "twilio",
            Self::Telnyx => "telnyx",
            Self::Jambonz => "jambonz",
        }
    }

    /// The dialect of a stored name.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.name() == name)
    }

    /// Where its webhooks live (`/voice`, `/voice/telnyx`, `/voice/jambonz`).
    #[must_use]
    pub fn prefix(self) -> &'static str {
        match self {
            Self::Twilio => "/voice",
            Self::Telnyx => "/voice/telnyx",
            Self::Jambonz => "/voice/jambonz",
        }
    }

    /// The dialect of a webhook path.
    #[must_use]
    pub fn of_path(path: &str) -> Self {
        [Self::Telnyx, Self::Jambonz]
            .into_iter()
            .find(|d| path.strip_prefix(d.prefix()).is_some_and(|rest| rest.starts_with('/')))
            .unwrap_or(Self::Twilio)
    }

    /// The content type of its answers.
    #[must_use]
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Twilio | Self::Telnyx => "text/xml",
            Self::Jambonz => "application/json",
        }
    }

    /// The content type its webhooks come with.
    #[must_use]
    pub fn body_type(self) -> &'static str {
        match self {
            Self::Twilio | Self::Telnyx => "application/x-www-form-urlencoded",
            Self::Jambonz => "application/json",
        }
    }

    /// Reads a webhook body (whose signature is checked apart, see
    /// the web layer).
    ///
    /// # Errors
    /// A body that is not the dialect's format, or names no call.
    pub fn read(self, body: &[u8]) -> Result<Inbound, Unreadable> {
        match self {
            Self::Twilio | Self::Telnyx => {
                let params = Params::parse(body).map_err(|_| Unreadable::Body("the body is not UTF-8"))?;
                Inbound::from_form(&params)
            }
            Self::Jambonz => jambonz::read(body),
        }
    }

    /// Renders a turn's actions.
    #[must_use]
    pub fn render(self, actions: &[Action], voices: Voices<'_>, links: Links<'_>) -> String {
        match self {
            Self::Twilio => twiml::render(actions, voices, links),
            Self::Telnyx => with_telnyx_names(voices, |voices| twiml::render(actions, voices, links)),
            Self::Jambonz => jambonz::render(actions, voices, links),
        }
    }

    /// An announcement, then a transfer to `then` when there is one, then the end of the
    /// call (the apology, the message of a line whose service has ended).
    #[must_use]
    pub fn announce(self, speech: &[Speech], voices: Voices<'_>, then: Option<&E164>) -> String {
        match self {
            Self::Twilio => twiml::announce(speech, voices, then),
            Self::Telnyx => with_telnyx_names(voices, |voices| twiml::announce(speech, voices, then)),
            Self::Jambonz => jambonz::announce(speech, voices, then),
        }
    }

    /// The end of the call, at once.
    #[must_use]
    pub fn hang_up(self) -> String {
        match self {
            Self::Twilio | Self::Telnyx => twiml::hang_up(),
            Self::Jambonz => jambonz::hang_up(),
        }
    }
}

/// A line's voices with Telnyx's own voice names where the flow gives them.
fn with_telnyx_names(voices: Voices<'_>, render: impl FnOnce(Voices<'_>) -> String) -> String {
    let voice = |language: &str| {
        let mut voice = (voices.voice)(language);
        if let Some(name) = voice.telnyx.take() {
            voice.voice = Some(name);
        }
        voice
    };
    render(Voices { voice: &voice, recording: voices.recording })
}
