//! The console's languages: English, French and Dutch. The English text is the key, as
//! with gettext: `tr("Queue")` is the current request's translation from `locales/<lang>.toml`
//! (embedded in the binary), or the English text itself when a translation is missing.
//! Dates and numbers are written the local way. The language of a request is chosen once,
//! by [`within`], from the account's preference or the browser's `Accept-Language`.

use std::collections::HashMap;
use std::fmt::Display;
use std::sync::LazyLock;

use chrono::{DateTime, Datelike, TimeZone};

/// A language of the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Lang {
    /// English, the keys' language.
    #[default]
    En,
    /// French.
    Fr,
    /// Dutch.
    Nl,
}

/// Every language, in the order the console offers them.
pub const ALL: [Lang; 3] = [Lang::En, Lang::Fr, Lang::Nl];

static FR: LazyLock<HashMap<String, String>> =
    LazyLock::new(|| catalogue(include_str!("../../locales/fr.toml")));
static NL: LazyLock<HashMap<String, String>> =
    LazyLock::new(|| catalogue(include_str!("../../locales/nl.toml")));

/// Reads a catalogue. Its validity is a test's business (`every_text_of_the_console_is_translated`).
fn catalogue(text: &str) -> HashMap<String, String> {
    toml::from_str(text).unwrap_or_default()
}

tokio::task_local! {
    static CURRENT: Lang;
}

/// Runs `work` with `lang` as the language of everything it writes.
pub async fn within<F: Future>(lang: Lang, work: F) -> F::Output {
    CURRENT.scope(lang, work).await
}

/// The language of the request being answered (English outside of one).
#[must_use]
pub fn current() -> Lang {
    CURRENT.try_with(|l| *l).unwrap_or_default()
}

/// `english` in the current language.
#[must_use]
pub fn tr(english: &'static str) -> &'static str {
    current().text(english)
}

/// `english` in the current language, its `{name}`s replaced by the values given.
#[must_use]
pub fn trf(english: &'static str, values: &[(&str, &dyn Display)]) -> String {
    let mut out = tr(english).to_owned();
    for (name, value) in values {
        out = out.replace(&format!("{{{name}}}"), &value.to_string());
    }
    out
}

impl Lang {
    /// Its code: `en`, `fr`, `nl`.
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Fr => "fr",
            Self::Nl => "nl",
        }
    }

    /// Its name, in itself.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::En => "English",
            Self::Fr => "Français",
            Self::Nl => "Nederlands",
        }
    }

    /// The language of a code or a language tag (`fr`, `fr-BE`, `NL_be`).
    #[must_use]
    pub fn parse(tag: &str) -> Option<Self> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        ALL.into_iter().find(|l| l.code() == primary)
    }

    /// The browser's favourite among ours, from an `Accept-Language` header
    /// (`nl-BE,nl;q=0.9,en;q=0.5`); `None` when it names none of them.
    #[must_use]
    pub fn negotiate(accept_language: &str) -> Option<Self> {
        let mut best: Option<(Self, f32)> = None;
        for item in accept_language.split(',') {
            let mut parts = item.split(';');
            let Some(lang) = parts.next().and_then(Self::parse) else { continue };
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())
                .unwrap_or(0.0);
            if q > 0.0 && best.is_none_or(|(_, b)| q > b) {
                best = Some((lang, q));
            }
        }
        best.map(|(lang, _)| lang)
    }

    /// `english` in this language.
    #[must_use]
    pub fn text(self, english: &'static str) -> &'static str {
        let catalogue = match self {
            Self::En => return english,
            Self::Fr => &*FR,
            Self::Nl => &*NL,
        };
        catalogue.get(english).map_or(english, String::as_str)
    }

    /// A day and time the local way: `Mon 23/11 10:00`, `lun. 23/11 10:00`, `ma 23-11 10:00`.
    #[must_use]
    pub fn day_time<Tz: TimeZone>(self, at: &DateTime<Tz>) -> String
    where
        Tz::Offset: Display,
    {
        let weekday = at.weekday().num_days_from_monday() as usize;
        let (days, date) = match self {
            Self::En => (["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], "%d/%m %H:%M"),
            Self::Fr => (["lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."], "%d/%m %H:%M"),
            Self::Nl => (["ma", "di", "wo", "do", "vr", "za", "zo"], "%d-%m %H:%M"),
        };
        format!("{} {}", days[weekday], at.format(date))
    }

    /// A date the local way: `2026-11-23`, `23/11/2026`, `23-11-2026`.
    #[must_use]
    pub fn date(self, day: chrono::NaiveDate) -> String {
        match self {
            Self::En => day.format("%Y-%m-%d"),
            Self::Fr => day.format("%d/%m/%Y"),
            Self::Nl => day.format("%d-%m-%Y"),
        }
        .to_string()
    }

    /// A number with `decimals` decimals the local way: `1,234.5`, `1 234,5`, `1.234,5`.
    #[must_use]
    pub fn number(self, value: f64, decimals: usize) -> String {
        let (thousands, point) = match self {
            Self::En => (",", "."),
            Self::Fr => ("\u{202f}", ","),
            Self::Nl => (".", ","),
        };
        let text = format!("{:.*}", decimals, value.abs());
        let (whole, fraction) = text.split_once('.').map_or((text.as_str(), None), |(w, f)| (w, Some(f)));
        let mut grouped = String::new();
        for (i, digit) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i) % 3 == 0 {
                grouped.push_str(thousands);
            }
            grouped.push(digit);
        }
        let sign = if value < 0.0 && text.chars().any(|c| c.is_ascii_digit() && c != '0') { "-" } else { "" };
        match fraction {
            Some(f) => format!("{sign}{grouped}{point}{f}"),
            None => format!("{sign}{grouped}"),
        }
    }
}

