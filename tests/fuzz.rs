//! Bad input, generated: the flow file parser, the webhook form parser, the signature
//! check and phone numbers never panic, and a webhook never answers a 5xx whatever its
//! body. Runs as part of the test suite (a few thousand cases each).

mod common;

use std::path::PathBuf;

use proptest::prelude::*;
use solidaire::flow::load::{BUNDLED, from_sources};
use solidaire::phone::{E164, Region};
use solidaire::telephony::{Params, signature};

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn any_text_as_a_flow_file_gets_errors_not_a_crash(text in "\\PC{0,400}") {
        let _ = from_sources(&[(PathBuf::from("x.toml"), text)]);
    }

    #[test]
    fn a_damaged_bundled_flow_is_reported_with_a_place(at in 0usize..BUNDLED.1.len(), cut in 0usize..40, insert in "[\\[\\]=\"a-z0-9 \\n]{0,8}") {
        let mut text = BUNDLED.1.to_owned();
        let at = (0..=at).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
        let end = (at..=(at + cut).min(text.len())).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(at);
        text.replace_range(at..end, &insert);
        if let Err(errors) = from_sources(&[(PathBuf::from("liege.toml"), text.clone())]) {
            for e in errors {
                prop_assert!(e.line <= text.lines().count() + 1, "{e}");
                prop_assert!(!e.message.is_empty());
            }
        }
    }

    #[test]
    fn any_body_parses_as_a_form(body in proptest::collection::vec(any::<u8>(), 0..600)) {
        if let Ok(params) = Params::parse(&body) {
            let _ = params.get("CallSid");
        }
    }

    #[test]
    fn any_signature_is_checked_without_a_crash(
        url in "\\PC{0,80}",
        pairs in proptest::collection::vec(("\\PC{0,10}", "\\PC{0,20}"), 0..8),
        sig in "\\PC{0,40}",
    ) {
        prop_assert!(!signature::is_valid("token", &url, &pairs, &sig) || !sig.is_empty());
        let key = [7; 32];
        let _ = solidaire::telephony::telnyx::is_valid(&key, &url, &sig, sig.as_bytes(), 1_700_000_000);
        prop_assert!(!solidaire::telephony::jambonz::is_valid("token", &sig, url.as_bytes(), 1_700_000_000) || sig.contains("v1="));
    }

    #[test]
    fn any_number_is_parsed_or_refused(text in "[+0-9 ()./a-z-]{0,24}") {
        if let Ok(n) = E164::parse(&text, Region::default()) {
            prop_assert!(n.as_str().starts_with('+'));
            prop_assert!(!format!("{n}").contains(&n.as_str()[3..]), "Display masks");
        }
        let _ = E164::caller_id(&text, Region::default());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn no_webhook_body_gets_a_server_error(
        body in proptest::collection::vec(("(CallSid|From|To|Digits|CallStatus|[A-Za-z]{1,8})", "\\PC{0,24}"), 0..8),
        hook in "(incoming|gather|silence|dial|record|status)",
        dialect in proptest::sample::select(solidaire::telephony::Dialect::ALL.to_vec()),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let status = runtime.block_on(async {
            let app = common::TestApp::open().await;
            let phone = solidaire::simulate::Softphone::speaking(
                &app.server,
                app.public.as_deref(),
                solidaire::simulate::Signer::Unsigned(dialect),
            );
            let answer = phone.post(&format!("{}/{hook}?s=1", dialect.prefix()), &body).await.unwrap();
            (answer.status, answer.body)
        });
        prop_assert!(status.0 == 200 || status.0 == 204 || status.0 == 400, "{} {}", status.0, status.1);
        if status.0 == 200 {
            match dialect {
                solidaire::telephony::Dialect::Jambonz => {
                    prop_assert!(solidaire::simulate::parse_jambonz(&status.1).is_ok(), "{}", status.1);
                }
                _ => prop_assert!(status.1.starts_with("<?xml")),
            }
        }
    }
}
