//! The webhook form decoder: whatever the body, it decodes exactly as the
//! `form_urlencoded` crate does, or refuses it, and refuses only what that crate would
//! have had to replace (bytes that are not UTF-8 once decoded).
#![no_main]

use libfuzzer_sys::fuzz_target;
use solidaire::telephony::Params;

fuzz_target!(|body: &[u8]| {
    let reference: Vec<(String, String)> =
        form_urlencoded::parse(body).map(|(n, v)| (n.into_owned(), v.into_owned())).collect();
    match Params::parse(body) {
        Ok(params) => {
            let decoded: Vec<(String, String)> =
                params.iter().map(|(n, v)| (n.to_owned(), v.to_owned())).collect();
            assert_eq!(decoded, reference);
            if let Some((name, value)) = reference.first() {
                assert_eq!(params.get(name), Some(value.as_str()));
            }
        }
        Err(_) => assert!(
            reference.iter().any(|(n, v)| n.contains(char::REPLACEMENT_CHARACTER) || v.contains(char::REPLACEMENT_CHARACTER)),
            "refused a body the form crate decodes without loss"
        ),
    }
});
