//! The activity history: append-only entries of everything the sync and the
//! admins did.

use serde::{Deserialize, Serialize};

use crate::state::{FailureClass, Outcome};

/// The actor of everything the pipeline does.
pub const SYNC_USER: &str = "Sync user";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    AccountCreated,
    AccountUpdated,
    AccountSuspended,
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
    /// An admin changed the custom SCIM attributes the organization captures.
    CustomAttributesChanged,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    User,
    Rule,
    Sync,
    Template,
    /// The organization's own settings.
    Organization,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subject {
    pub kind: SubjectKind,
    pub id: String,
}

/// One entry. `id` is unique and sorts by time (the time, then a random or
/// deterministic suffix), so a page newest-first is a key-ordered query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
