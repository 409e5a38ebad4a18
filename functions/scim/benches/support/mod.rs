//! In-memory ports for the benchmarks: the directory and the tokens in maps
//! behind a mutex, and the shared rate counters. Only what the benchmarked
//! requests reach is implemented; every other method answers an error (never
//! a panic), so a request that reaches one shows up as a failed check.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use user_sync_core::StoreError;
use user_sync_core::auth::StoredToken;
use user_sync_core::directory::{DirectoryGroup, DirectoryUser};
use user_sync_core::ids::{GroupId, OrgId, UserId};
use user_sync_core::ports::{Directory, Organization, Organizations, StoredUser, UserStatus};
use user_sync_core::ratelimit::RateCounters;

fn unused() -> StoreError {
    StoreError::Invalid("not implemented by the in-memory benchmark store".to_owned())
}

#[derive(Default)]
struct Tables {
    orgs: HashMap<OrgId, Organization>,
    tokens: HashMap<(OrgId, String), StoredToken>,
    users: HashMap<(OrgId, UserId), StoredUser>,
    /// lowercased userName → id, per organization (the userName index)
    user_names: HashMap<(OrgId, String), UserId>,
}

/// Organizations, tokens and users, as the DynamoDB adapter keeps them.
#[derive(Default)]
pub struct MemoryStore {
    tables: Mutex<Tables>,
}

impl MemoryStore {
    fn tables(&self) -> std::sync::MutexGuard<'_, Tables> {
        self.tables
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn user_count(&self) -> usize {
        self.tables().users.len()
    }
}

impl Organizations for MemoryStore {
    async fn create_org(&self, org: &Organization) -> Result<(), StoreError> {
        let mut t = self.tables();
        if t.orgs.contains_key(&org.id) {
            return Err(StoreError::Conflict("organization exists".to_owned()));
        }
        t.orgs.insert(org.id.clone(), org.clone());
        Ok(())
    }

    async fn update_org(&self, _org: &Organization) -> Result<(), StoreError> {
        Err(unused())
    }

    async fn get_org(&self, org: &OrgId) -> Result<Option<Organization>, StoreError> {
        Ok(self.tables().orgs.get(org).cloned())
    }

    async fn list_orgs(
        &self,
        _cursor: Option<&str>,
        _limit: usize,
    ) -> Result<(Vec<Organization>, Option<String>), StoreError> {
        Err(unused())
    }

    async fn put_token(&self, token: &StoredToken) -> Result<(), StoreError> {
        self.tables().tokens.insert(
            (token.org_id.clone(), token.token_id.clone()),
            token.clone(),
        );
        Ok(())
    }

    async fn get_token(
        &self,
        org: &OrgId,
        token_id: &str,
    ) -> Result<Option<StoredToken>, StoreError> {
        Ok(self
            .tables()
            .tokens
            .get(&(org.clone(), token_id.to_owned()))
            .cloned())
    }

    async fn list_tokens(&self, _org: &OrgId) -> Result<Vec<StoredToken>, StoreError> {
        Err(unused())
    }

    async fn delete_token(&self, _org: &OrgId, _token_id: &str) -> Result<(), StoreError> {
        Err(unused())
    }
}

impl Directory for MemoryStore {
    async fn create_user(&self, org: &OrgId, user: &StoredUser) -> Result<(), StoreError> {
        let mut t = self.tables();
        let name = (org.clone(), user.user.user_name.to_lowercase());
        if t.user_names.contains_key(&name) {
            return Err(StoreError::Conflict("userName taken".to_owned()));
        }
        let key = (org.clone(), user.user.id.clone());
        if t.users.contains_key(&key) {
            return Err(StoreError::Conflict("id taken".to_owned()));
        }
        t.user_names.insert(name, user.user.id.clone());
        t.users.insert(key, user.clone());
        Ok(())
    }

    async fn get_user(&self, org: &OrgId, id: &UserId) -> Result<Option<StoredUser>, StoreError> {
        Ok(self.tables().users.get(&(org.clone(), id.clone())).cloned())
    }

    async fn find_user_by_user_name(
        &self,
        org: &OrgId,
        user_name: &str,
    ) -> Result<Option<StoredUser>, StoreError> {
        let t = self.tables();
        Ok(t.user_names
            .get(&(org.clone(), user_name.to_lowercase()))
            .and_then(|id| t.users.get(&(org.clone(), id.clone())))
            .cloned())
    }

