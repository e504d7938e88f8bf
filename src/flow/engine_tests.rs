//! The engine as pure function calls on the bundled flow: every node type and every key
//! the engine reserves, without HTTP or a database.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};

use super::*;
use crate::flow::load::{self, BUNDLED};
use crate::phone::Region;

fn bundled() -> Arc<Flow> {
    Arc::clone(crate::flow::Flows::bundled().for_called("+3280043436"))
}

/// Monday 23 November 2026, 10:00 in Brussels: the line is open.
fn open() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap()
}

/// Sunday 22 November 2026, 10:00 in Brussels: the line is closed.
fn closed() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 9, 0, 0).unwrap()
}

fn caller() -> Option<E164> {
    E164::parse("+32470123456", Region::default()).ok()
}

/// A call on `flow` at `now`, driven one event at a time.
struct Call {
    flow: Arc<Flow>,
    now: DateTime<Utc>,
    turn: Turn,
}

impl Call {
    fn start(flow: Arc<Flow>, caller: Option<E164>, now: DateTime<Utc>) -> Self {
        let turn = start(&flow, caller, now);
        Self { flow, now, turn }
    }

    fn on(&mut self, event: &Event) -> &Turn {
        self.turn = advance(&self.flow, self.turn.state.clone(), event, self.now);
        &self.turn
    }

    fn keys(&mut self, keys: &str) -> &Turn {
        self.on(&Event::Digits(keys.to_owned()))
    }

    /// The prompt ids said or asked in the last answer, in order.
    fn said(&self) -> Vec<String> {
        let mut ids = Vec::new();
        for action in &self.turn.actions {
            let speech: &[Speech] = match action {
                Action::Say(s) => std::slice::from_ref(s),
                Action::Gather { speech, .. } => speech,
                _ => continue,
            };
            ids.extend(speech.iter().map(|s| s.prompt.clone().unwrap_or_else(|| format!("~{}", s.text))));
        }
        ids
    }

    fn node(&self) -> &str {
        &self.turn.state.node
    }

    fn dialled(&self) -> Option<String> {
        self.turn.actions.iter().find_map(|a| match a {
            Action::Dial { number, .. } => Some(number.as_str().to_owned()),
            _ => None,
        })
    }

    fn hangs_up(&self) -> bool {
        self.turn.actions.last() == Some(&Action::Hangup)
    }
}

/// A call in French at the main menu.
fn at_main(now: DateTime<Utc>) -> Call {
    let mut call = Call::start(bundled(), caller(), now);
    call.keys("1");
    assert_eq!(call.node(), "main");
    call
}

#[test]
fn a_call_is_asked_its_language_in_every_language_of_the_line() {
    let call = Call::start(bundled(), caller(), open());
    assert_eq!(call.node(), "language");
    let Some(Action::Gather { speech, num_digits, .. }) = call.turn.actions.first() else {
        panic!("a question first: {:?}", call.turn.actions)
    };
    let languages: Vec<&str> = speech.iter().map(|s| s.language.as_str()).collect();
    assert_eq!(languages, ["fr", "nl", "de"]);
    assert_eq!(*num_digits, Some(1));
    assert!(call.turn.effects.is_empty());
}

#[test]
fn a_menu_option_sets_the_language_and_the_hours_node_chooses_the_greeting() {
    let mut call = Call::start(bundled(), caller(), open());
    call.keys("2");
    assert_eq!(call.turn.state.language.as_deref(), Some("nl"));
    assert_eq!(call.said(), ["greeting", "main_long"], "say node, then the menu");
    assert_eq!(call.node(), "main");

    let mut closed_call = Call::start(bundled(), caller(), closed());
    closed_call.keys("1");
    assert_eq!(closed_call.said(), ["closed", "main_long"]);
}

#[test]
fn zero_reaches_a_person_from_any_menu() {
    let mut call = at_main(open());
    call.keys("0");
    assert_eq!(call.node(), "person");
    assert_eq!(call.dialled().as_deref(), Some("+3242210000"));
    assert!(call.turn.state.tally.left_menu);
}

#[test]
fn star_repeats_the_question_in_its_short_form() {
    let mut call = at_main(open());
    call.keys("*");
    assert_eq!(call.node(), "main");
    assert_eq!(call.said(), ["main_short"]);
    assert_eq!(call.turn.state.attempts, 0, "a repeat is not a failure");
}

