//! Reads across both tables, in memory: one look under the lock each.

use super::*;
use crate::directory::ReturningKey;
use crate::domains::DomainName;
use crate::ports::{
    ConfigStamp, Configuration, Groups, JobInputs, JobReads, ReconcileInputs, ReconcileReads,
    Returnable, ReturningIndex, TokenReads, TokenWithGroup, Tokens, Users, WelcomeInputs,
    WelcomeReads,
};

impl MemoryStore {
    fn reconcile_inputs(
        &self,
        org: &OrgId,
        users: &[UserId],
        groups: &BTreeSet<GroupId>,
        with_users: bool,
    ) -> ReconcileInputs {
        self.with_org(org, |o| ReconcileInputs {
            users: if with_users {
                users
                    .iter()
                    .filter_map(|id| o.users.get(id).cloned())
                    .collect()
            } else {
                Vec::new()
            },
            memberships: users
                .iter()
                .filter_map(|u| {
                    let among: BTreeSet<GroupId> =
                        o.groups_of.get(u)?.intersection(groups).cloned().collect();
                    (!among.is_empty()).then(|| (u.clone(), among))
                })
                .collect(),
            states: users
                .iter()
                .filter_map(|u| {
                    let desired = o.desired.get(u).cloned();
                    let status = o.statuses.get(u).cloned();
                    (desired.is_some() || status.is_some()).then(|| (u.clone(), (desired, status)))
                })
                .collect(),
        })
    }
}

impl ReconcileReads for MemoryStore {
    async fn users_to_reconcile(
        &self,
        org: &OrgId,
        users: &[UserId],
        groups: &BTreeSet<GroupId>,
    ) -> Result<ReconcileInputs, StoreError> {
        Ok(self.reconcile_inputs(org, users, groups, true))
    }

    async fn users_with_config(
        &self,
        org: &OrgId,
        users: &[UserId],
        groups: &BTreeSet<GroupId>,
    ) -> Result<(ReconcileInputs, ConfigStamp), StoreError> {
        let set = self.rule_set(org).await?;
        Ok((
            self.reconcile_inputs(org, users, groups, true),
            ConfigStamp::of(&set),
        ))
    }

    async fn states_to_reconcile(
        &self,
        org: &OrgId,
        users: &[UserId],
        groups: &BTreeSet<GroupId>,
    ) -> Result<ReconcileInputs, StoreError> {
        Ok(self.reconcile_inputs(org, users, groups, false))
    }
}

impl JobReads for MemoryStore {
    async fn job_inputs(
        &self,
        org: &OrgId,
        user: &UserId,
        domain: Option<&DomainName>,
    ) -> Result<JobInputs, StoreError> {
        Ok(self.with_org(org, |o| JobInputs {
            desired: o.desired.get(user).cloned(),
            status: o.statuses.get(user).cloned(),
            domains: domain.map(|d| {
                let mut found: Vec<_> = d
                    .with_parents()
                    .filter_map(|name| o.domains.values().find(|h| h.domain.as_str() == name))
                    .cloned()
                    .collect();
                found.sort_by(|a, b| a.domain.as_str().cmp(b.domain.as_str()));
                found
            }),
            organization: domain.and_then(|_| o.org.clone()),
        }))
    }
}

impl WelcomeReads for MemoryStore {
    async fn welcome_inputs(&self, users: &[(OrgId, UserId)]) -> Result<WelcomeInputs, StoreError> {
        let mut inputs = WelcomeInputs::default();
        for (org, user) in users {
            let (found, desired) =
                self.with_org(org, |o| (o.org.clone(), o.desired.get(user).cloned()));
            if let Some(found) = found {
                inputs.orgs.insert(org.clone(), found);
            }
            if let Some(desired) = desired {
                inputs.desired.insert((org.clone(), user.clone()), desired);
            }
        }
        Ok(inputs)
    }
}

impl TokenReads for MemoryStore {
    async fn token_with_user(
        &self,
        org: &OrgId,
        token_id: &str,
        user: &UserId,
    ) -> Result<(Option<StoredToken>, Option<StoredUser>), StoreError> {
        Ok((
            self.get_token(org, token_id).await?,
            self.get_user(org, user).await?,
        ))
    }

    async fn token_with_group(
        &self,
        org: &OrgId,
        token_id: &str,
        group: &GroupId,
        users: &[UserId],
    ) -> Result<TokenWithGroup, StoreError> {
        let (group, found) = self.group_with_users(org, group, users).await?;
        Ok((self.get_token(org, token_id).await?, group, found))
    }

    async fn token_with_returning(
        &self,
        org: &OrgId,
        token_id: &str,
        key: &ReturningKey,
    ) -> Result<(Option<StoredToken>, Returnable), StoreError> {
        let returnable = self.with_org(org, |o| {
            if o.returnable_indexed && !o.returnable.contains_key(key) {
                Returnable::None
            } else {
                Returnable::Maybe
            }
        });
        Ok((self.get_token(org, token_id).await?, returnable))
    }
}

impl ReturningIndex for MemoryStore {
    async fn file_returnable(
        &self,
        org: &OrgId,
        deleted: &[DirectoryUser],
    ) -> Result<(), StoreError> {
        self.with_org(org, |o| {
            for user in deleted {
                o.file_returnable(user);
            }
        });
        Ok(())
    }

    async fn mark_returnable_indexed(&self, org: &OrgId) -> Result<(), StoreError> {
        self.with_org(org, |o| o.returnable_indexed = true);
        Ok(())
    }
}
