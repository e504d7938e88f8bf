//! The pure engine: (flow, call state, event, now) → (new state, what to say and do,
//! effects for the store). No I/O and no clock read here, so every menu path is testable
//! in microseconds and any provider dialect is only a renderer of [`Action`]s.
//!
//! Rules every flow gets for free: `0` reaches [`Line::human`](super::model::Line::human), `*`
//! repeats the current question in its short form, silence and a wrong key are separate
//! failures with their own words, `max_attempts` failures lead to the node's `fail`
//! route, and a line left silent for `give_up_after_silences` questions in a row is
//! closed politely.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::model::{Callback, Flow, Node, Ref, Registers, prompts};
use crate::phone::{E164, spell_digits};

/// Where a call is in its flow. Stored with the call between webhooks, as JSON without
/// the fields at their defaults (read back as defaults): every new call writes it, and
/// its bytes are most of what a new call costs the database beyond its answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CallState {
    /// Webhooks processed so far; every URL we hand out carries it, to spot replays.
    pub step: u32,
    /// The current node.
    pub node: String,
    /// Where inside the node (callback sub-steps).
    #[serde(skip_serializing_if = "is_default")]
    pub phase: Phase,
    /// Failures at the current question.
    #[serde(skip_serializing_if = "is_default")]
    pub attempts: u8,
    /// Silences in a row, across questions.
    #[serde(skip_serializing_if = "is_default")]
    pub silences: u8,
    /// Menus already heard once (they are then said in their short form).
    #[serde(skip_serializing_if = "BTreeSet::is_empty")]
    pub heard: BTreeSet<String>,
    /// The caller's language, once chosen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// The caller ID, when the provider gave a usable one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caller: Option<E164>,
    /// Answers to record with a callback request (eligibility, errand, postcode…).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub answers: BTreeMap<String, String>,
    /// What the call achieved (`transferred`, `callback`, `informed`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// Figures kept for the statistics.
    #[serde(skip_serializing_if = "is_default")]
    pub tally: Tally,
}

/// Whether `value` is its type's default (a field left out of the stored state).
fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

/// What a call did, counted for the daily statistics (kept on the call, so figures stay
/// the same whatever happens to the event log).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Tally {
    /// Keys pressed at menus, in order (`13*0`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub keys: String,
    /// Wrong keys and unusable numbers.
    #[serde(skip_serializing_if = "is_default")]
    pub invalid: u32,
    /// Questions that timed out.
    #[serde(skip_serializing_if = "is_default")]
    pub silences: u32,
    /// Transfers started.
    #[serde(skip_serializing_if = "is_default")]
    pub transfers: u32,
    /// Transfers answered.
    #[serde(skip_serializing_if = "is_default")]
    pub transfers_answered: u32,
    /// The caller has left the menus (a transfer started, a request was stored, or the
    /// flow ended the call).
    #[serde(skip_serializing_if = "is_default")]
    pub left_menu: bool,
}

/// A sub-step of a node.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "phase", content = "number")]
pub enum Phase {
    /// The node's own question (or a transfer in progress).
    #[default]
    Node,
    /// "We will call you back at this number: 1 to confirm, 2 for another."
    ConfirmCaller,
    /// Typing a number for the callback.
    AskNumber,
    /// Confirming the typed number.
    ConfirmNumber(E164),
    /// "To leave a message, press 1."
    OfferMessage,
    /// Recording the voice message.
    Recording,
    /// The call has been ended by the flow.
    Finished,
}

/// What the caller did, as the provider reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Keys pressed (without the finishing `#`).
    Digits(String),
    /// A question timed out without a key.
    Silence,
    /// A transfer ended.
    Dial(DialStatus),
    /// A voice message was recorded.
    Recorded {
        /// Where the provider keeps it.
        url: String,
        /// Its length.
        seconds: u32,
    },
}

/// How a transfer ended (`DialCallStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialStatus {
    /// Answered, talked, hung up.
    Completed,
    /// Busy.
    Busy,
    /// Nobody answered.
    NoAnswer,
    /// The number could not be reached.
    Failed,
    /// The caller hung up while it rang.
    Canceled,
}

