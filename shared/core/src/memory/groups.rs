//! The directory's groups and memberships, in memory.

use super::*;

impl Groups for MemoryStore {
    async fn create_group(&self, _org: &OrgId, _group: &DirectoryGroup) -> Result<(), StoreError> {
        Err(unsupported())
    }

    async fn get_group(
        &self,
        _org: &OrgId,
        _id: &GroupId,
    ) -> Result<Option<DirectoryGroup>, StoreError> {
        Err(unsupported())
    }

    async fn list_groups(
        &self,
        _org: &OrgId,
        _start_after: Option<&GroupId>,
        _limit: usize,
    ) -> Result<(Vec<DirectoryGroup>, Option<GroupId>), StoreError> {
        Err(unsupported())
    }

    async fn update_group(&self, _org: &OrgId, _group: &DirectoryGroup) -> Result<(), StoreError> {
        Err(unsupported())
    }

    async fn delete_group(&self, _org: &OrgId, _id: &GroupId) -> Result<(), StoreError> {
        Err(unsupported())
    }

    async fn find_groups_by_name(
        &self,
        _org: &OrgId,
        _name: &str,
        _limit: usize,
    ) -> Result<Vec<DirectoryGroup>, StoreError> {
        Err(unsupported())
    }
}

impl Memberships for MemoryStore {
    async fn add_members(
        &self,
        org: &OrgId,
        group: &GroupId,
        users: &[UserId],
    ) -> Result<(), StoreError> {
        self.with_org(org, |o| {
            let members = o.members.entry(group.clone()).or_default();
            for user in users {
                members.insert(user.clone());
                o.groups_of
                    .entry(user.clone())
                    .or_default()
                    .insert(group.clone());
            }
        });
        Ok(())
    }

    async fn remove_members(
        &self,
        org: &OrgId,
        group: &GroupId,
        users: &[UserId],
    ) -> Result<(), StoreError> {
        self.with_org(org, |o| {
            for user in users {
                if let Some(members) = o.members.get_mut(group) {
                    members.remove(user);
                }
                if let Some(groups) = o.groups_of.get_mut(user) {
                    groups.remove(group);
                }
            }
        });
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
