//! The roster's rows: `volunteers`, every change to one (`volunteer_history`) and the
//! postcodes of referents (`referent_postcodes`). Named operations only; who may run them
//! and when is decided by [`crate::ops::volunteers`].

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, named_params, params};

use super::{StoreError, time};
use crate::domain::AgentId;
use crate::domain::places::Point;
use crate::domain::queue::HistoryEntry;
use crate::domain::volunteers::{Profile, Volunteer, VolunteerId, VolunteerState};
use crate::domain::week::Availability;

/// A new record, checked.
#[derive(Debug, Clone)]
pub struct NewVolunteer<'a> {
    /// Line (flow id).
    pub line: &'a str,
    /// Name ('' for a phone sign-up).
    pub name: &'a str,
    /// The name as said on the phone.
    pub name_recording_url: Option<&'a str>,
    /// E.164.
    pub phone: &'a str,
    /// Where, what, when.
    pub profile: &'a Profile,
    /// Pending (phone sign-up) or active (added by a coordinator).
    pub state: VolunteerState,
    /// How consent was given.
    pub consent_how: Option<&'a str>,
    /// Notes.
    pub notes: &'a str,
}

const SELECT: &str =
    "SELECT id, line, name, name_recording_url, phone, postcode, section, latitude, longitude,
        languages, helps, availability, radius_km, weekly_max, on_duty, state, consent_at, consent_how, notes,
        account_id, created_at
    FROM volunteers";

fn words(text: &str) -> Vec<String> {
    text.split(',').filter(|w| !w.is_empty()).map(str::to_owned).collect()
}

fn read(r: &Row<'_>) -> rusqlite::Result<Volunteer> {
    let bad = |i: usize, text: &str| {
        rusqlite::Error::InvalidColumnType(i, text.to_owned(), rusqlite::types::Type::Text)
    };
    let availability: String = r.get(11)?;
    let state: String = r.get(15)?;
    let created: String = r.get(20)?;
    let consent_at: Option<String> = r.get(16)?;
    let consent_how: Option<String> = r.get(17)?;
    Ok(Volunteer {
        id: VolunteerId(r.get(0)?),
        line: r.get(1)?,
        name: r.get(2)?,
        name_recording_url: r.get(3)?,
        phone: r.get(4)?,
        profile: Profile {
            postcode: r.get(5)?,
            section: r.get(6)?,
            point: Point { lat: r.get(7)?, lon: r.get(8)? },
            languages: words(&r.get::<_, String>(9)?),
            helps: words(&r.get::<_, String>(10)?),
            availability: Availability::parse(&availability).map_err(|_| bad(11, &availability))?,
            radius_km: r.get(12)?,
            weekly_max: r.get(13)?,
        },
        on_duty: r.get(14)?,
        state: VolunteerState::parse(&state).map_err(|_| bad(15, &state))?,
        consent: consent_at.and_then(|at| time::parse(&at)).map(|at| (at, consent_how.unwrap_or_default())),
        notes: r.get(18)?,
        account: r.get::<_, Option<i64>>(19)?.map(AgentId),
        created_at: time::parse(&created).ok_or_else(|| bad(20, &created))?,
    })
}

/// Adds a record; the phone must not be on the line's roster already.
///
/// # Errors
/// SQLite errors (a duplicate phone among them: check with [`by_phone`] first).
pub fn insert(
    conn: &Connection,
    new: &NewVolunteer<'_>,
    at: DateTime<Utc>,
) -> Result<VolunteerId, StoreError> {
    let p = new.profile;
    conn.prepare_cached(
        "INSERT INTO volunteers (line, name, name_recording_url, phone, postcode, section, latitude, longitude,
            languages, helps, availability, radius_km, weekly_max, state, consent_at, consent_how, notes, created_at)
         VALUES (:line, :name, :rec, :phone, :postcode, :section, :lat, :lon, :languages, :helps, :availability,
            :radius, :weekly, :state, CASE WHEN :consent IS NULL THEN NULL ELSE :at END, :consent, :notes, :at)",
    )?
    .execute(named_params! {
        ":line": new.line,
        ":name": new.name,
        ":rec": new.name_recording_url,
        ":phone": new.phone,
        ":postcode": p.postcode,
        ":section": p.section,
        ":lat": p.point.lat,
        ":lon": p.point.lon,
        ":languages": p.languages.join(","),
        ":helps": p.helps.join(","),
        ":availability": p.availability.to_string(),
        ":radius": p.radius_km,
        ":weekly": p.weekly_max,
        ":state": new.state.as_str(),
        ":consent": new.consent_how,
        ":notes": new.notes,
        ":at": time::format(at),
    })?;
    Ok(VolunteerId(conn.last_insert_rowid()))
}

/// The volunteer on `line` with this phone, if any.
///
/// # Errors
/// SQLite errors.
pub fn by_phone(conn: &Connection, line: &str, phone: &str) -> Result<Option<VolunteerId>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT id FROM volunteers WHERE line = ?1 AND phone = ?2")?
        .query_row(params![line, phone], |r| r.get(0).map(VolunteerId))
        .optional()?)
}

