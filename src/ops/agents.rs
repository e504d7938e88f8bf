//! Accounts: supervisors (and the operator at the server's command line) add, list and
//! disable agents' and supervisors' accounts, and issue API tokens.

use super::{Error, Ops, Result, Supervisor};
use crate::auth;
use crate::domain::accounts::check_login;
use crate::domain::{Agent, AgentId, Role};
use crate::store::agents;

/// Who may manage accounts.
#[derive(Debug, Clone, Copy)]
pub enum Manager {
    /// A supervisor, from the console or the API.
    Supervisor(Supervisor),
    /// The operator at the server's command line, who holds the database file itself.
    Operator,
}

impl From<Supervisor> for Manager {
    fn from(s: Supervisor) -> Self {
        Self::Supervisor(s)
    }
}

/// Creates an account with a password (hashed off the async workers) and, when given,
/// the phone its click-to-call rings: whole, or not at all.
///
/// # Errors
/// A bad login, role, password or phone, a login taken, or the database's failure.
pub async fn add(
    ops: &Ops,
    _by: Manager,
    login: &str,
    role: &str,
    password: String,
    phone: Option<&str>,
) -> Result<AgentId> {
    let role = Role::parse(role).map_err(Error::Invalid)?;
    let login = login.trim().to_owned();
    check_login(&login).map_err(Error::Invalid)?;
    let phone = phone_of(ops, phone)?;
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
pub async fn set_phone(ops: &Ops, _by: Manager, login: &str, phone: Option<&str>) -> Result<Option<String>> {
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

/// Every account, by login.
///
/// # Errors
/// The database's failure.
pub async fn list(ops: &Ops, _by: Manager) -> Result<Vec<Agent>> {
    Ok(ops.store.read(agents::list).await?)
}

/// Disables an account and ends its sessions and tokens at once.
///
/// # Errors
/// [`Error::NoSuchAgent`], or the database's failure.
pub async fn disable(ops: &Ops, _by: Manager, login: &str) -> Result<()> {
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
pub async fn issue_token(ops: &Ops, _by: Manager, login: &str) -> Result<String> {
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
