//! Organizations and their tokens, in memory.

use super::*;

impl Organizations for MemoryStore {
    async fn create_org(&self, org: &Organization) -> Result<(), StoreError> {
        self.with_org(&org.id, |o| {
            if o.org.is_some() {
                return Err(StoreError::Conflict("organization exists".to_owned()));
            }
            o.org = Some(org.clone());
            // a new organization has no deleted user yet: its index is whole
            o.returnable_indexed = true;
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

    /// In id order; the cursor is the last id of the page.
    async fn list_orgs(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<Organization>, Option<String>), StoreError> {
        let mut orgs: Vec<Organization> = self
            .tables()
            .orgs
            .values()
            .filter_map(|o| o.org.clone())
            .filter(|o| cursor.is_none_or(|c| o.id.as_str() > c))
            .collect();
        orgs.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
        let more = orgs.len() > limit;
        orgs.truncate(limit);
        let next = more
            .then(|| orgs.last().map(|o| o.id.to_string()))
            .flatten();
        Ok((orgs, next))
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
        self.with_org(org, |o| o.tokens.remove(token_id))
            .map(drop)
            .ok_or(StoreError::NotFound)
    }

    async fn mark_token_used(
        &self,
        org: &OrgId,
        token_id: &str,
        at: &str,
        cutoff: &str,
    ) -> Result<bool, StoreError> {
        Ok(self.with_org(org, |o| match o.tokens.get_mut(token_id) {
            Some(t) if t.last_used_at.as_deref().is_none_or(|last| last < cutoff) => {
                t.last_used_at = Some(at.to_owned());
                true
            }
            _ => false,
        }))
    }
}