#[test]
fn silence_and_a_wrong_key_get_different_words_and_three_failures_reach_a_person() {
    let mut call = at_main(open());
    call.on(&Event::Silence);
    assert_eq!(call.said().first().map(String::as_str), Some("no_input"));
    call.keys("9");
    assert_eq!(call.said().first().map(String::as_str), Some("invalid"));
    assert_eq!(call.turn.state.attempts, 2);
    assert_eq!(call.dialled(), None);
    call.keys("8");
    assert_eq!(call.node(), "person", "the flow's fail route");
    assert_eq!(call.dialled().as_deref(), Some("+3242210000"));
    assert_eq!((call.turn.state.tally.invalid, call.turn.state.tally.silences), (2, 1));
}

#[test]
fn a_line_left_silent_is_closed_politely_after_nine_questions() {
    let mut call = Call::start(bundled(), caller(), open());
    let mut webhooks = 0;
    while !call.hangs_up() {
        webhooks += 1;
        assert!(webhooks < 40, "the call never ends: {:?}", call.turn.actions);
        let event = if call.dialled().is_some() { Event::Dial(DialStatus::NoAnswer) } else { Event::Silence };
        call.on(&event);
    }
    assert_eq!(call.said().last().map(String::as_str), Some(prompts::SILENCE_GOODBYE));
    assert_eq!(call.turn.state.silences, 9);
    assert_eq!(call.turn.state.phase, Phase::Finished);
    let again = repeat(&call.flow, call.turn.state.clone(), call.now);
    assert_eq!(again.actions, [Action::Hangup], "a finished call only hangs up");
}

#[test]
fn a_transfer_not_answered_offers_a_callback_and_one_answered_ends_the_menus() {
    let mut call = at_main(open());
    call.keys("1");
    assert_eq!(call.dialled().as_deref(), Some("+3242210001"));
    call.on(&Event::Dial(DialStatus::Busy));
    assert_eq!(call.node(), "seniors_offer");
    assert_eq!(call.said(), ["offer_callback"]);

    let mut answered = at_main(open());
    answered.keys("1");
    answered.on(&Event::Dial(DialStatus::Completed));
    assert!(answered.hangs_up());
    assert_eq!(answered.turn.state.tally.transfers_answered, 1);
}

#[test]
fn a_postcode_inside_the_area_goes_on_and_one_outside_is_told_where_to_turn() {
    let mut call = at_main(open());
    call.keys("3");
    call.keys("1");
    assert_eq!(call.node(), "errands_postcode");
    call.keys("9999");
    let told = call.said().first().cloned().unwrap_or_default();
    assert!(told.starts_with('~') && told.contains("9, 9, 9, 9"), "the postcode read back, spoken: {told}");
    assert_eq!(call.node(), "main");

    let mut inside = at_main(open());
    inside.keys("3");
    inside.keys("1");
    inside.keys("4020");
    assert_eq!(inside.node(), "errands_kind");
    assert_eq!(inside.turn.state.answers.get("postcode").map(String::as_str), Some("4020"));
}

#[test]
fn a_callback_with_caller_id_reads_the_number_back_and_registers_once_confirmed() {
    assert!(caller().is_some());
    let mut call = at_main(open());
    for keys in ["3", "1", "4020", "2"] {
        call.keys(keys);
    }
    assert_eq!(call.turn.state.phase, Phase::ConfirmCaller);
    let asked = format!("{:?}", call.turn.actions);
    assert!(asked.contains("0, 4, 7, 0"), "the number is read digit by digit: {asked}");
    call.keys("1");
    assert_eq!(call.turn.state.phase, Phase::OfferMessage);
    assert!(call.turn.effects.is_empty(), "nothing stored before the caller is done");
    call.keys("2");
    let [Effect::RegisterCallback(draft)] = call.turn.effects.as_slice() else {
        panic!("one registration: {:?}", call.turn.effects)
    };
    assert_eq!((draft.service.as_str(), draft.phone.as_str()), ("errands", "+32470123456"));
    assert_eq!(draft.postcode.as_deref(), Some("4020"));
    assert_eq!(draft.answers.get("help").map(String::as_str), Some("pharmacy"));
    assert_eq!(draft.help.as_deref(), Some("pharmacy"));
    assert_eq!(draft.recording_url, None);
    let told = format!("{:?}", call.turn.actions);
    assert!(told.contains("{request}"), "the request number is left for the line to fill: {told}");
    assert!(call.hangs_up());
}