    async fn replace_user(
        &self,
        org: &OrgId,
        previous: &DirectoryUser,
        user: &StoredUser,
    ) -> Result<(), StoreError> {
        let mut t = self.tables();
        let key = (org.clone(), user.user.id.clone());
        match t.users.get(&key) {
            Some(stored) if stored.user.version == previous.version => {}
            _ => return Err(StoreError::Conflict("version moved on".to_owned())),
        }
        let old_name = (org.clone(), previous.user_name.to_lowercase());
        let new_name = (org.clone(), user.user.user_name.to_lowercase());
        if old_name != new_name {
            if t.user_names.contains_key(&new_name) {
                return Err(StoreError::Conflict("userName taken".to_owned()));
            }
            t.user_names.remove(&old_name);
            t.user_names.insert(new_name, user.user.id.clone());
        }
        t.users.insert(key, user.clone());
        Ok(())
    }

    async fn find_users_by_external_id(
        &self,
        _org: &OrgId,
        _external_id: &str,
        _limit: usize,
    ) -> Result<Vec<StoredUser>, StoreError> {
        Err(unused())
    }

    async fn find_users_by_email(
        &self,
        _org: &OrgId,
        _email: &str,
        _limit: usize,
    ) -> Result<Vec<StoredUser>, StoreError> {
        Err(unused())
    }

    async fn find_groups_by_name(
        &self,
        _org: &OrgId,
        _name: &str,
        _limit: usize,
    ) -> Result<Vec<DirectoryGroup>, StoreError> {
        Err(unused())
    }

    async fn list_users(
        &self,
        _org: &OrgId,
        _start_after: Option<&UserId>,
        _limit: usize,
    ) -> Result<(Vec<StoredUser>, Option<UserId>), StoreError> {
        Err(unused())
    }

    async fn create_group(&self, _org: &OrgId, _group: &DirectoryGroup) -> Result<(), StoreError> {
        Err(unused())
    }

    async fn get_group(
        &self,
        _org: &OrgId,
        _id: &GroupId,
    ) -> Result<Option<DirectoryGroup>, StoreError> {
        Err(unused())
    }

    async fn list_groups(
        &self,
        _org: &OrgId,
        _start_after: Option<&GroupId>,
        _limit: usize,
    ) -> Result<(Vec<DirectoryGroup>, Option<GroupId>), StoreError> {
        Err(unused())
    }

    async fn update_group(&self, _org: &OrgId, _group: &DirectoryGroup) -> Result<(), StoreError> {
        Err(unused())
    }

    async fn delete_group(&self, _org: &OrgId, _id: &GroupId) -> Result<(), StoreError> {
        Err(unused())
    }

    async fn add_members(
        &self,
        _org: &OrgId,
        _group: &GroupId,
        _users: &[UserId],
    ) -> Result<(), StoreError> {
        Err(unused())
    }

    async fn remove_members(
        &self,
        _org: &OrgId,
        _group: &GroupId,
        _users: &[UserId],
    ) -> Result<(), StoreError> {
        Err(unused())
    }

    async fn members(
        &self,
        _org: &OrgId,
        _group: &GroupId,
        _start_after: Option<&UserId>,
        _limit: usize,
    ) -> Result<(Vec<UserId>, Option<UserId>), StoreError> {
        Err(unused())
    }

    async fn groups_of(
        &self,
        _org: &OrgId,
        _user: &UserId,
    ) -> Result<BTreeSet<GroupId>, StoreError> {
        Err(unused())
    }

    async fn get_users(
        &self,
        _org: &OrgId,
        _ids: &[UserId],
    ) -> Result<Vec<StoredUser>, StoreError> {
        Err(unused())
    }

    async fn memberships_among(
        &self,
        _org: &OrgId,
        _users: &[UserId],
        _groups: &BTreeSet<GroupId>,
    ) -> Result<HashMap<UserId, BTreeSet<GroupId>>, StoreError> {
        Err(unused())
    }

    async fn user_statuses(
        &self,
        _org: &OrgId,
        _start_after: Option<&UserId>,
        _limit: usize,
    ) -> Result<(Vec<UserStatus>, Option<UserId>), StoreError> {
        Err(unused())
    }

    async fn count_members(&self, _org: &OrgId, _group: &GroupId) -> Result<u64, StoreError> {
        Err(unused())
    }

    async fn count_users(&self, _org: &OrgId) -> Result<u64, StoreError> {
        Err(unused())
    }
}

/// The organizations' shared request counts.
#[derive(Default)]
pub struct MemoryCounters {
    counts: Mutex<HashMap<(OrgId, String, u64), u32>>,
}

impl RateCounters for MemoryCounters {
    async fn take(
        &self,
        org: &OrgId,
        scope: &str,
        window: u64,
        amount: u32,
        limit: u32,
    ) -> Result<bool, StoreError> {
        let mut counts = self
            .counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = counts
            .entry((org.clone(), scope.to_owned(), window))
            .or_insert(0);
        match count.checked_add(amount) {
            Some(next) if next <= limit => {
                *count = next;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}
