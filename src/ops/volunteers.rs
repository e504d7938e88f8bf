//! The volunteers' roster: coordinators (and supervisors, and the operator at the command
//! line) add volunteers, list and read them, pause them, confirm those who signed up by
//! phone, and record those who leave. A referent (a coordinator holding postcodes) sees
//! and changes only the volunteers of those postcodes. The voice line signs callers up
//! as pending volunteers ([`sign_up`]), inside its own transaction.

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use super::{Actor, Error, Ops, Result, Scope, change};
use crate::domain::places::Places;
use crate::domain::queue::HistoryEntry;
use crate::domain::volunteers::{Catalogue, Entry, FieldError, Volunteer, VolunteerId, VolunteerState};
use crate::domain::{AgentId, Role};
use crate::flow::Flow;
use crate::flow::engine::CallbackDraft;
use crate::store::missions::{self as mission_rows, MissionFilter};
use crate::store::volunteers::{self as rows, NewVolunteer, RosterFilter};
use crate::store::{StoreError, agents};

/// Who asks to keep the roster.
#[derive(Debug, Clone, Copy)]
pub enum Door {
    /// An account, from the console or the API.
    Account(Actor),
    /// The operator at the server's command line, who holds the database file itself.
    Operator,
}

impl From<Actor> for Door {
    fn from(actor: Actor) -> Self {
        Self::Account(actor)
    }
}

/// Proof that the roster may be kept, and where: only [`coordinator`] makes one.
#[derive(Debug, Clone)]
pub struct Coordinator {
    by: Option<AgentId>,
    /// The lines they work on, and a referent's postcodes.
    scope: Scope,
}

impl Coordinator {
    /// The account acting (none for the operator).
    #[must_use]
    pub fn by(&self) -> Option<AgentId> {
        self.by
    }

    /// Whether a record of `line` at `postcode` is one this coordinator handles.
    #[must_use]
    pub fn covers(&self, line: &str, postcode: &str) -> bool {
        self.scope.covers(line, Some(postcode))
    }

    /// Whether `line` is one of theirs.
    #[must_use]
    pub fn works_on(&self, line: &str) -> bool {
        self.scope.lines.covers(line)
    }
}

/// The coordinator `door` is, with the lines and postcodes they handle.
///
/// # Errors
/// [`Error::CoordinatorsOnly`] for an agent or a volunteer; the database's failure.
pub fn coordinator(conn: &Connection, door: Door) -> Result<Coordinator> {
    match door {
        Door::Operator => Ok(Coordinator { by: None, scope: Scope::default() }),
        Door::Account(actor) => match actor.role() {
            Role::Supervisor | Role::Admin | Role::Coordinator => {
                Ok(Coordinator { by: Some(actor.id), scope: scope_of(conn, actor)? })
            }
            Role::Agent | Role::Volunteer => Err(Error::CoordinatorsOnly),
        },
    }
}

/// What `actor` sees: their lines, and a referent's postcodes.
///
/// # Errors
/// The database's failure.
pub fn scope_of(conn: &Connection, actor: Actor) -> Result<Scope, StoreError> {
    let (postcodes, neighbourhoods) = if actor.role() == Role::Coordinator {
        (rows::referent_postcodes(conn, actor.id)?, rows::referent_neighbourhoods(conn, actor.id)?)
    } else {
        (Vec::new(), Vec::new())
    };
    Ok(Scope { lines: super::lines_of(conn, actor)?, postcodes, neighbourhoods })
}

/// The flow of line `line`, or the default line's.
pub(super) fn line_of(ops: &Ops, line: Option<&str>) -> Result<std::sync::Arc<Flow>> {
    let flows = ops.flows();
    match line {
        Some(id) => flows
            .get(id)
            .cloned()
            .ok_or_else(|| Error::Field(FieldError { field: "line", problem: format!("no line `{id}`") })),
        None => Ok(std::sync::Arc::clone(flows.for_called(""))),
    }
}

/// What `flow` lets a volunteer offer.
fn catalogue(flow: &Flow) -> Catalogue<'_> {
    Catalogue {
        helps: &flow.helps,
        languages: &flow.languages,
        region: flow.region,
        radius_km: flow.file.line.volunteering.radius_km,
    }
}

/// The line a record goes to when none is named: the account's first line, or the
/// default line for an account of every line.
async fn line_for(ops: &Ops, door: Door, line: Option<&str>) -> Result<std::sync::Arc<Flow>> {
    if line.is_some() {
        return line_of(ops, line);
    }
    let own = match door {
        Door::Operator => None,
        Door::Account(actor) => {
            ops.store
                .read(move |c| Ok(super::lines_of(c, actor)?.named().and_then(|l| l.first().cloned())))
                .await?
        }
    };
    line_of(ops, own.as_deref())
}

