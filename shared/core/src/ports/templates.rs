//! Welcome-email templates.

use std::future::Future;

use crate::StoreError;
use crate::ids::{OrgId, TemplateId};
use crate::mail::EmailTemplate;

/// A welcome-email template with its storage version (its ETag).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTemplate {
    pub template: EmailTemplate,
    pub version: u64,
    pub updated_at: String,
    /// The admin token's name.
    pub updated_by: String,
}

/// Most welcome-email templates per organization.
pub const MAX_TEMPLATES: u64 = 100;

/// An organization's welcome-email templates (the shipped default is not
/// stored: see `mail::default_template`).
pub trait Templates: Sync {
    /// Every template of the organization, by name.
    fn list_templates(
        &self,
        org: &OrgId,
    ) -> impl Future<Output = Result<Vec<StoredTemplate>, StoreError>> + Send;
    /// `None` when there is no such template.
    fn get_template(
        &self,
        org: &OrgId,
        id: &TemplateId,
    ) -> impl Future<Output = Result<Option<StoredTemplate>, StoreError>> + Send;
    /// Stores a new template (at `template.version`). MUST return `Conflict`
    /// when its id exists or the organization has [`MAX_TEMPLATES`] already.
    fn create_template(
        &self,
        org: &OrgId,
        template: &StoredTemplate,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Replaces a template with `template` (its version is the new one).
    /// MUST return `Conflict` unless the stored template has
    /// `expected_version` (also when it was deleted).
    fn replace_template(
        &self,
        org: &OrgId,
        template: &StoredTemplate,
        expected_version: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// MUST return `Conflict` unless the stored template has
    /// `expected_version` (also when it was deleted).
    fn delete_template(
        &self,
        org: &OrgId,
        id: &TemplateId,
        expected_version: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}
