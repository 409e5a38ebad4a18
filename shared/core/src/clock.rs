//! What services take from the world rather than decide: the time and fresh
//! ids. Injected, so that a service test sets both and every timestamp a
//! service writes comes from one clock.

use std::sync::Mutex;

use time::OffsetDateTime;

use crate::ids::new_id;

/// The current time.
pub trait Clock: Sync {
    fn now(&self) -> OffsetDateTime;

    /// The current time as stored and shown (see [`crate::time::format`]).
    fn timestamp(&self) -> String {
        crate::time::format(self.now())
    }
}

/// The system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// The system had no randomness to give (it never happens on Lambda).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no randomness available")]
pub struct NoRandomness;

/// Fresh ids (UUID-shaped: see [`new_id`]) for what a service creates.
pub trait IdSource: Sync {
    fn new_id(&self) -> Result<String, NoRandomness>;
}

/// Random ids from the operating system.
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomIds;

impl IdSource for RandomIds {
    fn new_id(&self) -> Result<String, NoRandomness> {
        let mut random = [0u8; 16];
        getrandom::fill(&mut random).map_err(|_| NoRandomness)?;
        Ok(new_id(random))
    }
}

/// A clock that stands still until it is moved, for tests.
#[derive(Debug)]
pub struct FixedClock(Mutex<OffsetDateTime>);

impl FixedClock {
    pub fn at(t: OffsetDateTime) -> Self {
        FixedClock(Mutex::new(t))
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: time::Duration) {
        let mut t = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *t += by;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Ids counted from 1, for tests: `00000000-0000-4000-8000-000000000001`…
#[derive(Debug, Default)]
pub struct SequentialIds(Mutex<u64>);

impl IdSource for SequentialIds {
    fn new_id(&self) -> Result<String, NoRandomness> {
        let mut n = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *n += 1;
        let mut random = [0u8; 16];
        random[8..].copy_from_slice(&n.to_be_bytes());
        Ok(new_id(random))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_clock_moves_only_when_told() {
        let clock = FixedClock::at(time::macros::datetime!(2026-01-02 03:04:05 UTC));
        assert_eq!(clock.timestamp(), "2026-01-02T03:04:05.000Z");
        clock.advance(time::Duration::seconds(90));
        assert_eq!(clock.timestamp(), "2026-01-02T03:05:35.000Z");
    }

    #[test]
    fn sequential_ids_differ_and_random_ones_too() {
        let ids = SequentialIds::default();
        assert_ne!(ids.new_id(), ids.new_id());
        assert_ne!(RandomIds.new_id(), RandomIds.new_id());
    }
}