/// Adds a volunteer to line `line` (without one, the account's line, or the default
/// line), active at once: a coordinator adding someone has checked who they are.
///
/// # Errors
/// A field that is wrong ([`Error::Field`]), a phone already on the roster, a postcode
/// outside a referent's, or the database's failure.
pub async fn add(ops: &Ops, door: Door, line: Option<&str>, entry: Entry) -> Result<VolunteerId> {
    let flow = line_for(ops, door, line).await?;
    let (phone, profile) = entry.check(catalogue(&flow), Places::builtin(), true)?;
    let now = ops.now();
    let line = flow.id.clone();
    change(ops, move |c| {
        let coordinator = coordinator(c, door)?;
        if let Some(refusal) = refusal(c, &coordinator, &line, &phone, &profile)? {
            return Err(Error::Field(refusal));
        }
        let detail = format!("{} · {}", profile.postcode, profile.helps.join(", "));
        let new = Checked { entry: &entry, phone: &phone, profile: &profile };
        Ok(add_active(c, &coordinator, &line, &new, "given to the coordinator", ("added", &detail), now)?)
    })
    .await
}

/// An entry checked against the line and the places.
struct Checked<'a> {
    entry: &'a Entry,
    phone: &'a crate::phone::E164,
    profile: &'a crate::domain::volunteers::Profile,
}

/// Why a checked entry cannot join `line`'s roster for `coordinator`, if it cannot.
fn refusal(
    c: &Connection,
    coordinator: &Coordinator,
    line: &str,
    phone: &crate::phone::E164,
    profile: &crate::domain::volunteers::Profile,
) -> Result<Option<FieldError>, StoreError> {
    if !coordinator.works_on(line) {
        return Ok(Some(FieldError { field: "line", problem: format!("no line `{line}`") }));
    }
    if !coordinator.covers(line, &profile.postcode) {
        let problem = format!("{} is not one of your postcodes", profile.postcode);
        return Ok(Some(FieldError { field: "postcode", problem }));
    }
    Ok(rows::by_phone(c, line, phone.as_str())?.map(|other| FieldError {
        field: "phone",
        problem: format!("this number is already on the roster (volunteer {other})"),
    }))
}

/// Adds a checked entry to `line`'s roster as an active volunteer, with the first line of
/// its history (`action`, `detail`); `consent` when the entry does not say how it was given.
fn add_active(
    c: &Connection,
    coordinator: &Coordinator,
    line: &str,
    new: &Checked<'_>,
    consent: &str,
    (action, detail): (&str, &str),
    now: DateTime<Utc>,
) -> Result<VolunteerId, StoreError> {
    let given = new.entry.consent_how.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let row = NewVolunteer {
        line,
        name: new.entry.name.trim(),
        name_recording_url: None,
        phone: new.phone.as_str(),
        profile: new.profile,
        state: VolunteerState::Active,
        consent_how: Some(given.unwrap_or(consent)),
        notes: new.entry.notes.trim(),
    };
    let id = rows::insert(c, &row, now)?;
    rows::note(c, id, coordinator.by(), action, detail, now)?;
    Ok(id)
}

fn field(field: &'static str, problem: String) -> Error {
    Error::Field(FieldError { field, problem })
}

/// The roster as `door` may see it, within `filter`.
///
/// # Errors
/// [`Error::CoordinatorsOnly`], or the database's failure.
pub async fn list(ops: &Ops, door: Door, filter: RosterFilter) -> Result<Vec<Volunteer>> {
    ops.store
        .read(move |c| {
            let coordinator = match coordinator(c, door) {
                Ok(k) => k,
                Err(Error::Store(e)) => return Err(e),
                Err(refused) => return Ok(Err(refused)),
            };
            let all = rows::list(c, &filter)?;
            Ok(Ok(all.into_iter().filter(|v| coordinator.covers(&v.line, &v.profile.postcode)).collect()))
        })
        .await?
}

/// One volunteer with their history and missions.
#[derive(Debug, Clone)]
pub struct Detail {
    /// The record.
    pub volunteer: Volunteer,
    /// Its history, oldest first.
    pub history: Vec<HistoryEntry>,
    /// Their missions (accepted or offered), newest first.
    pub missions: Vec<crate::domain::missions::Mission>,
}

