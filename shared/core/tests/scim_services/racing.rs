//! A store where another writer gets in: before each of the next `races`
//! group updates, the group is updated by someone else first, so that the
//! service's write meets a version that moved on.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};

use user_sync_core::StoreError;
use user_sync_core::directory::{DirectoryGroup, DirectoryUser};
use user_sync_core::ids::{GroupId, OrgId, UserId};
use user_sync_core::memory::MemoryStore;
use user_sync_core::ports::{Groups, Memberships, StoredUser, Users};

#[derive(Default)]
pub struct Racing {
    pub inner: MemoryStore,
    pub races: AtomicUsize,
}

impl Groups for Racing {
    async fn create_group(&self, org: &OrgId, group: &DirectoryGroup) -> Result<(), StoreError> {
        self.inner.create_group(org, group).await
    }
    async fn get_group(
        &self,
        org: &OrgId,
        id: &GroupId,
    ) -> Result<Option<DirectoryGroup>, StoreError> {
        self.inner.get_group(org, id).await
    }
    async fn list_groups(
        &self,
        org: &OrgId,
        start_after: Option<&GroupId>,
        limit: usize,
    ) -> Result<(Vec<DirectoryGroup>, Option<GroupId>), StoreError> {
        self.inner.list_groups(org, start_after, limit).await
    }
    async fn update_group(&self, org: &OrgId, group: &DirectoryGroup) -> Result<(), StoreError> {
        let raced = self
            .races
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if raced && let Some(mut other) = self.inner.get_group(org, &group.id).await? {
            other.version += 1;
            other.display_name = format!("{} (renamed meanwhile)", other.display_name);
            self.inner.update_group(org, &other).await?;
        }
        self.inner.update_group(org, group).await
    }
    async fn delete_group(&self, org: &OrgId, id: &GroupId) -> Result<(), StoreError> {
        self.inner.delete_group(org, id).await
    }
    async fn find_groups_by_name(
        &self,
        org: &OrgId,
        name: &str,
        limit: usize,
    ) -> Result<Vec<DirectoryGroup>, StoreError> {
        self.inner.find_groups_by_name(org, name, limit).await
    }
}

impl Memberships for Racing {
    async fn add_members(
        &self,
        org: &OrgId,
        group: &GroupId,
        users: &[UserId],
    ) -> Result<(), StoreError> {
        self.inner.add_members(org, group, users).await
    }
    async fn remove_members(
        &self,
        org: &OrgId,
        group: &GroupId,
        users: &[UserId],
    ) -> Result<(), StoreError> {
        self.inner.remove_members(org, group, users).await
    }
    async fn members(
        &self,
        org: &OrgId,
        group: &GroupId,
        start_after: Option<&UserId>,
        limit: usize,
    ) -> Result<(Vec<UserId>, Option<UserId>), StoreError> {
        self.inner.members(org, group, start_after, limit).await
    }
    async fn groups_of(&self, org: &OrgId, user: &UserId) -> Result<BTreeSet<GroupId>, StoreError> {
        self.inner.groups_of(org, user).await
    }
    async fn memberships_among(
        &self,
        org: &OrgId,
        users: &[UserId],
        groups: &BTreeSet<GroupId>,
    ) -> Result<HashMap<UserId, BTreeSet<GroupId>>, StoreError> {
        self.inner.memberships_among(org, users, groups).await
    }
    async fn count_members(&self, org: &OrgId, group: &GroupId) -> Result<u64, StoreError> {
        self.inner.count_members(org, group).await
    }
}

impl Users for Racing {
    async fn create_user(&self, org: &OrgId, user: &StoredUser) -> Result<(), StoreError> {
        self.inner.create_user(org, user).await
    }
    async fn get_user(&self, org: &OrgId, id: &UserId) -> Result<Option<StoredUser>, StoreError> {
        self.inner.get_user(org, id).await
    }
    async fn replace_user(
        &self,
        org: &OrgId,
        previous: &DirectoryUser,
        user: &StoredUser,
    ) -> Result<(), StoreError> {
        self.inner.replace_user(org, previous, user).await
    }
    async fn create_returning_user(
        &self,
        org: &OrgId,
        user: &StoredUser,
        previous: &DirectoryUser,
        handed_over: &StoredUser,
    ) -> Result<(), StoreError> {
        self.inner
            .create_returning_user(org, user, previous, handed_over)
            .await
    }
    async fn delete_user(
        &self,
        org: &OrgId,
        previous: &DirectoryUser,
        deleted: &StoredUser,
    ) -> Result<(), StoreError> {
        self.inner.delete_user(org, previous, deleted).await
    }
    async fn get_users(&self, org: &OrgId, ids: &[UserId]) -> Result<Vec<StoredUser>, StoreError> {
        self.inner.get_users(org, ids).await
    }
    async fn list_users(
        &self,
        org: &OrgId,
        start_after: Option<&UserId>,
        limit: usize,
    ) -> Result<(Vec<StoredUser>, Option<UserId>), StoreError> {
        self.inner.list_users(org, start_after, limit).await
    }
}
