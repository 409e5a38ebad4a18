//! Organizations' domains and the global claims, in memory, with the
//! contracts of [`Domains`].

use super::*;
use crate::domains::{ClaimMode, DomainClaim, DomainName, Domains, OrgDomain};

impl Domains for MemoryStore {
    async fn list_domains(&self, org: &OrgId) -> Result<Vec<OrgDomain>, StoreError> {
        Ok(self.with_org(org, |o| o.domains.values().cloned().collect()))
    }

    async fn get_domain(
        &self,
        org: &OrgId,
        domain: &DomainName,
    ) -> Result<Option<OrgDomain>, StoreError> {
        Ok(self.with_org(org, |o| o.domains.get(domain).cloned()))
    }

    async fn add_domain(&self, org: &OrgId, domain: &OrgDomain) -> Result<(), StoreError> {
        self.with_org(org, |o| {
            if o.domains.contains_key(&domain.domain) {
                return Err(StoreError::Conflict("the domain exists".to_owned()));
            }
            o.domains.insert(domain.domain.clone(), domain.clone());
            Ok(())
        })
    }

    async fn put_domain(&self, org: &OrgId, domain: &OrgDomain) -> Result<(), StoreError> {
        self.with_org(org, |o| match o.domains.get_mut(&domain.domain) {
            Some(stored) => {
                *stored = domain.clone();
                Ok(())
            }
            None => Err(StoreError::NotFound),
        })
    }

    async fn remove_domain(&self, org: &OrgId, domain: &DomainName) -> Result<(), StoreError> {
        let mut t = self.tables();
        t.orgs
            .get_mut(org)
            .and_then(|o| o.domains.remove(domain))
            .ok_or(StoreError::NotFound)?;
        if t.domain_claims.get(domain).is_some_and(|c| &c.org == org) {
            t.domain_claims.remove(domain);
        }
        Ok(())
    }

    async fn claim(&self, claim: &DomainClaim, mode: ClaimMode) -> Result<(), StoreError> {
        let mut t = self.tables();
        if mode == ClaimMode::FirstCome
            && t.domain_claims
                .get(&claim.domain)
                .is_some_and(|c| c.org != claim.org)
        {
            return Err(StoreError::Conflict(
                "another organization holds the domain".to_owned(),
            ));
        }
        t.domain_claims.insert(claim.domain.clone(), claim.clone());
        Ok(())
    }

    async fn get_claim(&self, domain: &DomainName) -> Result<Option<DomainClaim>, StoreError> {
        Ok(self.tables().domain_claims.get(domain).cloned())
    }
}