/// Text to be spoken in a language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Speech {
    /// The words; `{request}` is filled in by the line ([`crate::line`]) once the request
    /// is stored.
    pub text: String,
    /// A language of the flow (`fr`).
    pub language: String,
    /// The prompt said word for word (no placeholder filled in), whose recording may be
    /// played instead.
    pub prompt: Option<String>,
}

/// What the provider should do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Speak.
    Say(Speech),
    /// Speak and listen for keys; silence falls through to the no-input route.
    Gather {
        /// The question (a key interrupts it).
        speech: Vec<Speech>,
        /// Keys to collect before answering; `None` waits for `finish_on_key`.
        num_digits: Option<u8>,
        /// The key that ends the input (`#`); `None` disables it.
        finish_on_key: Option<char>,
        /// Seconds of silence before giving up.
        timeout: u8,
    },
    /// Transfer the call.
    Dial {
        /// Where to.
        number: E164,
        /// Seconds to let it ring.
        timeout: u16,
        /// The number shown to the person rung: the line's own when the service puts
        /// someone through (nobody's private number shows); `None` keeps the caller's.
        caller_id: Option<E164>,
    },
    /// Record a voice message, ended by `#`.
    Record {
        /// Longest message.
        max_seconds: u16,
    },
    /// End the call.
    Hangup,
    /// Go on at another webhook of ours (absolute URL): the line's own steps use it (a
    /// volunteer's call handed over to the usual menu); the engine never does.
    Redirect(String),
}

/// Something the store must do in the same transaction as saving the state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Store a callback request; its number fills `{request}`.
    RegisterCallback(CallbackDraft),
}

/// A callback request as the caller left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackDraft {
    /// Service (menu) it is for.
    pub service: String,
    /// Higher is served first.
    pub priority: crate::domain::Priority,
    /// The caller's language.
    pub language: String,
    /// The number to call.
    pub phone: E164,
    /// Whether `phone` is the call's caller ID (a typed number proves nothing).
    pub phone_is_caller_id: bool,
    /// Postcode, when the flow asked for it.
    pub postcode: Option<String>,
    /// Every answer given on the way.
    pub answers: BTreeMap<String, String>,
    /// The voice message, when one was left.
    pub recording_url: Option<String>,
    /// Its length.
    pub recording_seconds: Option<u32>,
    /// The kind of help asked for (an id of `[line.helps]`), when the flow says.
    pub help: Option<String>,
    /// A request, or the caller signing up as a volunteer.
    pub registers: Registers,
}

/// The result of one webhook.
#[derive(Debug, Clone)]
pub struct Turn {
    /// The state to store.
    pub state: CallState,
    /// What to answer.
    pub actions: Vec<Action>,
    /// What to store besides the state.
    pub effects: Vec<Effect>,
    /// The node the event happened at, for the event log.
    pub node: String,
    /// What the engine made of it, for the event log (`option 1 → seniors`).
    pub result: String,
}

/// A new call: starts at `[line] start`.
#[must_use]
pub fn start(flow: &Flow, caller: Option<E164>, now: DateTime<Utc>) -> Turn {
    let state = CallState { caller, ..CallState::default() };
    let mut walk = Walk::new(flow, state, now);
    walk.note("call started");
    walk.enter(flow.file.line.start.get_ref());
    walk.finish()
}

/// The caller did something at the current node.
#[must_use]
pub fn advance(flow: &Flow, state: CallState, event: &Event, now: DateTime<Utc>) -> Turn {
    let mut walk = Walk::new(flow, state, now);
    walk.on_event(event);
    walk.finish()
}

/// Asks the current question again (a webhook that does not fit the call's state).
#[must_use]
pub fn repeat(flow: &Flow, state: CallState, now: DateTime<Utc>) -> Turn {
    let mut walk = Walk::new(flow, state, now);
    walk.note("asked again");
    if walk.state.phase == Phase::Finished {
        walk.actions.push(Action::Hangup);
    } else if !walk.ask(None) {
        let node = walk.state.node.clone();
        walk.enter(&node);
    }
    walk.finish()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Failure {
    NoInput,
    Invalid,
    BadNumber,
}

struct Walk<'f> {
    flow: &'f Flow,
    now: DateTime<Utc>,
    state: CallState,
    node_before: String,
    actions: Vec<Action>,
    effects: Vec<Effect>,
    result: String,
}

