//! The flow as data: the serde structs of the file format itself (documented in
//! `ivr-flows/README.md`) and the validated [`Flow`] that a call runs on. Names that point
//! at other nodes keep their place in the file ([`Spanned`]) so every validation error
//! can say where it is.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde::Deserialize;
use toml::Spanned;

pub use crate::domain::Priority;

use super::error::FlowError;
use super::hours::{Hours, Schedule};
use crate::phone::{E164, Region};

/// A name in the file that refers to a node or a prompt, with its place in the file.
pub type Ref = Spanned<String>;

/// One phone line, validated and ready to run.
#[derive(Debug)]
pub struct Flow {
    /// The file's stem (`liege` for `liege.toml`): the line's id in the database.
    pub id: String,
    /// Where it was read from, for messages.
    pub path: PathBuf,
    /// The file's content.
    pub file: FlowFile,
    /// The called numbers this flow answers, in E.164.
    pub numbers: Vec<E164>,
    /// Opening hours in the line's time zone.
    pub schedule: Schedule,
    /// The region national numbers are read in.
    pub region: Region,
    /// The number the caller is sent to when the service itself fails.
    pub fallback: Option<E164>,
    /// Transfer targets by name, parsed.
    pub transfers: BTreeMap<String, E164>,
    /// Postcodes the city serves.
    pub postcodes: BTreeSet<String>,
    /// Ids of the kinds of help volunteers may offer (`[line.helps]`), in file order.
    pub helps: Vec<String>,
    /// The line's languages, in file order.
    pub languages: Vec<String>,
    /// The file's numbers with what to report when one is not in the numbering plan.
    pub plan_checks: Vec<(E164, FlowError)>,
}

impl Flow {
    /// The node called `id`. Validation guarantees every reference resolves.
    #[must_use]
    pub fn node(&self, id: &str) -> Option<&Node> {
        self.file.nodes.get(id)
    }

    /// The kind of help `id`, from `[line.helps]`.
    #[must_use]
    pub fn help(&self, id: &str) -> Option<&Help> {
        self.file.line.helps.get(id)
    }

    /// The label of kind of help `id` in `language` (or the default language, or the id).
    #[must_use]
    pub fn help_label<'a>(&'a self, id: &'a str, language: &str) -> &'a str {
        self.help(id)
            .and_then(|h| h.label.get(language).or_else(|| h.label.get(self.default_language())))
            .map_or(id, String::as_str)
    }

    /// The language used until the caller chooses one.
    #[must_use]
    pub fn default_language(&self) -> &str {
        self.file.line.languages.first().map_or("fr", |l| l.get_ref().as_str())
    }

    /// The text of prompt `id` in `language`, falling back to the default language.
    #[must_use]
    pub fn text(&self, id: &str, language: &str) -> Option<&str> {
        let texts = self.file.prompts.get(id)?;
        texts.get(language).or_else(|| texts.get(self.default_language())).map(String::as_str)
    }

    /// What an ended line says (its prompt id) and where it then transfers, if declared.
    #[must_use]
    pub fn end_of_service(&self) -> Option<(&str, Option<&E164>)> {
        self.file.line.end_of_service.as_ref().map(|e| {
            let to = e.transfer.as_ref().and_then(|t| self.transfers.get(t.get_ref()));
            (e.prompt.get_ref().as_str(), to)
        })
    }

    /// How `<Say>` speaks `language` on this line.
    #[must_use]
    pub fn voice(&self, language: &str) -> Voice {
        self.file.line.voices.get(language).cloned().or_else(|| Voice::builtin(language)).unwrap_or_else(
            || Voice { language: language.to_owned(), voice: None, telnyx: None, jambonz: None },
        )
    }
}

/// The whole file, as validated: nodes are typed.
#[derive(Debug)]
pub struct FlowFile {
    /// The phone line itself.
    pub line: Line,
    /// Routes and limits shared by every menu that does not set its own.
    pub defaults: Defaults,
    /// The nodes, by id.
    pub nodes: BTreeMap<Spanned<String>, Node>,
    /// Prompt texts: id → language → text.
    pub prompts: BTreeMap<Spanned<String>, BTreeMap<Spanned<String>, String>>,
}