/// A volunteer as `door` may see them.
///
/// # Errors
/// [`Error::NoSuchVolunteer`] (also for one outside a referent's postcodes), or the
/// database's failure.
pub async fn get(ops: &Ops, door: Door, id: VolunteerId) -> Result<Detail> {
    ops.store
        .read(move |c| {
            let found = (|| {
                let coordinator = coordinator(c, door)?;
                let volunteer =
                    rows::get(c, id)?.filter(|v| coordinator.covers(&v.line, &v.profile.postcode));
                let volunteer = volunteer.ok_or(Error::NoSuchVolunteer)?;
                let history = rows::history_of(c, id)?;
                let missions = mission_rows::list(
                    c,
                    &MissionFilter { volunteer: Some(id), ..MissionFilter::default() },
                )?;
                Ok(Detail { volunteer, history, missions })
            })();
            match found {
                Err(Error::Store(e)) => Err(e),
                other => Ok(other),
            }
        })
        .await?
}

/// Changes a volunteer's record: the fields `edit` gives are checked with the others as
/// for a new volunteer, then stored, with a line in the history naming what changed.
///
/// # Errors
/// [`Error::NoSuchVolunteer`], a wrong field ([`Error::Field`]: also a phone another
/// volunteer has, or a postcode outside a referent's), or the database's failure.
pub async fn edit(
    ops: &Ops,
    door: Door,
    id: VolunteerId,
    edit: crate::domain::volunteers::Edit,
) -> Result<()> {
    let now = ops.now();
    let flows = ops.flows();
    change(ops, move |c| {
        let coordinator = coordinator(c, door)?;
        let v = rows::get(c, id)?
            .filter(|v| coordinator.covers(&v.line, &v.profile.postcode))
            .ok_or(Error::NoSuchVolunteer)?;
        if v.state == VolunteerState::Left && v.phone.is_none() {
            return Err(Error::WrongState(format!("volunteer {id} left and was removed by the retention")));
        }
        let flow = flows.get(&v.line).unwrap_or_else(|| flows.for_called(""));
        let named = !v.name.is_empty() || edit.name.is_some();
        let entry = v.edited(edit);
        let (phone, profile) = entry.check(catalogue(flow), Places::builtin(), named)?;
        if !coordinator.covers(&v.line, &profile.postcode) {
            return Err(field("postcode", format!("{} is not one of your postcodes", profile.postcode)));
        }
        if let Some(other) = rows::by_phone(c, &v.line, phone.as_str())?.filter(|other| *other != id) {
            return Err(field("phone", format!("this number is already on the roster (volunteer {other})")));
        }
        let mut changed = Vec::new();
        if entry.name.trim() != v.name {
            changed.push("name");
        }
        if Some(phone.as_str()) != v.phone.as_deref() {
            changed.push("phone");
        }
        let before = &v.profile;
        for (what, differs) in [
            ("postcode", profile.postcode != before.postcode || profile.section != before.section),
            ("kinds of help", profile.helps != before.helps),
            ("languages", profile.languages != before.languages),
            ("availability", profile.availability != before.availability),
            ("distance", (profile.radius_km - before.radius_km).abs() > f64::EPSILON),
            ("missions a week", profile.weekly_max != before.weekly_max),
            ("notes", entry.notes.trim() != v.notes),
        ] {
            if differs {
                changed.push(what);
            }
        }
        if changed.is_empty() {
            return Ok(());
        }
        rows::update(c, id, entry.name.trim(), phone.as_str(), &profile, entry.notes.trim())?;
        rows::note(c, id, coordinator.by(), "edited", &changed.join(", "), now)?;
        Ok(())
    })
    .await
}

/// What a coordinator does to a volunteer's record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// A phone sign-up checked: active from now on.
    Confirm,
    /// Not for now.
    Pause,
    /// Back from a pause, or back after leaving.
    Resume,
    /// Gone (the number is purged by the retention).
    Leave,
    /// Their switch: on duty.
    OnDuty,
    /// Their switch: off duty.
    OffDuty,
}

impl Change {
    /// Reads `confirm`, `pause`, `resume`, `leave`, `on-duty`, `off-duty`.
    #[must_use]
    pub fn parse(word: &str) -> Option<Self> {
        Some(match word {
            "confirm" => Self::Confirm,
            "pause" => Self::Pause,
            "resume" => Self::Resume,
            "leave" => Self::Leave,
            "on-duty" => Self::OnDuty,
            "off-duty" => Self::OffDuty,
            _ => return None,
        })
    }