impl<'f> Walk<'f> {
    fn new(flow: &'f Flow, mut state: CallState, now: DateTime<Utc>) -> Self {
        state.step += 1;
        let node_before = state.node.clone();
        Self {
            flow,
            now,
            state,
            node_before,
            actions: Vec::new(),
            effects: Vec::new(),
            result: String::new(),
        }
    }

    /// What the engine made of the event, for the event log.
    fn note(&mut self, what: impl Into<String>) {
        self.result = what.into();
    }

    fn finish(self) -> Turn {
        Turn {
            state: self.state,
            actions: self.actions,
            effects: self.effects,
            node: self.node_before,
            result: self.result,
        }
    }

    fn language(&self) -> String {
        self.state.language.clone().unwrap_or_else(|| self.flow.default_language().to_owned())
    }

    fn open(&self) -> bool {
        self.flow.schedule.is_open(self.now)
    }

    /// A prompt in the caller's language with `{phone}` and `{postcode}` filled in.
    fn speech(&self, prompt: &str, phone: Option<&E164>) -> Speech {
        let language = self.language();
        let mut text = self.flow.text(prompt, &language).unwrap_or_default().to_owned();
        let verbatim = !prompts::is_dynamic(&text);
        // Formatting a number reads the numbering plan: only for a text that says it.
        if let Some(phone) = phone.filter(|_| text.contains("{phone}")) {
            text = text.replace("{phone}", &spell_digits(&phone.spoken_form(self.flow.region)));
        }
        if let Some(postcode) = self.state.answers.get("postcode").filter(|_| text.contains("{postcode}")) {
            text = text.replace("{postcode}", &spell_digits(postcode));
        }
        Speech { text, language, prompt: verbatim.then(|| prompt.to_owned()) }
    }

    /// A prompt said once in each language of the line, each in its own voice.
    fn in_every_language(&self, prompt: &str) -> Vec<Speech> {
        self.flow
            .file
            .line
            .languages
            .iter()
            .map(|lang| {
                let text = self.flow.text(prompt, lang.get_ref()).unwrap_or_default().to_owned();
                let prompt = (!prompts::is_dynamic(&text)).then(|| prompt.to_owned());
                Speech { text, language: lang.get_ref().clone(), prompt }
            })
            .collect()
    }

    fn say(&mut self, prompt: &str) {
        let speech = self.speech(prompt, None);
        self.actions.push(Action::Say(speech));
    }

    fn hang_up(&mut self, outcome: Option<&str>) {
        self.state.tally.left_menu = true;
        self.actions.push(Action::Hangup);
        self.state.phase = Phase::Finished;
        if let Some(outcome) = outcome {
            self.state.outcome = Some(outcome.to_owned());
        }
    }

    /// Goes to `id` and runs nodes until one asks the caller something or ends the call.
    fn enter(&mut self, id: &str) {
        let mut id = id.to_owned();
        // Validation rules out loops of silent nodes; the bound is a second guard.
        for _ in 0..64 {
            self.state.node.clone_from(&id);
            self.state.attempts = 0;
            self.state.phase = Phase::Node;
            let Some(node) = self.flow.node(&id) else { break };
            match node {
                Node::Say { prompt, next } => {
                    self.say(prompt.get_ref());
                    id.clone_from(next.get_ref());
                }
                Node::Hours { open, closed } => {
                    id.clone_from(if self.open() { open.get_ref() } else { closed.get_ref() });
                }
                Node::Transfer(t) if !t.any_hour && !self.open() => {
                    id.clone_from(t.closed.as_ref().unwrap_or(&t.fail).get_ref());
                }
                Node::Transfer(t) => {
                    let number = self
                        .flow
                        .transfers
                        .get(t.to.get_ref())
                        .cloned()
                        .or_else(|| E164::try_from(t.to.get_ref().clone()).ok());
                    let Some(number) = number else { break };
                    if let Some(prompt) = &t.prompt {
                        self.say(prompt.get_ref());
                    }
                    self.actions.push(Action::Dial { number, timeout: t.timeout, caller_id: None });
                    self.state.tally.transfers += 1;
                    self.state.tally.left_menu = true;
                    return;
                }
                Node::End { prompt, outcome } => {
                    self.say(prompt.get_ref());
                    let outcome = self
                        .state
                        .outcome
                        .clone()
                        .or_else(|| outcome.clone())
                        .unwrap_or_else(|| "informed".to_owned());
                    self.hang_up(Some(&outcome));
                    return;
                }
                Node::Menu(_) | Node::Postcode(_) => {
                    self.ask(None);
                    return;
                }
                Node::Callback(_) => {
                    self.state.phase =
                        if self.state.caller.is_some() { Phase::ConfirmCaller } else { Phase::AskNumber };
                    self.ask(None);
                    return;
                }
            }
        }
        // Unreachable with a validated flow; never leave the caller in silence.
        self.say(prompts::APOLOGY);
        self.hang_up(None);
    }

