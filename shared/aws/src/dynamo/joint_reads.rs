//! Reads across both tables in the same `BatchGetItem` calls: what
//! reconciling users reads (each user's item and memberships in the
//! DirectoryTable, its desired state and sync status in the StateTable),
//! what a job reads (the user's state, the organization's domains that
//! could cover its address) and what a welcome email reads (the
//! organization, the user's desired state).

use std::collections::{BTreeSet, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use user_sync_core::StoreError;
use user_sync_core::domains::DomainName;
use user_sync_core::ids::{GroupId, OrgId, UserId};
use user_sync_core::ports::{
    ConfigStamp, DesiredStates, JobInputs, JobReads, Memberships, ReconcileInputs, ReconcileReads,
    SyncSettings, WelcomeInputs, WelcomeReads,
};

use super::batch::batch_get_tables;
use super::directory::{BATCHED_MEMBERSHIP_GROUPS, organization, stored_user};
use super::domains::org_domain;
use super::errors::json;
use super::items::*;
use super::state::user_state_of;
use super::values::{Item, from_item, key};
use super::{DirectoryTable, StateTable};

/// Both tables, read together.
#[derive(Debug, Clone)]
pub struct BothTables {
    directory: DirectoryTable,
    state: StateTable,
}

impl BothTables {
    pub fn new(directory: &DirectoryTable, state: &StateTable) -> Self {
        Self {
            directory: directory.clone(),
            state: state.clone(),
        }
    }

    /// The users' items (`with_users`), their memberships among `groups`
    /// and their states; with a `stamp`, the organization's configuration
    /// stamp into it too (its order item's version, its sync item; a
    /// missing one as [`user_sync_core::ports::Configuration::rule_set`]
    /// reads it: version 0, sync off).
    async fn read(
        &self,
        org: &OrgId,
        users: &[UserId],
        groups: &BTreeSet<GroupId>,
        with_users: bool,
        mut stamp: Option<&mut ConfigStamp>,
    ) -> Result<ReconcileInputs, StoreError> {
        let mut out = ReconcileInputs::default();
        if users.is_empty() && stamp.is_none() {
            return Ok(out);
        }
        let directory = self.directory.table_name().to_owned();
        let state = self.state.table_name().to_owned();
        // many groups: each user's own list is fewer reads (as
        // `memberships_among` decides)
        let batched_groups = groups.len() <= BATCHED_MEMBERSHIP_GROUPS;
        let mut keys: Vec<(String, Item)> = Vec::new();
        let config = config_pk(org);
        if stamp.is_some() {
            keys.push((directory.clone(), key(config.clone(), sk::ORDER)));
            keys.push((directory.clone(), key(config.clone(), sk::SYNC)));
        }
        for u in users {
            let pk = user_pk(org, u);
            if with_users {
                keys.push((directory.clone(), key(pk.clone(), sk::USER)));
            }
            if batched_groups {
                for g in groups {
                    keys.push((
                        directory.clone(),
                        key(pk.clone(), format!("{}{g}", sk::MEMBER_OF)),
                    ));
                }
            }
            for sort in [sk::DESIRED, sk::STATUS] {
                keys.push((state.clone(), key(pk.clone(), sort)));
            }
        }
        // the partition key names the user: `{org}#USER#{id}`
        let by_pk: HashMap<String, &UserId> = users.iter().map(|u| (user_pk(org, u), u)).collect();
        let mut found_users = HashMap::new();
        for (table, item) in batch_get_tables(self.directory.client(), keys).await? {
            let (Some(AttributeValue::S(pk)), Some(AttributeValue::S(sort))) =
                (item.get("pk"), item.get("sk"))
            else {
                continue;
            };
            if table == directory
                && *pk == config
                && let Some(stamp) = stamp.as_deref_mut()
            {
                if sort == sk::ORDER {
                    stamp.version = from_item::<OrderItem>(item)?.version;
                } else if sort == sk::SYNC {
                    let s: SyncItem = from_item(item)?;
                    stamp.sync = SyncSettings {
                        enabled: s.enabled,
                        changed_at: s.changed_at,
                        changed_by: s.changed_by,
                    };
                }
                continue;
            }
            let Some(user) = by_pk.get(pk).map(|u| (*u).clone()) else {
                continue;
            };
            let (sort, in_state) = (sort.clone(), table == state);
            if in_state && sort == sk::DESIRED {
                let d: DesiredItem = from_item(item)?;
                out.states.entry(user).or_default().0 =
                    Some(serde_json::from_str(&d.state).map_err(json)?);
            } else if in_state && sort == sk::STATUS {
                let st: StatusItem = from_item(item)?;
                out.states.entry(user).or_default().1 =
                    Some(serde_json::from_str(&st.status).map_err(json)?);
            } else if !in_state && sort == sk::USER {
                found_users.insert(user, stored_user(from_item::<UserItem>(item)?)?);
            } else if !in_state && sort.starts_with(sk::MEMBER_OF) {
                let m: MemberItem = from_item(item)?;
                out.memberships.entry(user).or_default().insert(m.group_id);
            }
        }
        // in the order asked for
        out.users = users.iter().filter_map(|u| found_users.remove(u)).collect();
        if !batched_groups && !users.is_empty() {
            out.memberships = self.directory.memberships_among(org, users, groups).await?;
        }
        Ok(out)
    }
}

impl ReconcileReads for BothTables {
    async fn users_to_reconcile(
        &self,
        org: &OrgId,
        users: &[UserId],
        groups: &BTreeSet<GroupId>,
    ) -> Result<ReconcileInputs, StoreError> {
        self.read(org, users, groups, true, None).await
    }

    /// The same `BatchGetItem` with the organization's order and sync
    /// items.
    async fn users_with_config(
        &self,
        org: &OrgId,
        users: &[UserId],
        groups: &BTreeSet<GroupId>,
    ) -> Result<(ReconcileInputs, ConfigStamp), StoreError> {
        let mut stamp = ConfigStamp {
            version: 0,
            sync: SyncSettings::default(),
        };
        let inputs = self
            .read(org, users, groups, true, Some(&mut stamp))
            .await?;
        Ok((inputs, stamp))
    }

    async fn states_to_reconcile(
        &self,
        org: &OrgId,
        users: &[UserId],
        groups: &BTreeSet<GroupId>,
    ) -> Result<ReconcileInputs, StoreError> {
        self.read(org, users, groups, false, None).await
    }
}

impl JobReads for BothTables {
    /// Without a domain, the state's read ([`DesiredStates::user_state`]);
    /// with one, a `BatchGetItem` of the user's two items, the
    /// organization's domain items named as the domain and its parents,
    /// and the organization's item.
    async fn job_inputs(
        &self,
        org: &OrgId,
        user: &UserId,
        domain: Option<&DomainName>,
    ) -> Result<JobInputs, StoreError> {
        let Some(domain) = domain else {
            let (desired, status) = self.state.user_state(org, user).await?;
            return Ok(JobInputs {
                desired,
                status,
                domains: None,
                organization: None,
            });
        };
        let directory = self.directory.table_name().to_owned();
        let state = self.state.table_name().to_owned();
        let pk = user_pk(org, user);
        let mut keys = vec![
            (state.clone(), key(pk.clone(), sk::DESIRED)),
            (state.clone(), key(pk, sk::STATUS)),
            (directory.clone(), key(org_pk(org), sk::ORG)),
        ];
        keys.extend(domain.with_parents().map(|name| {
            (
                directory.clone(),
                key(domains_pk(org), format!("{}{name}", sk::DOMAIN)),
            )
        }));
        let mut state_items = Vec::with_capacity(2);
        let mut domains = Vec::new();
        let mut found_org = None;
        for (table, item) in batch_get_tables(self.directory.client(), keys).await? {
            if table == state {
                state_items.push(item);
                continue;
            }
            match item.get("sk") {
                Some(AttributeValue::S(k)) if k == sk::ORG => {
                    found_org = Some(organization(from_item(item)?)?);
                }
                Some(AttributeValue::S(k)) if k.starts_with(sk::DOMAIN) => {
                    domains.push(org_domain(from_item(item)?)?);
                }
                _ => {}
            }
        }
        // the activity entries written next keep the retention read here
        self.state.remember_retention(
            org,
            found_org.as_ref().and_then(|o| o.activity_retention_days),
        );
        domains.sort_by(|a, b| a.domain.as_str().cmp(b.domain.as_str()));
        let (desired, status) = user_state_of(state_items)?;
        Ok(JobInputs {
            desired,
            status,
            domains: Some(domains),
            organization: found_org,
        })
    }
}

impl WelcomeReads for BothTables {
    async fn welcome_inputs(&self, users: &[(OrgId, UserId)]) -> Result<WelcomeInputs, StoreError> {
        let directory = self.directory.table_name().to_owned();
        let state = self.state.table_name().to_owned();
        // each key once: which organization or user an answer's key names
        let mut orgs: HashMap<String, OrgId> = HashMap::new();
        let mut states: HashMap<String, (OrgId, UserId)> = HashMap::new();
        for (org, user) in users {
            orgs.entry(org_pk(org)).or_insert_with(|| org.clone());
            states
                .entry(user_pk(org, user))
                .or_insert_with(|| (org.clone(), user.clone()));
        }
        let keys = orgs
            .keys()
            .map(|pk| (directory.clone(), key(pk.clone(), sk::ORG)))
            .chain(
                states
                    .keys()
                    .map(|pk| (state.clone(), key(pk.clone(), sk::DESIRED))),
            )
            .collect();
        let mut inputs = WelcomeInputs::default();
        for (table, item) in batch_get_tables(self.directory.client(), keys).await? {
            let pk = match item.get("pk") {
                Some(AttributeValue::S(pk)) => pk.clone(),
                _ => continue,
            };
            if table == directory {
                if let Some(org) = orgs.get(&pk) {
                    inputs
                        .orgs
                        .insert(org.clone(), organization(from_item(item)?)?);
                }
            } else if let Some(user) = states.get(&pk) {
                let d: DesiredItem = from_item(item)?;
                let desired = serde_json::from_str(&d.state).map_err(json)?;
                inputs.desired.insert(user.clone(), desired);
            }
        }
        // the activity entries written next keep the retention read here
        for org in orgs.values() {
            self.state.remember_retention(
                org,
                inputs.orgs.get(org).and_then(|o| o.activity_retention_days),
            );
        }
        Ok(inputs)
    }
}
