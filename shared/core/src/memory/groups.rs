//! The directory's groups and memberships, in memory.

use std::sync::atomic::Ordering;

use super::*;

impl Groups for MemoryStore {
    async fn create_group(&self, org: &OrgId, group: &DirectoryGroup) -> Result<(), StoreError> {
        self.with_org(org, |o| {
            if o.groups.contains_key(&group.id) {
                return Err(StoreError::Conflict("group id taken".to_owned()));
            }
            o.groups.insert(group.id.clone(), group.clone());
            Ok(())
        })
    }

    async fn get_group(
        &self,
        org: &OrgId,
        id: &GroupId,
    ) -> Result<Option<DirectoryGroup>, StoreError> {
        Ok(self.with_org(org, |o| o.groups.get(id).cloned()))
    }

    async fn group_with_users(
        &self,
        org: &OrgId,
        id: &GroupId,
        users: &[UserId],
    ) -> Result<(Option<DirectoryGroup>, Vec<StoredUser>), StoreError> {
        Ok(self.with_org(org, |o| {
            let found = users
                .iter()
                .filter_map(|u| o.users.get(u).cloned())
                .collect();
            (o.groups.get(id).cloned(), found)
        }))
    }

    async fn list_groups(
        &self,
        org: &OrgId,
        start_after: Option<&GroupId>,
        limit: usize,
    ) -> Result<(Vec<DirectoryGroup>, Option<GroupId>), StoreError> {
        Ok(self.with_org(org, |o| {
            page(o.groups.range::<GroupId, _>(after(start_after)), limit)
        }))
    }

    async fn update_group(
        &self,
        org: &OrgId,
        group: &DirectoryGroup,
        add: &[UserId],
        remove: &[UserId],
    ) -> Result<(), StoreError> {
        let raced = self
            .group_races
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        self.with_org(org, |o| {
            if raced && let Some(other) = o.groups.get_mut(&group.id) {
                other.version += 1;
                other.display_name = format!("{} (renamed meanwhile)", other.display_name);
            }
            match o.groups.get_mut(&group.id) {
                Some(stored) if stored.version == group.version.saturating_sub(1) => {
                    *stored = group.clone();
                }
                _ => return Err(StoreError::Conflict("version moved on".to_owned())),
            }
            o.remove_members(&group.id, remove);
            o.add_members(&group.id, add);
            Ok(())
        })
    }

    async fn delete_group(&self, org: &OrgId, id: &GroupId) -> Result<(), StoreError> {
        self.with_org(org, |o| o.groups.remove(id));
        Ok(())
    }

    async fn find_groups_by_name(
        &self,
        org: &OrgId,
        name: &str,
        limit: usize,
    ) -> Result<Vec<DirectoryGroup>, StoreError> {
        let name = name.to_lowercase();
        Ok(self.with_org(org, |o| {
            o.groups
                .values()
                .filter(|g| g.display_name.to_lowercase() == name)
                .take(limit)
                .cloned()
                .collect()
        }))
    }
}

impl OrgTables {
    /// Both sides of each membership, added.
    fn add_members(&mut self, group: &GroupId, users: &[UserId]) {
        let members = self.members.entry(group.clone()).or_default();
        for user in users {
            members.insert(user.clone());
            self.groups_of
                .entry(user.clone())
                .or_default()
                .insert(group.clone());
        }
    }

    /// Both sides of each membership, removed.
    fn remove_members(&mut self, group: &GroupId, users: &[UserId]) {
        for user in users {
            if let Some(members) = self.members.get_mut(group) {
                members.remove(user);
            }
            if let Some(groups) = self.groups_of.get_mut(user) {
                groups.remove(group);
            }
        }
    }
}

impl Memberships for MemoryStore {
    async fn add_members(
        &self,
        org: &OrgId,
        group: &GroupId,
        users: &[UserId],
    ) -> Result<(), StoreError> {
        self.with_org(org, |o| o.add_members(group, users));
        Ok(())
    }

    async fn remove_members(
        &self,
        org: &OrgId,
        group: &GroupId,
        users: &[UserId],
    ) -> Result<(), StoreError> {
        self.with_org(org, |o| o.remove_members(group, users));
        Ok(())
    }

    async fn members(
        &self,
        org: &OrgId,
        group: &GroupId,
        start_after: Option<&UserId>,
        limit: usize,
    ) -> Result<(Vec<UserId>, Option<UserId>), StoreError> {
        Ok(self.with_org(org, |o| {
            o.members.get(group).map_or((Vec::new(), None), |m| {
                page(
                    m.range::<UserId, _>(after(start_after)).map(|id| (id, id)),
                    limit,
                )
            })
        }))
    }

    async fn groups_of(&self, org: &OrgId, user: &UserId) -> Result<BTreeSet<GroupId>, StoreError> {
        Ok(self.with_org(org, |o| o.groups_of.get(user).cloned().unwrap_or_default()))
    }

    async fn memberships_among(
        &self,
        org: &OrgId,
        users: &[UserId],
        groups: &BTreeSet<GroupId>,
    ) -> Result<HashMap<UserId, BTreeSet<GroupId>>, StoreError> {
        Ok(self.with_org(org, |o| {
            users
                .iter()
                .filter_map(|u| {
                    let among: BTreeSet<GroupId> =
                        o.groups_of.get(u)?.intersection(groups).cloned().collect();
                    (!among.is_empty()).then(|| (u.clone(), among))
                })
                .collect()
        }))
    }

    async fn count_members(&self, org: &OrgId, group: &GroupId) -> Result<u64, StoreError> {
        let n = self.with_org(org, |o| o.members.get(group).map_or(0, BTreeSet::len));
        Ok(u64::try_from(n).unwrap_or(u64::MAX))
    }
}