/// The whole file as written; nodes are checked into [`Node`]s by [`load`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFlowFile {
    /// `[line]`.
    pub line: Line,
    /// `[defaults]`.
    #[serde(default)]
    pub defaults: Defaults,
    /// `[nodes.<id>]`.
    pub nodes: BTreeMap<Spanned<String>, RawNode>,
    /// `[prompts.<id>]`.
    #[serde(default)]
    pub prompts: BTreeMap<Spanned<String>, BTreeMap<Spanned<String>, String>>,
}

/// A node as written: every field any node type may have. (A flat struct rather than a
/// tagged enum, so every value keeps its place in the file for error messages.)
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct RawNode {
    #[serde(rename = "type")]
    pub kind: Spanned<String>,
    pub prompt: Option<Ref>,
    pub short: Option<Ref>,
    pub next: Option<Ref>,
    pub open: Option<Ref>,
    pub closed: Option<Ref>,
    pub options: Option<Vec<MenuOption>>,
    pub all_languages: Option<bool>,
    pub no_input: Option<Ref>,
    pub invalid: Option<Ref>,
    pub fail: Option<Ref>,
    pub inside: Option<Ref>,
    pub outside: Option<Ref>,
    pub digits: Option<u8>,
    pub to: Option<Spanned<String>>,
    pub timeout: Option<u16>,
    pub any_hour: Option<bool>,
    pub service: Option<String>,
    pub priority: Option<Priority>,
    pub message: Option<bool>,
    pub message_max_seconds: Option<u16>,
    pub outcome: Option<String>,
    pub help: Option<Spanned<String>>,
    pub registers: Option<Spanned<String>>,
}

/// `[line]`: what the line is and when it is open.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Line {
    /// A human name, for logs and the console.
    pub name: String,
    /// Called numbers (`To`) this flow answers, E.164.
    #[serde(default)]
    pub numbers: Vec<Spanned<String>>,
    /// The flow for numbers no other flow claims.
    #[serde(default)]
    pub default: bool,
    /// Languages offered, the first being the default.
    pub languages: Vec<Spanned<String>>,
    /// IANA time zone of the opening hours and statistics.
    #[serde(default = "default_timezone")]
    pub timezone: Spanned<String>,
    /// Region for national numbers (ISO 3166 code).
    #[serde(default = "default_region")]
    pub region: Spanned<String>,
    /// The first node of every call.
    pub start: Ref,
    /// Where `0` leads from every menu: a person, or a callback offer when nobody is.
    pub human: Ref,
    /// The number callers are transferred to when the service itself fails.
    #[serde(default)]
    pub fallback: Option<Spanned<String>>,
    /// Postcodes served, for `postcode` nodes.
    #[serde(default)]
    pub postcodes: Vec<Spanned<String>>,
    /// Every postcode of a country in the table of places is served too (`"BE"`): a
    /// national line.
    #[serde(default)]
    pub postcodes_of: Option<Spanned<String>>,
    /// `<Say>` settings per language.
    #[serde(default)]
    pub voices: BTreeMap<String, Voice>,
    /// Opening hours.
    #[serde(default)]
    pub hours: Hours,
    /// Named transfer numbers.
    #[serde(default)]
    pub transfers: BTreeMap<String, Spanned<String>>,
    /// Kinds of help volunteers offer, by id (`groceries`, `listening`).
    #[serde(default)]
    pub helps: BTreeMap<Spanned<String>, Help>,
    /// How volunteers are matched on this line.
    #[serde(default)]
    pub volunteering: Volunteering,
    /// What callers hear once the line's service has ended (`solidaire lines end`).
    #[serde(default)]
    pub end_of_service: Option<EndOfService>,
    /// The town's neighbourhoods, by id, each with its referents: a request naming one
    /// (`set = { neighbourhood = "centre" }`) is theirs first.
    #[serde(default)]
    pub neighbourhoods: BTreeMap<Spanned<String>, Neighbourhood>,
    /// How long a request is kept for its neighbourhood's referents, in minutes of opening
    /// time (120), before everyone working the line sees it.
    #[serde(default = "two_hours")]
    pub referents_first_minutes: Spanned<u32>,
}

