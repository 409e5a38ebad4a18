//! The domains port: an organization's domains and their global claims.

use std::future::Future;

use time::OffsetDateTime;

use super::{DomainName, MAX_DOMAINS_PER_ORG, NoRandomness, OrgDomain, VerifyRefusal};
use crate::error::StoreError;
use crate::ids::OrgId;

/// The global claim of a domain: the one organization that may verify it.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct DomainClaim {
    pub domain: DomainName,
    pub org: OrgId,
    pub at: String,
    /// Whether ops took it for the organization (the override).
    #[serde(default)]
    pub by_ops: bool,
}

impl DomainClaim {
    /// `org`'s claim of `domain`, taken `now` (`by_ops` for the override).
    pub fn new(domain: &DomainName, org: &OrgId, now: OffsetDateTime, by_ops: bool) -> Self {
        Self {
            domain: domain.clone(),
            org: org.clone(),
            at: crate::time::format(now),
            by_ops,
        }
    }
}

/// How a claim is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimMode {
    /// First come: MUST fail with `Conflict` when another organization
    /// holds the claim.
    FirstCome,
    /// Ops override: takes the claim whoever holds it.
    Override,
}

/// Domains and their global claims.
pub trait Domains: Sync {
    /// The organization's domains, ordered by name.
    fn list_domains(
        &self,
        org: &OrgId,
    ) -> impl Future<Output = Result<Vec<OrgDomain>, StoreError>> + Send;
    /// `None` when the organization has no such domain.
    fn get_domain(
        &self,
        org: &OrgId,
        domain: &DomainName,
    ) -> impl Future<Output = Result<Option<OrgDomain>, StoreError>> + Send;
    /// Adds a domain. MUST return `Conflict` when the organization has it.
    fn add_domain(
        &self,
        org: &OrgId,
        domain: &OrgDomain,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Replaces a domain the organization has. MUST return `NotFound` when
    /// it has none.
    fn put_domain(
        &self,
        org: &OrgId,
        domain: &OrgDomain,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Removes a domain and the organization's claim of it. MUST return
    /// `NotFound` when it has none.
    fn remove_domain(
        &self,
        org: &OrgId,
        domain: &DomainName,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Writes the domain's global claim for `claim.org`. With
    /// [`ClaimMode::FirstCome`] MUST return `Conflict` when another
    /// organization holds it (holding it already is not a conflict).
    fn claim(
        &self,
        claim: &DomainClaim,
        mode: ClaimMode,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// `None` when no organization holds the domain.
    fn get_claim(
        &self,
        domain: &DomainName,
    ) -> impl Future<Output = Result<Option<DomainClaim>, StoreError>> + Send;
}

/// Why a domain operation failed.
#[derive(Debug, thiserror::Error)]
pub enum DomainOpError {
    #[error("no such domain")]
    NotFound,
    #[error("the organization has this domain already")]
    Exists,
    #[error("an organization may hold at most {MAX_DOMAINS_PER_ORG} domains")]
    TooMany,
    #[error(transparent)]
    Refused(#[from] VerifyRefusal),
    #[error(transparent)]
    NoRandomness(#[from] NoRandomness),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for DomainOpError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => DomainOpError::NotFound,
            e => DomainOpError::Store(e),
        }
    }
}
