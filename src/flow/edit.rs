//! Changing a prompt's words in a flow file, the file staying the source of truth: the
//! text is written into `[prompts.<id>]` with the rest of the file (comments, order,
//! layout) as it was, but only once the whole folder, the file changed, validates as
//! `solidaire flows check` would have it. The file is replaced in one rename.

use std::path::{Path, PathBuf};

use super::FlowError;
use super::load::{Flows, load_dir};

/// Writes `text` as prompt `prompt`'s words in `language` into the flow file `path`, then
/// returns the folder's flows as they now are.
///
/// # Errors
/// Every problem the folder would have with the change, by file (the real one), line and
/// column; nothing is written then. A file that cannot be read or written.
pub fn set_prompt_text(
    path: &Path,
    prompt: &str,
    language: &str,
    text: &str,
) -> Result<Flows, Vec<FlowError>> {
    let problem = |message: String| vec![FlowError { path: path.to_path_buf(), line: 0, column: 0, message }];
    let dir = path.parent().ok_or_else(|| problem("the flow file has no folder".to_owned()))?;
    let source =
        std::fs::read_to_string(path).map_err(|e| problem(format!("cannot read the flow file: {e}")))?;
    let mut doc: toml_edit::DocumentMut = source.parse().map_err(|e| problem(format!("{e}")))?;
    let texts = doc
        .get_mut("prompts")
        .and_then(|p| p.get_mut(prompt))
        .and_then(toml_edit::Item::as_table_like_mut)
        .ok_or_else(|| problem(format!("the file has no [prompts.{prompt}]")))?;
    match texts.get_mut(language) {
        Some(item) => *item = toml_edit::value(text),
        None => {
            texts.insert(language, toml_edit::value(text));
        }
    }
    let changed = doc.to_string();

    // The folder as it would be, checked apart.
    let trial = Trial::new().map_err(|e| problem(format!("cannot check the change: {e}")))?;
    let entries =
        std::fs::read_dir(dir).map_err(|e| problem(format!("cannot read the flows folder: {e}")))?;
    for entry in entries.filter_map(Result::ok) {
        let from = entry.path();
        if from.extension().is_some_and(|x| x == "toml") && from != path {
            let to = trial.path().join(entry.file_name());
            std::fs::copy(&from, &to).map_err(|e| problem(format!("cannot check the change: {e}")))?;
        }
    }
    let name = path.file_name().unwrap_or_default();
    std::fs::write(trial.path().join(name), &changed)
        .map_err(|e| problem(format!("cannot check the change: {e}")))?;
    if let Err(errors) = load_dir(trial.path()) {
        let real = |p: &Path| -> PathBuf { p.file_name().map_or_else(|| dir.to_path_buf(), |n| dir.join(n)) };
        return Err(errors.into_iter().map(|e| FlowError { path: real(&e.path), ..e }).collect());
    }

    let next = dir.join(format!(".{}.saving", name.to_string_lossy()));
    std::fs::write(&next, &changed)
        .and_then(|()| std::fs::rename(&next, path))
        .map_err(|e| problem(format!("cannot write the flow file: {e}")))?;
    load_dir(dir)
}

/// A folder of its own for checking a change, removed once done.
struct Trial(PathBuf);

impl Trial {
    fn new() -> std::io::Result<Self> {
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!("solidaire-flow-check-{}-{nanos}", std::process::id()));
        std::fs::create_dir(&dir)?;
        Ok(Self(dir))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Trial {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
