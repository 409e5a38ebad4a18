//! Fan-out tasks: a change that affects many users (a rule change, sync
//! turned on) is processed in bounded chunks. The task is stored; each chunk
//! reconciles a page of users and stores the position reached, and that write
//! triggers the next chunk. A crash resumes from the stored position; the
//! users of the interrupted chunk are reconciled again, which is idempotent.

use serde::{Deserialize, Serialize};

use crate::ids::{GroupId, UserId};

/// The reason of a forced reconcile's task.
pub const RECONCILE: &str = "reconcile";

/// The reason of a drift check's task (see [`crate::drift`]).
pub const DRIFT_CHECK: &str = "drift_check";

/// Which users a task reaches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FanOutScope {
    /// The members of these groups, group after group. A user in two of them
    /// is reconciled twice; the second time changes nothing.
    Groups { groups: Vec<GroupId> },
    /// Every directory user of the organization.
    Everyone,
}

/// Where the next chunk starts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Position {
    /// Index into `FanOutScope::Groups::groups` (0 for `Everyone`).
    pub group_index: usize,
    /// The last user of the previous chunk in that group (or listing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<UserId>,
}

/// What a chunk reads its users from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source<'a> {
    /// The members of this group.
    Group(&'a GroupId),
    /// The organization's user listing.
    Everyone,
    /// Nothing: every group is done.
    Finished,
}

/// A fan-out in progress, or finished.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FanOutTask {
    /// Derived from the change that started it, so a replay starts nothing new.
    pub id: String,
    /// Why: `rule`, `order`, `sync_on`, or `reconcile` (started by `ops
    /// reconcile`).
    pub reason: String,
    /// Every user reached gets a new generation and a job even when its
    /// desired state did not change (a forced reconcile: the product side
    /// may have drifted).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub force: bool,
    /// A drift check: every user reached whose account is in step gets a
    /// check job (the worker compares the product's account with the
    /// desired state); no desired state is written.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub check: bool,
    pub scope: FanOutScope,
    pub position: Position,
    /// Chunks done so far.
    pub chunk: u64,
    /// Users reconciled and jobs enqueued so far.
    pub users: u64,
    pub jobs: u64,
    pub done: bool,
    /// The users it was expected to reach, counted when it started (absent:
    /// not counted): what is left of it is this minus `users`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<u64>,
    pub created_at: String,
    pub updated_at: String,
}

impl FanOutTask {
    pub fn new(id: String, reason: &str, scope: FanOutScope, now: String) -> Self {
        Self {
            id,
            reason: reason.to_owned(),
            scope,
            force: false,
            check: false,
            position: Position::default(),
            chunk: 0,
            users: 0,
            jobs: 0,
            done: false,
            expected: None,
            created_at: now.clone(),
            updated_at: now,
        }
    }

    /// A forced reconcile of every directory user of the organization: each
    /// one's desired state is recomputed and a job sent even when nothing
    /// changed.
    pub fn forced_reconcile(id: String, now: String) -> Self {
        Self {
            force: true,
            ..Self::new(id, RECONCILE, FanOutScope::Everyone, now)
        }
    }

    /// A drift check of every directory user of the organization: a check
    /// job per user whose account should be as its desired state says.
    pub fn drift_check(id: String, now: String) -> Self {
        Self {
            check: true,
            ..Self::new(id, DRIFT_CHECK, FanOutScope::Everyone, now)
        }
    }

    /// The cause recorded on desired states stored by the chunk that starts
    /// at this task's position.
    pub fn chunk_cause(&self) -> String {
        format!("fanout:{}:{}", self.id, self.chunk)
    }

    /// The users it has yet to reach, as far as it knows: none once done.
    pub fn remaining(&self) -> Option<u64> {
        if self.done {
            return Some(0);
        }
        self.expected.map(|e| e.saturating_sub(self.users))
    }