    fn word(self) -> &'static str {
        match self {
            Self::Confirm => "confirmed",
            Self::Pause => "paused",
            Self::Resume => "resumed",
            Self::Leave => "left",
            Self::OnDuty => "on duty",
            Self::OffDuty => "off duty",
        }
    }
}

/// Changes a volunteer's state or switch, with a line in their history. A volunteer's
/// account may turn its own on-duty switch, and nothing else.
///
/// # Errors
/// [`Error::NoSuchVolunteer`], [`Error::WrongState`] for a change their state does not
/// allow (confirming someone active, resuming someone who left), or the database's failure.
pub async fn set(ops: &Ops, door: Door, id: VolunteerId, what: Change) -> Result<VolunteerState> {
    let now = ops.now();
    change(ops, move |c| {
        // A volunteer's own switch is theirs to turn, from their account.
        if let Door::Account(actor) = door {
            if actor.role() == Role::Volunteer {
                let me =
                    rows::by_account(c, actor.id)?.filter(|v| v.id == id).ok_or(Error::NoSuchVolunteer)?;
                if !matches!(what, Change::OnDuty | Change::OffDuty) || me.state == VolunteerState::Left {
                    return Err(Error::CoordinatorsOnly);
                }
                rows::set_on_duty(c, id, what == Change::OnDuty)?;
                rows::note(c, id, Some(actor.id), what.word(), "by themself", now)?;
                return Ok(me.state);
            }
        }
        let coordinator = coordinator(c, door)?;
        let v = rows::get(c, id)?
            .filter(|v| coordinator.covers(&v.line, &v.profile.postcode))
            .ok_or(Error::NoSuchVolunteer)?;
        let next = match (what, v.state) {
            // Someone who left may come back (until the retention has removed their number).
            (Change::Confirm, VolunteerState::Pending)
            | (Change::Resume, VolunteerState::Paused | VolunteerState::Left) => VolunteerState::Active,
            (Change::Pause, VolunteerState::Active | VolunteerState::Pending) => VolunteerState::Paused,
            (Change::Leave, s) if s != VolunteerState::Left => VolunteerState::Left,
            (Change::OnDuty | Change::OffDuty, s) if s != VolunteerState::Left => {
                rows::set_on_duty(c, id, what == Change::OnDuty)?;
                rows::note(c, id, coordinator.by(), what.word(), "", now)?;
                return Ok(s);
            }
            (_, s) => {
                return Err(Error::WrongState(format!("volunteer {id} is {s}: cannot be {}", what.word())));
            }
        };
        rows::set_state(c, id, next, now)?;
        rows::note(c, id, coordinator.by(), what.word(), "", now)?;
        Ok(next)
    })
    .await
}

/// Gives volunteer `id` the account `login` (role `volunteer`) to see their missions.
///
/// # Errors
/// [`Error::NoSuchVolunteer`], a login that is not a volunteer's account, or the
/// database's failure.
pub async fn link_account(ops: &Ops, door: Door, id: VolunteerId, login: &str) -> Result<()> {
    let (login, now) = (login.to_owned(), ops.now());
    change(ops, move |c| {
        let coordinator = coordinator(c, door)?;
        rows::get(c, id)?
            .filter(|v| coordinator.covers(&v.line, &v.profile.postcode))
            .ok_or(Error::NoSuchVolunteer)?;
        let agent = match agents::by_login(c, &login)? {
            Some((a, _)) if a.role == Role::Volunteer && !a.disabled => a,
            _ => return Err(field("login", format!("no active account `{login}` with the role volunteer"))),
        };
        rows::set_account(c, id, agent.id)?;
        rows::note(c, id, coordinator.by(), "account", &login, now)?;
        Ok(())
    })
    .await
}

