//! The signature check, on a decoded webhook body: the provider's own signature is always
//! accepted, any signature string is checked without a crash, and a signature made with
//! another token, or for a body that differs, is refused.
#![no_main]

use libfuzzer_sys::fuzz_target;
use solidaire::telephony::{Params, signature};

fuzz_target!(|data: &[u8]| {
    // token \n url \n form body \n signature to try
    let mut parts = data.splitn(4, |&b| b == b'\n');
    let (Some(token), Some(url), Some(body), tried) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return;
    };
    let (Ok(token), Ok(url)) = (std::str::from_utf8(token), std::str::from_utf8(url)) else { return };
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
    let _ = signature::is_valid_json(token, url, body, &tried);
});
