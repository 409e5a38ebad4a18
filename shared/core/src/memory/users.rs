//! The directory's users, in memory.

use super::*;

impl Users for MemoryStore {
    async fn create_user(&self, org: &OrgId, user: &StoredUser) -> Result<(), StoreError> {
        self.with_org(org, |o| {
            let name = user.user.user_name.to_lowercase();
            if o.user_names.contains_key(&name) {
                return Err(StoreError::Conflict("userName taken".to_owned()));
            }
            if o.users.contains_key(&user.user.id) {
                return Err(StoreError::Conflict("id taken".to_owned()));
            }
            o.user_names.insert(name, user.user.id.clone());
            o.put_user(user);
            Ok(())
        })
    }

    async fn get_user(&self, org: &OrgId, id: &UserId) -> Result<Option<StoredUser>, StoreError> {
        Ok(self.with_org(org, |o| o.users.get(id).cloned()))
    }

    async fn replace_user(
        &self,
        org: &OrgId,
        previous: &DirectoryUser,
        user: &StoredUser,
    ) -> Result<(), StoreError> {
        self.with_org(org, |o| {
            match o.users.get(&user.user.id) {
                Some(stored) if stored.user.version == previous.version => {}
                _ => return Err(StoreError::Conflict("version moved on".to_owned())),
            }
            let old_name = previous.user_name.to_lowercase();
            let new_name = user.user.user_name.to_lowercase();
            if old_name != new_name {
                if o.user_names.contains_key(&new_name) {
                    return Err(StoreError::Conflict("userName taken".to_owned()));
                }
                o.user_names.remove(&old_name);
                o.user_names.insert(new_name, user.user.id.clone());
            }
            o.put_user(user);
            Ok(())
        })
    }

    async fn create_returning_user(
        &self,
        org: &OrgId,
        user: &StoredUser,
        previous: &DirectoryUser,
        handed_over: &StoredUser,
    ) -> Result<(), StoreError> {
        self.with_org(org, |o| {
            let name = user.user.user_name.to_lowercase();
            if o.user_names.contains_key(&name) || o.users.contains_key(&user.user.id) {
                return Err(StoreError::Conflict("userName or id taken".to_owned()));
            }
            match o.users.get(&previous.id) {
                Some(stored) if stored.user.version == previous.version => {}
                _ => return Err(StoreError::Conflict("version moved on".to_owned())),
            }
            if let Some(ids) = o.deleted_names.get_mut(&previous.user_name.to_lowercase()) {
                ids.remove(&previous.id);
            }
            o.unfile_returnable(previous);
            o.user_names.insert(name, user.user.id.clone());
            o.put_user(user);
            o.put_user(handed_over);
            Ok(())
        })
    }

    async fn delete_user(
        &self,
        org: &OrgId,
        previous: &DirectoryUser,
        deleted: &StoredUser,
    ) -> Result<(), StoreError> {
        self.with_org(org, |o| {
            match o.users.get(&previous.id) {
                Some(stored) if stored.user.version == previous.version => {}
                _ => return Err(StoreError::Conflict("version moved on".to_owned())),
            }
            let name = previous.user_name.to_lowercase();
            match o.user_names.get(&name) {
                Some(holder) if *holder != previous.id => {
                    return Err(StoreError::Conflict(
                        "another user holds the userName".to_owned(),
                    ));
                }
                Some(_) => {
                    o.user_names.remove(&name);
                }
                None => {}
            }
            o.deleted_names
                .entry(name)
                .or_default()
                .insert(previous.id.clone());
            if crate::directory::may_return(&deleted.user) {
                o.file_returnable(&deleted.user);
            }
            o.put_user(deleted);
            Ok(())
        })
    }

    async fn get_users(&self, org: &OrgId, ids: &[UserId]) -> Result<Vec<StoredUser>, StoreError> {
        Ok(self.with_org(org, |o| {
            ids.iter()
                .filter_map(|id| o.users.get(id).cloned())
                .collect()
        }))
    }

    async fn list_users(
        &self,
        org: &OrgId,
        start_after: Option<&UserId>,
        limit: usize,
    ) -> Result<(Vec<StoredUser>, Option<UserId>), StoreError> {
        let (users, next) = self.with_org(org, |o| {
            page(o.users.range::<UserId, _>(after(start_after)), limit)
        });
        self.users_listed
            .fetch_add(users.len(), std::sync::atomic::Ordering::Relaxed);
        Ok((users, next))
    }
}

impl UserLookup for MemoryStore {
    async fn find_user_by_user_name(
        &self,
        org: &OrgId,
        user_name: &str,
    ) -> Result<Option<StoredUser>, StoreError> {
        Ok(self.with_org(org, |o| {
            o.user_names
                .get(&user_name.to_lowercase())
                .and_then(|id| o.users.get(id))
                .cloned()
        }))
    }

    async fn deleted_users_named(
        &self,
        org: &OrgId,
        user_name: &str,
        limit: usize,
    ) -> Result<Vec<StoredUser>, StoreError> {
        Ok(self.with_org(org, |o| {
            o.deleted_names
                .get(&user_name.to_lowercase())
                .into_iter()
                .flatten()
                .filter_map(|id| o.users.get(id).cloned())
                .take(limit)
                .collect()
        }))
    }

    async fn find_users_by_external_id(
        &self,
        org: &OrgId,
        external_id: &str,
        limit: usize,
    ) -> Result<Vec<StoredUser>, StoreError> {
        Ok(self.with_org(org, |o| {
            o.external_ids
                .get(external_id)
                .into_iter()
                .flatten()
                .filter_map(|id| o.users.get(id).cloned())
                .take(limit)
                .collect()
        }))
    }

    async fn find_users_by_email(
        &self,
        org: &OrgId,
        email: &str,
        limit: usize,
    ) -> Result<Vec<StoredUser>, StoreError> {
        let email = email.to_lowercase();
        Ok(self.with_org(org, |o| {
            o.users
                .values()
                .filter(|u| {
                    u.user
                        .email
                        .as_deref()
                        .is_some_and(|e| !e.is_empty() && e.to_lowercase() == email)
                })
                .take(limit)
                .cloned()
                .collect()
        }))
    }

    async fn user_statuses(
        &self,
        org: &OrgId,
        start_after: Option<&UserId>,
        limit: usize,
    ) -> Result<(Vec<UserStatus>, Option<UserId>), StoreError> {
        Ok(self.with_org(org, |o| {
            let (users, next) = page(o.users.range::<UserId, _>(after(start_after)), limit);
            let statuses = users
                .into_iter()
                .map(|u| {
                    let status = match (u.user.deleted, u.user.active) {
                        (true, _) => DirectoryStatus::Deleted,
                        (false, false) => DirectoryStatus::Inactive,
                        (false, true) => DirectoryStatus::Active,
                    };
                    (u.user.id, status)
                })
                .collect();
            (statuses, next)
        }))
    }

    async fn count_users(&self, org: &OrgId) -> Result<u64, StoreError> {
        let n = self.with_org(org, |o| o.users.len());
        Ok(u64::try_from(n).unwrap_or(u64::MAX))
    }
}
