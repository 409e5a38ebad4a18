//! An organization's domains as an admin or ops change them: add one,
//! verify it (its TXT record, first come), remove it, and ops' override
//! that claims it without a lookup. The decisions of each are in
//! [`crate::domains`]; this service stamps them with its clock and records
//! each change in the activity history.

use serde_json::json;

use crate::activity::Action;
use crate::clock::Clock;
use crate::domains::{
    self, DomainName, DomainOpError, Domains, OrgDomain, Recheck, TxtResolver, domain_entry,
    grandfather_domain, recheck_domains,
};
use crate::ids::OrgId;
use crate::ports::ActivityLog;

/// The domains' changes, over the ports they read and write.
pub struct DomainService<'a, D, S, K> {
    pub domains: &'a D,
    /// The activity history, where changes are recorded; `None` records
    /// nothing (ops without a state table).
    pub history: Option<&'a S>,
    pub clock: &'a K,
}

impl<D, S, K> DomainService<'_, D, S, K>
where
    D: Domains,
    S: ActivityLog,
    K: Clock,
{
    /// Adds a pending domain with a fresh token, by `actor`.
    pub async fn add(
        &self,
        org: &OrgId,
        actor: &str,
        domain: DomainName,
        include_subdomains: bool,
    ) -> Result<OrgDomain, DomainOpError> {
        let d = domains::add_domain(
            self.domains,
            org,
            domain,
            include_subdomains,
            actor,
            self.clock.now(),
        )
        .await?;
        let details = json!({"includeSubdomains": d.include_subdomains});
        self.record(org, actor, Action::DomainAdded, &d.domain, details)
            .await?;
        Ok(d)
    }

    /// Verifies a domain by its TXT record (looked up with `dns`), by
    /// `actor`: first come.
    pub async fn verify<R: TxtResolver>(
        &self,
        dns: &R,
        org: &OrgId,
        actor: &str,
        domain: &DomainName,
    ) -> Result<OrgDomain, DomainOpError> {
        let d =
            domains::verify_domain(self.domains, dns, org, domain, actor, self.clock.now()).await?;
        self.record(org, actor, Action::DomainVerified, domain, json!(null))
            .await?;
        Ok(d)
    }

    /// Removes a domain and the organization's claim of it, by `actor`.
    pub async fn remove(
        &self,
        org: &OrgId,
        actor: &str,
        domain: &DomainName,
    ) -> Result<(), DomainOpError> {
        self.domains.remove_domain(org, domain).await?;
        self.record(org, actor, Action::DomainRemoved, domain, json!(null))
            .await
    }

    /// Ops' override: claims the domain for the organization whoever held
    /// it and marks it verified without a lookup, by `actor`.
    pub async fn claim(
        &self,
        org: &OrgId,
        actor: &str,
        domain: &DomainName,
        include_subdomains: bool,
    ) -> Result<OrgDomain, DomainOpError> {
        let now = self.clock.now();
        let d = domains::override_domain(self.domains, org, domain, include_subdomains, actor, now)
            .await?;
        self.record(org, actor, Action::DomainClaimed, domain, json!(null))
            .await?;
        Ok(d)
    }

    /// Lists a domain as grandfathered unless the organization has it, by
    /// `actor`; answers whether it was added.
    pub async fn grandfather(
        &self,
        org: &OrgId,
        actor: &str,
        domain: &DomainName,
    ) -> Result<bool, DomainOpError> {
        let added =
            grandfather_domain(self.domains, org, domain.clone(), actor, self.clock.now()).await?;
        if added {
            self.record(org, actor, Action::DomainGrandfathered, domain, json!(null))
                .await?;
        }
        Ok(added)
    }

    /// Re-checks the record of each of the organization's verified domains
    /// (and each whose record is missing) with `dns`, and records each
    /// decision that changed something, by the sync itself.
    pub async fn recheck<R: TxtResolver>(
        &self,
        dns: &R,
        org: &OrgId,
    ) -> Result<Vec<(OrgDomain, Recheck)>, DomainOpError> {
        recheck_domains(self.domains, dns, self.history, org, self.clock.now()).await
    }

    async fn record(
        &self,
        org: &OrgId,
        actor: &str,
        action: Action,
        domain: &DomainName,
        details: serde_json::Value,
    ) -> Result<(), DomainOpError> {
        let Some(history) = self.history else {
            return Ok(());
        };
        let entry = domain_entry(domain, actor, action, details, self.clock.now());
        history.append_activity(org, &entry).await?;
        Ok(())
    }
}
