//! The shape of the code, checked: no module imports another that imports it back, and no
//! SQL outside `src/store/`. Read from the sources as text (tests inside `src/` are left
//! out: they may reach anywhere).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/web/api.rs` → `web::api`; `src/web/mod.rs` → `web`; `src/lib.rs` → ``.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib" | "main")) {
        parts.pop();
    }
    parts.join("::")
}

/// The file without its comments and its test module.
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or_default();
    text.lines().map(|l| l.split("//").next().unwrap_or_default()).collect::<Vec<_>>().join("\n")
}

/// Every path a file names through `crate::` or `super::`, brace groups expanded.
fn paths(code: &str, module: &str) -> Vec<Vec<String>> {
    let here: Vec<String> = module.split("::").filter(|s| !s.is_empty()).map(str::to_owned).collect();
    let mut out = Vec::new();
    let bytes = code.as_bytes();
    let mut i = 0;
    while i < code.len() {
        if !code.is_char_boundary(i) {
            i += 1;
            continue;
        }
        let rest = &code[i..];
        let starts = rest.starts_with("crate::") || rest.starts_with("super::");
        let boundary =
            i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_' || bytes[i - 1] == b':');
        if !(starts && boundary) {
            i += 1;
            continue;
        }
        let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')).unwrap_or(rest.len());
        let mut path: Vec<String> = Vec::new();
        let mut segments = rest[..end].split("::").filter(|s| !s.is_empty()).peekable();
        let mut base = here.clone();
        // A file's own module is `here`; `super` of a `mod.rs` module is its parent.
        while let Some(&s) = segments.peek() {
            match s {
                "crate" => base.clear(),
                "super" => {
                    base.pop();
                }
                _ => break,
            }
            segments.next();
        }
        path.extend(base);
        path.extend(segments.map(str::to_owned));
        if rest[end..].starts_with('{') {
            let close = rest[end..].find('}').map_or(rest.len(), |c| end + c);
            for item in rest[end + 1..close].split(',') {
                let name = item.trim().split("::").next().unwrap_or_default().trim();
                if !name.is_empty() {
                    let mut p = path.clone();
                    p.push(name.to_owned());
                    out.push(p);
                }
            }
        }
        out.push(path);
        i += end.max(1);
    }
    out.extend(children(code).into_iter().filter(|child| names(code, child)).map(|child| {
        let mut p = here.clone();
        p.push(child);
        p
    }));
    out
}

/// The modules a file declares (`mod x;`, `pub mod x;`).
fn children(code: &str) -> Vec<String> {
    code.lines()
        .filter_map(|l| {
            let l = l.trim().trim_start_matches("pub ").trim_start_matches("pub(crate) ");
            l.strip_prefix("mod ").and_then(|rest| rest.strip_suffix(';')).map(str::to_owned)
        })
        .collect()
}

/// Whether the file names child module `child` by a relative path (`child::item`).
fn names(code: &str, child: &str) -> bool {
    let needle = format!("{child}::");
    code.match_indices(&needle).any(|(at, _)| {
        let before = code[..at].chars().next_back();
        !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':')
    })
}

fn modules() -> (BTreeMap<String, String>, PathBuf) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let map = files.iter().map(|f| (module_of(&src, f), std::fs::read_to_string(f).unwrap())).collect();
    (map, src)
}

#[test]
fn no_module_imports_another_that_imports_it_back() {
    let (files, _) = modules();
    let known: BTreeSet<&String> = files.keys().collect();
    let mut edges: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for (module, text) in &files {
        for path in paths(&code(text), module) {
            // The longest prefix that is a module of the crate.
            let target = (1..=path.len()).rev().map(|n| path[..n].join("::")).find(|m| known.contains(m));
            if let Some(target) = target.filter(|t| t != module && !t.is_empty()) {
                edges.entry(module).or_default().insert(target);
            }
        }
    }
    let mut cycles = Vec::new();
    for (from, targets) in &edges {
        for to in targets {
            if edges.get(to.as_str()).is_some_and(|back| back.contains(*from)) && from < &to.as_str() {
                cycles.push(format!("{from} <-> {to}"));
            }
        }
    }
    assert!(!edges.is_empty(), "the checker found no imports at all");
    assert!(cycles.is_empty(), "modules that import each other:\n{}", cycles.join("\n"));
}

#[test]
fn the_checker_sees_a_cycle_through_super() {
    let child = paths("use super::AppState;\nfn f() { crate::web::pages::layout(); }", "web::api");
    assert!(child.contains(&vec!["web".to_owned(), "AppState".to_owned()]));
    assert!(child.contains(&vec!["web".to_owned(), "pages".to_owned(), "layout".to_owned()]));
    let grouped = paths("use crate::store::{StoreError, agents};", "ops");
    assert!(grouped.contains(&vec!["store".to_owned(), "agents".to_owned()]));
    let parent = paths("pub mod api;\nfn r() { api::router(); }", "web");
    assert!(parent.contains(&vec!["web".to_owned(), "api".to_owned()]));
}

#[test]
fn no_sql_outside_the_store() {
    let (files, _) = modules();
    let words = [
        "SELECT ",
        "INSERT INTO",
        "DELETE FROM",
        "PRAGMA ",
        "VACUUM ",
        "CREATE TABLE",
        "execute(",
        "query_row(",
    ];
    let mut found = Vec::new();
    for (module, text) in &files {
        if module == "store" || module.starts_with("store::") {
            continue;
        }
        for (n, line) in code(text).lines().enumerate() {
            if words.iter().any(|w| line.contains(w)) {
                found.push(format!("src/{module}: line {}: {}", n + 1, line.trim()));
            }
        }
    }
    assert!(found.is_empty(), "SQL outside src/store/:\n{}", found.join("\n"));
}

/// The engine and the store know no provider: only `telephony` (and the web layer that
/// speaks to the provider) reads or writes a provider's words.
#[test]
fn the_engine_and_the_store_know_no_provider() {
    let (files, _) = modules();
    let mut found = Vec::new();
    for (module, text) in &files {
        let engine_or_store =
            ["flow", "store"].iter().any(|m| module == m || module.starts_with(&format!("{m}::")));
        if !engine_or_store {
            continue;
        }
        for path in paths(&code(text), module) {
            if path.first().is_some_and(|p| p == "telephony") {
                found.push(format!("src/{module}: uses {}", path.join("::")));
            }
        }
        // The provider's words for how a call or a transfer ended.
        for word in ["\"no-answer\"", "\"canceled\"", "DialCallStatus", "CallStatus"] {
            if code(text).contains(word) {
                found.push(format!("src/{module}: {word}"));
            }
        }
    }
    assert!(found.is_empty(), "provider knowledge in the engine or the store:\n{}", found.join("\n"));
}
