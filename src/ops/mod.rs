//! The application layer: every use-case of the people who work the line, written once.
//! The console, the JSON API and the command line parse their input into a command of
//! [`queue`] or [`agents`], call it with the [`Actor`] they authenticated, and render
//! what comes back; none of them decides a rule. Who may do what is checked here, and a
//! use-case that only a supervisor may run takes a [`Supervisor`], which only
//! [`Actor::supervisor`] makes. Changes run inside the database writer's transaction, so
//! each use-case is atomic (two agents racing for one request cannot both get it).
//! The volunteers' roster ([`volunteers`]) and the missions handed to them ([`missions`])
//! take a [`volunteers::Coordinator`], made from an actor who keeps the roster (with the
//! postcodes a referent is limited to) or from the operator at the command line.

pub mod agents;
pub mod auth;
pub mod calling;
pub mod calls;
pub mod keypad;
pub mod lines;
pub mod missions;
pub mod queue;
pub mod stats;
pub mod volunteers;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use crate::clock::Clock;
use crate::domain::{Agent, AgentId, Role};
use crate::store::{Store, StoreError};

/// What the use-cases work with: the database, the time, the length of a claim, and the
/// consoles to tell when the queue changes.
#[derive(Clone)]
pub struct Ops {
    store: Store,
    clock: Arc<dyn Clock>,
    lease: Duration,
    changes: tokio::sync::broadcast::Sender<Option<String>>,
    throttle: Arc<crate::domain::throttle::Throttle>,
    flows: crate::flow::InForce,
    roster: Arc<crate::store::volunteers::RosterCache>,
    calling: bool,
    outbox: Arc<tokio::sync::Notify>,
}

impl std::fmt::Debug for Ops {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ops").field("store", &self.store).field("lease", &self.lease).finish_non_exhaustive()
    }
}

impl Ops {
    /// The use-cases over `store` and the lines of `flows`, with claims lasting `lease`.
    #[must_use]
    pub fn new(store: Store, clock: Arc<dyn Clock>, lease: Duration, flows: crate::flow::InForce) -> Self {
        let (changes, _) = tokio::sync::broadcast::channel(64);
        Self {
            store,
            clock,
            lease,
            changes,
            throttle: Arc::default(),
            flows,
            roster: Arc::default(),
            calling: false,
            outbox: Arc::default(),
        }
    }

    /// The same use-cases, placing calls through the provider (`on`) or none.
    #[must_use]
    pub fn calling_out(mut self, on: bool) -> Self {
        self.calling = on;
        self
    }

    /// Whether the service places calls.
    #[must_use]
    pub fn places_calls(&self) -> bool {
        self.calling
    }

    /// Wakes the worker that places calls: the outbox has a new row, or a round ended.
    pub fn outbox_changed(&self) {
        self.outbox.notify_one();
    }

    /// Waits until [`Ops::outbox_changed`] is called (or returns at once if it was since
    /// the last wait).
    pub async fn outbox_wait(&self) {
        self.outbox.notified().await;
    }

    /// The database.
    #[must_use]
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The flows in force.
    #[must_use]
    pub fn flows(&self) -> Arc<crate::flow::Flows> {
        self.flows.get()
    }

    /// Puts `flows` in force (the next webhook uses them).
    pub fn replace_flows(&self, flows: crate::flow::Flows) {
        self.flows.replace(flows);
    }

    /// Now, by the service's clock.
    #[must_use]
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Told of every change to the queue, with the line it happened on when known (a
    /// console of that line refreshes its table).
    #[must_use]
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Option<String>> {
        self.changes.subscribe()
    }

    /// Tells the consoles that the queue changed, on some line.
    pub fn queue_changed(&self) {
        // No console listening is not an error.
        let _ = self.changes.send(None);
    }

    /// Tells the consoles of line `line` that its queue changed (the voice line does,
    /// after registering a request).
    pub fn queue_changed_on(&self, line: &str) {
        let _ = self.changes.send(Some(line.to_owned()));
    }
}

/// Who is acting: an authenticated account. Made by a front door from the account it
/// identified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    /// The account.
    pub id: AgentId,
    role: Role,
}