fn two_hours() -> Spanned<u32> {
    Spanned::new(0..0, 120)
}

/// `[line.neighbourhoods.<id>]`: a neighbourhood of the town, with referents of its own.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Neighbourhood {
    /// The name per language (`label = { fr = "La Maille" }`).
    pub label: BTreeMap<String, String>,
}

/// `[line.end_of_service]`: the message of a line whose service has ended (what ended,
/// where to turn now), said in every language of the line, then a transfer if the city
/// wants one.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndOfService {
    /// The message.
    pub prompt: Ref,
    /// A name in `[line.transfers]` callers are then put through to; none: the call ends.
    #[serde(default)]
    pub transfer: Option<Ref>,
}

/// `[line.helps.<id>]`: a kind of help volunteers may offer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Help {
    /// The name per language (`label = { fr = "Courses", nl = "Boodschappen" }`).
    pub label: BTreeMap<String, String>,
    /// A request for it becomes a mission for volunteers at once (otherwise only when a
    /// coordinator asks to find a volunteer).
    #[serde(default)]
    pub missions: bool,
}

/// `[line.volunteering]`: the line's matching rules.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Volunteering {
    /// How far a volunteer who says nothing goes, in km (10).
    #[serde(default = "ten")]
    pub radius_km: f64,
    /// Offers one volunteer may get in thirty days (2, like the French national
    /// volunteering platform).
    #[serde(default = "two")]
    pub offers_per_month: u32,
    /// When the line phones volunteers who gave no availability (`"08:00-20:00"`, the
    /// default): nobody is rung at night because they said "any hour".
    #[serde(default)]
    pub calling_hours: Option<Spanned<String>>,
}

impl Default for Volunteering {
    fn default() -> Self {
        Self { radius_km: ten(), offers_per_month: two(), calling_hours: None }
    }
}

/// The default of `[line.volunteering] calling_hours`.
pub const CALLING_HOURS: crate::domain::week::Range = (8 * 60, 20 * 60);

impl Volunteering {
    /// When volunteers without availability may be phoned (checked at load).
    #[must_use]
    pub fn calling_hours(&self) -> crate::domain::week::Range {
        self.calling_hours
            .as_ref()
            .and_then(|h| crate::domain::week::parse_range(h.get_ref()).ok())
            .unwrap_or(CALLING_HOURS)
    }
}

fn ten() -> f64 {
    10.0
}
fn two() -> u32 {
    2
}

fn default_timezone() -> Spanned<String> {
    Spanned::new(0..0, "Europe/Brussels".to_owned())
}

fn default_region() -> Spanned<String> {
    Spanned::new(0..0, "BE".to_owned())
}

/// How the provider's voice speaks one language: for Twilio and SignalWire (`voice`),
/// Telnyx (`telnyx`, else `voice`) and jambonz (`jambonz`, else the jambonz
/// application's own speech vendor and voice, in this language).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Voice {
    /// The language tag (`fr-BE`).
    pub language: String,
    /// The `<Say>` voice name (`Polly.Isabelle-Neural`), or the provider's default voice.
    #[serde(default)]
    pub voice: Option<String>,
    /// Telnyx's `<Say>` voice name when it differs (`Telnyx.KokoroTTS.ff_siwis`).
    #[serde(default)]
    pub telnyx: Option<String>,
    /// jambonz's speech synthesis for this language.
    #[serde(default)]
    pub jambonz: Option<Synthesizer>,
}

/// A jambonz speech synthesizer (its `say` verb's `synthesizer`).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Synthesizer {
    /// The speech vendor as configured in jambonz (`google`, `aws`, `microsoft`…);
    /// `default` is the application's.
    #[serde(default = "default_vendor")]
    pub vendor: String,
    /// The vendor's voice name (`fr-FR-Wavenet-C`); the application's when absent.
    #[serde(default)]
    pub voice: Option<String>,
    /// The vendor's language tag, when it differs from the line's (`fr-FR`).
    #[serde(default)]
    pub language: Option<String>,
}

