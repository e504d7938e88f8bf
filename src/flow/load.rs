//! Reading and validating flow files. Every problem is reported with its file, line and
//! column, and all of them at once, so `solidaire flows check` is a to-do list.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono_tz::Tz;

use super::error::FlowError;
use super::hours::{Hours, Schedule};
use super::model::{
    Callback, Flow, FlowFile, Menu, Node, Postcode, RawFlowFile, RawNode, Ref, Registers, Transfer, Voice,
    prompts,
};
use crate::phone::{E164, Region};

/// The flow shipped inside the binary, used when no flows folder exists.
pub const BUNDLED: (&str, &str) = ("liege.toml", include_str!("../../ivr-flows/liege.toml"));

/// Every flow of the service, looked up by the called number.
#[derive(Debug, Clone)]
pub struct Flows {
    lines: Vec<Arc<Flow>>,
    by_number: HashMap<String, usize>,
    default: usize,
}

impl Flows {
    /// The flow answering calls to `to` (any form the provider sends), or the default flow.
    #[must_use]
    pub fn for_called(&self, to: &str) -> &Arc<Flow> {
        let key: String = to.chars().filter(|c| c.is_ascii_digit() || *c == '+').collect();
        let index = self.by_number.get(&key).copied().unwrap_or(self.default);
        &self.lines[index]
    }

    /// The flow with id `name`, or the one answering number `name`: no default.
    #[must_use]
    pub fn named(&self, name: &str) -> Option<&Arc<Flow>> {
        let key: String = name.chars().filter(|c| c.is_ascii_digit() || *c == '+').collect();
        self.get(name).or_else(|| self.by_number.get(&key).map(|&i| &self.lines[i]))
    }

    /// The flow answering every number no other flow declares.
    #[must_use]
    pub fn default_line(&self) -> &Arc<Flow> {
        &self.lines[self.default]
    }

    /// The flow with this id (file stem).
    #[must_use]
    pub fn get(&self, id: &str) -> Option<&Arc<Flow>> {
        self.lines.iter().find(|f| f.id == id)
    }

    /// All flows, in file-name order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Flow>> {
        self.lines.iter()
    }

    /// The numbers of every file that have the shape of E.164 but are no number of their
    /// country's plan, reported at their place in the file.
    #[must_use]
    pub fn numbering_plan_errors(&self) -> Vec<FlowError> {
        self.lines
            .iter()
            .flat_map(|flow| &flow.plan_checks)
            .filter(|(number, _)| !number.is_in_plan())
            .map(|(_, error)| error.clone())
            .collect()
    }

    /// The flows shipped inside the binary (the numbering-plan check is left to the
    /// caller, see [`load_dir_quick`]).
    ///
    /// # Panics
    /// Never in a released binary: a test checks the bundled flow.
    #[must_use]
    pub fn bundled() -> Self {
        from_sources_quick(&[(PathBuf::from(BUNDLED.0), BUNDLED.1.to_owned())])
            .expect("the bundled flow is valid")
    }
}

/// The flows in force, shared by everything that reads them and replaced whole when the
/// files change (a reload never leaves anyone with half of the old and half of the new).
#[derive(Debug, Clone)]
pub struct InForce(Arc<std::sync::RwLock<Arc<Flows>>>);

impl InForce {
    /// `flows`, in force.
    #[must_use]
    pub fn new(flows: Flows) -> Self {
        Self(Arc::new(std::sync::RwLock::new(Arc::new(flows))))
    }

    /// The flows in force now.
    ///
    /// # Panics
    /// If a thread panicked while swapping flows (it cannot: the swap is one assignment).
    #[must_use]
    pub fn get(&self) -> Arc<Flows> {
        Arc::clone(&self.0.read().expect("flows lock poisoned"))
    }

    /// Puts `flows` in force.
    ///
    /// # Panics
    /// As [`InForce::get`].
    pub fn replace(&self, flows: Flows) {
        *self.0.write().expect("flows lock poisoned") = Arc::new(flows);
    }
}

/// Reads and validates every `*.toml` in `dir`.
///
/// # Errors
/// Every problem found, in every file.
pub fn load_dir(dir: &Path) -> Result<Flows, Vec<FlowError>> {
    with_plan(load_dir_quick(dir)?)
}

