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
        }
    }
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

    fn entry(at: &str, action: Action, user: &str) -> ActivityEntry {
        ActivityEntry::new(
            at.to_owned(),
            user,
            SYNC_USER,
            action,
            Subject {
                kind: SubjectKind::User,
                id: user.to_owned(),
            },
            Outcome::Success,
        )
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