fn default_vendor() -> String {
    "default".to_owned()
}

impl Voice {
    /// The voices used when a flow names none, from the provider's voice list.
    #[must_use]
    pub fn builtin(language: &str) -> Option<Self> {
        let (tag, voice) = match language {
            "fr" => ("fr-BE", "Polly.Isabelle-Neural"),
            "nl" => ("nl-BE", "Polly.Lisa-Neural"),
            "de" => ("de-DE", "Polly.Vicki-Neural"),
            "en" => ("en-GB", "Polly.Amy-Neural"),
            _ => return None,
        };
        Some(Self { language: tag.to_owned(), voice: Some(voice.to_owned()), telnyx: None, jambonz: None })
    }
}

/// `[defaults]`: what a menu uses when it does not say.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    /// Prompt said when the caller pressed nothing.
    pub no_input: Option<Ref>,
    /// Prompt said when the key means nothing here.
    pub invalid: Option<Ref>,
    /// Node reached after `max_attempts` failures.
    pub fail: Option<Ref>,
    /// Failures (silence or wrong key) before `fail` (3).
    #[serde(default = "three")]
    pub max_attempts: u8,
    /// Seconds to wait for a key after a prompt (6: callers are often old).
    #[serde(default = "six")]
    pub timeout: u8,
    /// Silences in a row, across menus, after which the line says goodbye: a phone left
    /// off the hook must not hold the line for ever.
    #[serde(default = "nine")]
    pub give_up_after_silences: u8,
}

fn three() -> u8 {
    3
}
fn six() -> u8 {
    6
}
fn nine() -> u8 {
    9
}

impl Default for Defaults {
    fn default() -> Self {
        Self {
            no_input: None,
            invalid: None,
            fail: None,
            max_attempts: three(),
            timeout: six(),
            give_up_after_silences: nine(),
        }
    }
}

/// One node of the menu tree.
#[derive(Debug)]
pub enum Node {
    /// Says a prompt, then goes on.
    Say {
        /// The prompt.
        prompt: Ref,
        /// The next node.
        next: Ref,
    },
    /// Branches on the opening hours.
    Hours {
        /// Next node while open.
        open: Ref,
        /// Next node while closed.
        closed: Ref,
    },
    /// Asks for one key.
    Menu(Menu),
    /// Asks for a postcode and checks it against `[line] postcodes`.
    Postcode(Postcode),
    /// Transfers the call to a person (`<Dial>`), during opening hours.
    Transfer(Transfer),
    /// Takes a callback request: number, optional voice message, registration.
    Callback(Callback),
    /// Says a prompt and ends the call: a deliberate ending.
    End {
        /// The last words.
        prompt: Ref,
        /// What the call achieved, for statistics (`informed` by default).
        outcome: Option<String>,
    },
}

/// A menu: options by key; `0` (a person) and `*` (repeat) are always there.
#[derive(Debug)]
pub struct Menu {
    /// Said the first time.
    pub prompt: Ref,
    /// Said on repeats (falls back to `prompt`).
    pub short: Option<Ref>,
    /// Say the prompt in every language of the line, each in its own voice (for the
    /// language choice itself).
    pub all_languages: bool,
    /// The options.
    pub options: Vec<MenuOption>,
    /// Overrides of `[defaults]`.
    pub no_input: Option<Ref>,
    /// Overrides of `[defaults]`.
    pub invalid: Option<Ref>,
    /// Overrides of `[defaults]`.
    pub fail: Option<Ref>,
}

/// One key of a menu.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MenuOption {
    /// `1`–`9`.
    pub key: Spanned<String>,
    /// The node it leads to.
    pub goto: Ref,
    /// Switches the call to this language.
    pub language: Option<Spanned<String>>,
    /// Answers recorded for the callback request (`eligibility = "65+"`).
    #[serde(default)]
    pub set: BTreeMap<String, String>,
}

