//! The signature checks, on a webhook body: the provider's own signature is always
//! accepted, any signature string is checked without a crash, and a signature made with
//! another secret, or for a body that differs, is refused — Twilio's over the decoded form,
//! jambonz's over the raw body, whose JSON reader must not crash either.
#![no_main]

use libfuzzer_sys::fuzz_target;
use solidaire::telephony::{Dialect, Params, jambonz, signature};

fuzz_target!(|data: &[u8]| {
    // token \n url \n form body \n signature to try
    let mut parts = data.splitn(4, |&b| b == b'\n');
    let (Some(token), Some(url), Some(body), tried) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return;
    };
    let (Ok(token), Ok(url)) = (std::str::from_utf8(token), std::str::from_utf8(url)) else { return };
    let _ = Dialect::Jambonz.read(body);
    let Ok(params) = Params::parse(body) else { return };
    let pairs: Vec<(&str, &str)> = params.iter().collect();
    let genuine = signature::compute(token, url, &pairs);
    assert!(signature::is_valid(token, url, &pairs, &genuine));
    let tried = String::from_utf8_lossy(tried.unwrap_or_default());
    let _ = signature::is_valid(token, url, &pairs, &tried);
    let forged = signature::compute(&format!("{token}x"), url, &pairs);
    assert!(!signature::is_valid(token, url, &pairs, &forged), "another token's signature");
    let mut other = pairs.clone();
    other.push(("Injected", "1"));
    if !pairs.contains(&("Injected", "1")) {
        assert!(!signature::is_valid(token, url, &other, &genuine), "another body, the same signature");
    }
    let at = 1_700_000_000;
    let header = jambonz::sign(token, at, body);
    assert!(jambonz::is_valid(token, &header, body, at));
    let _ = jambonz::is_valid(token, &tried, body, at);
    let mut changed = body.to_vec();
    changed.push(b'!');
    assert!(!jambonz::is_valid(token, &header, &changed, at), "another body, the same signature");
    assert!(!jambonz::is_valid(token, &header, body, at + 301), "a stale signature");
});