/// A measure the current language's way, with no more decimals than it has (two at
/// most): `10`, `2,5`.
#[must_use]
pub fn measure(value: f64) -> String {
    let lang = current();
    let text = lang.number(value, 2);
    let point = if lang == Lang::En { '.' } else { ',' };
    if text.contains(point) { text.trim_end_matches('0').trim_end_matches(point).to_owned() } else { text }
}

/// The current language's way of writing a count.
#[must_use]
pub fn count(n: impl Into<u64>) -> String {
    #[allow(clippy::cast_precision_loss)]
    current().number(n.into() as f64, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_browser_s_favourite_language_is_chosen_by_its_weight() {
        assert_eq!(Lang::negotiate("nl-BE,nl;q=0.9,en;q=0.5"), Some(Lang::Nl));
        assert_eq!(Lang::negotiate("de-DE,de;q=0.9,fr;q=0.8,en;q=0.7"), Some(Lang::Fr));
        assert_eq!(Lang::negotiate("en;q=0.3, fr-BE"), Some(Lang::Fr));
        assert_eq!(Lang::negotiate("fr;q=0, en"), Some(Lang::En), "q=0 means not this one");
        assert_eq!(Lang::negotiate("de, es"), None);
        assert_eq!(Lang::negotiate(""), None);
        assert_eq!(Lang::parse("NL_be"), Some(Lang::Nl));
    }

    #[test]
    fn numbers_and_dates_are_written_the_local_way() {
        assert_eq!(Lang::En.number(1234.5, 1), "1,234.5");
        assert_eq!(Lang::Fr.number(1234.5, 1), "1\u{202f}234,5");
        assert_eq!(Lang::Nl.number(1_234_567.0, 0), "1.234.567");
        assert_eq!(Lang::Nl.number(-0.04, 1), "0,0");
        assert_eq!(Lang::Fr.number(-12.25, 1), "-12,2");
        let at = chrono::Utc.with_ymd_and_hms(2026, 11, 23, 9, 5, 0).unwrap();
        assert_eq!(Lang::En.day_time(&at), "Mon 23/11 09:05");
        assert_eq!(Lang::Fr.day_time(&at), "lun. 23/11 09:05");
        assert_eq!(Lang::Nl.day_time(&at), "ma 23-11 09:05");
        assert_eq!(Lang::Fr.date(at.date_naive()), "23/11/2026");
    }

    #[test]
    fn a_missing_translation_is_the_english_text_and_values_fill_their_names() {
        assert_eq!(Lang::Fr.text("a text nobody translated"), "a text nobody translated");
        assert_eq!(Lang::Fr.text("Queue"), "File d'attente");
        let said = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(within(Lang::Nl, async { trf("Account {login} added.", &[("login", &"eve")]) }));
        assert_eq!(said, "Account eve toegevoegd.");
    }

    /// Every `tr("…")` and `trf("…")` of the sources has a French and a Dutch text with the
    /// same `{names}`, and neither catalogue keeps a text nobody asks for.
    #[test]
    fn every_text_of_the_console_is_translated() {
        let keys = used_texts(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src").as_path());
        assert!(keys.len() > 100, "the sources were read: {}", keys.len());
        for (lang, file) in
            [("fr", include_str!("../../locales/fr.toml")), ("nl", include_str!("../../locales/nl.toml"))]
        {
            let catalogue: HashMap<String, String> =
                toml::from_str(file).unwrap_or_else(|e| panic!("locales/{lang}.toml: {e}"));
            let mut problems = Vec::new();
            for key in &keys {
                match catalogue.get(key) {
                    None => problems.push(format!("missing: {key:?}")),
                    Some(text) if names(text) != names(key) => {
                        problems.push(format!("other {{names}}: {key:?} → {text:?}"));
                    }
                    Some(_) => {}
                }
            }
            for key in catalogue.keys().filter(|k| !keys.contains(*k)) {
                problems.push(format!("unused: {key:?}"));
            }
            problems.sort();
            assert!(problems.is_empty(), "locales/{lang}.toml:\n{}", problems.join("\n"));
        }
    }

    fn names(text: &str) -> Vec<&str> {
        let mut out: Vec<&str> =
            text.split('{').skip(1).filter_map(|rest| rest.split_once('}').map(|(name, _)| name)).collect();
        out.sort_unstable();
        out
    }

    /// The literal texts given to `tr(` and `trf(` in the `.rs` files under `dir`.
    fn used_texts(dir: &std::path::Path) -> std::collections::BTreeSet<String> {
        let mut out = std::collections::BTreeSet::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                out.extend(used_texts(&path));
            } else if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("i18n/mod.rs") {
                let source = std::fs::read_to_string(&path).unwrap();
                for call in ["tr(", "trf("] {
                    for (at, _) in source.match_indices(call) {
                        let before = source[..at].chars().next_back();
                        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                            continue;
                        }
                        if let Some(text) = source[at + call.len()..].trim_start().strip_prefix('"') {
                            out.insert(literal(text));
                        }
                    }
                }
            }
        }
        out
    }

    /// A Rust string literal's text, from just after its opening quote.
    fn literal(rest: &str) -> String {
        let mut out = String::new();
        let mut chars = rest.chars();
        while let Some(c) = chars.next() {
            match c {
                '"' => break,
                '\\' => match chars.next() {
                    Some('n') => out.push('\n'),
                    Some(other) => out.push(other),
                    None => break,
                },
                c => out.push(c),
            }
        }
        out
    }
}