/// A postcode question.
#[derive(Debug)]
pub struct Postcode {
    /// The question.
    pub prompt: Ref,
    /// Next node when the postcode is served.
    pub inside: Ref,
    /// Next node when it is not.
    pub outside: Ref,
    /// Digits in a postcode (4 in Belgium): no `#` needed.
    pub digits: u8,
    /// Overrides of `[defaults]`.
    pub no_input: Option<Ref>,
    /// Overrides of `[defaults]`.
    pub invalid: Option<Ref>,
    /// Overrides of `[defaults]`.
    pub fail: Option<Ref>,
}

/// A transfer to a person or partner service.
#[derive(Debug)]
pub struct Transfer {
    /// A name from `[line.transfers]`, or an E.164 number.
    pub to: Spanned<String>,
    /// Said before dialling ("please hold, we are connecting you").
    pub prompt: Option<Ref>,
    /// Seconds to let it ring (25).
    pub timeout: u16,
    /// Next node on no answer, busy or failure.
    pub fail: Ref,
    /// Next node outside opening hours (defaults to `fail`).
    pub closed: Option<Ref>,
    /// Transfer at any hour (a service with its own opening hours).
    pub any_hour: bool,
}

/// Takes a callback request for a service.
#[derive(Debug)]
pub struct Callback {
    /// The service the request is for (`errands`, `seniors`, …).
    pub service: String,
    /// `normal`, `high` or `urgent`.
    pub priority: Priority,
    /// Offer to leave a short voice message.
    pub message: bool,
    /// Longest voice message, seconds (60).
    pub message_max_seconds: u16,
    /// Node reached when no usable number could be had after the attempts.
    pub fail: Option<Ref>,
    /// The kind of help its requests ask for (a menu's `set = { help = … }` overrides).
    pub help: Option<String>,
    /// What the node registers: a callback request, or the caller as a volunteer.
    pub registers: Registers,
}

/// What a callback node registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Registers {
    /// A callback request (`registers = "request"`, the default).
    #[default]
    Request,
    /// The caller as a volunteer waiting for a coordinator's confirmation
    /// (`registers = "volunteer"`): the voice message is their name; the kinds of help
    /// and languages come from menu answers `help.<id> = "yes"` and `language.<code> =
    /// "yes"`, the postcode from a postcode node.
    Volunteer,
}

/// Prompt ids the engine itself uses; a flow that has menus or callbacks must define them.
pub mod prompts {
    /// Whether a prompt text has a placeholder filled during the call (`{phone}`,
    /// `{postcode}`, `{request}`): always spoken, never recorded.
    #[must_use]
    pub fn is_dynamic(text: &str) -> bool {
        text.contains('{')
    }

    /// The placeholders the service fills in during a call.
    pub const PLACEHOLDERS: &[&str] = &["help", "line", "mission", "phone", "place", "postcode", "request"];

