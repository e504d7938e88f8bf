//! Accounts: supervisors (and the operator at the server's command line) add, list and
//! disable agents' and supervisors' accounts, and issue API tokens. An account belongs
//! to the lines it works on; a supervisor of some lines manages only their accounts, and
//! an administrator sees every line.

use super::{Error, Ops, Result, Supervisor};
use crate::auth;
use crate::domain::accounts::check_login;
use crate::domain::{Agent, AgentId, Role};
use crate::i18n::Lang;
use crate::store::agents;

/// Who may manage accounts.
#[derive(Debug, Clone, Copy)]
pub enum Manager {
    /// A supervisor, from the console or the API.
    Supervisor(Supervisor),
    /// The operator at the server's command line, who holds the database file itself.
    Operator,
}

impl Manager {
    /// The lines this manager works on (the operator: every line).
    ///
    /// # Errors
    /// The database's failure.
    pub async fn lines(self, ops: &Ops) -> Result<super::Lines> {
        match self {
            Self::Operator => Ok(super::Lines::every()),
            Self::Supervisor(s) => Ok(ops.store.read(move |c| super::lines_of(c, s.actor())).await?),
        }
    }
}

impl From<Supervisor> for Manager {
    fn from(s: Supervisor) -> Self {
        Self::Supervisor(s)
    }
}

/// An account with the lines it works on (none: every line).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Account {
    /// The account.
    #[serde(flatten)]
    pub agent: Agent,
    /// Its lines, sorted; empty for every line.
    pub lines: Vec<String>,
}

/// The lines a new account of `role` works on, from those `asked` (blank entries
/// ignored): lines of the flows in force, and the manager's own. Without any, a
/// supervisor's new account works on the supervisor's lines; on a server with several
/// lines, the operator or an administrator must name them (an administrator's account and
/// a volunteer's need none).
async fn lines_given(ops: &Ops, by: Manager, role: Role, asked: &[String]) -> Result<Vec<String>> {
    let flows = ops.flows();
    let mine = by.lines(ops).await?;
    if role == Role::Admin && mine.named().is_some() {
        return Err(Error::Invalid("only an administrator makes an administrator's account".to_owned()));
    }
    let mut lines: Vec<String> = Vec::new();
    for line in asked.iter().map(|l| l.trim()).filter(|l| !l.is_empty()) {
        if flows.get(line).is_none() || !mine.covers(line) {
            let known: Vec<&str> =
                flows.iter().filter(|f| mine.covers(&f.id)).map(|f| f.id.as_str()).collect();
            return Err(Error::Invalid(format!("no line `{line}` (lines: {})", known.join(", "))));
        }
        if !lines.iter().any(|l| l == line) {
            lines.push(line.to_owned());
        }
    }
    if role == Role::Admin {
        return Ok(Vec::new());
    }
    if lines.is_empty() {
        if let Some(own) = mine.named() {
            lines = own.to_vec();
        } else if flows.iter().count() > 1 && role != Role::Volunteer {
            return Err(Error::Invalid(
                "this server has several lines: name the lines the account works on, or make it an administrator (role admin)"
                    .to_owned(),
            ));
        }
    }
    lines.sort();
    Ok(lines)
}

/// Whether `manager` (of `mine`) may see and manage an account of `lines`: one of every
/// line sees every account; one of some lines, the accounts sharing one of them.
fn manages(mine: &super::Lines, lines: &[String]) -> bool {
    match mine.named() {
        None => true,
        Some(own) => lines.iter().any(|l| own.contains(l)),
    }
}

/// The account `login`, if `manager` may manage it.
async fn managed(ops: &Ops, by: Manager, login: &str) -> Result<Agent> {
    let mine = by.lines(ops).await?;
    let login = login.trim().to_owned();
    ops.store
        .read(move |c| {
            let Some((agent, _)) = agents::by_login(c, &login)? else { return Ok(None) };
            let lines = agents::lines(c, agent.id)?;
            let admin = agent.role == Role::Admin && mine.named().is_some();
            Ok((manages(&mine, &lines) && !admin).then_some(agent))
        })
        .await?
        .ok_or(Error::NoSuchAgent)
}