/// Signs the caller of call `sid` up as a pending volunteer of `flow`'s line, inside the
/// voice step's transaction; returns the record's number (told to the caller). A caller
/// already on the roster is not added twice: their record's number is returned, with a
/// line in its history.
///
/// # Errors
/// The database's failure.
pub fn sign_up(
    conn: &Connection,
    flow: &Flow,
    sid: &str,
    draft: &CallbackDraft,
    at: DateTime<Utc>,
) -> Result<VolunteerId, StoreError> {
    if let Some(id) = rows::by_phone(conn, &flow.id, draft.phone.as_str())? {
        rows::note(conn, id, None, "called again", &format!("signed up again by phone (call {sid})"), at)?;
        return Ok(id);
    }
    let yes = |prefix: &str| -> Vec<String> {
        draft
            .answers
            .iter()
            .filter(|(_, v)| v.as_str() == "yes")
            .filter_map(|(k, _)| k.strip_prefix(prefix).map(str::to_owned))
            .collect()
    };
    let mut languages = vec![draft.language.clone()];
    languages.extend(yes("language.").into_iter().filter(|l| *l != draft.language));
    let entry = Entry {
        name: String::new(),
        phone: draft.phone.as_str().to_owned(),
        postcode: draft.postcode.clone().unwrap_or_default(),
        helps: yes("help."),
        languages,
        ..Entry::default()
    };
    // The flow was checked to ask a served postcode (in the table of places) first, and
    // its menus to name only kinds of help it has. Whatever is missing is left for the
    // coordinator, who calls the new volunteer before confirming.
    let checked = entry.check(catalogue(flow), Places::builtin(), false);
    let (profile, problem) = match checked {
        Ok((_, profile)) => (profile, String::new()),
        Err(e) => {
            let fallback = Entry { helps: flow.helps.first().cloned().into_iter().collect(), ..entry };
            match fallback.check(catalogue(flow), Places::builtin(), false) {
                Ok((_, profile)) => (profile, format!("to check with them: {e}")),
                Err(e) => {
                    tracing::error!(call = %sid, problem = %e, "a phone sign-up could not be recorded");
                    return Err(StoreError::Unavailable(format!("sign-up: {e}")));
                }
            }
        }
    };
    let new = NewVolunteer {
        line: &flow.id,
        name: "",
        name_recording_url: draft.recording_url.as_deref(),
        phone: draft.phone.as_str(),
        profile: &profile,
        state: VolunteerState::Pending,
        consent_how: Some("by phone"),
        notes: &problem,
    };
    let id = rows::insert(conn, &new, at)?;
    // Other answers of the menus (`commitment = "regular"`) are kept for the coordinator.
    let other_answers: Vec<String> = draft
        .answers
        .iter()
        .filter(|(k, _)| !k.starts_with("help.") && !k.starts_with("language.") && *k != "postcode")
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    let how = if other_answers.is_empty() {
        format!("by phone (call {sid})")
    } else {
        format!("by phone (call {sid}); {}", other_answers.join(", "))
    };
    rows::note(conn, id, None, "signed up", &how, at)?;
    Ok(id)
}

/// What an import did: the rows added, or every row refused with why.
#[derive(Debug, Clone, Default)]
pub struct Imported {
    /// Records added, with the row each came from.
    pub added: Vec<(usize, VolunteerId)>,
    /// Rows refused: row number and why.
    pub refused: Vec<(usize, String)>,
}

/// Adds a city's existing list to line `line`'s roster, as active volunteers. Every row
/// is checked (fields, a phone already on the roster or twice in the list); with any row
/// refused nothing is added unless `skip_refused`, and no row is ever half-written.
///
/// # Errors
/// An unknown line, [`Error::CoordinatorsOnly`], or the database's failure.
pub async fn import(
    ops: &Ops,
    door: Door,
    line: Option<&str>,
    rows_in: Vec<(usize, Entry)>,
    skip_refused: bool,
) -> Result<Imported> {
    let flow = line_for(ops, door, line).await?;
    let mut report = Imported::default();
    let mut checked = Vec::new();
    let mut phones = std::collections::HashMap::new();
    for (row, entry) in rows_in {
        match entry.check(catalogue(&flow), Places::builtin(), true) {
            Ok((phone, profile)) => {
                if let Some(first) = phones.insert(phone.as_str().to_owned(), row) {
                    report.refused.push((row, format!("phone: the same number as row {first}")));
                } else {
                    checked.push((row, entry, phone, profile));
                }
            }
            Err(e) => report.refused.push((row, e.to_string())),
        }
    }
    let now = ops.now();
    let line = flow.id.clone();
    change(ops, move |c| {
        let coordinator = coordinator(c, door)?;
        let mut ready = Vec::new();
        for (row, entry, phone, profile) in checked {
            match refusal(c, &coordinator, &line, &phone, &profile)? {
                Some(refused) => report.refused.push((row, refused.to_string())),
                None => ready.push((row, entry, phone, profile)),
            }
        }
        report.refused.sort_by_key(|(row, _)| *row);
        if !report.refused.is_empty() && !skip_refused {
            return Ok(report);
        }
        for (row, entry, phone, profile) in ready {
            let new = Checked { entry: &entry, phone: &phone, profile: &profile };
            let id = add_active(
                c,
                &coordinator,
                &line,
                &new,
                "the city's list",
                ("imported", &format!("row {row}")),
                now,
            )?;
            report.added.push((row, id));
        }
        Ok(report)
    })
    .await
}