    /// The first `{…}` of `text` that nothing fills in (or a `{` left open), if any.
    #[must_use]
    pub fn unknown_placeholder(text: &str) -> Option<String> {
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            let after = &rest[open + 1..];
            let Some(close) = after.find('}') else { return Some(rest[open..].to_owned()) };
            let name = &after[..close];
            if !PLACEHOLDERS.contains(&name) {
                return Some(format!("{{{name}}}"));
            }
            rest = &after[close + 1..];
        }
        None
    }

    /// Said with the apology when the service fails.
    pub const APOLOGY: &str = "apology";
    /// Said before hanging up on a line left silent.
    pub const SILENCE_GOODBYE: &str = "silence_goodbye";
    /// "We will call you back at {phone}. 1 to confirm, 2 for another number."
    pub const CONFIRM_CALLER: &str = "callback_confirm_caller";
    /// "Type your phone number, then the hash key."
    pub const ASK_NUMBER: &str = "callback_ask_number";
    /// "You typed {phone}. 1 to confirm, 2 to type it again."
    pub const CONFIRM_NUMBER: &str = "callback_confirm_number";
    /// "This number cannot be called back."
    pub const INVALID_NUMBER: &str = "callback_invalid_number";
    /// "To leave a short message, press 1; otherwise press 2."
    pub const OFFER_MESSAGE: &str = "callback_offer_message";
    /// "Your message will be recorded after the tone..."
    pub const RECORD_INTRO: &str = "callback_record_intro";
    /// "Your request is registered under number {request}."
    pub const REGISTERED: &str = "callback_registered";
    /// "An agent will call you back today."
    pub const WHEN_OPEN: &str = "callback_when_open";
    /// "An agent will call you back as soon as the line opens again."
    pub const WHEN_CLOSED: &str = "callback_when_closed";

    /// "Please say your first name and surname after the tone."
    pub const SIGNUP_RECORD_NAME: &str = "volunteer_record_name";
    /// "Thank you: a coordinator will call you to confirm, under number {request}."
    pub const SIGNUP_REGISTERED: &str = "volunteer_registered";

    /// Needed by a flow with a volunteer sign-up.
    pub const SIGNUP: &[&str] = &[SIGNUP_RECORD_NAME, SIGNUP_REGISTERED];

    /// Heard by an agent rung by click-to-call: "Request {request}: press 1 to call the
    /// person now."
    pub const AGENT_CALL: &str = "agent_call";
    /// Heard by that agent when the resident did not answer.
    pub const AGENT_UNANSWERED: &str = "agent_resident_unanswered";
    /// Heard just before someone is put through to a resident.
    pub const PUTTING_THROUGH: &str = "putting_through";
    /// Ends a call the line placed.
    pub const CALL_GOODBYE: &str = "call_goodbye";
    /// "Hello, this is {line}. Someone in {place} needs help: {help}."
    pub const OFFER_INTRO: &str = "offer_intro";
    /// "To accept, press 1; to decline, 2; to pause your calls for a week, 3."
    pub const OFFER_KEYS: &str = "offer_keys";
    /// Someone else accepted first.
    pub const OFFER_TAKEN: &str = "offer_taken";
    /// "The mission is yours: press 1 to be put through now."
    pub const OFFER_ACCEPTED: &str = "offer_accepted";
    /// The volunteer declined.
    pub const OFFER_DECLINED: &str = "offer_declined";
    /// The volunteer paused their calls for a week.
    pub const OFFER_PAUSED: &str = "offer_paused";
    /// After a volunteer was put through.
    pub const PUT_THROUGH_DONE: &str = "put_through_done";
    /// The resident did not answer the volunteer's call.
    pub const PUT_THROUGH_FAILED: &str = "put_through_failed";

    /// "Hello, you are calling {line} as a volunteer."
    pub const VOLUNTEER_WELCOME: &str = "volunteer_welcome";
    /// "Mission {mission}: {help}, in {place}."
    pub const VOLUNTEER_MISSION: &str = "volunteer_mission";
    /// "1 to be put through, 2 done, 3 could not do it, 4 next mission, 0 usual menu."
    pub const VOLUNTEER_KEYS: &str = "volunteer_keys";
    /// "Thank you, it is noted."
    pub const VOLUNTEER_REPORTED: &str = "volunteer_reported";

    /// Needed by a flow with a callback node: its agents call residents through the line.
    pub const CALLING: &[&str] = &[AGENT_CALL, AGENT_UNANSWERED, PUTTING_THROUGH, CALL_GOODBYE];
    /// Needed by a flow with kinds of help: the line offers missions by phone.
    pub const OFFERING: &[&str] = &[
        OFFER_INTRO,
        OFFER_KEYS,
        OFFER_TAKEN,
        OFFER_ACCEPTED,
        OFFER_DECLINED,
        OFFER_PAUSED,
        PUT_THROUGH_DONE,
        PUT_THROUGH_FAILED,
        VOLUNTEER_WELCOME,
        VOLUNTEER_MISSION,
        VOLUNTEER_KEYS,
        VOLUNTEER_REPORTED,
    ];
    /// Needed by every flow.
    pub const ALWAYS: &[&str] = &[APOLOGY, SILENCE_GOODBYE];
    /// Needed by a flow with a callback node.
    pub const CALLBACK: &[&str] = &[
        CONFIRM_CALLER,
        ASK_NUMBER,
        CONFIRM_NUMBER,
        INVALID_NUMBER,
        OFFER_MESSAGE,
        RECORD_INTRO,
        REGISTERED,
        WHEN_OPEN,
        WHEN_CLOSED,
    ];
}
