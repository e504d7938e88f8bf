//! Recorded prompts. `sounds/<line>/<lang>/<prompt>.wav` is played instead of
//! text-to-speech when it exists; beside it, `<prompt>.txt` holds the text it says, so a
//! recording made for an older text is found (`solidaire flows check`). Each line has its
//! own folder: two cities say different things under one prompt id. Replaced recordings
//! are kept under `sounds/.versions/<line>/<lang>/<prompt>/` and can be restored. Prompts
//! with a placeholder (`{phone}`, `{postcode}`, `{request}`) are always spoken by
//! text-to-speech.

pub mod generate;
pub mod wav;

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use chrono::{DateTime, Utc};

use crate::flow::Flows;

/// A recording in force.
#[derive(Debug, Clone, PartialEq)]
pub struct Recording {
    /// Changes whenever the file does (size and modification time); part of its URL, so
    /// the provider's cache never plays an old take.
    pub tag: String,
    /// Its URL under the service's base: `/sounds/{line}/{lang}/{prompt}.wav?v={tag}`,
    /// made once (every answer that plays it would make it again).
    pub href: String,
    /// Length, from the WAV header.
    pub seconds: f64,
    /// The text it was recorded from, when known.
    pub text: Option<String>,
    /// When the file was last changed (nanoseconds since 1970), for `Last-Modified`.
    pub modified: u128,
    /// The file's bytes, kept in memory when the folder is small enough (see
    /// [`IN_MEMORY`]): served without touching the disk.
    pub audio: Option<Audio>,
}

/// A recording's bytes (shown by their length only).
#[derive(Clone, PartialEq, Eq)]
pub struct Audio(pub bytes::Bytes);

impl std::fmt::Debug for Audio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Audio({} bytes)", self.0.len())
    }
}

/// Recordings kept in memory at most, in bytes (the bundled ones take about 5 MB; a
/// minute of telephone audio about 1 MB); those beyond are read from the disk.
pub const IN_MEMORY: u64 = 64 << 20;
/// A recording larger than this is always read from the disk.
pub const IN_MEMORY_EACH: u64 = 4 << 20;

impl Recording {
    /// Whether it was recorded for `text` (a prompt's current text).
    #[must_use]
    pub fn says(&self, text: &str) -> bool {
        self.text.as_deref() == Some(text.trim())
    }
}

/// Recordings of one line, by language then prompt id.
type Shelf = HashMap<String, HashMap<String, Recording>>;

/// Every recording of the sounds folder, by line, language and prompt.
#[derive(Debug, Clone, Default)]
pub struct Library {
    /// By line, language, then prompt id (looked up with borrowed names on every webhook).
    recordings: HashMap<String, Shelf>,
    fingerprint: Vec<Stamp>,
    /// Folders holding recordings outside any line's folder (the layout before lines had
    /// their own): never played, reported.
    misplaced: Vec<PathBuf>,
}

/// Where a recording lives: a line, one of its languages, a prompt id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot<'a> {
    /// The line's id (its flow file's stem).
    pub line: &'a str,
    /// Language code.
    pub lang: &'a str,
    /// Prompt id.
    pub prompt: &'a str,
}

impl<'a> Slot<'a> {
    /// The slot of `prompt` in `lang` on `line`.
    #[must_use]
    pub fn new(line: &'a str, lang: &'a str, prompt: &'a str) -> Self {
        Self { line, lang, prompt }
    }

    /// Its path below the sounds folder (or the versions folder): `line/lang/prompt`.
    #[must_use]
    pub fn path(&self) -> String {
        format!("{}/{}/{}", self.line, self.lang, self.prompt)
    }

    fn checked(&self) -> io::Result<()> {
        if is_plain(self.line) && is_plain(self.lang) && is_plain(self.prompt) {
            Ok(())
        } else {
            Err(io::Error::new(io::ErrorKind::InvalidInput, "line, language and prompt must be plain names"))
        }
    }
}

