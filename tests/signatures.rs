//! Webhook signatures against the providers' own code: the official `twilio` Node SDK and
//! SignalWire's `@signalwire/compatibility-api` (both installed by `scripts/test` from
//! npm) compute the signatures of real webhook bodies — accents, spaces, `+`, `%`, empty
//! and repeated parameters, the URL with and without its port — and the service must
//! accept exactly those, from either header, with Twilio's auth token or SignalWire's
//! signing key, and refuse any other.

mod common;

use common::console::send_body;
use common::*;
use serde_json::{Value, json};

const SIGNING_KEY: &str = "PSK_signalwire_project_signing_key";

/// The bodies of real webhooks, as the provider sends them (form-encoded).
const BODIES: &[&str] = &[
    "AccountSid=AC0123456789abcdef0123456789abcdef&ApiVersion=2010-04-01&CallSid=CA11111111111111111111111111111111&CallStatus=ringing&Called=%2B3280043436&Caller=%2B32470123456&Direction=inbound&From=%2B32470123456&FromCity=&FromCountry=BE&To=%2B3280043436",
    "CallSid=CA22222222222222222222222222222222&From=%2B32470123456&To=%2B3280043436&CallerName=Jos%C3%A9+M%C3%BCller+%26+fils&Note=50%25+off+%2B+more&Empty=",
    "CallSid=CA33333333333333333333333333333333&From=anonymous&To=%2B3280043436&Digits=%2A%23&SpeechResult=oui%2C+c%27est+%C3%A7a",
];

/// What the SDKs say of `url` and `body`: each one's signature, and whether each accepts
/// the signature `ours` (computed by the service's own code).
fn oracle(secret: &str, url: &str, body: &str, ours: &str) -> Value {
    let tools = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/tools/npm/node_modules");
    assert!(
        tools.join("twilio").exists() && tools.join("@signalwire/compatibility-api").exists(),
        "the twilio and @signalwire/compatibility-api SDKs are missing: run scripts/test, which installs them"
    );
    // The parameters as the SDKs' own middleware reads a form body (repeated names: a list).
    let script = r"
        const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
        const twilio = require('twilio');
        // Its signature function is not exported by name: the file itself (its public
        // RestClient.validateRequest is checked below).
        const signalwire = require(process.env.NODE_PATH + '/@signalwire/compatibility-api/lib/webhooks/webhooks.js');
        const { RestClient } = require('@signalwire/compatibility-api');
        const params = {};
        for (const [k, v] of new URLSearchParams(input.body)) {
            params[k] = k in params ? [].concat(params[k], v) : v;
        }
        console.log(JSON.stringify({
            twilio: twilio.getExpectedTwilioSignature(input.secret, input.url, params),
            signalwire: signalwire.getExpectedTwilioSignature(input.secret, input.url, params),
            twilio_accepts_ours: twilio.validateRequest(input.secret, input.ours, input.url, params),
            signalwire_accepts_ours: RestClient.validateRequest(input.secret, input.ours, input.url, params, true),
        }));
    ";
    node(script, &json!({ "secret": secret, "url": url, "body": body, "ours": ours }))
}

/// Posts `body` to `/voice/incoming` with `header: signature`; returns the status.
async fn post(app: &TestApp, header: &str, signature: &str, body: &str) -> u16 {
    let headers = [("content-type", "application/x-www-form-urlencoded"), (header, signature)];
    send_body(app, "POST", "/voice/incoming", "", &headers, body.as_bytes().to_vec()).await.status
}

/// The same text with its first character that is a letter changed.
fn flipped(signature: &str) -> String {
    let at = signature.find(|c: char| c.is_ascii_alphabetic()).unwrap();
    let c = signature.as_bytes()[at];
    let other = if c == b'A' { 'B' } else { 'A' };
    format!("{}{other}{}", &signature[..at], &signature[at + 1..])
}

#[tokio::test]
async fn the_service_accepts_exactly_what_the_twilio_and_signalwire_sdks_sign() {
    let app = spawn_app(Options {
        token: Some(AUTH_TOKEN.to_owned()),
        signalwire_key: Some(SIGNING_KEY.to_owned()),
        ..Options::default()
    })
    .await;
    let url = format!("{PUBLIC_URL}/voice/incoming");
    let with_port = format!("{PUBLIC_URL}:443/voice/incoming");
    for body in BODIES {
        let pairs: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes()).into_owned().collect();
        for (secret, header) in [
            (AUTH_TOKEN, "x-twilio-signature"),
            (SIGNING_KEY, "x-signalwire-signature"),
            (SIGNING_KEY, "x-twilio-signature"),
        ] {
            let ours = solidaire::telephony::signature::compute(secret, &url, &pairs);
            let said = oracle(secret, &url, body, &ours);
            assert_eq!(said["twilio"], said["signalwire"], "the two SDKs agree: {said}");
            assert_eq!(said["twilio"], ours.as_str(), "the same signature as the SDKs: {body}");
            assert_eq!(said["twilio_accepts_ours"], true, "{said}");
            assert_eq!(said["signalwire_accepts_ours"], true, "{said}");

            let signed = said["twilio"].as_str().unwrap();
            assert_eq!(post(&app, header, signed, body).await, 200, "{header} with {secret}: {body}");
            assert_eq!(post(&app, header, &flipped(signed), body).await, 403, "a changed signature");
            // The SDKs accept the URL signed with its default port too; so does the service.
            let ported = oracle(secret, &with_port, body, &ours);
            let signed = ported["twilio"].as_str().unwrap();
            assert_eq!(post(&app, header, signed, body).await, 200, "signed with :443");
        }
        // Another secret, a changed body, no signature at all: refused.
        let other = oracle("not our secret", &url, body, "")["twilio"].as_str().unwrap().to_owned();
        assert_eq!(post(&app, "x-twilio-signature", &other, body).await, 403);
        let signed = oracle(AUTH_TOKEN, &url, body, "")["twilio"].as_str().unwrap().to_owned();
        let changed = body.replace("CallSid=CA", "CallSid=CB");
        assert_eq!(post(&app, "x-twilio-signature", &signed, &changed).await, 403);
        let headers = [("content-type", "application/x-www-form-urlencoded")];
        let unsigned =
            send_body(&app, "POST", "/voice/incoming", "", &headers, body.as_bytes().to_vec()).await;
        assert_eq!(unsigned.status, 403);
    }
}

#[tokio::test]
async fn a_signalwire_signing_key_alone_is_enough_and_a_twilio_signature_is_then_refused() {
    let app = spawn_app(Options { signalwire_key: Some(SIGNING_KEY.to_owned()), ..Options::default() }).await;
    let url = format!("{PUBLIC_URL}/voice/incoming");
    let body = BODIES[0];
    let signed = oracle(SIGNING_KEY, &url, body, "")["signalwire"].as_str().unwrap().to_owned();
    assert_eq!(post(&app, "x-signalwire-signature", &signed, body).await, 200);
    let twilio = oracle(AUTH_TOKEN, &url, body, "")["twilio"].as_str().unwrap().to_owned();
    assert_eq!(post(&app, "x-twilio-signature", &twilio, body).await, 403, "Twilio's token is not ours here");
}