/// [`load_dir`] but for the numbering-plan check of the files' numbers, which loads the
/// plan's metadata (a tenth of a second): for start-up, which runs that check afterwards
/// with [`Flows::numbering_plan_errors`].
///
/// # Errors
/// Every problem found but those.
pub fn load_dir_quick(dir: &Path) -> Result<Flows, Vec<FlowError>> {
    let folder_error =
        |message: String| vec![FlowError { path: dir.to_path_buf(), line: 0, column: 0, message }];
    let entries =
        std::fs::read_dir(dir).map_err(|e| folder_error(format!("cannot read the flows folder: {e}")))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(folder_error("no flow file (*.toml) in this folder".to_owned()));
    }
    let mut sources = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        match std::fs::read_to_string(&path) {
            Ok(text) => sources.push((path, text)),
            Err(e) => {
                errors.push(FlowError { path, line: 0, column: 0, message: format!("cannot read: {e}") });
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    from_sources_quick(&sources)
}

fn with_plan(flows: Flows) -> Result<Flows, Vec<FlowError>> {
    let errors = flows.numbering_plan_errors();
    if errors.is_empty() { Ok(flows) } else { Err(errors) }
}

/// Validates flows given as (path, text), checking also what spans files: numbers
/// claimed twice, and which flow is the default.
///
/// # Errors
/// Every problem found.
pub fn from_sources(sources: &[(PathBuf, String)]) -> Result<Flows, Vec<FlowError>> {
    with_plan(from_sources_quick(sources)?)
}

/// [`from_sources`] but for the numbering-plan check (see [`load_dir_quick`]).
///
/// # Errors
/// Every problem found but those.
pub fn from_sources_quick(sources: &[(PathBuf, String)]) -> Result<Flows, Vec<FlowError>> {
    let mut flows = Vec::new();
    let mut errors = Vec::new();
    for (path, text) in sources {
        match parse_flow(path, text) {
            Ok(flow) => flows.push(flow),
            Err(mut e) => errors.append(&mut e),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut by_number = HashMap::new();
    for (i, flow) in flows.iter().enumerate() {
        for (n, spanned) in flow.numbers.iter().zip(&flow.file.line.numbers) {
            if let Some(other) = by_number.insert(n.as_str().to_owned(), i) {
                let text = &sources.iter().find(|(p, _)| *p == flow.path).map_or("", |s| s.1.as_str());
                errors.push(at(
                    &flow.path,
                    text,
                    &spanned.span(),
                    format!("number {} is already answered by {}", n.as_str(), flows[other].path.display()),
                ));
            }
        }
    }
    if flows.is_empty() {
        return Err(vec![FlowError {
            path: PathBuf::new(),
            line: 0,
            column: 0,
            message: "no flow given".to_owned(),
        }]);
    }
    let defaults: Vec<usize> = (0..flows.len()).filter(|&i| flows[i].file.line.default).collect();
    let default = match (defaults.as_slice(), flows.len()) {
        ([one], _) => *one,
        ([], 1) => 0,
        ([], _) => {
            errors.push(FlowError {
                path: flows.first().map_or_else(PathBuf::new, |f| f.path.clone()),
                line: 0,
                column: 0,
                message: "several flows and none has `default = true` in [line]: calls to other numbers would have nowhere to go".to_owned(),
            });
            0
        }
        (many, _) => {
            for &i in &many[1..] {
                errors.push(FlowError {
                    path: flows[i].path.clone(),
                    line: 0,
                    column: 0,
                    message: format!(
                        "`default = true` here and in {}: only one flow can be the default",
                        flows[many[0]].path.display()
                    ),
                });
            }
            many[0]
        }
    };
    if errors.is_empty() {
        Ok(Flows { lines: flows.into_iter().map(Arc::new).collect(), by_number, default })
    } else {
        Err(errors)
    }
}

fn at(path: &Path, text: &str, span: &Range<usize>, message: String) -> FlowError {
    let offset = span.start.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map_or(offset, |nl| offset - nl - 1) + 1;
    FlowError { path: path.to_path_buf(), line, column, message }
}

struct Check<'a> {
    path: &'a Path,
    text: &'a str,
    errors: Vec<FlowError>,
    /// Nodes already reported as malformed: references to them are not reported again.
    broken: BTreeSet<String>,
    /// Numbers of the right shape, to be checked against the numbering plan.
    plan: Vec<(E164, FlowError)>,
}

impl Check<'_> {
    fn error(&mut self, span: &Range<usize>, message: impl Into<String>) {
        self.errors.push(at(self.path, self.text, span, message.into()));
    }

    /// Reads a number the file writes in E.164, reporting a wrong shape now and keeping
    /// the numbering-plan check for [`Flows::numbering_plan_errors`].
    fn number(&mut self, written: &toml::Spanned<String>, what: &str) -> Option<E164> {
        let Ok(number) = E164::from_e164(written.get_ref()) else {
            self.error(
                &written.span(),
                format!("{what} `{}` is not a phone number in E.164 form (+32…)", written.get_ref()),
            );
            return None;
        };
        let message =
            format!("{what} `{}` is not a number of its country's numbering plan", written.get_ref());
        self.plan.push((number.clone(), at(self.path, self.text, &written.span(), message)));
        Some(number)
    }
}

fn parse_flow(path: &Path, text: &str) -> Result<Flow, Vec<FlowError>> {
    let raw: RawFlowFile = toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        vec![at(path, text, &span, e.message().trim().to_owned())]
    })?;
    let mut check = Check { path, text, errors: Vec::new(), broken: BTreeSet::new(), plan: Vec::new() };
    let nodes = raw
        .nodes
        .into_iter()
        .filter_map(|(id, node)| {
            if let Some(n) = build_node(&mut check, &id, node) {
                Some((id, n))
            } else {
                check.broken.insert(id.get_ref().clone());
                None
            }
        })
        .collect();
    let file = FlowFile { line: raw.line, defaults: raw.defaults, nodes, prompts: raw.prompts };
    let id = path.file_stem().map_or_else(String::new, |s| s.to_string_lossy().into_owned());
    let line = &file.line;

    let tz = line.timezone.get_ref().parse::<Tz>().unwrap_or_else(|_| {
        check.error(
            &line.timezone.span(),
            format!("`{}` is not a time zone (e.g. Europe/Brussels)", line.timezone.get_ref()),
        );
        chrono_tz::Europe::Brussels
    });
    let region = Region::parse(line.region.get_ref()).unwrap_or_else(|e| {
        check.error(&line.region.span(), e);
        Region::default()
    });
    let schedule = Schedule::parse(tz, &line.hours).unwrap_or_else(|errs| {
        for (span, message) in errs {
            check.error(&span, message);
        }
        Schedule::parse(tz, &Hours::default()).expect("default hours parse")
    });
    let numbers: Vec<E164> = line.numbers.iter().filter_map(|n| check.number(n, "number")).collect();
    let fallback = line.fallback.as_ref().and_then(|n| check.number(n, "fallback"));
    let transfers: BTreeMap<String, E164> = line
        .transfers
        .iter()
        .filter_map(|(name, n)| check.number(n, "transfer number").map(|e| (name.clone(), e)))
        .collect();
    let mut postcodes = BTreeSet::new();
    for p in &line.postcodes {
        if p.get_ref().is_empty() || !p.get_ref().chars().all(|c| c.is_ascii_digit()) {
            check.error(&p.span(), format!("postcode `{}` must be digits only", p.get_ref()));
        } else {
            postcodes.insert(p.get_ref().clone());
        }
    }
    if let Some(country) = &line.postcodes_of {
        match crate::domain::places::Places::builtin().of_country(country.get_ref()) {
            Some(codes) => postcodes.extend(codes),
            None => check.error(
                &country.span(),
                format!(
                    "postcodes_of: `{}` is not a country of the table of places (BE, FR)",
                    country.get_ref()
                ),
            ),
        }
    }

    check_languages(&mut check, &file);
    check_prompts(&mut check, &file);
    check_nodes(&mut check, &file, &postcodes);
    check_helps(&mut check, &file);
    if let Some(end) = &file.line.end_of_service {
        if !file.prompts.contains_key(end.prompt.get_ref().as_str()) {
            check.error(
                &end.prompt.span(),
                format!(
                    "[line.end_of_service] names prompt `{}`, which is not defined",
                    end.prompt.get_ref()
                ),
            );
        }
        if let Some(to) = &end.transfer {
            if !file.line.transfers.contains_key(to.get_ref()) {
                check.error(
                    &to.span(),
                    format!(
                        "[line.end_of_service] transfers to `{}`, which is not a name in [line.transfers]",
                        to.get_ref()
                    ),
                );
            }
        }
    }
    let helps: Vec<String> = file.line.helps.keys().map(|k| k.get_ref().clone()).collect();
    let languages: Vec<String> = file.line.languages.iter().map(|l| l.get_ref().clone()).collect();

    if check.errors.is_empty() {
        Ok(Flow {
            id,
            path: path.to_path_buf(),
            file,
            numbers,
            schedule,
            region,
            fallback,
            transfers,
            postcodes,
            helps,
            languages,
            plan_checks: check.plan,
        })
    } else {
        Err(check.errors)
    }
}

