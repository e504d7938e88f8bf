//! `solidaire sounds generate`: the flows' prompts spoken by espeak-ng and converted by
//! sox to 8 kHz mono mu-law, written to the sounds folder with the text they say. A prompt
//! whose recording already says its current text is left alone (a city's own recordings
//! are never overwritten by a synthetic voice unless the text changed, or `--force`).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use chrono::{DateTime, Utc};

use super::{Library, Slot, is_dynamic, wav};
use crate::flow::Flows;

/// Words per minute: slower than espeak-ng's default, for callers who hear less well.
const WORDS_PER_MINUTE: &str = "140";

/// Why generation stopped.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// A program is missing.
    #[error("`{0}` is not installed (Debian: apt-get install espeak-ng sox)")]
    Missing(&'static str),
    /// A program failed.
    #[error("{program} failed for prompt `{prompt}` ({lang}): {detail}")]
    Failed {
        /// espeak-ng or sox.
        program: &'static str,
        /// Prompt id.
        prompt: String,
        /// Language.
        lang: String,
        /// Its error output.
        detail: String,
    },
    /// The result is not a usable prompt.
    #[error("prompt `{prompt}` ({lang}): {error}")]
    Unusable {
        /// Prompt id.
        prompt: String,
        /// Language.
        lang: String,
        /// Why.
        error: wav::WavError,
    },
    /// The sounds folder.
    #[error("sounds folder: {0}")]
    Io(#[from] std::io::Error),
}

/// What a run did.
#[derive(Debug, Default)]
pub struct Report {
    /// Written: `line/lang/prompt`, seconds.
    pub written: Vec<(String, f64)>,
    /// Already recorded for their current text.
    pub up_to_date: usize,
    /// Spoken by text-to-speech during the call (they hold a placeholder).
    pub dynamic: Vec<String>,
}

/// The espeak-ng voices installed, by name (`fr-be`, `nl`, `de`).
fn installed_voices() -> Result<Vec<String>, GenerateError> {
    let out = Command::new("espeak-ng")
        .arg("--voices")
        .output()
        .map_err(|_| GenerateError::Missing("espeak-ng"))?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().nth(1).map(str::to_ascii_lowercase))
        .collect())
}

/// The espeak-ng voice for a `<Say>` language (`fr-BE` → `fr-be`, `nl-BE` → `nl`).
fn espeak_voice(installed: &[String], say_language: &str, lang: &str) -> String {
    let full = say_language.to_ascii_lowercase();
    [full.clone(), full.split('-').next().unwrap_or(lang).to_owned(), lang.to_owned()]
        .into_iter()
        .find(|v| installed.contains(v))
        .unwrap_or_else(|| lang.to_owned())
}

fn run(
    program: &'static str,
    args: &[&std::ffi::OsStr],
    prompt: &str,
    lang: &str,
) -> Result<(), GenerateError> {
    let out = Command::new(program).args(args).output().map_err(|_| GenerateError::Missing(program))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(GenerateError::Failed {
            program,
            prompt: prompt.to_owned(),
            lang: lang.to_owned(),
            detail: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        })
    }
}

/// Speaks one text into a telephone WAV file's bytes.
fn speak(voice: &str, text: &str, prompt: &str, lang: &str, work: &Path) -> Result<Vec<u8>, GenerateError> {
    let raw = work.join("raw.wav");
    let phone = work.join("phone.wav");
    run(
        "espeak-ng",
        &[
            "-v".as_ref(),
            voice.as_ref(),
            "-s".as_ref(),
            WORDS_PER_MINUTE.as_ref(),
            "-w".as_ref(),
            raw.as_os_str(),
            "--".as_ref(),
            text.as_ref(),
        ],
        prompt,
        lang,
    )?;
    run(
        "sox",
        &[
            raw.as_os_str(),
            "-r".as_ref(),
            "8000".as_ref(),
            "-c".as_ref(),
            "1".as_ref(),
            "-e".as_ref(),
            "u-law".as_ref(),
            phone.as_os_str(),
        ],
        prompt,
        lang,
    )?;
    let bytes = std::fs::read(&phone)?;
    wav::decode(&bytes).and_then(|audio| wav::check(&audio)).map_err(|error| GenerateError::Unusable {
        prompt: prompt.to_owned(),
        lang: lang.to_owned(),
        error,
    })?;
    Ok(bytes)
}

/// Generates the missing and outdated recordings of every prompt of every flow
/// (`force`: all of them), printing each one to `progress`.
///
/// # Errors
/// A missing program, a failed conversion, the folder.
pub fn generate(
    flows: &Flows,
    root: &Path,
    force: bool,
    now: DateTime<Utc>,
    progress: &mut dyn FnMut(&str),
) -> Result<Report, GenerateError> {
    let installed = installed_voices()?;
    let library = Library::scan(root)?;
    let mut report = Report::default();
    // (line, lang, prompt) → (text, voice).
    let mut wanted: BTreeMap<(String, String, String), (String, String)> = BTreeMap::new();
    for flow in flows.iter() {
        for (id, texts) in &flow.file.prompts {
            for lang in &flow.file.line.languages {
                let lang = lang.get_ref();
                let Some(text) = texts.get(lang.as_str()) else { continue };
                if is_dynamic(text) {
                    report.dynamic.push(Slot::new(&flow.id, lang, id.get_ref()).path());
                    continue;
                }
                let voice = espeak_voice(&installed, &flow.voice(lang).language, lang);
                let slot = (flow.id.clone(), lang.clone(), id.get_ref().clone());
                wanted.insert(slot, (text.trim().to_owned(), voice));
            }
        }
    }
    let work = tempfile_dir(root)?;
    let result = (|| {
        for ((line, lang, prompt), (text, voice)) in &wanted {
            let slot = Slot::new(line, lang, prompt);
            if !force && library.get(slot).is_some_and(|r| r.says(text)) {
                report.up_to_date += 1;
                continue;
            }
            let bytes = speak(voice, text, prompt, lang, &work)?;
            let seconds = wav::seconds(&bytes).unwrap_or_default();
            super::replace(root, slot, &bytes, text, now)?;
            progress(&format!("{}.wav  {seconds:5.1} s  (espeak-ng {voice})", slot.path()));
            report.written.push((slot.path(), seconds));
        }
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&work);
    // The scratch parent goes too when no other run uses it.
    let _ = std::fs::remove_dir(root.join(".work"));
    result.map(|()| report)
}

/// A scratch folder inside the sounds folder's hidden area.
fn tempfile_dir(root: &Path) -> std::io::Result<std::path::PathBuf> {
    let dir = root.join(".work").join(format!("generate-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
