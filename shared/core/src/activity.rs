//! The activity history: append-only entries of everything the sync and the
//! admins did.

use serde::{Deserialize, Serialize};

use crate::state::{FailureClass, Outcome};

/// The actor of everything the pipeline does.
pub const SYNC_USER: &str = "Sync user";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    AccountCreated,
    AccountUpdated,
    AccountSuspended,
    /// A returning person (deleted through SCIM, then created again) took
    /// its earlier self's product account over.
    AccountRelinked,
    SyncFailed,
    /// An admin moved dead-lettered jobs back to be tried again.
    SyncRetried,
    WelcomeEmailSent,
    WelcomeEmailFailed,
    RuleCreated,
    RuleUpdated,
    RuleDeleted,
    RulesReordered,
    SyncEnabled,
    SyncDisabled,
    TemplateCreated,
    TemplateUpdated,
    TemplateDeleted,
    /// An admin replaced the organization's catalogue.
    CatalogChanged,
    /// An admin changed how long the activity history is kept.
    RetentionChanged,
    /// An admin changed the custom SCIM attributes the organization captures.
    CustomAttributesChanged,
    /// An admin added a domain (pending until verified).
    DomainAdded,
    /// An admin verified a domain (its DNS record was found).
    DomainVerified,
    /// An admin removed a domain.
    DomainRemoved,
    /// Ops gave a domain to the organization (the override).
    DomainClaimed,
    /// Ops listed a domain as unverified (grandfathered).
    DomainGrandfathered,
    /// The re-check found a verified domain's record missing: flagged,
    /// allowed until its grace period ends.
    DomainRecordMissing,
    /// The record is still missing and the grace period ends soon.
    DomainLapseWarning,
    /// The record stayed missing past the grace period: not allowed.
    DomainLapsed,
    /// The re-check found the missing record again.
    DomainRestored,
    /// The pipeline started a reconcile of the whole organization by
    /// itself (a stream batch the evaluator gave up on named it).
    ReconcileStarted,
    /// The drift check found a user's product account changed outside the
    /// sync and wrote it back (`details.fields`, `details.changedBy`).
    DriftCorrected,
    /// A drift check run went through every user (`details`: its counts).
    DriftChecked,
    /// An admin (or ops) changed how often the drift check runs.
    DriftCheckChanged,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    User,
    Rule,
    Sync,
    Template,
    Catalog,
    /// The organization's own settings.
    Organization,
    /// One of the organization's domains.
    Domain,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Subject {
    pub kind: SubjectKind,
    pub id: String,
}

/// One entry. `id` is unique and sorts by time (the time, then a random or
/// deterministic suffix), so a page newest-first is a key-ordered query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActivityEntry {
    pub id: String,
    pub at: String,
    pub actor: String,
    pub action: Action,
    pub subject: Subject,
    pub outcome: Outcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_class: Option<FailureClass>,
    #[serde(default)]
    pub details: serde_json::Value,
    /// The person's subject (`sub` of their ID token) when a person signed
    /// in with the organization's identity provider made the change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_subject: Option<String>,
    /// The correlation id of the request that made an admin change (its
    /// `X-Correlation-Id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
}

impl ActivityEntry {
    /// An entry whose id is `{at}#{suffix}`.
    pub fn new(
        at: String,
        suffix: &str,
        actor: &str,
        action: Action,
        subject: Subject,
        outcome: Outcome,
    ) -> Self {
        Self {
            id: format!("{at}#{suffix}"),
            at,
            actor: actor.to_owned(),
            action,
            subject,
            outcome,
            failure_class: None,
            details: serde_json::Value::Null,
            actor_subject: None,
            correlation_id: None,
        }
    }

    /// An entry the sync itself (actor [`SYNC_USER`]) writes about `user`.
    pub fn by_sync(at: String, suffix: &str, action: Action, user: &str, outcome: Outcome) -> Self {
        let subject = Subject {
            kind: SubjectKind::User,
            id: user.to_owned(),
        };
        Self::new(at, suffix, SYNC_USER, action, subject, outcome)
    }
}

/// Shortest activity retention an organization's admins may set, in days.
/// An admin token must not be able to shorten the record of its own
/// changes; only ops, with AWS credentials, may set less.
pub const MIN_ADMIN_RETENTION_DAYS: u32 = 90;
/// Shortest retention ops may set, in days.
pub const MIN_RETENTION_DAYS: u32 = 1;
/// Longest retention, in days (10 years).
pub const MAX_RETENTION_DAYS: u32 = 3_650;

const SECONDS_PER_DAY: i64 = 86_400;

/// Who sets an organization's activity retention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetentionSetter {
    /// Through the admin API, with the organization's admin token.
    Admin,
    /// Through the ops command line.
    Ops,
}

/// Why a retention is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RetentionError {
    #[error(
        "retentionDays: at least {MIN_ADMIN_RETENTION_DAYS} days (and at most \
         {MAX_RETENTION_DAYS}), or null for the stack's default; the history must outlast the \
         changes it records, so only ops can set a shorter retention (ops activity-retention set)"
    )]
    BelowAdminFloor,
    #[error("a retention is {MIN_RETENTION_DAYS} to {MAX_RETENTION_DAYS} days")]
    OutOfRange,
}