/// A plain name: letters, digits, `_` and `-` (prompt ids and language codes).
#[must_use]
pub fn is_plain(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn modified_nanos(meta: &std::fs::Metadata) -> u128 {
    meta.modified().ok().and_then(|m| m.duration_since(UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos())
}

/// The tag of a file, in its `<Play>` URL and (quoted) as the `/sounds` server's ETag:
/// it changes whenever the file does.
#[must_use]
pub fn tag(meta: &std::fs::Metadata) -> String {
    format!("{:x}-{:x}", meta.len(), modified_nanos(meta))
}

/// The plain-named folders directly under `dir` (none when it is gone).
fn folders(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let listed = match std::fs::read_dir(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        listed => listed?,
    };
    let mut out = Vec::new();
    for entry in listed {
        let entry = entry?;
        let plain = entry.file_name().to_str().is_some_and(is_plain);
        if plain && gone_is_none(std::fs::metadata(entry.path()))?.is_some_and(|m| m.is_dir()) {
            out.push(entry.path());
        }
    }
    Ok(out)
}

/// The WAV and text files directly under `dir`, with size and modification time.
fn sound_files(dir: &Path, out: &mut Vec<Stamp>) -> io::Result<()> {
    let listed = match std::fs::read_dir(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        listed => listed?,
    };
    for file in listed {
        let file = file?;
        let path = file.path();
        if path.extension().is_some_and(|x| x == "wav" || x == "txt") {
            if let Some(meta) = gone_is_none(file.metadata())? {
                out.push((path, meta.len(), modified_nanos(&meta)));
            }
        }
    }
    Ok(())
}

/// A file as seen when the folder was read: path, size and modification time.
type Stamp = (PathBuf, u64, u128);

/// The WAV and text files under `root/<line>/<lang>/`, with size and modification time;
/// and the folders holding WAV files directly under `root/<name>/` (misplaced).
fn wav_files(root: &Path) -> io::Result<(Vec<Stamp>, Vec<PathBuf>)> {
    let mut files = Vec::new();
    let mut misplaced = Vec::new();
    for line in folders(root)? {
        let mut loose = Vec::new();
        sound_files(&line, &mut loose)?;
        if loose.iter().any(|(p, _, _)| p.extension().is_some_and(|x| x == "wav")) {
            misplaced.push(line.clone());
        }
        for lang in folders(&line)? {
            sound_files(&lang, &mut files)?;
        }
    }
    files.sort();
    misplaced.sort();
    Ok((files, misplaced))
}

/// A file removed while the folder is read is no file; any other failure (no more
/// descriptors, no permission) is the folder's, and fails the whole reading.
fn gone_is_none<T>(result: io::Result<T>) -> io::Result<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The first kilobytes of a file: enough for a WAV header.
fn head(path: &Path) -> io::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut buf = Vec::with_capacity(4096);
    std::fs::File::open(path)?.take(4096).read_to_end(&mut buf)?;
    Ok(buf)
}

impl Library {
    /// Reads what the folder holds, each recording's header only (a missing folder is an
    /// empty library): for checking and generating recordings.
    ///
    /// # Errors
    /// A folder or file that cannot be read (a missing folder is no error).
    pub fn scan(root: &Path) -> io::Result<Self> {
        Self::read(root, 0)
    }

    /// Reads the folder with the recordings' bytes, up to [`IN_MEMORY`]: the library the
    /// service plays and serves from.
    ///
    /// # Errors
    /// A folder or file that cannot be read, even for a moment (out of descriptors): the
    /// caller keeps the library in force rather than take a partial one, in which the
    /// prompts not read would be spoken by text-to-speech.
    pub fn load(root: &Path) -> io::Result<Self> {
        Self::read(root, IN_MEMORY)
    }

    /// Reads the folder, keeping the bytes of recordings up to `budget` bytes in all.
    fn read(root: &Path, budget: u64) -> io::Result<Self> {
        let (fingerprint, misplaced) = wav_files(root)?;
        let mut recordings: HashMap<String, Shelf> = HashMap::new();
        let mut in_memory = 0;
        for (path, _, _) in &fingerprint {
            if path.extension().is_none_or(|x| x != "wav") {
                continue;
            }
            let lang_dir = path.parent();
            let (Some(id), Some(lang), Some(line)) = (
                path.file_stem().and_then(|s| s.to_str()),
                lang_dir.and_then(Path::file_name).and_then(|s| s.to_str()),
                lang_dir.and_then(Path::parent).and_then(Path::file_name).and_then(|s| s.to_str()),
            ) else {
                continue;
            };
            if !is_plain(id) {
                continue;
            }
            let Some(meta) = gone_is_none(std::fs::metadata(path))? else { continue };
            let size = meta.len();
            let audio = if size <= IN_MEMORY_EACH && in_memory + size <= budget {
                let Some(bytes) = gone_is_none(std::fs::read(path))? else { continue };
                // Changed while being read: the next scan reads it again; until then, the disk.
                Some(bytes).filter(|bytes| bytes.len() as u64 == size)
            } else {
                None
            };
            let header = match &audio {
                Some(bytes) => Some(bytes[..bytes.len().min(4096)].to_vec()),
                None => gone_is_none(head(path))?,
            };
            let Some(seconds) = header.and_then(|b| wav::seconds(&b)) else {
                tracing::warn!(file = %path.display(), "not a readable WAV file: the prompt stays spoken by text-to-speech");
                continue;
            };
            in_memory += audio.as_ref().map_or(0, |a| a.len() as u64);
            let text = std::fs::read_to_string(path.with_extension("txt")).ok().map(|t| t.trim().to_owned());
            let tag = tag(&meta);
            let href = format!("/sounds/{line}/{lang}/{id}.wav?v={tag}");
            let recording = Recording {
                href,
                tag,
                seconds,
                text,
                modified: modified_nanos(&meta),
                audio: audio.map(|bytes| Audio(bytes.into())),
            };
            let shelf = recordings.entry(line.to_owned()).or_default();
            shelf.entry(lang.to_owned()).or_default().insert(id.to_owned(), recording);
        }
        Ok(Self { recordings, fingerprint, misplaced })
    }

    /// Folders holding recordings directly (`sounds/fr/`), outside any line's folder:
    /// they are never played. Move each into the folder of the line it was made for
    /// (`sounds/liege/fr/`).
    #[must_use]
    pub fn misplaced(&self) -> &[PathBuf] {
        &self.misplaced
    }

    /// Whether the folder changed since this library was read (a folder that cannot be
    /// read now has not: the library in force stays).
    #[must_use]
    pub fn is_stale(&self, root: &Path) -> bool {
        wav_files(root).is_ok_and(|(files, _)| files != self.fingerprint)
    }

    /// The recording in `slot`.
    #[must_use]
    pub fn get(&self, slot: Slot<'_>) -> Option<&Recording> {
        self.recordings.get(slot.line)?.get(slot.lang)?.get(slot.prompt)
    }

    /// The absolute URL the provider fetches for `slot`, when recorded.
    #[must_use]
    pub fn url(&self, base: &str, slot: Slot<'_>) -> Option<String> {
        self.get(slot).map(|r| [base, r.href.as_str()].concat())
    }

    /// How many recordings.
    #[must_use]
    pub fn len(&self) -> usize {
        self.recordings.values().flat_map(HashMap::values).map(HashMap::len).sum()
    }

    /// Whether there is none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

pub use crate::flow::prompts::is_dynamic;

/// What `flows check` says about a prompt's recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// Recorded for another text: callers would hear words the flow no longer says.
    Stale {
        /// Flow file.
        path: PathBuf,
        /// `line/lang/prompt`.
        slot: String,
    },
    /// No recording: spoken by text-to-speech.
    Missing {
        /// `line/lang/prompt`.
        slot: String,
    },
}

/// Compares each prompt of each flow with its recording.
#[must_use]
pub fn findings(flows: &Flows, library: &Library) -> Vec<Finding> {
    let mut out = Vec::new();
    for flow in flows.iter() {
        for (id, texts) in &flow.file.prompts {
            for lang in &flow.file.line.languages {
                let lang = lang.get_ref();
                let Some(text) = texts.get(lang.as_str()) else { continue };
                if is_dynamic(text) {
                    continue;
                }
                let here = Slot::new(&flow.id, lang, id.get_ref());
                match library.get(here) {
                    None => out.push(Finding::Missing { slot: here.path() }),
                    Some(r) if !r.says(text) => {
                        out.push(Finding::Stale { path: flow.path.clone(), slot: here.path() });
                    }
                    Some(_) => {}
                }
            }
        }
    }
    out
}

/// A replaced recording, kept.
#[derive(Debug, Clone, PartialEq)]
pub struct Version {
    /// Its name in the versions folder (the time it was replaced, `20261122T101500123Z`).
    pub name: String,
    /// When it was replaced.
    pub replaced_at: DateTime<Utc>,
    /// Length.
    pub seconds: f64,
    /// The text it said, when known.
    pub text: Option<String>,
}

fn current(root: &Path, slot: Slot<'_>) -> PathBuf {
    root.join(slot.line).join(slot.lang).join(format!("{}.wav", slot.prompt))
}

/// The folder of a slot's kept versions.
#[must_use]
pub fn versions_dir(root: &Path, slot: Slot<'_>) -> PathBuf {
    root.join(".versions").join(slot.line).join(slot.lang).join(slot.prompt)
}

/// Writes a file whole or not at all (a call fetching it never reads half a file).
fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// Moves the recording in force (and its text) into the versions folder.
fn keep_current(root: &Path, slot: Slot<'_>, now: DateTime<Utc>) -> io::Result<()> {
    let wav = current(root, slot);
    if !wav.exists() {
        return Ok(());
    }
    let dir = versions_dir(root, slot);
    std::fs::create_dir_all(&dir)?;
    let mut name = now.format("%Y%m%dT%H%M%S%3fZ").to_string();
    while dir.join(format!("{name}.wav")).exists() {
        name.push('a');
    }
    std::fs::copy(&wav, dir.join(format!("{name}.wav")))?;
    let text = wav.with_extension("txt");
    if text.exists() {
        std::fs::copy(&text, dir.join(format!("{name}.txt")))?;
    }
    Ok(())
}

/// Puts a new recording in `slot` in force (already checked and converted, see
/// [`wav::prepare`]), keeping the previous one. `text` is what it says.
///
/// # Errors
/// File system errors, or names that are not plain.
pub fn replace(
    root: &Path,
    slot: Slot<'_>,
    wav_bytes: &[u8],
    text: &str,
    now: DateTime<Utc>,
) -> io::Result<()> {
    slot.checked()?;
    std::fs::create_dir_all(root.join(slot.line).join(slot.lang))?;
    keep_current(root, slot, now)?;
    let wav = current(root, slot);
    write_atomically(&wav.with_extension("txt"), format!("{}\n", text.trim()).as_bytes())?;
    write_atomically(&wav, wav_bytes)
}

/// The kept versions of a prompt, newest first.
#[must_use]
pub fn versions(root: &Path, slot: Slot<'_>) -> Vec<Version> {
    if slot.checked().is_err() {
        return Vec::new();
    }
    let dir = versions_dir(root, slot);
    let mut out: Vec<Version> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|e| {
            let path = e.path();
            if path.extension().is_none_or(|x| x != "wav") {
                return None;
            }
            let name = path.file_stem()?.to_str()?.to_owned();
            let stamp = name.trim_end_matches('a');
            let replaced_at =
                chrono::NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%M%S%3fZ").ok()?.and_utc();
            let seconds = wav::seconds(&std::fs::read(&path).ok()?)?;
            let text = std::fs::read_to_string(path.with_extension("txt")).ok().map(|t| t.trim().to_owned());
            Some(Version { name, replaced_at, seconds, text })
        })
        .collect();
    out.sort_by(|a, b| b.name.cmp(&a.name));
    out
}

