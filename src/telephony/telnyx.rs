//! Telnyx TeXML: TwiML's verbs and form parameters (its call ids are not `CA…`), signed
//! with Telnyx's Ed25519 key: `telnyx-signature-ed25519` is the base64 signature of
//! `"{telnyx-timestamp}|{raw body}"`, the timestamp Unix seconds, refused beyond
//! [`TOLERANCE_SECONDS`] either way.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};

/// Seconds a signature's timestamp may be away from now.
pub const TOLERANCE_SECONDS: i64 = 300;

/// The two headers Telnyx signs a webhook with.
pub const SIGNATURE_HEADER: &str = "telnyx-signature-ed25519";
/// See [`SIGNATURE_HEADER`].
pub const TIMESTAMP_HEADER: &str = "telnyx-timestamp";

fn signed(timestamp: &str, body: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(timestamp.len() + 1 + body.len());
    message.extend_from_slice(timestamp.as_bytes());
    message.push(b'|');
    message.extend_from_slice(body);
    message
}

/// Whether `signature` (base64) is Telnyx's for `body` sent at `timestamp`, with the
/// public key `key`, and the timestamp within the tolerance of `now` (Unix seconds).
#[must_use]
pub fn is_valid(key: &[u8; 32], timestamp: &str, signature: &str, body: &[u8], now: i64) -> bool {
    let fresh = !timestamp.is_empty()
        && timestamp.bytes().all(|b| b.is_ascii_digit())
        && timestamp.parse::<i64>().is_ok_and(|at| (now - at).abs() <= TOLERANCE_SECONDS);
    if !fresh {
        return false;
    }
    let Ok(key) = VerifyingKey::from_bytes(key) else { return false };
    let Some(signature) = STANDARD
        .decode(signature.trim())
        .ok()
        .and_then(|bytes| <[u8; 64]>::try_from(bytes.as_slice()).ok())
        .map(|bytes| Signature::from_bytes(&bytes))
    else {
        return false;
    };
    key.verify(&signed(timestamp, body), &signature).is_ok()
}

/// The two header values Telnyx would send for `body` at `timestamp`, signed with the
/// private key `seed` (the simulated provider's; tests).
#[must_use]
pub fn sign(seed: &[u8; 32], timestamp: i64, body: &[u8]) -> (String, String) {
    let t = timestamp.to_string();
    let signature = SigningKey::from_bytes(seed).sign(&signed(&t, body));
    (STANDARD.encode(signature.to_bytes()), t)
}

/// The public key of the private key `seed`, as the setting holds it.
#[must_use]
pub fn verifying_key(seed: &[u8; 32]) -> [u8; 32] {
    SigningKey::from_bytes(seed).verifying_key().to_bytes()
}

/// The public key of the private key `seed`, as Telnyx's portal shows it (base64).
#[must_use]
pub fn public_key(seed: &[u8; 32]) -> String {
    STANDARD.encode(verifying_key(seed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_is_checked_with_its_timestamp() {
        let seed = [7; 32];
        let key: [u8; 32] = STANDARD.decode(public_key(&seed)).unwrap().try_into().unwrap();
        let body = b"CallSid=v3%3Aabc&From=%2B32470123456";
        let (signature, t) = sign(&seed, 1_700_000_000, body);
        assert!(is_valid(&key, &t, &signature, body, 1_700_000_300));
        assert!(!is_valid(&key, &t, &signature, body, 1_700_000_301), "stale");
        assert!(!is_valid(&key, &t, &signature, body, 1_699_999_699), "from the future");
        assert!(!is_valid(&key, "1700000001", &signature, body, 1_700_000_000), "another time");
        assert!(!is_valid(&key, &t, &signature, b"CallSid=v3%3Aabd", 1_700_000_000));
        assert!(!is_valid(&[9; 32], &t, &signature, body, 1_700_000_000));
        for bad in ["", "abc", "+1700000000", "1.7e9"] {
            assert!(!is_valid(&key, bad, &signature, body, 1_700_000_000), "{bad}");
        }
        assert!(!is_valid(&key, &t, "not base64!", body, 1_700_000_000));
        assert!(!is_valid(&key, &t, &STANDARD.encode([0; 63]), body, 1_700_000_000));
    }
}