fn check_languages(check: &mut Check<'_>, file: &FlowFile) {
    let languages = &file.line.languages;
    if languages.is_empty() {
        check.error(&(0..0), "[line] languages is empty: name at least one (\"fr\")");
    }
    let mut seen = BTreeSet::new();
    for lang in languages {
        if !seen.insert(lang.get_ref()) {
            check.error(&lang.span(), format!("language `{}` is listed twice", lang.get_ref()));
        }
        if !file.line.voices.contains_key(lang.get_ref()) && Voice::builtin(lang.get_ref()).is_none() {
            check.error(
                &lang.span(),
                format!(
                    "language `{}` has no voice: add [line.voices.{}] with `language` (and `voice`)",
                    lang.get_ref(),
                    lang.get_ref()
                ),
            );
        }
    }
}

fn check_prompts(check: &mut Check<'_>, file: &FlowFile) {
    let languages: BTreeSet<&str> = file.line.languages.iter().map(|l| l.get_ref().as_str()).collect();
    for (id, texts) in &file.prompts {
        for lang in &languages {
            if !texts.contains_key(*lang) {
                check.error(
                    &id.span(),
                    format!("prompt `{}` has no `{lang}` text (missing translation)", id.get_ref()),
                );
            }
        }
        for (lang, text) in texts {
            if !languages.contains(lang.get_ref().as_str()) {
                check.error(
                    &lang.span(),
                    format!("`{}` is not a language of this line ([line] languages)", lang.get_ref()),
                );
            } else if text.trim().is_empty() {
                check.error(
                    &lang.span(),
                    format!("prompt `{}` is empty in `{}`", id.get_ref(), lang.get_ref()),
                );
            } else if let Some(unknown) = prompts::unknown_placeholder(text) {
                check.error(
                    &lang.span(),
                    format!(
                        "prompt `{}` in `{}`: `{unknown}` is filled in by nothing (the service fills in {})",
                        id.get_ref(),
                        lang.get_ref(),
                        prompts::PLACEHOLDERS
                            .iter()
                            .map(|p| format!("{{{p}}}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
            }
        }
    }
    let has_callback = file.nodes.values().any(|n| matches!(n, Node::Callback(_)));
    let has_signup =
        file.nodes.values().any(|n| matches!(n, Node::Callback(c) if c.registers == Registers::Volunteer));
    let needed = prompts::ALWAYS
        .iter()
        .chain(if has_callback { prompts::CALLBACK } else { &[] })
        .chain(if has_signup { prompts::SIGNUP } else { &[] })
        .chain(if has_callback { prompts::CALLING } else { &[] })
        .chain(if file.line.helps.is_empty() { &[] } else { prompts::OFFERING });
    for id in needed {
        if !file.prompts.contains_key(*id) {
            check.error(
                &(0..0),
                format!("prompt `{id}` is missing: the engine says it (see ivr-flows/README.md)"),
            );
        }
    }
}

/// Every reference a node makes: (what it is, the reference).
fn node_targets<'a>(node: &'a Node, file: &'a FlowFile) -> Vec<(&'static str, &'a Ref)> {
    let d = &file.defaults;
    let or = |own: &'a Option<Ref>, default: &'a Option<Ref>| own.as_ref().or(default.as_ref());
    let mut out: Vec<(&'static str, &'a Ref)> = Vec::new();
    match node {
        Node::Say { next, .. } => out.push(("next", next)),
        Node::Hours { open, closed } => out.extend([("open", open), ("closed", closed)]),
        Node::Menu(m) => {
            out.extend(m.options.iter().map(|o| ("goto", &o.goto)));
            out.extend(or(&m.fail, &d.fail).map(|f| ("fail", f)));
        }
        Node::Postcode(p) => {
            out.extend([("inside", &p.inside), ("outside", &p.outside)]);
            out.extend(or(&p.fail, &d.fail).map(|f| ("fail", f)));
        }
        Node::Transfer(t) => {
            out.push(("fail", &t.fail));
            out.extend(t.closed.as_ref().map(|c| ("closed", c)));
        }
        Node::Callback(c) => out.extend(or(&c.fail, &d.fail).map(|f| ("fail", f))),
        Node::End { .. } => {}
    }
    out
}

/// Every prompt a node says.
fn node_prompts<'a>(node: &'a Node, file: &'a FlowFile) -> Vec<&'a Ref> {
    let d = &file.defaults;
    let routes = |no_input: &'a Option<Ref>, invalid: &'a Option<Ref>| {
        [no_input.as_ref().or(d.no_input.as_ref()), invalid.as_ref().or(d.invalid.as_ref())]
    };
    match node {
        Node::Say { prompt, .. } | Node::End { prompt, .. } => vec![prompt],
        Node::Menu(m) => {
            let mut v = vec![&m.prompt];
            v.extend(m.short.as_ref());
            v.extend(routes(&m.no_input, &m.invalid).into_iter().flatten());
            v
        }
        Node::Postcode(p) => {
            let mut v = vec![&p.prompt];
            v.extend(routes(&p.no_input, &p.invalid).into_iter().flatten());
            v
        }
        Node::Transfer(t) => t.prompt.iter().collect(),
        Node::Hours { .. } | Node::Callback(_) => vec![],
    }
}

fn check_nodes(check: &mut Check<'_>, file: &FlowFile, postcodes: &BTreeSet<String>) {
    let line = &file.line;
    let broken = check.broken.clone();
    let exists = |r: &Ref| file.nodes.contains_key(r.get_ref().as_str()) || broken.contains(r.get_ref());
    for (what, r) in [("start", &line.start), ("human", &line.human)] {
        if !exists(r) {
            check.error(&r.span(), format!("[line] {what} names unknown node `{}`", r.get_ref()));
        }
    }
    for r in [&file.defaults.fail].into_iter().flatten() {
        if !exists(r) {
            check.error(&r.span(), format!("[defaults] fail names unknown node `{}`", r.get_ref()));
        }
    }
    for r in [&file.defaults.no_input, &file.defaults.invalid].into_iter().flatten() {
        if !file.prompts.contains_key(r.get_ref().as_str()) {
            check.error(&r.span(), format!("unknown prompt `{}`", r.get_ref()));
        }
    }
    let languages: BTreeSet<&str> = line.languages.iter().map(|l| l.get_ref().as_str()).collect();
    for (id, node) in &file.nodes {
        for (what, r) in node_targets(node, file) {
            if !exists(r) {
                check.error(
                    &r.span(),
                    format!("node `{}`: {what} names unknown node `{}`", id.get_ref(), r.get_ref()),
                );
            }
        }
        for p in node_prompts(node, file) {
            if !file.prompts.contains_key(p.get_ref().as_str()) {
                check.error(
                    &p.span(),
                    format!("node `{}` says unknown prompt `{}`", id.get_ref(), p.get_ref()),
                );
            }
        }
        check_node(check, file, id, node, &languages, postcodes);
    }
    check_reachable(check, file);
    check_silent_loops(check, file);
}

fn check_node(
    check: &mut Check<'_>,
    file: &FlowFile,
    id: &toml::Spanned<String>,
    node: &Node,
    languages: &BTreeSet<&str>,
    postcodes: &BTreeSet<String>,
) {
    let d = &file.defaults;
    let name = id.get_ref();
    let routes =
        |check: &mut Check<'_>, no_input: &Option<Ref>, invalid: &Option<Ref>, fail: &Option<Ref>| {
            for (own, default, what, key) in [
                (no_input, &d.no_input, "no-input", "no_input"),
                (invalid, &d.invalid, "invalid-input", "invalid"),
                (fail, &d.fail, "after-failures", "fail"),
            ] {
                if own.is_none() && default.is_none() {
                    check.error(
                        &id.span(),
                        format!("node `{name}` has no {what} route: set `{key}` here or in [defaults]"),
                    );
                }
            }
        };
    match node {
        Node::Menu(m) => {
            routes(check, &m.no_input, &m.invalid, &m.fail);
            if m.options.is_empty() {
                check.error(&id.span(), format!("menu `{name}` has no options"));
            }
            let mut keys = BTreeSet::new();
            for o in &m.options {
                let key = o.key.get_ref().as_str();
                match key {
                    "0" => check
                        .error(&o.key.span(), "key 0 is reserved: it always reaches a person ([line] human)"),
                    "*" => check.error(&o.key.span(), "key * is reserved: it repeats the menu"),
                    k if k.len() == 1 && k.as_bytes()[0].is_ascii_digit() || k == "#" => {
                        if !keys.insert(k) {
                            check.error(&o.key.span(), format!("key {k} is used twice in menu `{name}`"));
                        }
                    }
                    k => check.error(&o.key.span(), format!("key `{k}` is not a phone key (1-9 or #)")),
                }
                if let Some(lang) = &o.language {
                    if !languages.contains(lang.get_ref().as_str()) {
                        check.error(
                            &lang.span(),
                            format!("`{}` is not a language of this line", lang.get_ref()),
                        );
                    }
                }
            }
            if m.options.len() > 6 {
                check.error(
                    &id.span(),
                    format!(
                        "menu `{name}` has {} options: callers cannot keep more than 6 in mind",
                        m.options.len()
                    ),
                );
            }
        }
        Node::Postcode(p) => {
            routes(check, &p.no_input, &p.invalid, &p.fail);
            if postcodes.is_empty() {
                check.error(&id.span(), format!("postcode node `{name}` needs [line] postcodes"));
            }
            if !(1..=10).contains(&p.digits) {
                check.error(&id.span(), "`digits` must be between 1 and 10");
            }
            if let Some(bad) = postcodes.iter().find(|c| c.len() != usize::from(p.digits)) {
                check.error(&id.span(), format!("postcode `{bad}` does not have {} digits", p.digits));
            }
        }
        Node::Transfer(t) => {
            let to = t.to.get_ref();
            if !file.line.transfers.contains_key(to) {
                if E164::from_e164(to).is_ok() {
                    check.number(&t.to, "transfer number");
                } else {
                    check.error(
                        &t.to.span(),
                        format!("`{to}` is neither a name in [line.transfers] nor an E.164 number"),
                    );
                }
            }
            if t.timeout == 0 || t.timeout > 600 {
                check.error(&t.to.span(), "`timeout` must be between 1 and 600 seconds");
            }
        }
        Node::Callback(c) => {
            if c.service.trim().is_empty() {
                check.error(&id.span(), format!("callback `{name}` needs a `service`"));
            }
            if c.fail.is_none() && d.fail.is_none() {
                check.error(
                    &id.span(),
                    format!(
                        "callback `{name}` has no after-failures route: set `fail` here or in [defaults]"
                    ),
                );
            }
        }
        Node::Say { .. } | Node::Hours { .. } | Node::End { .. } => {}
    }
}

/// Where calls enter the flow's nodes: the start, where `0` leads, the default failure route.
fn entries(file: &FlowFile) -> Vec<&str> {
    let mut todo: Vec<&str> = vec![file.line.start.get_ref(), file.line.human.get_ref()];
    todo.extend(file.defaults.fail.iter().map(|f| f.get_ref().as_str()));
    todo
}

fn check_reachable(check: &mut Check<'_>, file: &FlowFile) {
    let mut seen = BTreeSet::new();
    let mut todo = entries(file);
    while let Some(id) = todo.pop() {
        if !seen.insert(id) {
            continue;
        }
        if let Some(node) = file.nodes.get(id) {
            todo.extend(node_targets(node, file).into_iter().map(|(_, r)| r.get_ref().as_str()));
        }
    }
    for id in file.nodes.keys() {
        if !seen.contains(id.get_ref().as_str()) {
            check.error(
                &id.span(),
                format!("node `{}` is unreachable from `{}`", id.get_ref(), file.line.start.get_ref()),
            );
        }
    }
}

/// The neighbourhoods: ids like the kinds of help's, labelled in every language, each
/// menu answer naming a declared one, and a sensible time kept for the referents.
fn check_neighbourhoods(check: &mut Check<'_>, file: &FlowFile, languages: &BTreeSet<&str>) {
    let line = &file.line;
    for (id, n) in &line.neighbourhoods {
        let (span, id) = (id.span(), id.get_ref());
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
            check.error(&span, format!("neighbourhood `{id}`: an id has lower-case letters, digits and `_`"));
        }
        for lang in languages {
            if !n.label.contains_key(*lang) {
                check.error(&span, format!("neighbourhood `{id}` has no `{lang}` label"));
            }
        }
    }
    for node in file.nodes.values() {
        let Node::Menu(m) = node else { continue };
        for o in &m.options {
            let Some(value) = o.set.get("neighbourhood") else { continue };
            if !line.neighbourhoods.contains_key(value.as_str()) {
                let ids: Vec<&str> = line.neighbourhoods.keys().map(|k| k.get_ref().as_str()).collect();
                check.error(
                    &o.key.span(),
                    format!(
                        "`{value}` is not a neighbourhood of this line ([line.neighbourhoods]: {})",
                        ids.join(", ")
                    ),
                );
            }
        }
    }
    let minutes = &line.referents_first_minutes;
    if *minutes.get_ref() == 0 || *minutes.get_ref() > 7 * 24 * 60 {
        check.error(&minutes.span(), "referents_first_minutes must be between 1 and 10080 (a week)");
    }
}

/// The kinds of help: each labelled in every language of the line, every reference to one
/// known, the served postcodes in the table of places, the matching rules sensible, and a
/// volunteer sign-up reached only after a served postcode.
fn check_helps(check: &mut Check<'_>, file: &FlowFile) {
    let line = &file.line;
    let languages: BTreeSet<&str> = line.languages.iter().map(|l| l.get_ref().as_str()).collect();
    for (id, help) in &line.helps {
        let (span, id) = (id.span(), id.get_ref());
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
            check.error(&span, format!("kind of help `{id}`: an id has lower-case letters, digits and `_`"));
        }
        for lang in &languages {
            if !help.label.contains_key(*lang) {
                check.error(&span, format!("kind of help `{id}` has no `{lang}` label"));
            }
        }
    }
    let known = |check: &mut Check<'_>, span: &Range<usize>, id: &str| {
        if !line.helps.contains_key(id) {
            let ids: Vec<&str> = line.helps.keys().map(|k| k.get_ref().as_str()).collect();
            check.error(
                span,
                format!("`{id}` is not a kind of help of this line ([line.helps]: {})", ids.join(", ")),
            );
        }
    };
    for node in file.nodes.values() {
        if let Node::Menu(m) = node {
            for o in &m.options {
                for (key, value) in &o.set {
                    if key == "help" {
                        known(check, &o.key.span(), value);
                    } else if let Some(id) = key.strip_prefix("help.") {
                        known(check, &o.key.span(), id);
                    } else if let Some(lang) = key.strip_prefix("language.") {
                        if !languages.contains(lang) {
                            check.error(&o.key.span(), format!("`{lang}` is not a language of this line"));
                        }
                    }
                }
            }
        }
    }
    for (id, node) in &file.nodes {
        if let Node::Callback(c) = node {
            if let Some(help) = &c.help {
                known(check, &id.span(), help);
            }
        }
    }
    check_neighbourhoods(check, file, &languages);
    let v = &line.volunteering;
    if !(v.radius_km > 0.0 && v.radius_km <= crate::domain::volunteers::MAX_RADIUS_KM) {
        check.error(&(0..0), "[line.volunteering] radius_km must be between 0 and 200");
    }
    if v.offers_per_month == 0 {
        check.error(&(0..0), "[line.volunteering] offers_per_month must be at least 1");
    }
    if let Some(hours) = &v.calling_hours {
        if let Err(e) = crate::domain::week::parse_range(hours.get_ref()) {
            check.error(&hours.span(), format!("[line.volunteering] calling_hours: {e}"));
        }
    }
    if line.helps.is_empty() {
        return;
    }
    let places = crate::domain::places::Places::builtin();
    for p in &line.postcodes {
        if places.find(p.get_ref()).is_err() {
            check.error(
                &p.span(),
                format!("postcode `{}` is not in the table of places (BE, FR)", p.get_ref()),
            );
        }
    }
    check_signup_after_postcode(check, file);
}