impl Actor {
    /// The account as an actor.
    #[must_use]
    pub fn of(agent: &Agent) -> Self {
        Self { id: agent.id, role: agent.role }
    }

    /// Whether it is a supervisor's account (an administrator is one, of every line).
    #[must_use]
    pub fn is_supervisor(self) -> bool {
        matches!(self.role, Role::Supervisor | Role::Admin)
    }

    /// What the account may do.
    #[must_use]
    pub fn role(self) -> Role {
        self.role
    }

    /// Refuses a volunteer's account: the queue and the roster are for the line's staff.
    ///
    /// # Errors
    /// [`Error::StaffOnly`] for a volunteer.
    pub fn staff(self) -> Result<Self, Error> {
        if self.role == Role::Volunteer { Err(Error::StaffOnly) } else { Ok(self) }
    }

    /// The same actor with a supervisor's rights, or the refusal.
    ///
    /// # Errors
    /// [`Error::SupervisorsOnly`] for an agent.
    pub fn supervisor(self) -> Result<Supervisor, Error> {
        if self.is_supervisor() { Ok(Supervisor(self)) } else { Err(Error::SupervisorsOnly) }
    }
}

/// The lines an account works on: its own, or every line (an administrator, an account
/// given none, the operator at the command line).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Lines(Option<Vec<String>>);

impl Lines {
    /// Every line.
    #[must_use]
    pub fn every() -> Self {
        Self(None)
    }

    /// Only these lines.
    #[must_use]
    pub fn only(lines: Vec<String>) -> Self {
        Self(Some(lines))
    }

    /// Whether `line` is one of them.
    #[must_use]
    pub fn covers(&self, line: &str) -> bool {
        self.0.as_ref().is_none_or(|lines| lines.iter().any(|l| l == line))
    }

    /// The lines, or `None` for every line.
    #[must_use]
    pub fn named(&self) -> Option<&[String]> {
        self.0.as_deref()
    }
}

/// The lines `actor` works on, read inside the use-case's transaction.
///
/// # Errors
/// The database's failure.
pub fn lines_of(conn: &rusqlite::Connection, actor: Actor) -> std::result::Result<Lines, StoreError> {
    if actor.role == Role::Admin {
        return Ok(Lines::every());
    }
    let lines = crate::store::agents::lines(conn, actor.id)?;
    Ok(if lines.is_empty() { Lines::every() } else { Lines::only(lines) })
}

/// What an account sees of the lines' records: its lines, and within them a referent's
/// postcodes (empty: every postcode).
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// The lines.
    pub lines: Lines,
    /// A referent's postcodes; empty: every one.
    pub postcodes: Vec<String>,
    /// A referent's neighbourhoods (line, id); empty: every one.
    pub neighbourhoods: Vec<(String, String)>,
}

impl Scope {
    /// Whether a record of `line` at `postcode` is within it.
    #[must_use]
    pub fn covers(&self, line: &str, postcode: Option<&str>) -> bool {
        self.lines.covers(line)
            && (self.postcodes.is_empty() || postcode.is_some_and(|p| self.postcodes.iter().any(|s| s == p)))
    }

    /// Whether a request is within it: its line and postcode, and for a referent of
    /// neighbourhoods, one of theirs.
    #[must_use]
    pub fn covers_request(&self, r: &crate::domain::queue::Request) -> bool {
        self.covers(&r.line, r.postcode.as_deref())
            && (self.neighbourhoods.is_empty()
                || r.neighbourhood
                    .as_deref()
                    .is_some_and(|n| self.neighbourhoods.iter().any(|(l, m)| *l == r.line && m == n)))
    }
}

/// Proof that the actor is a supervisor; only [`Actor::supervisor`] makes one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Supervisor(Actor);

impl Supervisor {
    /// The supervisor's account.
    #[must_use]
    pub fn id(self) -> AgentId {
        self.0.id
    }

    /// The supervisor as an actor.
    #[must_use]
    pub fn actor(self) -> Actor {
        self.0
    }
}