    /// Asks the current question, `before` said first (a failure message). Returns false
    /// when the current node asks nothing.
    fn ask(&mut self, before: Option<&str>) -> bool {
        let flow = self.flow;
        let Some(node) = flow.node(&self.state.node) else { return false };
        let every_language = matches!(node, Node::Menu(m) if m.all_languages);
        let mut speech: Vec<Speech> = match before {
            Some(p) if every_language => self.in_every_language(p),
            Some(p) => vec![self.speech(p, None)],
            None => Vec::new(),
        };
        let timeout = flow.file.defaults.timeout;
        let (num_digits, finish_on_key, timeout) = match (node, &self.state.phase) {
            (Node::Menu(m), Phase::Node) => {
                let first_time = self.state.heard.insert(self.state.node.clone());
                let prompt = if first_time { &m.prompt } else { m.short.as_ref().unwrap_or(&m.prompt) };
                if every_language {
                    speech.extend(self.in_every_language(prompt.get_ref()));
                } else {
                    speech.push(self.speech(prompt.get_ref(), None));
                }
                (Some(1), None, timeout)
            }
            (Node::Postcode(p), Phase::Node) => {
                speech.push(self.speech(p.prompt.get_ref(), None));
                (Some(p.digits), None, timeout + 2)
            }
            (Node::Callback(_), Phase::ConfirmCaller) => {
                speech.push(self.speech(prompts::CONFIRM_CALLER, self.state.caller.as_ref()));
                (Some(1), None, timeout)
            }
            (Node::Callback(_), Phase::AskNumber) => {
                speech.push(self.speech(prompts::ASK_NUMBER, None));
                (None, Some('#'), timeout + 4)
            }
            (Node::Callback(_), Phase::ConfirmNumber(n)) => {
                speech.push(self.speech(prompts::CONFIRM_NUMBER, Some(n)));
                (Some(1), None, timeout)
            }
            (Node::Callback(_), Phase::OfferMessage) => {
                speech.push(self.speech(prompts::OFFER_MESSAGE, None));
                (Some(1), None, timeout)
            }
            _ => return false,
        };
        self.actions.push(Action::Gather { speech, num_digits, finish_on_key, timeout });
        true
    }

    fn on_event(&mut self, event: &Event) {
        if self.state.phase == Phase::Finished {
            self.note("call already ended");
            self.actions.push(Action::Hangup);
            return;
        }
        let node = self.flow.node(&self.state.node);
        match event {
            Event::Silence if self.state.phase == Phase::Recording => {
                self.note("no voice message");
                self.register(None);
            }
            Event::Silence => self.fail(Failure::NoInput),
            Event::Recorded { url, seconds } if self.state.phase == Phase::Recording => {
                self.note(format!("voice message, {seconds} s"));
                self.register(Some((url.clone(), *seconds)));
            }
            Event::Dial(status) if matches!(node, Some(Node::Transfer(_))) => self.on_dial(*status),
            Event::Digits(keys) => {
                self.state.silences = 0;
                self.on_keys(keys);
            }
            Event::Recorded { .. } | Event::Dial(_) => {
                self.note("event out of place: asked again");
                if !self.ask(None) {
                    let id = self.state.node.clone();
                    self.enter(&id);
                }
            }
        }
    }