    /// What the next chunk reads.
    pub fn source(&self) -> Source<'_> {
        match &self.scope {
            FanOutScope::Everyone => Source::Everyone,
            FanOutScope::Groups { groups } => groups
                .get(self.position.group_index)
                .map_or(Source::Finished, Source::Group),
        }
    }

    /// The task after one chunk: `users` reconciled, `jobs` sent, and `next`
    /// the last user read when the page said more follow (`None`: the
    /// current group or listing is exhausted).
    pub fn advanced(&self, users: u64, jobs: u64, next: Option<UserId>, now: String) -> Self {
        let mut t = self.clone();
        t.chunk += 1;
        t.users += users;
        t.jobs += jobs;
        t.updated_at = now;
        match next {
            Some(after) => t.position.after = Some(after),
            None => {
                t.position = Position {
                    group_index: t.position.group_index + 1,
                    after: None,
                };
                t.done = match &t.scope {
                    FanOutScope::Everyone => true,
                    FanOutScope::Groups { groups } => t.position.group_index >= groups.len(),
                };
            }
        }
        t
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn gid(s: &str) -> GroupId {
        GroupId::parse(s).unwrap()
    }

    fn uid(s: &str) -> UserId {
        UserId::parse(s).unwrap()
    }

    #[test]
    fn walks_group_after_group_then_is_done() {
        let t = FanOutTask::new(
            "t1".into(),
            "rule",
            FanOutScope::Groups {
                groups: vec![gid("a"), gid("b")],
            },
            "t0".into(),
        );
        assert_eq!(t.source(), Source::Group(&gid("a")));
        let t = t.advanced(500, 400, Some(uid("u500")), "t1".into());
        assert_eq!(t.position.after, Some(uid("u500")));
        assert_eq!(t.source(), Source::Group(&gid("a")));
        assert!(!t.done);
        let t = t.advanced(10, 10, None, "t2".into());
        assert_eq!(t.source(), Source::Group(&gid("b")));
        assert_eq!(t.position.after, None);
        assert!(!t.done);
        let t = t.advanced(3, 0, None, "t3".into());
        assert!(t.done);
        assert_eq!(t.source(), Source::Finished);
        assert_eq!((t.chunk, t.users, t.jobs), (3, 513, 410));
    }

    #[test]
    fn everyone_is_done_when_the_listing_ends() {
        let t = FanOutTask::new("t".into(), "sync_on", FanOutScope::Everyone, "t0".into());
        assert_eq!(t.source(), Source::Everyone);
        let t = t.advanced(500, 500, Some(uid("x")), "t1".into());
        assert!(!t.done);
        assert_eq!(t.chunk_cause(), "fanout:t:1");
        let t = t.advanced(1, 1, None, "t2".into());
        assert!(t.done);
    }

    #[test]
    fn a_forced_reconcile_reaches_everyone_and_keeps_its_flag() {
        let t = FanOutTask::forced_reconcile("reconcile-1".into(), "t0".into());
        assert!(t.force);
        assert_eq!(t.reason, RECONCILE);
        assert_eq!(t.source(), Source::Everyone);
        let json = serde_json::to_string(&t).unwrap();
        assert!(json.contains("\"force\":true"), "{json}");
        let back: FanOutTask = serde_json::from_str(&json).unwrap();
        assert_eq!(back, t);
        assert!(t.advanced(2, 2, Some(uid("x")), "t1".into()).force);
        // tasks stored before the flag existed read as not forced
        let plain = FanOutTask::new("t".into(), "rule", FanOutScope::Everyone, "t0".into());
        let json = serde_json::to_string(&plain).unwrap();
        assert!(!json.contains("force"), "{json}");
        assert!(!serde_json::from_str::<FanOutTask>(&json).unwrap().force);
    }

    #[test]
    fn a_drift_check_reaches_everyone_as_checks() {
        let t = FanOutTask::drift_check("drift-1".into(), "t0".into());
        assert!(t.check && !t.force);
        assert_eq!(t.reason, DRIFT_CHECK);
        assert_eq!(t.source(), Source::Everyone);
        let json = serde_json::to_string(&t).unwrap();
        assert!(json.contains("\"check\":true"), "{json}");
        assert!(t.advanced(2, 2, None, "t1".into()).check);
        let plain = FanOutTask::new("t".into(), "rule", FanOutScope::Everyone, "t0".into());
        assert!(!serde_json::to_string(&plain).unwrap().contains("check"));
    }
}