/// What a referent (a coordinator) handles: postcodes, or neighbourhoods of its line
/// (`[line.neighbourhoods]`). Empty: a coordinator of the whole line.
#[derive(Debug, Clone, Default)]
pub struct Referent {
    /// Postcodes of the table of places.
    pub postcodes: Vec<String>,
    /// Ids of the account's line's neighbourhoods.
    pub neighbourhoods: Vec<String>,
}

impl Referent {
    /// Checks it for an account of `role` working on `lines`; returns the line of its
    /// neighbourhoods, when it has some.
    fn check(&self, ops: &Ops, role: Role, lines: &[String]) -> Result<Option<String>> {
        let field =
            |field, problem: String| Error::Field(crate::domain::volunteers::FieldError { field, problem });
        if self.postcodes.is_empty() && self.neighbourhoods.is_empty() {
            return Ok(None);
        }
        if role != Role::Coordinator {
            return Err(field(
                "role",
                "postcodes and neighbourhoods are for a coordinator (a referent)".to_owned(),
            ));
        }
        let places = crate::domain::places::Places::builtin();
        for p in &self.postcodes {
            places.find(p).map_err(|e| field("postcodes", e))?;
        }
        if self.neighbourhoods.is_empty() {
            return Ok(None);
        }
        let flows = ops.flows();
        let line = match lines {
            [one] => one.clone(),
            [] if flows.iter().count() == 1 => flows.default_line().id.clone(),
            _ => {
                return Err(field(
                    "neighbourhoods",
                    "a referent of neighbourhoods works on one line: name it".to_owned(),
                ));
            }
        };
        let flow = flows.get(&line).ok_or(Error::NoSuchLine)?;
        let declared: Vec<&str> =
            flow.file.line.neighbourhoods.keys().map(|k| k.get_ref().as_str()).collect();
        if let Some(n) = self.neighbourhoods.iter().find(|n| !declared.contains(&n.as_str())) {
            let known = if declared.is_empty() { "none".to_owned() } else { declared.join(", ") };
            return Err(field(
                "neighbourhoods",
                format!("`{n}` is not a neighbourhood of line `{line}` ([line.neighbourhoods]: {known})"),
            ));
        }
        Ok(Some(line))
    }
}

/// Creates an account with a password (hashed off the async workers), the lines it works
/// on, for a referent what it handles, and, when given, the phone its click-to-call
/// rings: whole, or not at all.
///
/// # Errors
/// A bad login, role, password, line, postcode, neighbourhood or phone, a login taken, or
/// the database's failure.
#[allow(clippy::too_many_arguments)]
pub async fn add(
    ops: &Ops,
    by: Manager,
    login: &str,
    role: &str,
    password: String,
    phone: Option<&str>,
    lines: &[String],
    referent: Referent,
) -> Result<AgentId> {
    let role = Role::parse(role).map_err(Error::Invalid)?;
    let login = login.trim().to_owned();
    check_login(&login).map_err(Error::Invalid)?;
    let phone = phone_of(ops, phone)?;
    let lines = lines_given(ops, by, role, lines).await?;
    let neighbourhoods_line = referent.check(ops, role, &lines)?;
    let hash = tokio::task::spawn_blocking(move || auth::hash_password(&password))
        .await
        .map_err(|e| Error::Invalid(e.to_string()))?
        .map_err(Error::Invalid)?;
    let now = ops.now();
    super::change(ops, move |c| {
        if agents::by_login(c, &login)?.is_some() {
            return Err(Error::Invalid(format!("login `{login}` is already taken")));
        }
        let id = agents::add(c, &login, role, &hash, now)?;
        agents::set_phone(c, id, phone.as_ref().map(crate::phone::E164::as_str))?;
        agents::set_lines(c, id, &lines)?;
        crate::store::volunteers::set_referent_postcodes(c, id, &referent.postcodes)?;
        if let Some(line) = &neighbourhoods_line {
            crate::store::volunteers::set_referent_neighbourhoods(c, id, line, &referent.neighbourhoods)?;
        }
        Ok(id)
    })
    .await
}