    fn on_dial(&mut self, status: DialStatus) {
        let Some(Node::Transfer(t)) = self.flow.node(&self.state.node) else { return };
        if status == DialStatus::Completed {
            self.state.tally.transfers_answered += 1;
            self.note("transfer answered");
            self.hang_up(Some("transferred"));
        } else {
            self.note(format!("transfer not answered ({status:?}) → {}", t.fail.get_ref()));
            self.enter(t.fail.get_ref());
        }
    }

    fn on_keys(&mut self, keys: &str) {
        let flow = self.flow;
        let keys = keys.trim();
        if self.state.phase == Phase::Node
            && matches!(flow.node(&self.state.node), Some(Node::Menu(_)))
            && keys.len() == 1
        {
            self.state.tally.keys.push_str(keys);
        }
        if keys == "0" && self.state.phase != Phase::Recording {
            self.note("0 → a person");
            self.enter(flow.file.line.human.get_ref());
            return;
        }
        if keys.contains('*') {
            self.note("* → repeat");
            self.ask(None);
            return;
        }
        let Some(node) = flow.node(&self.state.node) else { return };
        match (node, self.state.phase.clone()) {
            (Node::Menu(m), Phase::Node) => match m.options.iter().find(|o| o.key.get_ref() == keys) {
                Some(option) => {
                    if let Some(lang) = &option.language {
                        self.state.language = Some(lang.get_ref().clone());
                    }
                    self.state.answers.extend(option.set.iter().map(|(k, v)| (k.clone(), v.clone())));
                    self.note(format!("option {keys} → {}", option.goto.get_ref()));
                    self.enter(option.goto.get_ref());
                }
                None => self.fail(Failure::Invalid),
            },
            (Node::Postcode(p), Phase::Node) => {
                if keys.len() != usize::from(p.digits) || !keys.chars().all(|c| c.is_ascii_digit()) {
                    self.fail(Failure::Invalid);
                    return;
                }
                self.state.answers.insert("postcode".to_owned(), keys.to_owned());
                let inside = flow.postcodes.contains(keys);
                let next = if inside { &p.inside } else { &p.outside };
                self.result =
                    format!("postcode {} → {}", if inside { "served" } else { "not served" }, next.get_ref());
                self.enter(next.get_ref());
            }
            (Node::Callback(_), Phase::ConfirmCaller) => match keys {
                "1" => {
                    self.note("caller ID confirmed");
                    let phone = self.state.caller.clone();
                    self.after_number(phone);
                }
                "2" => {
                    self.note("another number");
                    self.ask_in_phase(Phase::AskNumber);
                }
                _ => self.fail(Failure::Invalid),
            },
            (Node::Callback(_), Phase::AskNumber) => match E164::parse(keys, flow.region) {
                Ok(number) => {
                    self.note(format!("number typed: {}", number.masked()));
                    self.ask_in_phase(Phase::ConfirmNumber(number));
                }
                Err(_) => self.fail(Failure::BadNumber),
            },
            (Node::Callback(_), Phase::ConfirmNumber(number)) => match keys {
                "1" => {
                    self.note("typed number confirmed");
                    self.after_number(Some(number));
                }
                "2" => {
                    self.note("number typed again");
                    self.ask_in_phase(Phase::AskNumber);
                }
                _ => self.fail(Failure::Invalid),
            },
            (Node::Callback(_), Phase::OfferMessage) => match keys {
                "1" => {
                    let Some(Node::Callback(c)) = flow.node(&self.state.node) else { return };
                    self.note("leaves a voice message");
                    self.record(c);
                }
                "2" => {
                    self.note("no voice message");
                    self.register(None);
                }
                _ => self.fail(Failure::Invalid),
            },
            (_, Phase::Recording) => {
                self.note("voice message ended by a key");
                self.register(None);
            }
            _ => self.fail(Failure::Invalid),
        }
    }

    fn ask_in_phase(&mut self, phase: Phase) {
        self.state.phase = phase;
        self.state.attempts = 0;
        self.ask(None);
    }

    fn after_number(&mut self, phone: Option<E164>) {
        let Some(phone) = phone else { return self.fail(Failure::Invalid) };
        self.state.answers.insert("phone".to_owned(), phone.as_str().to_owned());
        let Some(Node::Callback(c)) = self.flow.node(&self.state.node) else { return };
        if c.registers == Registers::Volunteer {
            self.note("records the name");
            self.record(c);
        } else if c.message {
            self.ask_in_phase(Phase::OfferMessage);
        } else {
            self.register(None);
        }
    }

