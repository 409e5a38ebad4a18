//! The directory the services read: the in-memory store's users and
//! memberships, with groups and user statuses of its own (the store does
//! not keep them).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use crate::StoreError;
use crate::directory::{DirectoryGroup, DirectoryUser};
use crate::ids::{GroupId, OrgId, UserId};
use crate::memory::MemoryStore;
use crate::ports::{Groups, Memberships, StoredUser, UserLookup, UserStatus, Users};

#[derive(Default)]
pub struct Dir {
    pub store: Arc<MemoryStore>,
    pub groups: Mutex<BTreeMap<GroupId, DirectoryGroup>>,
}

impl Users for Dir {
    async fn create_user(&self, org: &OrgId, user: &StoredUser) -> Result<(), StoreError> {
        self.store.create_user(org, user).await
    }

    async fn get_user(&self, org: &OrgId, id: &UserId) -> Result<Option<StoredUser>, StoreError> {
        self.store.get_user(org, id).await
    }

    async fn replace_user(
        &self,
        org: &OrgId,
        previous: &DirectoryUser,
        user: &StoredUser,
    ) -> Result<(), StoreError> {
        self.store.replace_user(org, previous, user).await
    }

    async fn create_returning_user(
        &self,
        org: &OrgId,
        user: &StoredUser,
        previous: &DirectoryUser,
        handed_over: &StoredUser,
    ) -> Result<(), StoreError> {
        self.store
            .create_returning_user(org, user, previous, handed_over)
            .await
    }

    async fn delete_user(
        &self,
        org: &OrgId,
        previous: &DirectoryUser,
        deleted: &StoredUser,
    ) -> Result<(), StoreError> {
        self.store.delete_user(org, previous, deleted).await
    }

    async fn get_users(&self, org: &OrgId, ids: &[UserId]) -> Result<Vec<StoredUser>, StoreError> {
        self.store.get_users(org, ids).await
    }

    async fn list_users(
        &self,
        org: &OrgId,
        start_after: Option<&UserId>,
        limit: usize,
    ) -> Result<(Vec<StoredUser>, Option<UserId>), StoreError> {
        self.store.list_users(org, start_after, limit).await
    }
}

impl UserLookup for Dir {
    async fn find_user_by_user_name(
        &self,
        org: &OrgId,
        user_name: &str,
    ) -> Result<Option<StoredUser>, StoreError> {
        self.store.find_user_by_user_name(org, user_name).await
    }

    async fn deleted_users_named(
        &self,
        org: &OrgId,
        user_name: &str,
        limit: usize,
    ) -> Result<Vec<StoredUser>, StoreError> {
        self.store.deleted_users_named(org, user_name, limit).await
    }

    async fn find_users_by_external_id(
        &self,
        org: &OrgId,
        external_id: &str,
        limit: usize,
    ) -> Result<Vec<StoredUser>, StoreError> {
        self.store
            .find_users_by_external_id(org, external_id, limit)
            .await
    }

    async fn find_users_by_email(
        &self,
        org: &OrgId,
        email: &str,
        limit: usize,
    ) -> Result<Vec<StoredUser>, StoreError> {
        self.store.find_users_by_email(org, email, limit).await
    }

    async fn user_statuses(
        &self,
        org: &OrgId,
        start_after: Option<&UserId>,
        limit: usize,
    ) -> Result<(Vec<UserStatus>, Option<UserId>), StoreError> {
        let (users, next) = self.store.list_users(org, start_after, limit).await?;
        let statuses = users
            .into_iter()
            .map(|u| (u.user.id.clone(), u.user.status()))
            .collect();
        Ok((statuses, next))
    }

    async fn count_users(&self, org: &OrgId) -> Result<u64, StoreError> {
        self.store.count_users(org).await
    }
}

impl Dir {
    fn groups(&self) -> std::sync::MutexGuard<'_, BTreeMap<GroupId, DirectoryGroup>> {
        self.groups.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Groups for Dir {
    async fn create_group(&self, _org: &OrgId, group: &DirectoryGroup) -> Result<(), StoreError> {
        self.groups().insert(group.id.clone(), group.clone());
        Ok(())
    }

    async fn get_group(
        &self,
        _org: &OrgId,
        id: &GroupId,
    ) -> Result<Option<DirectoryGroup>, StoreError> {
        Ok(self.groups().get(id).cloned())
    }

    async fn list_groups(
        &self,
        _org: &OrgId,
        _start_after: Option<&GroupId>,
        _limit: usize,
    ) -> Result<(Vec<DirectoryGroup>, Option<GroupId>), StoreError> {
        Ok((self.groups().values().cloned().collect(), None))
    }

    async fn update_group(&self, org: &OrgId, group: &DirectoryGroup) -> Result<(), StoreError> {
        self.create_group(org, group).await
    }

    async fn delete_group(&self, _org: &OrgId, id: &GroupId) -> Result<(), StoreError> {
        self.groups().remove(id);
        Ok(())
    }

    async fn find_groups_by_name(
        &self,
        _org: &OrgId,
        name: &str,
        _limit: usize,
    ) -> Result<Vec<DirectoryGroup>, StoreError> {
        Ok(self
            .groups()
            .values()
            .filter(|g| g.display_name == name)
            .cloned()
            .collect())
    }
}

impl Memberships for Dir {
    async fn add_members(
        &self,
        org: &OrgId,
        group: &GroupId,
        users: &[UserId],
    ) -> Result<(), StoreError> {
        self.store.add_members(org, group, users).await
    }

    async fn remove_members(
        &self,
        org: &OrgId,
        group: &GroupId,
        users: &[UserId],
    ) -> Result<(), StoreError> {
        self.store.remove_members(org, group, users).await
    }

    async fn members(
        &self,
        org: &OrgId,
        group: &GroupId,
        start_after: Option<&UserId>,
        limit: usize,
    ) -> Result<(Vec<UserId>, Option<UserId>), StoreError> {
        self.store.members(org, group, start_after, limit).await
    }

    async fn groups_of(&self, org: &OrgId, user: &UserId) -> Result<BTreeSet<GroupId>, StoreError> {
        self.store.groups_of(org, user).await
    }

    async fn memberships_among(
        &self,
        org: &OrgId,
        users: &[UserId],
        groups: &BTreeSet<GroupId>,
    ) -> Result<HashMap<UserId, BTreeSet<GroupId>>, StoreError> {
        self.store.memberships_among(org, users, groups).await
    }

    async fn count_members(&self, org: &OrgId, group: &GroupId) -> Result<u64, StoreError> {
        self.store.count_members(org, group).await
    }
}
