//! Organizations and their tokens.

use std::future::Future;

use crate::StoreError;
use crate::auth::StoredToken;
use crate::ids::OrgId;

/// An organization's own settings.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    pub id: OrgId,
    pub name: String,
    pub default_language: String,
    pub created: String,
    /// Attributes of the custom SCIM extension this organization captures.
    #[serde(default)]
    pub custom_attributes: Vec<String>,
    /// A rule change or sync-on that would suspend more than this share of
    /// the organization's users (in percent) needs `"confirm": true`.
    #[serde(default = "default_guardrail_percent")]
    pub suspension_guardrail_percent: u8,
    /// Days the activity history is kept; `None`: the stack's default
    /// (`ActivityRetentionDays`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity_retention_days: Option<u32>,
    /// What rules may name; `None`: not configured, rules are not checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog: Option<crate::catalog::Catalog>,
    /// The stored organization's version: one more with every write (see
    /// [`Organizations::update_org`]).
    #[serde(default)]
    pub version: u64,
    /// The versions (ETags) of the settings admins replace with `If-Match`.
    #[serde(default)]
    pub setting_versions: crate::organization::SettingVersions,
    /// How often the drift check runs (daily unless set).
    #[serde(default)]
    pub drift_check: crate::drift::DriftSchedule,
}

impl Organization {
    /// A new organization: English, the default guardrail, no custom
    /// attributes, no catalogue, the stack's activity retention; version 0.
    pub fn new(id: OrgId, name: impl Into<String>, created: impl Into<String>) -> Self {
        Self {
            id,
            name: name.into(),
            default_language: "en".into(),
            created: created.into(),
            custom_attributes: Vec::new(),
            suspension_guardrail_percent: DEFAULT_GUARDRAIL_PERCENT,
            activity_retention_days: None,
            catalog: None,
            version: 0,
            setting_versions: Default::default(),
            drift_check: Default::default(),
        }
    }
}

/// The default mass-suspension guardrail: 10 % of the organization's users.
pub const DEFAULT_GUARDRAIL_PERCENT: u8 = 10;

fn default_guardrail_percent() -> u8 {
    DEFAULT_GUARDRAIL_PERCENT
}

/// Sync on/off.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct SyncSettings {
    pub enabled: bool,
    pub changed_at: Option<String>,
    pub changed_by: Option<String>,
}

/// Organizations: their settings, created by ops and versioned.
pub trait Organizations: Sync {
    /// MUST return `Conflict` when the organization exists.
    fn create_org(&self, org: &Organization)
    -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Replaces an organization's settings when it is still stored at
    /// `org.version` (the version it was read at), storing it at
    /// `org.version + 1`. MUST return `NotFound` when it does not exist and
    /// `Conflict` when it is stored at another version (another writer got
    /// there first). Use [`crate::organization::update_organization`].
    fn update_org(&self, org: &Organization)
    -> impl Future<Output = Result<(), StoreError>> + Send;

    /// `None` when the organization does not exist.
    fn get_org(
        &self,
        org: &OrgId,
    ) -> impl Future<Output = Result<Option<Organization>, StoreError>> + Send;

    /// A page of every organization (in no particular order), from the
    /// `cursor` of the previous page; the next cursor is `None` at the end.
    /// A page holds at most `limit` organizations, and may hold fewer and
    /// still have a next one (the adapter bounds what it reads per call).
    fn list_orgs(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<(Vec<Organization>, Option<String>), StoreError>> + Send;
}

/// An organization's bearer tokens (SCIM and admin), stored hashed.
pub trait Tokens: Sync {
    fn put_token(&self, token: &StoredToken)
    -> impl Future<Output = Result<(), StoreError>> + Send;

    /// `None` when there is no such token.
    fn get_token(
        &self,
        org: &OrgId,
        token_id: &str,
    ) -> impl Future<Output = Result<Option<StoredToken>, StoreError>> + Send;

    /// The organization's tokens (their hashes included; never shown).
    fn list_tokens(
        &self,
        org: &OrgId,
    ) -> impl Future<Output = Result<Vec<StoredToken>, StoreError>> + Send;

    /// Revokes a token at once. MUST return `NotFound` when there is none.
    fn delete_token(
        &self,
        org: &OrgId,
        token_id: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Records that a token was used at `at`, in one conditional write: only
    /// when its last-used time is absent or earlier than `cutoff` (so a busy
    /// key is written at most once per interval). Answers whether it wrote.
    /// MUST return `Ok(false)` (and write nothing) when the token is gone or
    /// was used since `cutoff`; MUST NOT change any other field.
    fn mark_token_used(
        &self,
        org: &OrgId,
        token_id: &str,
        at: &str,
        cutoff: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}
