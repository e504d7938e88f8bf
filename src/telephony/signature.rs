//! `X-Twilio-Signature`: HMAC-SHA1 over the public URL followed by the sorted form
//! parameters, keyed with the account's auth token, base64. Checked in constant time, and
//! against the URL both with and without the default port, since the provider signs
//! either form.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha1::Sha1;

type HmacSha1 = Hmac<Sha1>;

fn mac<K: AsRef<str>, V: AsRef<str>>(token: &str, url: &str, params: &[(K, V)]) -> HmacSha1 {
    let mut mac = HmacSha1::new_from_slice(token.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(url.as_bytes());
    // Sorted by name, then (for a repeated name) by value; identical pairs counted once.
    let mut pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_ref(), v.as_ref())).collect();
    pairs.sort_unstable();
    pairs.dedup();
    for (name, value) in pairs {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    mac
}

/// The signature the provider computes for `url` and form `params`.
#[must_use]
pub fn compute<K: AsRef<str>, V: AsRef<str>>(token: &str, url: &str, params: &[(K, V)]) -> String {
    STANDARD.encode(mac(token, url, params).finalize().into_bytes())
}

/// Whether `signature` is right for `url` (with or without its default port) and `params`.
#[must_use]
pub fn is_valid<K: AsRef<str>, V: AsRef<str>>(
    token: &str,
    url: &str,
    params: &[(K, V)],
    signature: &str,
) -> bool {
    let Ok(given) = STANDARD.decode(signature.trim()) else { return false };
    let signs = |candidate: &str| mac(token, candidate, params).verify_slice(&given).is_ok();
    signs(url) || other_port_form(url).is_some_and(|other| signs(&other))
}

/// The URL in its other form: with the scheme's default port added when it has none,
/// with it removed when it has it. A URL with another port has no other form: the
/// provider signs it as configured, port included.
fn other_port_form(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let (authority, path) = rest.find(['/', '?']).map_or((rest, ""), |i| rest.split_at(i));
    let default_port = match scheme {
        "https" => "443",
        "http" => "80",
        _ => return None,
    };
    // Userinfo and IPv6 literals are not used in provider URLs; a port is what follows
    // the last ':' of the authority.
    Some(match authority.rsplit_once(':') {
        Some((host, port)) if port == default_port => format!("{scheme}://{host}{path}"),
        Some((_, port)) if port.chars().all(|c| c.is_ascii_digit()) => return None,
        _ => format!("{scheme}://{authority}:{default_port}{path}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    fn call(caller: &str) -> Vec<(String, String)> {
        p(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", caller),
            ("Digits", "1234"),
            ("From", caller),
            ("To", "+18005551212"),
        ])
    }

    const URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";

    #[test]
    fn known_answers_from_the_provider() {
        assert_eq!(compute("12345", URL, &call("+14158675309")), "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
        assert_eq!(
            compute("12345", "https://mycompany.com:443/myapp.php?foo=1&bar=2", &call("+14158675309")),
            "kvajT1Ptam85bY51eRf/AJRuM3w="
        );
        assert_eq!(
            compute("12345", "http://mycompany.com:1234/myapp.php?foo=1&bar=2", &call("+14158675309")),
            "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="
        );
        assert_eq!(
            compute("12345", "https://example.com/myapp.php?foo=1&bar=2", &call("+14158675310")),
            "L/OH5YylLD5NRKLltdqwSvS0BnU="
        );
        let repeated = p(&[
            ("Sid", "CA123"),
            ("SidAccount", "AC123"),
            ("Digits", "5678"),
            ("Digits", "1234"),
            ("Digits", "1234"),
        ]);
        assert_eq!(compute("12345", URL, &repeated), "IK+Dwps556ElfBT0I3Rgjkr1wJU=");
    }

    #[test]
    fn either_port_form_is_accepted() {
        let params = call("+14158675309");
        assert!(is_valid("12345", URL, &params, "kvajT1Ptam85bY51eRf/AJRuM3w="));
        assert!(is_valid(
            "12345",
            "https://mycompany.com:443/myapp.php?foo=1&bar=2",
            &params,
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        ));
    }

    #[test]
    fn only_the_default_port_is_added_or_dropped() {
        let params = call("+14158675309");
        let on_1234 = "http://mycompany.com:1234/myapp.php?foo=1&bar=2";
        assert!(is_valid("12345", on_1234, &params, "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="));
        // Signed for the URL without a port: not valid for port 1234, nor for 8443.
        let unported = compute("12345", "http://mycompany.com/myapp.php?foo=1&bar=2", &params);
        assert!(!is_valid("12345", on_1234, &params, &unported));
        assert!(!is_valid(
            "12345",
            "https://mycompany.com:8443/myapp.php?foo=1&bar=2",
            &params,
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        ));
        assert_eq!(other_port_form("http://mycompany.com:80/a").as_deref(), Some("http://mycompany.com/a"));
        assert_eq!(other_port_form("http://mycompany.com/a").as_deref(), Some("http://mycompany.com:80/a"));
        assert_eq!(other_port_form("http://mycompany.com:8080/a"), None);
    }

    #[test]
    fn forgeries_are_refused() {
        let params = call("+14158675309");
        assert!(!is_valid("12345", URL, &params, "RSOYDt4T1cUTdK1PDd93/VVr8B8"));
        assert!(!is_valid("54321", URL, &params, "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
        assert!(!is_valid("12345", URL, &call("+14158675310"), "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
        assert!(!is_valid("12345", URL, &params, "not base64!"));
    }
}