/// One record.
///
/// # Errors
/// SQLite errors.
pub fn get(conn: &Connection, id: VolunteerId) -> Result<Option<Volunteer>, StoreError> {
    Ok(conn.prepare_cached(&format!("{SELECT} WHERE id = ?1"))?.query_row([id.0], read).optional()?)
}

/// The volunteer whose account is `agent`.
///
/// # Errors
/// SQLite errors.
pub fn by_account(conn: &Connection, agent: AgentId) -> Result<Option<Volunteer>, StoreError> {
    Ok(conn
        .prepare_cached(&format!("{SELECT} WHERE account_id = ?1"))?
        .query_row([agent.0], read)
        .optional()?)
}

/// Which records a list shows.
#[derive(Debug, Clone, Default)]
pub struct RosterFilter {
    /// Only this line.
    pub line: Option<String>,
    /// Only this postcode.
    pub postcode: Option<String>,
    /// Only those offering this kind of help.
    pub help: Option<String>,
    /// Only this state.
    pub state: Option<VolunteerState>,
}

/// The roster within `filter`, oldest record first.
///
/// # Errors
/// SQLite errors.
pub fn list(conn: &Connection, filter: &RosterFilter) -> Result<Vec<Volunteer>, StoreError> {
    let sql = format!(
        "{SELECT} WHERE (:line IS NULL OR line = :line) AND (:postcode IS NULL OR postcode = :postcode)
           AND (:help IS NULL OR ',' || helps || ',' LIKE '%,' || :help || ',%')
           AND (:state IS NULL OR state = :state)
         ORDER BY id"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(
        named_params! {
            ":line": filter.line,
            ":postcode": filter.postcode,
            ":help": filter.help,
            ":state": filter.state.map(VolunteerState::as_str),
        },
        read,
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Sets a record's state (and when it left); returns whether it changed.
///
/// # Errors
/// SQLite errors.
pub fn set_state(
    conn: &Connection,
    id: VolunteerId,
    state: VolunteerState,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let changed = conn
        .prepare_cached(
            "UPDATE volunteers SET state = ?2, left_at = CASE WHEN ?2 = 'left' THEN ?3 ELSE NULL END
             WHERE id = ?1 AND state <> ?2",
        )?
        .execute(params![id.0, state.as_str(), time::format(at)])?;
    Ok(changed > 0)
}

/// Rewrites a record's name, phone, profile and notes.
///
/// # Errors
/// SQLite errors.
pub fn update(
    conn: &Connection,
    id: VolunteerId,
    name: &str,
    phone: &str,
    p: &Profile,
    notes: &str,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE volunteers SET name = :name, phone = :phone, postcode = :postcode, section = :section,
            latitude = :lat, longitude = :lon, languages = :languages, helps = :helps,
            availability = :availability, radius_km = :radius, weekly_max = :weekly, notes = :notes
         WHERE id = :id",
    )?
    .execute(named_params! {
        ":id": id.0,
        ":name": name,
        ":phone": phone,
        ":postcode": p.postcode,
        ":section": p.section,
        ":lat": p.point.lat,
        ":lon": p.point.lon,
        ":languages": p.languages.join(","),
        ":helps": p.helps.join(","),
        ":availability": p.availability.to_string(),
        ":radius": p.radius_km,
        ":weekly": p.weekly_max,
        ":notes": notes,
    })?;
    Ok(())
}

/// Turns the volunteer's own switch.
///
/// # Errors
/// SQLite errors.
pub fn set_on_duty(conn: &Connection, id: VolunteerId, on_duty: bool) -> Result<(), StoreError> {
    conn.execute("UPDATE volunteers SET on_duty = ?2 WHERE id = ?1", params![id.0, on_duty])?;
    Ok(())
}

/// Links a volunteer with the account they log in with.
///
/// # Errors
/// SQLite errors.
pub fn set_account(conn: &Connection, id: VolunteerId, agent: AgentId) -> Result<(), StoreError> {
    conn.execute("UPDATE volunteers SET account_id = ?2 WHERE id = ?1", params![id.0, agent.0])?;
    Ok(())
}

/// Writes a line of a volunteer's history.
///
/// # Errors
/// SQLite errors.
pub fn note(
    conn: &Connection,
    id: VolunteerId,
    by: Option<AgentId>,
    action: &str,
    detail: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO volunteer_history (volunteer_id, agent_id, action, detail, at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![id.0, by.map(|a| a.0), action, detail, time::format(at)])?;
    Ok(())
}

/// A volunteer's history, oldest first.
///
/// # Errors
/// SQLite errors.
pub fn history_of(conn: &Connection, id: VolunteerId) -> Result<Vec<HistoryEntry>, StoreError> {
    super::callbacks::entries(
        conn,
        "SELECT h.at, a.login, h.action, h.detail FROM volunteer_history h
         LEFT JOIN agents a ON a.id = h.agent_id WHERE h.volunteer_id = ?1 ORDER BY h.id",
        id.0,
    )
}

/// The postcodes a referent handles (empty: every postcode).
///
/// # Errors
/// SQLite errors.
pub fn referent_postcodes(conn: &Connection, agent: AgentId) -> Result<Vec<String>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT postcode FROM referent_postcodes WHERE agent_id = ?1 ORDER BY postcode")?;
    let rows = stmt.query_map([agent.0], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The neighbourhoods (line, id) account `agent` handles as a referent.
///
/// # Errors
/// SQLite errors.
pub fn referent_neighbourhoods(
    conn: &Connection,
    agent: AgentId,
) -> Result<Vec<(String, String)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT line, neighbourhood FROM referent_neighbourhoods WHERE agent_id = ?1 ORDER BY line, neighbourhood",
    )?;
    let rows = stmt.query_map([agent.0], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Gives an account the neighbourhoods of `line` it handles as a referent (replacing the
/// ones it had there).
///
/// # Errors
/// SQLite errors.
pub fn set_referent_neighbourhoods(
    conn: &Connection,
    agent: AgentId,
    line: &str,
    neighbourhoods: &[String],
) -> Result<(), StoreError> {
    conn.execute(
        "DELETE FROM referent_neighbourhoods WHERE agent_id = ?1 AND line = ?2",
        params![agent.0, line],
    )?;
    let mut stmt = conn.prepare_cached(
        "INSERT OR IGNORE INTO referent_neighbourhoods (agent_id, line, neighbourhood) VALUES (?1, ?2, ?3)",
    )?;
    for n in neighbourhoods {
        stmt.execute(params![agent.0, line, n])?;
    }
    Ok(())
}

/// Gives an account the postcodes it handles as a referent.
///
/// # Errors
/// SQLite errors.
pub fn set_referent_postcodes(
    conn: &Connection,
    agent: AgentId,
    postcodes: &[String],
) -> Result<(), StoreError> {
    conn.execute("DELETE FROM referent_postcodes WHERE agent_id = ?1", [agent.0])?;
    let mut stmt =
        conn.prepare_cached("INSERT INTO referent_postcodes (agent_id, postcode) VALUES (?1, ?2)")?;
    for p in postcodes {
        stmt.execute(params![agent.0, p])?;
    }
    Ok(())
}

/// Purges the numbers of volunteers who left before `before` (retention); returns how many.
///
/// # Errors
/// SQLite errors.
pub fn purge_left(conn: &Connection, before: DateTime<Utc>) -> Result<usize, StoreError> {
    Ok(conn.execute(
        "UPDATE volunteers SET phone = NULL, name = '', name_recording_url = NULL, notes = ''
         WHERE state = 'left' AND left_at < ?1 AND (phone IS NOT NULL OR name <> '')",
        [time::format(before)],
    )?)
}

/// Volunteer `v` asked not to be phoned before `until` (key 3 on an offer call).
///
/// # Errors
/// SQLite errors.
pub fn pause_calls(conn: &Connection, v: VolunteerId, until: DateTime<Utc>) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE volunteers SET calls_paused_until = ?2 WHERE id = ?1")?
        .execute(params![v.0, time::format(until)])?;
    Ok(())
}

/// The volunteers of `line` who asked not to be phoned before a time after `now`.
///
/// # Errors
/// SQLite errors.
pub fn calls_paused(
    conn: &Connection,
    line: &str,
    now: DateTime<Utc>,
) -> Result<std::collections::HashSet<VolunteerId>, StoreError> {
    let rows = conn
        .prepare_cached("SELECT id FROM volunteers WHERE line = ?1 AND calls_paused_until > ?2")?
        .query_map(params![line, time::format(now)], |r| r.get(0).map(VolunteerId))?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// The whole roster kept in memory for matching, read again from the database only when
/// `roster_version` has moved (a trigger bumps it on every change, whoever makes it).
#[derive(Debug, Default)]
pub struct RosterCache(std::sync::Mutex<Option<(i64, std::sync::Arc<Vec<Volunteer>>)>>);

impl RosterCache {
    /// Every volunteer of every line, as of now.
    ///
    /// # Errors
    /// SQLite errors.
    ///
    /// # Panics
    /// If a thread panicked while holding the cache (it only swaps a pointer).
    pub fn all(&self, conn: &Connection) -> Result<std::sync::Arc<Vec<Volunteer>>, StoreError> {
        // Inside a write transaction the rows may yet be rolled back: read, never keep.
        if !conn.is_autocommit() {
            return Ok(std::sync::Arc::new(list(conn, &RosterFilter::default())?));
        }
        // The version is read before the rows: a change committed in between makes the
        // next call read again, never keeps stale rows.
        let version: i64 = conn
            .prepare_cached("SELECT version FROM roster_version WHERE id = 1")?
            .query_row([], |r| r.get(0))?;
        if let Some((cached, rows)) = self.0.lock().expect("roster cache").as_ref() {
            if *cached == version {
                return Ok(std::sync::Arc::clone(rows));
            }
        }
        let rows = std::sync::Arc::new(list(conn, &RosterFilter::default())?);
        *self.0.lock().expect("roster cache") = Some((version, std::sync::Arc::clone(&rows)));
        Ok(rows)
    }
}
