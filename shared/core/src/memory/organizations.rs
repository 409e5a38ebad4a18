//! Organizations and their tokens, in memory.

use super::*;

impl Organizations for MemoryStore {
    async fn create_org(&self, org: &Organization) -> Result<(), StoreError> {
        self.with_org(&org.id, |o| {
            if o.org.is_some() {
                return Err(StoreError::Conflict("organization exists".to_owned()));
            }
            o.org = Some(org.clone());
            Ok(())
        })
    }

    async fn update_org(&self, org: &Organization) -> Result<(), StoreError> {
        self.with_org(&org.id, |o| match &mut o.org {
            None => Err(StoreError::NotFound),
            Some(stored) if stored.version != org.version => Err(StoreError::Conflict(
                "the organization was changed since it was read".to_owned(),
            )),
            Some(stored) => {
                *stored = org.clone();
                stored.version += 1;
                Ok(())
            }
        })
    }

    async fn get_org(&self, org: &OrgId) -> Result<Option<Organization>, StoreError> {
        Ok(self.with_org(org, |o| o.org.clone()))
    }

    async fn list_orgs(
        &self,
        _cursor: Option<&str>,
        _limit: usize,
    ) -> Result<(Vec<Organization>, Option<String>), StoreError> {
        Err(unsupported())
    }
}

impl Tokens for MemoryStore {
    async fn put_token(&self, token: &StoredToken) -> Result<(), StoreError> {
        self.with_org(&token.org_id, |o| {
            o.tokens.insert(token.token_id.clone(), token.clone())
        });
        Ok(())
    }

    async fn get_token(
        &self,
        org: &OrgId,
        token_id: &str,
    ) -> Result<Option<StoredToken>, StoreError> {
        Ok(self.with_org(org, |o| o.tokens.get(token_id).cloned()))
    }

    async fn list_tokens(&self, org: &OrgId) -> Result<Vec<StoredToken>, StoreError> {
        Ok(self.with_org(org, |o| o.tokens.values().cloned().collect()))
    }

    async fn delete_token(&self, org: &OrgId, token_id: &str) -> Result<(), StoreError> {
        self.with_org(org, |o| o.tokens.remove(token_id));
        Ok(())
    }
}