/// A phone typed for click-to-call (blank: none), a national number read in the default
/// line's region.
fn phone_of(ops: &Ops, phone: Option<&str>) -> Result<Option<crate::phone::E164>> {
    let region = ops.flows().for_called("").region;
    phone
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            crate::phone::E164::parse(p, region).map_err(|e| Error::Invalid(format!("phone `{p}`: {e}")))
        })
        .transpose()
}

/// Sets (or, with `None` or a blank, removes) the phone account `login` is rung on for
/// click-to-call; returns it masked, for the one who set it.
///
/// # Errors
/// [`Error::NoSuchAgent`], [`Error::Invalid`] for a number that cannot be rung.
pub async fn set_phone(ops: &Ops, by: Manager, login: &str, phone: Option<&str>) -> Result<Option<String>> {
    managed(ops, by, login).await?;
    let phone = phone_of(ops, phone)?;
    let login = login.trim().to_owned();
    let shown = phone.as_ref().map(crate::phone::E164::masked);
    super::change(ops, move |c| {
        let (agent, _) = agents::by_login(c, &login)?.ok_or(Error::NoSuchAgent)?;
        agents::set_phone(c, agent.id, phone.as_ref().map(crate::phone::E164::as_str))?;
        Ok(())
    })
    .await?;
    Ok(shown)
}

/// Every account `by` manages, by login, with its lines.
///
/// # Errors
/// The database's failure.
pub async fn list(ops: &Ops, by: Manager) -> Result<Vec<Account>> {
    let mine = by.lines(ops).await?;
    let (all, mut lines) = ops.store.read(|c| Ok((agents::list(c)?, agents::all_lines(c)?))).await?;
    Ok(all
        .into_iter()
        .map(|agent| {
            let lines = lines.remove(&agent.id).unwrap_or_default();
            Account { agent, lines }
        })
        .filter(|a| manages(&mine, &a.lines) && !(a.agent.role == Role::Admin && mine.named().is_some()))
        .collect())
}

/// Disables an account and ends its sessions and tokens at once.
///
/// # Errors
/// [`Error::NoSuchAgent`], or the database's failure.
pub async fn disable(ops: &Ops, by: Manager, login: &str) -> Result<()> {
    managed(ops, by, login).await?;
    let login = login.to_owned();
    super::change(ops, move |c| {
        let (agent, _) = agents::by_login(c, &login)?.ok_or(Error::NoSuchAgent)?;
        agents::disable(c, agent.id)?;
        Ok(())
    })
    .await
}

/// Issues an API token for an active account; returns it (it is stored only as a digest,
/// so it is shown once).
///
/// # Errors
/// [`Error::NoSuchAgent`] (or disabled), or the database's failure.
pub async fn issue_token(ops: &Ops, by: Manager, login: &str) -> Result<String> {
    managed(ops, by, login).await?;
    let token = auth::new_token();
    let digest = auth::digest(&token);
    let (login, now) = (login.to_owned(), ops.now());
    super::change(ops, move |c| {
        let agent = agents::by_login(c, &login)?.map(|(a, _)| a).filter(|a| !a.disabled);
        let agent = agent.ok_or(Error::NoSuchAgent)?;
        agents::add_token(c, agent.id, &digest, now)?;
        Ok(())
    })
    .await?;
    Ok(token)
}

/// The console's language `agent` chose, if any.
///
/// # Errors
/// The database's failure.
pub async fn language(ops: &Ops, agent: AgentId) -> Result<Option<Lang>> {
    let code = ops.store.read(move |c| agents::language(c, agent)).await?;
    Ok(code.as_deref().and_then(Lang::parse))
}

/// Keeps the console's language an account chose for itself (`None`: its browser's).
///
/// # Errors
/// The database's failure.
pub async fn set_language(ops: &Ops, actor: super::Actor, language: Option<Lang>) -> Result<()> {
    let code = language.map(Lang::code);
    ops.store.write(move |c| agents::set_language(c, actor.id, code)).await?;
    Ok(())
}
