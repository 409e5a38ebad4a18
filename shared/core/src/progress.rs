//! Sync progress as admins see it: one user's sync status (in sync,
//! pending, failed, not synced), and the counts over an organization.

use serde::{Deserialize, Serialize};

use crate::state::{FailureClass, Outcome, SyncStatus};

/// Where one user's sync stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum UserSyncStatus {
    /// The desired generation is applied and the last outcome is a success.
    InSync,
    /// A desired generation is not applied yet, and no failure is recorded.
    Pending,
    /// A failure is recorded: the last reconcile failed, or the welcome
    /// email could not be sent.
    Failed,
    /// No desired state yet: sync is off, or it never reached the user.
    NotSynced,
}

impl UserSyncStatus {
    /// The status of a user with this desired generation (`None`: no desired
    /// state), this sync status, and (`email_failed`) a welcome-email
    /// failure. A recorded failure wins over everything else.
    pub fn of(
        desired_generation: Option<u64>,
        status: Option<&SyncStatus>,
        email_failed: bool,
    ) -> Self {
        let failed = status.is_some_and(|s| s.last_outcome == Outcome::Failure);
        if failed || email_failed {
            return Self::Failed;
        }
        let Some(desired) = desired_generation else {
            return Self::NotSynced;
        };
        match status {
            Some(s) if s.applied_generation >= desired => Self::InSync,
            // generation 0: no rule entitles the user, nothing to apply
            None if desired == 0 => Self::InSync,
            _ => Self::Pending,
        }
    }
}

/// What counting needs of a user's stored state (read with a projection:
/// not the desired assignment itself).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SyncSummary {
    /// `None`: no desired state.
    pub desired_generation: Option<u64>,
    pub status: Option<SyncStatus>,
}

/// Whether a user's failure waits in a dead-letter queue for Retry sync: a
/// permanent class (the job, or the welcome email, was dead-lettered at
/// once), or `product_api_unavailable` after its last automatic retry.
pub fn waits_for_retry(status: Option<&SyncStatus>, email_failed: bool) -> bool {
    let job = status
        .filter(|s| s.last_outcome == Outcome::Failure)
        .and_then(|s| s.failure.as_ref().map(|f| (f.class, s.dead_lettered)))
        .is_some_and(|(class, dead_lettered)| {
            class.is_permanent() || (class == FailureClass::ProductApiUnavailable && dead_lettered)
        });
    job || email_failed
}

/// Users of an organization by sync status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncCounts {
    /// Users counted (every user, when the count is exact).
    pub users: u64,
    pub in_sync: u64,
    pub pending: u64,
    pub failed: u64,
    pub not_synced: u64,
    /// Users whose failure waits for Retry sync (see [`waits_for_retry`]).
    pub dead_lettered: u64,
}

impl SyncCounts {
    /// Counts one user.
    pub fn add(&mut self, summary: Option<&SyncSummary>, email_failed: bool) {
        let desired = summary.and_then(|s| s.desired_generation);
        let status = summary.and_then(|s| s.status.as_ref());
        self.users += 1;
        match UserSyncStatus::of(desired, status, email_failed) {
            UserSyncStatus::InSync => self.in_sync += 1,
            UserSyncStatus::Pending => self.pending += 1,
            UserSyncStatus::Failed => self.failed += 1,
            UserSyncStatus::NotSynced => self.not_synced += 1,
        }
        if waits_for_retry(status, email_failed) {
            self.dead_lettered += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Failure;

    fn status(applied: u64, failure: Option<FailureClass>, dead_lettered: bool) -> SyncStatus {
        SyncStatus {
            applied_generation: applied,
            last_outcome: if failure.is_some() {
                Outcome::Failure
            } else {
                Outcome::Success
            },
            failure: failure.map(|class| Failure {
                class,
                product: None,
                domain: None,
            }),
            attempts: 1,
            at: "2026-11-22T10:00:00.000Z".into(),
            dead_lettered,
            retried_at: None,
            failure_entry: None,
        }
    }

    #[test]
    fn a_users_status() {
        use UserSyncStatus::*;
        assert_eq!(UserSyncStatus::of(None, None, false), NotSynced);
        // no rule entitles the user: nothing to apply
        assert_eq!(UserSyncStatus::of(Some(0), None, false), InSync);
        assert_eq!(UserSyncStatus::of(Some(1), None, false), Pending);
        assert_eq!(
            UserSyncStatus::of(Some(2), Some(&status(1, None, false)), false),
            Pending
        );
        assert_eq!(
            UserSyncStatus::of(Some(2), Some(&status(2, None, false)), false),
            InSync
        );
        // a failure wins: at the applied generation or not, or the email
        let failed = status(1, Some(FailureClass::OutOfLicenses), false);
        assert_eq!(UserSyncStatus::of(Some(2), Some(&failed), false), Failed);
        assert_eq!(
            UserSyncStatus::of(Some(2), Some(&status(2, None, false)), true),
            Failed
        );
        assert_eq!(UserSyncStatus::of(None, None, true), Failed);
    }

    #[test]
    fn counts_and_dead_letters() {
        let summary = |desired: Option<u64>, s: Option<SyncStatus>| SyncSummary {
            desired_generation: desired,
            status: s,
        };
        let mut c = SyncCounts::default();
        c.add(None, false);
        c.add(Some(&summary(Some(1), None)), false);
        c.add(Some(&summary(Some(1), Some(status(1, None, false)))), false);
        c.add(Some(&summary(Some(1), Some(status(1, None, false)))), true);
        let licenses = status(0, Some(FailureClass::OutOfLicenses), true);
        c.add(Some(&summary(Some(1), Some(licenses))), false);
        let retrying = status(0, Some(FailureClass::ProductApiUnavailable), false);
        c.add(Some(&summary(Some(1), Some(retrying))), false);
        let given_up = status(0, Some(FailureClass::ProductApiUnavailable), true);
        c.add(Some(&summary(Some(1), Some(given_up))), false);
        assert_eq!(
            c,
            SyncCounts {
                users: 7,
                in_sync: 1,
                pending: 1,
                failed: 4,
                not_synced: 1,
                // the email, the licenses and the transient one given up
                dead_lettered: 3,
            }
        );
    }
}