    fn record(&mut self, c: &Callback) {
        self.state.phase = Phase::Recording;
        self.say(if c.registers == Registers::Volunteer {
            prompts::SIGNUP_RECORD_NAME
        } else {
            prompts::RECORD_INTRO
        });
        self.actions.push(Action::Record { max_seconds: c.message_max_seconds });
    }

    fn register(&mut self, recording: Option<(String, u32)>) {
        let Some(Node::Callback(c)) = self.flow.node(&self.state.node) else { return };
        let mut answers = self.state.answers.clone();
        let typed = answers.remove("phone").and_then(|p| E164::try_from(p).ok());
        let phone_is_caller_id = typed.is_none() || typed == self.state.caller;
        let Some(phone) = typed.or_else(|| self.state.caller.clone()) else {
            return self.fail(Failure::Invalid);
        };
        let postcode = answers.get("postcode").cloned();
        let help = answers.get("help").cloned().or_else(|| c.help.clone());
        let (recording_url, recording_seconds) = recording.map_or((None, None), |(u, s)| (Some(u), Some(s)));
        self.effects.push(Effect::RegisterCallback(CallbackDraft {
            service: c.service.clone(),
            priority: c.priority,
            language: self.language(),
            phone,
            phone_is_caller_id,
            postcode,
            answers,
            recording_url,
            recording_seconds,
            help,
            registers: c.registers,
        }));
        let what = match c.registers {
            Registers::Request => "callback registered",
            Registers::Volunteer => "volunteer signed up",
        };
        if self.result.is_empty() {
            self.note(what);
        } else {
            self.result.push_str("; ");
            self.result.push_str(what);
        }
        if c.registers == Registers::Volunteer {
            self.say(prompts::SIGNUP_REGISTERED);
            self.hang_up(Some("volunteer"));
            return;
        }
        self.say(prompts::REGISTERED);
        self.say(if self.open() { prompts::WHEN_OPEN } else { prompts::WHEN_CLOSED });
        self.hang_up(Some("callback"));
    }

    fn fail(&mut self, failure: Failure) {
        let flow = self.flow;
        let defaults = &flow.file.defaults;
        if failure == Failure::NoInput {
            self.state.tally.silences += 1;
        } else {
            self.state.tally.invalid += 1;
        }
        if failure == Failure::NoInput {
            self.state.silences += 1;
            if self.state.silences >= defaults.give_up_after_silences {
                self.note("silence: line closed");
                self.say(prompts::SILENCE_GOODBYE);
                self.hang_up(Some("no_response"));
                return;
            }
        }
        self.state.attempts += 1;
        let node = flow.node(&self.state.node);
        let (no_input, invalid, fail): (Option<&Ref>, Option<&Ref>, Option<&Ref>) = match node {
            Some(Node::Menu(m)) => (m.no_input.as_ref(), m.invalid.as_ref(), m.fail.as_ref()),
            Some(Node::Postcode(p)) => (p.no_input.as_ref(), p.invalid.as_ref(), p.fail.as_ref()),
            Some(Node::Callback(c)) => (None, None, c.fail.as_ref()),
            _ => (None, None, None),
        };
        let what = match failure {
            Failure::NoInput => "no input",
            Failure::Invalid => "invalid key",
            Failure::BadNumber => "unusable number",
        };
        if self.state.attempts >= defaults.max_attempts {
            if let Some(fail) = fail.or(defaults.fail.as_ref()) {
                self.note(format!("{what} ({} times) → {}", self.state.attempts, fail.get_ref()));
                self.enter(fail.get_ref());
                return;
            }
        }
        self.note(format!("{what} ({} of {})", self.state.attempts, defaults.max_attempts));
        let words = match failure {
            Failure::NoInput => no_input.or(defaults.no_input.as_ref()).map(|r| r.get_ref().as_str()),
            Failure::Invalid => invalid.or(defaults.invalid.as_ref()).map(|r| r.get_ref().as_str()),
            Failure::BadNumber => Some(prompts::INVALID_NUMBER),
        };
        if !self.ask(words) {
            let id = self.state.node.clone();
            self.enter(&id);
        }
    }
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
