//! Sync progress as admins see it: one user's sync status (in sync,
//! pending, failed, not synced, no rule — no account, inactive — no
//! account, suspended), and the counts over an organization.

use serde::{Deserialize, Serialize};

use crate::rules::{AssignmentStatus, SuspendReason};
use crate::state::{DesiredState, FailureClass, Outcome, SyncStatus};

/// Where one user's sync stands. Every user has exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum UserSyncStatus {
    /// The user's account is active and the desired generation is applied.
    InSync,
    /// A desired generation is not applied yet, and no failure is recorded.
    Pending,
    /// A failure is recorded: the last reconcile failed, or the welcome
    /// email could not be sent.
    Failed,
    /// No desired state yet: sync is off, or it never reached the user.
    NotSynced,
    /// No rule has ever given the user an account (generation 0): there is
    /// no account and nothing to apply. ("No rule — no account".)
    NoRule,
    /// The directory deactivated (or deleted) the user before any rule gave
    /// them an account (generation 0): there is no account and none is
    /// created. ("Inactive — no account".)
    Inactive,
    /// The user's account exists and is suspended, as desired: no rule
    /// matches the user any more, or the directory deactivated or deleted
    /// them. The account is kept.
    Suspended,
}

impl UserSyncStatus {
    /// The status of a user with this desired state (`None`: none), this
    /// sync status, and (`email_failed`) a welcome-email failure. A recorded
    /// failure wins over everything else; a desired change not applied yet
    /// (a suspension too) is pending.
    pub fn of(
        desired: Option<&DesiredSummary>,
        status: Option<&SyncStatus>,
        email_failed: bool,
    ) -> Self {
        let failed = status.is_some_and(|s| s.last_outcome == Outcome::Failure);
        if failed || email_failed {
            return Self::Failed;
        }
        let Some(desired) = desired else {
            return Self::NotSynced;
        };
        if desired.generation == 0 {
            // never entitled: no account, nothing to apply; why is the
            // directory's (inactive, deleted) or the rules'
            return match desired.suspended {
                Some(SuspendReason::Inactive | SuspendReason::Deleted) => Self::Inactive,
                _ => Self::NoRule,
            };
        }
        match status {
            Some(s) if s.applied_generation >= desired.generation => {
                if desired.suspended.is_some() {
                    Self::Suspended
                } else {
                    Self::InSync
                }
            }
            _ => Self::Pending,
        }
    }

    /// Whether the user should have an active account: the users "N of M
    /// in sync" counts (M). No-rule, inactive, suspended and not-synced
    /// users are counted on their own.
    pub fn entitled(self) -> bool {
        matches!(self, Self::InSync | Self::Pending | Self::Failed)
    }
}

/// What the status needs of a user's desired state: its generation, and
/// why it suspends the account (`None`: active).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DesiredSummary {
    pub generation: u64,
    pub suspended: Option<SuspendReason>,
}

impl DesiredSummary {
    pub fn of(desired: &DesiredState) -> Self {
        Self {
            generation: desired.generation,
            suspended: suspend_reason(&desired.assignment.status),
        }
    }
}

/// Why an assignment suspends the account (`None`: it is active).
pub fn suspend_reason(status: &AssignmentStatus) -> Option<SuspendReason> {
    match status {
        AssignmentStatus::Active => None,
        AssignmentStatus::Suspended { reason } => Some(*reason),
    }
}

/// What counting needs of a user's stored state (read with a projection:
/// not the desired assignment itself).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SyncSummary {
    /// `None`: no desired state.
    pub desired: Option<DesiredSummary>,
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
    /// Users no rule has ever given an account.
    pub no_rule: u64,
    /// Users the directory deactivated or deleted before any rule gave them
    /// an account.
    pub inactive: u64,
    /// Users whose account is suspended, as desired.
    pub suspended: u64,
    /// Users whose failure waits for Retry sync (see [`waits_for_retry`]).
    pub dead_lettered: u64,
}

impl SyncCounts {
    /// Users who should have an active account (see
    /// [`UserSyncStatus::entitled`]).
    pub fn entitled(&self) -> u64 {
        self.in_sync + self.pending + self.failed
    }