/// Puts a kept version back in force; the recording it replaces is kept in turn.
///
/// # Errors
/// [`io::ErrorKind::NotFound`] for an unknown version; file system errors.
pub fn restore(root: &Path, slot: Slot<'_>, version: &str, now: DateTime<Utc>) -> io::Result<()> {
    slot.checked()?;
    // Version names are timestamps: a name too long for the file system is no version.
    if version.is_empty() || version.len() > 64 || !version.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(io::Error::new(io::ErrorKind::NotFound, "no such version"));
    }
    let dir = versions_dir(root, slot);
    let wav = std::fs::read(dir.join(format!("{version}.wav")))?;
    let text = std::fs::read_to_string(dir.join(format!("{version}.txt"))).unwrap_or_default();
    keep_current(root, slot, now)?;
    let target = current(root, slot);
    std::fs::create_dir_all(root.join(slot.line).join(slot.lang))?;
    if text.is_empty() {
        let _ = std::fs::remove_file(target.with_extension("txt"));
    } else {
        write_atomically(&target.with_extension("txt"), text.as_bytes())?;
    }
    write_atomically(&target, &wav)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recordings_are_kept_in_memory_up_to_a_size_the_others_read_from_the_disk() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("liege/fr")).unwrap();
        let short = wav::tone(8000, 1, 1.0, 440.0);
        std::fs::write(dir.path().join("liege/fr/greeting.wav"), &short).unwrap();
        // 16-bit samples at 8 kHz: 16 kB a second, past the limit for one recording.
        let seconds = f64::from(u32::try_from(IN_MEMORY_EACH / 16_000 + 1).unwrap());
        std::fs::write(dir.path().join("liege/fr/long.wav"), wav::tone(8000, 1, seconds, 440.0)).unwrap();

        let library = Library::load(dir.path()).unwrap();
        let greeting = library.get(Slot::new("liege", "fr", "greeting")).unwrap();
        assert_eq!(greeting.audio.as_ref().map(|a| a.0.as_ref()), Some(short.as_slice()));
        assert!((greeting.seconds - 1.0).abs() < 0.01);
        let long = library.get(Slot::new("liege", "fr", "long")).unwrap();
        assert!(long.audio.is_none(), "{long:?}");
        assert!((long.seconds - seconds).abs() < 0.01, "still known, from its header");
        assert!(format!("{library:?}").len() < 2_000, "bytes are not printed");
        let scanned = Library::scan(dir.path()).unwrap();
        assert!(
            scanned.get(Slot::new("liege", "fr", "greeting")).is_some_and(|r| r.audio.is_none()),
            "a scan reads headers only"
        );
    }
}
