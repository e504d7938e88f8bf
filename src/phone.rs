//! Phone numbers: parsed once at the boundary into [`E164`], then trusted.
//!
//! Callers' numbers are personal data. [`E164`]'s `Display` and `Debug` print the masked
//! form (`+32 4** ** ** 67`), so a number that slips into a log line is never whole; the
//! full form is reached only through [`E164::as_str`], on purpose.

use std::fmt;

use phonenumber::{Mode, PhoneNumber, Type, country};
use serde::{Deserialize, Serialize};

/// A valid phone number in E.164 form (`+3242211111`).
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct E164(String);

/// Why a number typed by a caller cannot be used for a callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    /// Not a number of any known plan (too short, too long, wrong prefix).
    #[error("not a valid phone number")]
    Invalid,
    /// A number that costs the city money or reaches a service, not a person.
    #[error("premium, shared-cost or short numbers are not called back")]
    NotCallable,
}

/// A region (ISO 3166 alpha-2, `BE`) that numbers without a country code belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region(country::Id);

impl Region {
    /// Parses `BE`, `FR`, `NL`, … (case-insensitive).
    ///
    /// # Errors
    /// When the code names no region of the numbering plan.
    pub fn parse(code: &str) -> Result<Self, String> {
        code.to_ascii_uppercase()
            .parse::<country::Id>()
            .map(Self)
            .map_err(|_| format!("`{code}` is not a region code (expected e.g. BE, FR, NL)"))
    }
}

impl Default for Region {
    fn default() -> Self {
        Self(country::Id::BE)
    }
}

impl E164 {
    /// Parses a number typed or received in any usual form, national numbers being read
    /// in `region`.
    ///
    /// # Errors
    /// [`PhoneError::Invalid`] when the number is not valid in the numbering plan,
    /// [`PhoneError::NotCallable`] for premium-rate, shared-cost and short numbers.
    pub fn parse(input: &str, region: Region) -> Result<Self, PhoneError> {
        let input = input.trim();
        if input.is_empty() || input.len() > 32 {
            return Err(PhoneError::Invalid);
        }
        let number = phonenumber::parse(Some(region.0), input).map_err(|_| PhoneError::Invalid)?;
        // The type is read from the number's region's plan, as `is_valid` reads it, but
        // without its leading zeros: with none (every Belgian and French number), a known
        // type is exactly `is_valid`; with some, `is_valid` is asked too (a type alone
        // accepts `00 0100000000` read in France, as the proptest below found). Asking
        // both every time doubled the cost of reading a caller's number.
        let kind = number.number_type(&phonenumber::metadata::DATABASE);
        if kind == Type::Unknown || (number.national().zeros() > 0 && !number.is_valid()) {
            return Err(PhoneError::Invalid);
        }
        match kind {
            Type::PremiumRate | Type::SharedCost | Type::ShortCode | Type::Emergency => {
                Err(PhoneError::NotCallable)
            }
            // What the E.164 formatter writes, without its search for a national format.
            _ => Ok(Self(format!("+{}{}", number.country().code(), number.national()))),
        }
    }

    /// Reads the provider's `From`: a number when there is one, `None` for withheld or
    /// unusable caller IDs (`anonymous`, `unknown`, `restricted`, `+266696687`, empty).
    #[must_use]
    pub fn caller_id(from: &str, region: Region) -> Option<Self> {
        let from = from.trim();
        if from.is_empty()
            || from == "+266696687"
            || !from.starts_with(|c: char| c == '+' || c.is_ascii_digit())
        {
            return None;
        }
        Self::parse(from, region).ok()
    }

    /// A number already written in E.164 (`+3242211111`; spaces, dots, dashes and slashes
    /// between digits are dropped), checked for its shape only: `+`, a first digit that
    /// is not 0, 8 to 15 digits in all. Cheap, with no numbering-plan data: for numbers
    /// the service stored or a flow file names. [`E164::is_in_plan`] is the full check.
    ///
    /// # Errors
    /// [`PhoneError::Invalid`] when the shape is wrong.
    pub fn from_e164(value: &str) -> Result<Self, PhoneError> {
        let value = value.trim();
        let Some(rest) = value.strip_prefix('+') else { return Err(PhoneError::Invalid) };
        let mut digits = String::with_capacity(16);
        digits.push('+');
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '.' | '-' | '/' => {}
                _ => return Err(PhoneError::Invalid),
            }
        }
        let count = digits.len() - 1;
        if !(8..=15).contains(&count) || digits.as_bytes()[1] == b'0' {
            return Err(PhoneError::Invalid);
        }
        Ok(Self(digits))
    }

    /// Whether the number is valid in the numbering plan of its country (loads the plan's
    /// metadata on first use, about a tenth of a second).
    #[must_use]
    pub fn is_in_plan(&self) -> bool {
        phonenumber::parse(None, &self.0).is_ok_and(|n| n.is_valid())
    }

    /// The full number. Only for the database, a `<Dial>` and the agent holding a claim.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number as a resident knows it (`0470 12 34 56` in Belgium for a Belgian
    /// number, international form otherwise), grouped as it is usually said.
    #[must_use]
    pub fn spoken_form(&self, region: Region) -> String {
        let Ok(number) = phonenumber::parse(None, &self.0) else {
            return self.0.clone();
        };
        let same_country = number_region(&number) == Some(region.0);
        let mode = if same_country { Mode::National } else { Mode::International };
        number.format().mode(mode).to_string()
    }

    /// The masked form for logs and lists: country code, first digit and last two
    /// digits kept (`+32 4** ** ** 67`).
    #[must_use]
    pub fn masked(&self) -> String {
        mask(&self.0)
    }
}