#[test]
fn a_callback_without_caller_id_asks_for_a_number_refuses_a_bad_one_and_records_a_message() {
    let mut call = Call::start(bundled(), None, open());
    call.keys("1");
    call.keys("5");
    call.on(&Event::Dial(DialStatus::NoAnswer));
    call.keys("1");
    assert_eq!(call.turn.state.phase, Phase::AskNumber);
    assert_eq!(call.said(), [prompts::ASK_NUMBER]);
    call.keys("0903");
    assert_eq!(call.said().first().map(String::as_str), Some(prompts::INVALID_NUMBER));
    assert_eq!(call.turn.state.phase, Phase::AskNumber);
    call.keys("0470123456");
    let Phase::ConfirmNumber(typed) = &call.turn.state.phase else {
        panic!("the typed number is read back: {:?}", call.turn.state.phase)
    };
    assert_eq!(typed.as_str(), "+32470123456");
    call.keys("1");
    call.keys("1");
    assert!(call.turn.actions.iter().any(|a| matches!(a, Action::Record { .. })));
    call.on(&Event::Recorded { url: "https://api.example/rec/RE1".to_owned(), seconds: 12 });
    let [Effect::RegisterCallback(draft)] = call.turn.effects.as_slice() else {
        panic!("one registration: {:?}", call.turn.effects)
    };
    assert_eq!(draft.service, "covid");
    assert_eq!(
        (draft.recording_url.as_deref(), draft.recording_seconds),
        (Some("https://api.example/rec/RE1"), Some(12))
    );
}

#[test]
fn an_end_node_says_its_words_and_hangs_up() {
    let source = BUNDLED.1.replace(
        "[nodes.errands_not_eligible]\ntype = \"say\"\nprompt = \"errands_not_eligible\"\nnext = \"main\"",
        "[nodes.errands_not_eligible]\ntype = \"end\"\nprompt = \"errands_not_eligible\"",
    );
    assert_ne!(source, BUNDLED.1, "the bundled flow has the node to change");
    let flows = load::from_sources_quick(&[(BUNDLED.0.into(), source)]).expect("the changed flow is valid");
    let mut call = Call::start(Arc::clone(flows.for_called("")), caller(), open());
    for keys in ["1", "3", "2", "2"] {
        call.keys(keys);
    }
    assert_eq!(call.said(), ["errands_not_eligible"]);
    assert!(call.hangs_up());
    assert_eq!(call.turn.state.outcome.as_deref(), Some("informed"));
}

#[test]
fn a_state_is_stored_without_its_defaults_and_reads_back_the_same() {
    let flow = bundled();
    let caller = E164::parse("+32470123456", Region::default()).unwrap();
    let fresh = start(&flow, Some(caller.clone()), open()).state;
    let json = serde_json::to_string(&fresh).unwrap();
    let keys: Vec<String> = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&json)
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(keys, ["step", "node", "heard", "caller"], "{json}");
    assert_eq!(serde_json::from_str::<CallState>(&json).unwrap(), fresh);

    // Every field away from its default is written and read back.
    let full = CallState {
        step: 7,
        node: "errands".to_owned(),
        phase: Phase::ConfirmNumber(caller.clone()),
        attempts: 2,
        silences: 1,
        heard: BTreeSet::from(["main".to_owned()]),
        language: Some("fr".to_owned()),
        caller: Some(caller),
        answers: BTreeMap::from([("postcode".to_owned(), "4000".to_owned())]),
        outcome: Some("callback".to_owned()),
        tally: Tally {
            keys: "13".to_owned(),
            invalid: 1,
            silences: 2,
            transfers: 3,
            transfers_answered: 1,
            left_menu: true,
        },
    };
    assert_eq!(serde_json::from_str::<CallState>(&serde_json::to_string(&full).unwrap()).unwrap(), full);

    // A state stored in full, as before, reads as it did.
    let stored = r#"{"step":1,"node":"language","phase":{"phase":"node"},"attempts":0,"silences":0,"heard":["language"],"language":null,"caller":"+32470123456","answers":{},"outcome":null,"tally":{"keys":"","invalid":0,"silences":0,"transfers":0,"transfers_answered":0,"left_menu":false}}"#;
    assert_eq!(serde_json::from_str::<CallState>(stored).unwrap(), fresh);
}