/// Checks an organization's own activity retention (`None`: the stack's
/// default) set by `by`: admins from [`MIN_ADMIN_RETENTION_DAYS`], ops from
/// [`MIN_RETENTION_DAYS`], both to [`MAX_RETENTION_DAYS`].
pub fn check_retention(days: Option<u32>, by: RetentionSetter) -> Result<(), RetentionError> {
    let Some(days) = days else {
        return Ok(());
    };
    let min = match by {
        RetentionSetter::Admin => MIN_ADMIN_RETENTION_DAYS,
        RetentionSetter::Ops => MIN_RETENTION_DAYS,
    };
    if (min..=MAX_RETENTION_DAYS).contains(&days) {
        Ok(())
    } else if by == RetentionSetter::Admin && days < min {
        Err(RetentionError::BelowAdminFloor)
    } else {
        Err(RetentionError::OutOfRange)
    }
}

/// When an entry written at `at` (Unix seconds) expires, under the
/// retention in force when it is written. It is fixed then: an entry is
/// never written again, so a later change of the retention, shorter or
/// longer, only concerns the entries written after it.
pub fn expires_at(at: i64, retention_days: u32) -> i64 {
    at.saturating_add(i64::from(retention_days).saturating_mul(SECONDS_PER_DAY))
}

/// Which entries a history query wants; `None` fields match everything.
/// `from` and `to` are RFC 3339 times as [`crate::time::format`] writes
/// them, inclusive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActivityFilter {
    pub action: Option<Action>,
    pub outcome: Option<Outcome>,
    pub failure_class: Option<FailureClass>,
    /// Entries about this user or rule (or template, ...).
    pub subject: Option<Subject>,
    pub from: Option<String>,
    pub to: Option<String>,
}

impl ActivityFilter {
    /// Whether `entry` is wanted (the time range included).
    pub fn matches(&self, entry: &ActivityEntry) -> bool {
        self.action.is_none_or(|a| a == entry.action)
            && self.outcome.is_none_or(|o| o == entry.outcome)
            && self
                .failure_class
                .is_none_or(|c| Some(c) == entry.failure_class)
            && self.subject.as_ref().is_none_or(|s| *s == entry.subject)
            && self.from.as_deref().is_none_or(|f| entry.at.as_str() >= f)
            && self.to.as_deref().is_none_or(|t| entry.at.as_str() <= t)
    }

    /// Whether only the time range is asked for (every entry in it matches).
    pub fn is_time_only(&self) -> bool {
        self.action.is_none()
            && self.outcome.is_none()
            && self.failure_class.is_none()
            && self.subject.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_admin_cannot_set_a_retention_below_the_floor_and_ops_can() {
        for days in [1, 30, 89] {
            assert_eq!(
                check_retention(Some(days), RetentionSetter::Admin),
                Err(RetentionError::BelowAdminFloor),
                "{days}"
            );
            assert_eq!(check_retention(Some(days), RetentionSetter::Ops), Ok(()));
        }
        let message = RetentionError::BelowAdminFloor.to_string();
        assert!(message.contains("at least 90 days"), "{message}");
        assert!(message.contains("only ops"), "{message}");
        for by in [RetentionSetter::Admin, RetentionSetter::Ops] {
            assert_eq!(check_retention(Some(90), by), Ok(()));
            assert_eq!(check_retention(Some(3_650), by), Ok(()));
            assert_eq!(check_retention(None, by), Ok(()));
            assert_eq!(
                check_retention(Some(3_651), by),
                Err(RetentionError::OutOfRange)
            );
        }
        assert_eq!(
            check_retention(Some(0), RetentionSetter::Admin),
            Err(RetentionError::BelowAdminFloor)
        );
        assert_eq!(
            check_retention(Some(0), RetentionSetter::Ops),
            Err(RetentionError::OutOfRange)
        );
    }

    #[test]
    fn an_entry_expires_after_the_retention_it_was_written_under() {
        assert_eq!(expires_at(1_000, 1), 1_000 + 86_400);
        assert_eq!(expires_at(0, 90), 90 * 86_400);
        assert_eq!(expires_at(i64::MAX - 1, 3_650), i64::MAX);
    }

    fn entry(at: &str, action: Action, user: &str) -> ActivityEntry {
        ActivityEntry::by_sync(at.to_owned(), user, action, user, Outcome::Success)
    }

    #[test]
    fn a_filter_matches_every_field_it_sets() {
        let e = entry("2026-01-02T03:04:05.000Z", Action::AccountCreated, "u1");
        assert!(ActivityFilter::default().matches(&e));
        let by_action = ActivityFilter {
            action: Some(Action::AccountCreated),
            ..ActivityFilter::default()
        };
        assert!(by_action.matches(&e));
        let other_user = ActivityFilter {
            subject: Some(Subject {
                kind: SubjectKind::User,
                id: "u2".into(),
            }),
            ..ActivityFilter::default()
        };
        assert!(!other_user.matches(&e));
        let failed = ActivityFilter {
            outcome: Some(Outcome::Failure),
            ..ActivityFilter::default()
        };
        assert!(!failed.matches(&e));
        let in_range = ActivityFilter {
            from: Some("2026-01-02T03:04:05.000Z".into()),
            to: Some("2026-01-02T03:04:05.000Z".into()),
            ..ActivityFilter::default()
        };
        assert!(in_range.matches(&e) && in_range.is_time_only());
        let later = ActivityFilter {
            from: Some("2026-01-02T03:04:05.001Z".into()),
            ..ActivityFilter::default()
        };
        assert!(!later.matches(&e));
    }
}
