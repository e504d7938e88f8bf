//! How often a password may be tried: per account and per address, with delays that
//! double after a few free attempts (the policy is described in [`crate::ops::auth`]).
//! Pure: the time is given.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

/// Attempts on one account before delays start (typing mistakes).
const FREE_PER_ACCOUNT: u32 = 3;
/// Attempts from one address before delays start.
const FREE_PER_ADDRESS: u32 = 10;
/// The longest delay between two attempts.
pub const MAX_DELAY: Duration = Duration::minutes(15);
/// Failures older than this are forgotten.
const FORGET_AFTER: Duration = Duration::hours(1);
/// Accounts and addresses remembered at most (a flood of made-up names cannot fill the
/// memory; the oldest are forgotten first).
const REMEMBERED: usize = 10_000;

/// Failed attempts of one account or one address.
#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: DateTime<Utc>,
}

impl Failures {
    /// When the next attempt may come, given `free` attempts without delay.
    fn next_allowed(self, free: u32) -> DateTime<Utc> {
        if self.count < free {
            return self.last;
        }
        let doublings = (self.count - free).min(20);
        let delay = Duration::seconds(1_i64 << doublings).min(MAX_DELAY);
        self.last + delay
    }
}

/// What one attempt is keyed by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Account(String),
    Address(IpAddr),
}

/// The failed attempts the service remembers (in memory: a restart forgets them, which a
/// guesser cannot cause).
#[derive(Debug, Default)]
pub struct Throttle {
    failures: Mutex<HashMap<Key, Failures>>,
}

impl Throttle {
    /// Takes an attempt for `login` from `address` at `now`, counted as failed until
    /// [`Throttle::succeeded`]; or says how long to wait.
    pub fn attempt(&self, login: &str, address: Option<IpAddr>, now: DateTime<Utc>) -> Result<(), Duration> {
        let mut failures = self.failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let keys: Vec<(Key, u32)> = std::iter::once((Key::Account(login.to_lowercase()), FREE_PER_ACCOUNT))
            .chain(address.map(|a| (Key::Address(a), FREE_PER_ADDRESS)))
            .collect();
        let wait = keys
            .iter()
            .filter_map(|(key, free)| {
                failures.get(key).filter(|f| now - f.last < FORGET_AFTER).map(|f| f.next_allowed(*free))
            })
            .max()
            .filter(|&allowed| allowed > now);
        if let Some(allowed) = wait {
            return Err(allowed - now);
        }
        if failures.len() >= REMEMBERED {
            forget_oldest(&mut failures, now);
        }
        for (key, _) in keys {
            let entry = failures.entry(key).or_insert(Failures { count: 0, last: now });
            if now - entry.last >= FORGET_AFTER {
                entry.count = 0;
            }
            entry.count += 1;
            entry.last = now;
        }
        Ok(())
    }

    /// The attempt on `login` from `address` was right: its account's failures are
    /// cleared, and the address's count loses the one this attempt added (its other
    /// failures stay, or one account would clear an address's guesses at others; an
    /// office where everyone logs in is not slowed by its own logins).
    pub fn succeeded(&self, login: &str, address: Option<IpAddr>) {
        let mut failures = self.failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        failures.remove(&Key::Account(login.to_lowercase()));
        if let Some(entry) = address.and_then(|a| failures.get_mut(&Key::Address(a))) {
            entry.count = entry.count.saturating_sub(1);
        }
    }
}

fn forget_oldest(failures: &mut HashMap<Key, Failures>, now: DateTime<Utc>) {
    failures.retain(|_, f| now - f.last < FORGET_AFTER);
    if failures.len() >= REMEMBERED {
        let mut ages: Vec<DateTime<Utc>> = failures.values().map(|f| f.last).collect();
        ages.sort_unstable();
        let cutoff = ages[ages.len() / 2];
        failures.retain(|_, f| f.last > cutoff);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap()
    }

    #[test]
    fn delays_start_after_the_free_attempts_and_double_up_to_the_maximum() {
        let throttle = Throttle::default();
        for _ in 0..FREE_PER_ACCOUNT {
            assert_eq!(throttle.attempt("anna", None, at(0)), Ok(()));
        }
        assert_eq!(
            throttle.attempt("Anna", None, at(0)),
            Err(Duration::seconds(1)),
            "names differ in case only"
        );
        assert_eq!(throttle.attempt("anna", None, at(1)), Ok(()));
        assert_eq!(throttle.attempt("anna", None, at(2)), Err(Duration::seconds(1)));
        assert_eq!(throttle.attempt("anna", None, at(3)), Ok(()));
        assert_eq!(throttle.attempt("anna", None, at(4)), Err(Duration::seconds(3)));
        let mut now = 3;
        for _ in 0..20 {
            now += throttle.attempt("anna", None, at(now)).err().map_or(0, |d| d.num_seconds());
            let _ = throttle.attempt("anna", None, at(now));
        }
        assert_eq!(throttle.attempt("anna", None, at(now)), Err(MAX_DELAY));
        // Another account is not slowed by it.
        assert_eq!(throttle.attempt("bert", None, at(now)), Ok(()));
    }

    #[test]
    fn an_office_logging_in_all_day_is_not_slowed_by_its_own_logins() {
        let throttle = Throttle::default();
        let office = Some(IpAddr::from([192, 0, 2, 8]));
        for i in 0..100 {
            let login = format!("agent{}", i % 7);
            assert_eq!(throttle.attempt(&login, office, at(i)), Ok(()), "login {i}");
            throttle.succeeded(&login, office);
        }
    }

    #[test]
    fn an_address_is_slowed_across_accounts_and_the_right_password_clears_only_its_account() {
        let throttle = Throttle::default();
        let address = Some(IpAddr::from([192, 0, 2, 7]));
        for i in 0..FREE_PER_ADDRESS {
            assert_eq!(throttle.attempt(&format!("name{i}"), address, at(0)), Ok(()));
        }
        assert!(throttle.attempt("other", address, at(0)).is_err());
        assert_eq!(throttle.attempt("other", None, at(0)), Ok(()), "from elsewhere");
        // A second later, name1's owner logs in from there: the address's other
        // failures stay, and the next attempt from it waits again.
        assert_eq!(throttle.attempt("name1", address, at(1)), Ok(()));
        throttle.succeeded("name1", address);
        assert!(throttle.attempt("other", address, at(1)).is_err(), "the address still waits");
        // An hour later, all is forgotten.
        assert_eq!(throttle.attempt("other", address, at(3600)), Ok(()));
    }
}