    /// Counts one user.
    pub fn add(&mut self, summary: Option<&SyncSummary>, email_failed: bool) {
        let desired = summary.and_then(|s| s.desired.as_ref());
        let status = summary.and_then(|s| s.status.as_ref());
        self.users += 1;
        match UserSyncStatus::of(desired, status, email_failed) {
            UserSyncStatus::InSync => self.in_sync += 1,
            UserSyncStatus::Pending => self.pending += 1,
            UserSyncStatus::Failed => self.failed += 1,
            UserSyncStatus::NotSynced => self.not_synced += 1,
            UserSyncStatus::NoRule => self.no_rule += 1,
            UserSyncStatus::Inactive => self.inactive += 1,
            UserSyncStatus::Suspended => self.suspended += 1,
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

    fn active(generation: u64) -> Option<DesiredSummary> {
        Some(DesiredSummary {
            generation,
            suspended: None,
        })
    }

    fn suspended(generation: u64, reason: SuspendReason) -> Option<DesiredSummary> {
        Some(DesiredSummary {
            generation,
            suspended: Some(reason),
        })
    }

    #[test]
    fn a_users_status() {
        use UserSyncStatus::*;
        let of = |d: Option<DesiredSummary>, s: Option<&SyncStatus>, email: bool| {
            UserSyncStatus::of(d.as_ref(), s, email)
        };
        assert_eq!(of(None, None, false), NotSynced);
        assert_eq!(of(active(1), None, false), Pending);
        assert_eq!(of(active(2), Some(&status(1, None, false)), false), Pending);
        assert_eq!(of(active(2), Some(&status(2, None, false)), false), InSync);
        // a failure wins: at the applied generation or not, or the email
        let failed = status(1, Some(FailureClass::OutOfLicenses), false);
        assert_eq!(of(active(2), Some(&failed), false), Failed);
        assert_eq!(of(active(2), Some(&status(2, None, false)), true), Failed);
        assert_eq!(of(None, None, true), Failed);
    }

    #[test]
    fn a_user_no_rule_matches_is_never_in_sync() {
        use UserSyncStatus::*;
        let of = |d: Option<DesiredSummary>, s: Option<&SyncStatus>| {
            UserSyncStatus::of(d.as_ref(), s, false)
        };
        // never entitled (generation 0): no account, nothing to apply
        let never = suspended(0, SuspendReason::NoMatchingRule);
        assert_eq!(of(never, None), NoRule);
        // deactivated or deleted in the directory before any rule entitled
        // them: no account either, and the words say why
        assert_eq!(of(suspended(0, SuspendReason::Inactive), None), Inactive);
        assert_eq!(of(suspended(0, SuspendReason::Deleted), None), Inactive);
        // entitled once, no rule matches any more: the suspension is pending,
        // then applied
        let dropped = suspended(2, SuspendReason::NoMatchingRule);
        assert_eq!(of(dropped, Some(&status(1, None, false))), Pending);
        assert_eq!(of(dropped, Some(&status(2, None, false))), Suspended);
        assert_eq!(
            of(
                suspended(3, SuspendReason::Deleted),
                Some(&status(3, None, false))
            ),
            Suspended
        );
        // a failed suspension is a failure
        let failed = status(1, Some(FailureClass::ProductApiUnavailable), false);
        assert_eq!(of(dropped, Some(&failed)), Failed);
        for s in [NoRule, Inactive, Suspended, NotSynced] {
            assert!(!s.entitled(), "{s:?}");
        }
        for s in [InSync, Pending, Failed] {
            assert!(s.entitled(), "{s:?}");
        }
    }

    #[test]
    fn the_summary_of_a_desired_state() {
        use crate::directory::DirectoryStatus;
        use crate::rules::effective_assignment;
        let mut d = crate::contract::desired_states::desired(0);
        assert_eq!(
            DesiredSummary::of(&d),
            DesiredSummary {
                generation: 0,
                suspended: Some(SuspendReason::NoMatchingRule)
            }
        );
        d.assignment = effective_assignment(DirectoryStatus::Inactive, &Default::default(), &[]);
        d.generation = 4;
        assert_eq!(
            DesiredSummary::of(&d).suspended,
            Some(SuspendReason::Inactive)
        );
    }

    #[test]
    fn counts_and_dead_letters() {
        let summary = |desired: Option<DesiredSummary>, s: Option<SyncStatus>| SyncSummary {
            desired,
            status: s,
        };
        let mut c = SyncCounts::default();
        c.add(None, false);
        c.add(Some(&summary(active(1), None)), false);
        c.add(
            Some(&summary(active(1), Some(status(1, None, false)))),
            false,
        );
        c.add(
            Some(&summary(active(1), Some(status(1, None, false)))),
            true,
        );
        let licenses = status(0, Some(FailureClass::OutOfLicenses), true);
        c.add(Some(&summary(active(1), Some(licenses))), false);
        let retrying = status(0, Some(FailureClass::ProductApiUnavailable), false);
        c.add(Some(&summary(active(1), Some(retrying))), false);
        let given_up = status(0, Some(FailureClass::ProductApiUnavailable), true);
        c.add(Some(&summary(active(1), Some(given_up))), false);
        let never = suspended(0, SuspendReason::NoMatchingRule);
        c.add(Some(&summary(never, None)), false);
        c.add(Some(&summary(never, None)), false);
        let left = suspended(0, SuspendReason::Inactive);
        c.add(Some(&summary(left, None)), false);
        let dropped = suspended(2, SuspendReason::NoMatchingRule);
        c.add(Some(&summary(dropped, Some(status(2, None, false)))), false);
        assert_eq!(
            c,
            SyncCounts {
                users: 11,
                in_sync: 1,
                pending: 1,
                failed: 4,
                not_synced: 1,
                no_rule: 2,
                inactive: 1,
                suspended: 1,
                // the email, the licenses and the transient one given up
                dead_lettered: 3,
            }
        );
    }
}