/// A volunteer signs up with the postcode they typed: every way to a sign-up node goes
/// through a served postcode (the `inside` of a postcode node).
fn check_signup_after_postcode(check: &mut Check<'_>, file: &FlowFile) {
    let mut seen = BTreeSet::new();
    let mut todo = entries(file);
    while let Some(id) = todo.pop() {
        if !seen.insert(id) {
            continue;
        }
        match file.nodes.get(id) {
            Some(Node::Callback(c)) if c.registers == Registers::Volunteer => {
                let span = file.nodes.keys().find(|k| k.get_ref() == id).map_or(0..0, toml::Spanned::span);
                check.error(
                    &span,
                    format!("volunteer sign-up `{id}` can be reached without a served postcode"),
                );
            }
            Some(Node::Postcode(p)) => {
                todo.push(p.outside.get_ref());
                todo.extend(p.fail.as_ref().or(file.defaults.fail.as_ref()).map(|f| f.get_ref().as_str()));
            }
            Some(node) => {
                todo.extend(node_targets(node, file).into_iter().map(|(_, r)| r.get_ref().as_str()));
            }
            None => {}
        }
    }
}

/// Nodes that pass the call on without asking anything (`say`, `hours`) must not loop.
fn check_silent_loops(check: &mut Check<'_>, file: &FlowFile) {
    let silent_next = |id: &str| -> Vec<&str> {
        match file.nodes.get(id) {
            Some(Node::Say { next, .. }) => vec![next.get_ref()],
            Some(Node::Hours { open, closed }) => vec![open.get_ref(), closed.get_ref()],
            _ => vec![],
        }
    };
    for start in file.nodes.keys() {
        let mut path: Vec<&str> = Vec::new();
        let mut stack = vec![(start.get_ref().as_str(), 0usize)];
        while let Some((id, depth)) = stack.pop() {
            path.truncate(depth);
            path.push(id);
            for next in silent_next(id) {
                if next == start.get_ref() {
                    path.push(next);
                    check.error(
                        &start.span(),
                        format!("nodes {} loop without asking the caller anything", path.join(" → ")),
                    );
                    return;
                }
                if depth < file.nodes.len() && !path.contains(&next) {
                    stack.push((next, depth + 1));
                }
            }
        }
    }
}