fn number_region(number: &PhoneNumber) -> Option<country::Id> {
    number.country().id()
}

/// Masks any string that may hold a phone number: keeps a leading `+` and country code
/// guess (two digits), the next digit and the last two; everything else becomes `*`.
#[must_use]
pub fn mask(number: &str) -> String {
    let digits: Vec<char> = number.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < 6 {
        return "*".repeat(digits.len().max(3));
    }
    let plus = number.trim_start().starts_with('+');
    let (head, rest) = digits.split_at(if plus { 2 } else { 1 });
    let keep_from = rest.len() - 2;
    let shown: Vec<char> =
        rest.iter().enumerate().map(|(i, d)| if i == 0 || i >= keep_from { *d } else { '*' }).collect();
    // Groups as numbers are said: pairs, with a group of three first when the count is odd.
    let first = if shown.len() % 2 == 1 { 3 } else { 2 };
    let mut groups = vec![shown[..first].iter().collect::<String>()];
    groups.extend(shown[first..].chunks(2).map(|c| c.iter().collect::<String>()));
    format!("{}{} {}", if plus { "+" } else { "" }, head.iter().collect::<String>(), groups.join(" "))
}

/// Masks every number of six digits or more inside `text`, however its digits are
/// separated (spaces, commas, dots, dashes): a prompt read back to the caller says their
/// number digit by digit (`0, 4, 7, 0. 1, 2. …`), a typed number is logged as keys. All
/// but the last two digits become `*`; a postcode or a request number stays as it is.
#[must_use]
pub fn mask_spoken_numbers(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out: Vec<char> = chars.clone();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        // A run: digits, and separators between them.
        let mut digits = vec![i];
        let mut j = i + 1;
        while j < chars.len() && (chars[j].is_ascii_digit() || matches!(chars[j], ' ' | ',' | '.' | '-')) {
            if chars[j].is_ascii_digit() {
                digits.push(j);
            }
            j += 1;
        }
        if digits.len() >= 6 {
            for &at in &digits[..digits.len() - 2] {
                out[at] = '*';
            }
        }
        i = j;
    }
    out.into_iter().collect()
}

