//! Organizations' domains and the global claims, in memory, with the
//! contracts of [`Domains`].

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::StoreError;
use crate::domains::{ClaimMode, DomainClaim, DomainName, Domains, OrgDomain};
use crate::ids::OrgId;

#[derive(Default)]
struct Tables {
    domains: HashMap<OrgId, BTreeMap<DomainName, OrgDomain>>,
    claims: HashMap<DomainName, DomainClaim>,
}

/// Every organization's domains and the claims.
#[derive(Default)]
pub struct MemoryDomains {
    tables: Mutex<Tables>,
}

impl MemoryDomains {
    fn tables(&self) -> MutexGuard<'_, Tables> {
        self.tables.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Domains for MemoryDomains {
    async fn list_domains(&self, org: &OrgId) -> Result<Vec<OrgDomain>, StoreError> {
        Ok(self
            .tables()
            .domains
            .get(org)
            .map(|d| d.values().cloned().collect())
            .unwrap_or_default())
    }

    async fn get_domain(
        &self,
        org: &OrgId,
        domain: &DomainName,
    ) -> Result<Option<OrgDomain>, StoreError> {
        Ok(self
            .tables()
            .domains
            .get(org)
            .and_then(|d| d.get(domain).cloned()))
    }

    async fn add_domain(&self, org: &OrgId, domain: &OrgDomain) -> Result<(), StoreError> {
        let mut t = self.tables();
        let of_org = t.domains.entry(org.clone()).or_default();
        if of_org.contains_key(&domain.domain) {
            return Err(StoreError::Conflict("the domain exists".to_owned()));
        }
        of_org.insert(domain.domain.clone(), domain.clone());
        Ok(())
    }

    async fn put_domain(&self, org: &OrgId, domain: &OrgDomain) -> Result<(), StoreError> {
        let mut t = self.tables();
        match t
            .domains
            .get_mut(org)
            .and_then(|d| d.get_mut(&domain.domain))
        {
            Some(stored) => {
                *stored = domain.clone();
                Ok(())
            }
            None => Err(StoreError::NotFound),
        }
    }

    async fn remove_domain(&self, org: &OrgId, domain: &DomainName) -> Result<(), StoreError> {
        let mut t = self.tables();
        t.domains
            .get_mut(org)
            .and_then(|d| d.remove(domain))
            .ok_or(StoreError::NotFound)?;
        if t.claims.get(domain).is_some_and(|c| &c.org == org) {
            t.claims.remove(domain);
        }
        Ok(())
    }

    async fn claim(&self, claim: &DomainClaim, mode: ClaimMode) -> Result<(), StoreError> {
        let mut t = self.tables();
        if mode == ClaimMode::FirstCome
            && t.claims
                .get(&claim.domain)
                .is_some_and(|c| c.org != claim.org)
        {
            return Err(StoreError::Conflict(
                "another organization holds the domain".to_owned(),
            ));
        }
        t.claims.insert(claim.domain.clone(), claim.clone());
        Ok(())
    }

    async fn get_claim(&self, domain: &DomainName) -> Result<Option<DomainClaim>, StoreError> {
        Ok(self.tables().claims.get(domain).cloned())
    }
}