/// Turns a node as written into a typed node: the fields its type needs must be there,
/// and fields of other types must not (a typo there would silently change nothing).
fn build_node(check: &mut Check<'_>, id: &toml::Spanned<String>, raw: RawNode) -> Option<Node> {
    let name = id.get_ref().clone();
    let kind = raw.kind.get_ref().clone();
    let given: [(&str, bool); 23] = [
        ("prompt", raw.prompt.is_some()),
        ("short", raw.short.is_some()),
        ("next", raw.next.is_some()),
        ("open", raw.open.is_some()),
        ("closed", raw.closed.is_some()),
        ("options", raw.options.is_some()),
        ("all_languages", raw.all_languages.is_some()),
        ("no_input", raw.no_input.is_some()),
        ("invalid", raw.invalid.is_some()),
        ("fail", raw.fail.is_some()),
        ("inside", raw.inside.is_some()),
        ("outside", raw.outside.is_some()),
        ("digits", raw.digits.is_some()),
        ("to", raw.to.is_some()),
        ("timeout", raw.timeout.is_some()),
        ("any_hour", raw.any_hour.is_some()),
        ("service", raw.service.is_some()),
        ("priority", raw.priority.is_some()),
        ("message", raw.message.is_some()),
        ("message_max_seconds", raw.message_max_seconds.is_some()),
        ("outcome", raw.outcome.is_some()),
        ("help", raw.help.is_some()),
        ("registers", raw.registers.is_some()),
    ];
    let allowed: &[&str] = match kind.as_str() {
        "say" => &["prompt", "next"],
        "hours" => &["open", "closed"],
        "menu" => &["prompt", "short", "options", "all_languages", "no_input", "invalid", "fail"],
        "postcode" => &["prompt", "inside", "outside", "digits", "no_input", "invalid", "fail"],
        "transfer" => &["to", "prompt", "timeout", "fail", "closed", "any_hour"],
        "callback" => &["service", "priority", "message", "message_max_seconds", "fail", "help", "registers"],
        "end" => &["prompt", "outcome"],
        other => {
            check.error(&raw.kind.span(), format!(
                "node `{name}`: unknown type `{other}` (say, hours, menu, postcode, transfer, callback, end)"
            ));
            return None;
        }
    };
    let mut ok = true;
    for (field, present) in given {
        if present && !allowed.contains(&field) {
            check.error(&id.span(), format!("node `{name}`: a `{kind}` node has no field `{field}`"));
            ok = false;
        }
    }
    let mut need = |value: Option<Ref>, field: &str, check: &mut Check<'_>| -> Option<Ref> {
        if value.is_none() {
            let hint = if matches!(field, "next" | "open" | "closed" | "fail" | "inside" | "outside") {
                " (without it the call would stop here: a dead end; use an `end` node to end a call on purpose)"
            } else {
                ""
            };
            check.error(&id.span(), format!("node `{name}`: a `{kind}` node needs `{field}`{hint}"));
            ok = false;
        }
        value
    };
    let node = match kind.as_str() {
        "say" => {
            let (prompt, next) = (need(raw.prompt, "prompt", check), need(raw.next, "next", check));
            Node::Say { prompt: prompt?, next: next? }
        }
        "hours" => {
            let (open, closed) = (need(raw.open, "open", check), need(raw.closed, "closed", check));
            Node::Hours { open: open?, closed: closed? }
        }
        "menu" => {
            let prompt = need(raw.prompt, "prompt", check);
            let options = raw.options.unwrap_or_default();
            Node::Menu(Menu {
                prompt: prompt?,
                short: raw.short,
                all_languages: raw.all_languages.unwrap_or(false),
                options,
                no_input: raw.no_input,
                invalid: raw.invalid,
                fail: raw.fail,
            })
        }
        "postcode" => {
            let prompt = need(raw.prompt, "prompt", check);
            let inside = need(raw.inside, "inside", check);
            let outside = need(raw.outside, "outside", check);
            Node::Postcode(Postcode {
                prompt: prompt?,
                inside: inside?,
                outside: outside?,
                digits: raw.digits.unwrap_or(4),
                no_input: raw.no_input,
                invalid: raw.invalid,
                fail: raw.fail,
            })
        }
        "transfer" => {
            let fail = need(raw.fail, "fail", check);
            let Some(to) = raw.to else {
                check.error(&id.span(), format!("node `{name}`: a `transfer` node needs `to`"));
                return None;
            };
            Node::Transfer(Transfer {
                to,
                prompt: raw.prompt,
                timeout: raw.timeout.unwrap_or(25),
                fail: fail?,
                closed: raw.closed,
                any_hour: raw.any_hour.unwrap_or(false),
            })
        }
        "callback" => {
            let registers = match raw.registers.as_ref().map(|r| r.get_ref().as_str()) {
                None | Some("request") => Registers::Request,
                Some("volunteer") => Registers::Volunteer,
                Some(other) => {
                    let span = raw.registers.as_ref().map_or(0..0, toml::Spanned::span);
                    check.error(&span, format!("`registers` is `request` or `volunteer`, not `{other}`"));
                    return None;
                }
            };
            if registers == Registers::Volunteer && raw.message != Some(true) {
                check.error(
                    &id.span(),
                    format!(
                        "node `{name}`: a volunteer sign-up needs `message = true` (the name is recorded)"
                    ),
                );
                ok = false;
            }
            Node::Callback(Callback {
                service: raw.service.unwrap_or_else(|| {
                    if registers == Registers::Volunteer { "volunteer".to_owned() } else { String::new() }
                }),
                priority: raw.priority.unwrap_or_default(),
                message: raw.message.unwrap_or(false),
                message_max_seconds: raw.message_max_seconds.unwrap_or(60),
                fail: raw.fail,
                help: raw.help.map(toml::Spanned::into_inner),
                registers,
            })
        }
        _ => {
            let prompt = need(raw.prompt, "prompt", check);
            Node::End { prompt: prompt?, outcome: raw.outcome }
        }
    };
    ok.then_some(node)
}
