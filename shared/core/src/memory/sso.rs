//! Identity provider configurations and their (issuer, client id) index,
//! in memory, with the contracts of [`SsoConfigs`].

use super::*;
use crate::sso::{SsoConfig, SsoConfigs};

fn pair(c: &SsoConfig) -> (String, String) {
    (c.issuer.clone(), c.client_id.clone())
}

impl SsoConfigs for MemoryStore {
    async fn get_sso(&self, org: &OrgId) -> Result<Option<SsoConfig>, StoreError> {
        Ok(self.tables().sso.get(org).cloned())
    }

    async fn put_sso(&self, org: &OrgId, config: &SsoConfig) -> Result<(), StoreError> {
        let mut t = self.tables();
        if t.sso_clients.get(&pair(config)).is_some_and(|o| o != org) {
            return Err(StoreError::Conflict(
                "another organization is configured with this issuer and client id".into(),
            ));
        }
        if let Some(old) = t.sso.insert(org.clone(), config.clone()) {
            t.sso_clients.remove(&pair(&old));
        }
        t.sso_clients.insert(pair(config), org.clone());
        Ok(())
    }

    async fn remove_sso(&self, org: &OrgId) -> Result<(), StoreError> {
        let mut t = self.tables();
        let old = t.sso.remove(org).ok_or(StoreError::NotFound)?;
        t.sso_clients.remove(&pair(&old));
        Ok(())
    }

    async fn find_sso_org(
        &self,
        issuer: &str,
        client_id: &str,
    ) -> Result<Option<OrgId>, StoreError> {
        Ok(self
            .tables()
            .sso_clients
            .get(&(issuer.to_owned(), client_id.to_owned()))
            .cloned())
    }
}