/// Masks every phone number inside `text` (nine digits or more, maybe after a `+`, maybe
/// in groups separated by spaces): a provider's error message may quote the number it
/// refused, and it is logged and shown to coordinators.
#[must_use]
pub fn mask_numbers_in(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        let trailing: String = run.chars().rev().take_while(|c| !c.is_ascii_digit()).collect();
        let body = &run[..run.len() - trailing.len()];
        if body.chars().filter(char::is_ascii_digit).count() >= 9 {
            out.push_str(&mask(body));
        } else {
            out.push_str(body);
        }
        out.extend(trailing.chars().rev());
        run.clear();
    };
    for c in text.chars() {
        let continues = c.is_ascii_digit() || (!run.is_empty() && c == ' ');
        if continues || (c == '+' && run.is_empty()) {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// Writes digits so that a text-to-speech voice reads them one by one: `0470 12` becomes
/// `0, 4, 7, 0. 1, 2`. Groups separated by spaces in the input are kept as short pauses.
#[must_use]
pub fn spell_digits(text: &str) -> String {
    text.split_whitespace()
        .map(|group| {
            group
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '+')
                .map(String::from)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .filter(|g| !g.is_empty())
        .collect::<Vec<_>>()
        .join(". ")
}

impl TryFrom<String> for E164 {
    type Error = PhoneError;

    /// Reads a number this program wrote itself (the database, a flow file), checking its
    /// E.164 shape only; see [`E164::from_e164`].
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::from_e164(&value)
    }
}

impl From<E164> for String {
    fn from(value: E164) -> Self {
        value.0
    }
}

impl fmt::Display for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Debug for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "E164({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_quoted_in_a_message_are_masked_and_the_rest_is_kept() {
        assert_eq!(
            mask_numbers_in("The number +32470111111 is unverified. Error 21219, see 0470 12 34 56."),
            "The number +32 4** ** ** 11 is unverified. Error 21219, see 0 4** ** ** 56."
        );
        assert_eq!(mask_numbers_in("no number, 2026-12-02"), "no number, 2026-12-02");
    }

    #[test]
    fn numbers_said_digit_by_digit_or_typed_are_masked_postcodes_are_not() {
        assert_eq!(
            mask_spoken_numbers("au numéro 0, 4, 7, 0. 1, 2. 3, 4. 5, 6. Pour confirmer, tapez 1."),
            "au numéro *, *, *, *. *, *. *, *. 5, 6. Pour confirmer, tapez 1."
        );
        assert_eq!(mask_spoken_numbers("042211111#"), "*******11#");
        assert_eq!(
            mask_spoken_numbers("Code postal 4, 0, 2, 0, c'est noté."),
            "Code postal 4, 0, 2, 0, c'est noté."
        );
        assert_eq!(mask_spoken_numbers("le numéro 12."), "le numéro 12.");
    }

    #[test]
    fn national_belgian_numbers_become_e164() {
        let n = E164::parse("0470 12 34 56", Region::default()).unwrap();
        assert_eq!(n.as_str(), "+32470123456");
        assert_eq!(n.spoken_form(Region::default()), "0470 12 34 56");
    }

    #[test]
    fn premium_and_short_numbers_are_refused() {
        assert_eq!(E164::parse("0903 12 345", Region::default()), Err(PhoneError::NotCallable));
        assert!(E164::parse("112", Region::default()).is_err());
        assert_eq!(E164::parse("0470", Region::default()), Err(PhoneError::Invalid));
    }

    proptest::proptest! {
        /// One type lookup decides as the crate's own validity check followed by the type.
        #[test]
        fn parse_decides_as_the_crate_s_validity_check_and_type(
            prefix in proptest::sample::select(vec!["", "0", "+32", "+33", "+31", "+1", "00"]),
            digits in "[0-9]{2,12}",
            region in proptest::sample::select(vec!["BE", "FR", "NL"]),
        ) {
            let input = format!("{prefix}{digits}");
            let region = Region::parse(region).unwrap();
            let expected = phonenumber::parse(Some(region.0), &input).map_err(|_| PhoneError::Invalid).and_then(|n| {
                if !n.is_valid() {
                    return Err(PhoneError::Invalid);
                }
                match n.number_type(&phonenumber::metadata::DATABASE) {
                    Type::PremiumRate | Type::SharedCost | Type::ShortCode | Type::Emergency => {
                        Err(PhoneError::NotCallable)
                    }
                    _ => Ok(n.format().mode(Mode::E164).to_string()),
                }
            });
            proptest::prop_assert_eq!(E164::parse(&input, region).map(|n| n.0), expected);
        }
    }

    #[test]
    fn withheld_caller_ids_are_none() {
        for from in ["anonymous", "unknown", "restricted", "+266696687", "", "  "] {
            assert_eq!(E164::caller_id(from, Region::default()), None, "{from:?}");
        }
        assert!(E164::caller_id("+3242211111", Region::default()).is_some());
    }

    #[test]
    fn masks_keep_country_first_and_last_two_digits() {
        assert_eq!(mask("+32470123456"), "+32 4** ** ** 56");
        let shown = format!("{}", E164::parse("+32470123456", Region::default()).unwrap());
        assert!(!shown.contains("470123456"), "{shown}");
    }

    #[test]
    fn stored_numbers_are_read_by_shape_and_checked_against_the_plan_apart() {
        let n = E164::from_e164("+32 4 221 00 09").unwrap();
        assert_eq!(n.as_str(), "+3242210009");
        assert!(n.is_in_plan());
        for bad in ["3242210009", "+0422100", "+32 42a", "+321", "+3242210009123456", ""] {
            assert_eq!(E164::from_e164(bad), Err(PhoneError::Invalid), "{bad:?}");
        }
        // The right shape, but no such number in Belgium's plan.
        assert!(!E164::from_e164("+3212").is_ok_and(|n| n.is_in_plan()));
        assert!(!E164::from_e164("+32000000000").unwrap().is_in_plan());
        let json = serde_json::to_string(&n).unwrap();
        assert_eq!(serde_json::from_str::<E164>(&json).unwrap(), n);
    }

    #[test]
    fn digits_are_spelled_one_by_one_with_pauses_between_groups() {
        assert_eq!(spell_digits("0470 12"), "0, 4, 7, 0. 1, 2");
        assert_eq!(spell_digits("4020"), "4, 0, 2, 0");
    }
}