/// Why a use-case was not carried out. The message is for the person who asked; the
/// code is stable, for scripts.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No such callback request.
    #[error("no such request")]
    NoSuchRequest,
    /// No such account.
    #[error("no such agent")]
    NoSuchAgent,
    /// Nothing in the queue (claim next).
    #[error("no request is waiting")]
    QueueEmpty,
    /// Someone holds it, or it is closed or not due yet.
    #[error("this request is held by someone else, closed, or not due yet")]
    NotAvailable,
    /// Only the holder of the claim (or a supervisor) may do this.
    #[error("only the agent holding the request can do this")]
    NotHolder,
    /// Only supervisors may do this.
    #[error("only supervisors can do this")]
    SupervisorsOnly,
    /// The input is wrong; the message says how.
    #[error("{0}")]
    Invalid(String),
    /// One field of the input is wrong.
    #[error("{0}")]
    Field(#[from] crate::domain::volunteers::FieldError),
    /// No such volunteer (or not one this account may see).
    #[error("no such volunteer")]
    NoSuchVolunteer,
    /// No such mission (or not one this account may see).
    #[error("no such mission")]
    NoSuchMission,
    /// No such line (or not one this account works on).
    #[error("no such line")]
    NoSuchLine,
    /// No call by that id (or another line's, or one the retention purge emptied).
    #[error("no such call")]
    NoSuchCall,
    /// The mission or the volunteer is not in a state that allows this.
    #[error("{0}")]
    WrongState(String),
    /// Only coordinators and supervisors keep the roster.
    #[error("only coordinators and supervisors can do this")]
    CoordinatorsOnly,
    /// A volunteer's account sees only its own missions.
    #[error("a volunteer's account sees only its own missions")]
    StaffOnly,
    /// The agent already holds [`MAX_CLAIMS`](crate::domain::queue::MAX_CLAIMS) requests.
    #[error("you already hold {} requests: record or give one back first", crate::domain::queue::MAX_CLAIMS)]
    TooManyClaims,
    /// A wrong login or password, or a disabled account (which is not said).
    #[error("wrong login or password")]
    BadLogin,
    /// Too many failed logins on this account or from this address: wait this long.
    #[error("too many attempts; try again in {} s", .0.num_seconds().max(1))]
    TooManyAttempts(Duration),
    /// The service places no calls: `twilio_account_sid` is not set.
    #[error(
        "calling out is not set up: set twilio_account_sid (SOLIDAIRE_TWILIO_ACCOUNT_SID) with the auth token"
    )]
    CallingOff,
    /// The database failed (details are logged, never shown).
    #[error("the database is unavailable")]
    Store(#[from] StoreError),
}

impl Error {
    /// The stable code (`not_found`, `queue_empty`, …).
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoSuchRequest
            | Self::NoSuchAgent
            | Self::NoSuchVolunteer
            | Self::NoSuchMission
            | Self::NoSuchLine
            | Self::NoSuchCall => "not_found",
            Self::QueueEmpty => "queue_empty",
            Self::NotAvailable => "not_available",
            Self::NotHolder => "not_holder",
            Self::SupervisorsOnly | Self::CoordinatorsOnly | Self::StaffOnly => "forbidden",
            Self::Invalid(_) | Self::Field(_) => "invalid",
            Self::WrongState(_) => "wrong_state",
            Self::TooManyClaims => "too_many_claims",
            Self::BadLogin => "bad_login",
            Self::TooManyAttempts(_) => "too_many_attempts",
            Self::CallingOff => "calling_off",
            Self::Store(_) => "unavailable",
        }
    }
}

/// A use-case's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Runs `f` on the database writer, in its transaction. A use-case refuses before it
/// writes anything; a database failure part-way undoes what it wrote.
async fn change<T, F>(ops: &Ops, f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&rusqlite::Connection) -> Result<T> + Send + 'static,
{
    ops.store
        .write(move |conn| match f(conn) {
            Err(Error::Store(e)) => Err(e),
            decided => Ok(decided),
        })
        .await?
}
