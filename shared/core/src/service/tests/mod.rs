//! The services on the in-memory ports: every decision they own, in
//! milliseconds, without an emulator.

use std::sync::Mutex;

use crate::StoreError;
use crate::activity::{ActivityEntry, ActivityFilter};
use crate::clock::{FixedClock, SequentialIds};
use crate::directory::DirectoryGroup;
use crate::domains::{DomainName, Domains, OrgDomain};
use crate::ids::{GroupId, OrgId, UserId};
use crate::memory::domains::MemoryDomains;
use crate::memory::templates::MemoryTemplates;
use crate::memory::{MemoryProductApi, MemoryStore, member};
use crate::ports::{
    ActivityLog, DesiredStates, Groups, Memberships, Organizations, StoredUser, UserStates, Users,
};
use crate::service::orgs::{OrgService, TokenSecrets};
use crate::service::rules::RuleService;
use crate::service::sync::SyncService;
use crate::service::templates::TemplateService;
use crate::state::DesiredState;

mod directory;
mod orgs;
mod rules;
mod sync;
mod templates;

/// The desired states of the store, and an activity history of its own.
#[derive(Default)]
pub struct State {
    pub store: std::sync::Arc<MemoryStore>,
    pub log: Mutex<Vec<ActivityEntry>>,
}

impl State {
    pub fn entries(&self) -> Vec<ActivityEntry> {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl DesiredStates for State {
    async fn user_state(
        &self,
        org: &OrgId,
        user: &UserId,
    ) -> Result<(Option<DesiredState>, Option<crate::state::SyncStatus>), StoreError> {
        self.store.user_state(org, user).await
    }

    async fn user_states(&self, org: &OrgId, users: &[UserId]) -> Result<UserStates, StoreError> {
        self.store.user_states(org, users).await
    }

    async fn put_desired(
        &self,
        org: &OrgId,
        user: &UserId,
        state: &DesiredState,
        expected_generation: Option<u64>,
    ) -> Result<(), StoreError> {
        self.store
            .put_desired(org, user, state, expected_generation)
            .await
    }

    async fn sync_summaries(
        &self,
        org: &OrgId,
        users: &[UserId],
    ) -> Result<std::collections::HashMap<UserId, crate::progress::SyncSummary>, StoreError> {
        self.store.sync_summaries(org, users).await
    }
}

impl ActivityLog for State {
    async fn append_activity(&self, _org: &OrgId, entry: &ActivityEntry) -> Result<(), StoreError> {
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(entry.clone());
        Ok(())
    }

    async fn activity(
        &self,
        _org: &OrgId,
        _filter: &ActivityFilter,
        _before: Option<&str>,
        _limit: usize,
    ) -> Result<(Vec<ActivityEntry>, Option<String>), StoreError> {
        Ok((self.entries(), None))
    }
}

/// Token bytes counted up, for tests.
#[derive(Default)]
pub struct CountedSecrets(Mutex<u8>);

impl TokenSecrets for CountedSecrets {
    fn token_bytes(&self) -> Result<[u8; 40], crate::clock::NoRandomness> {
        let mut n = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *n += 1;
        Ok([*n; 40])
    }
}

/// Every port a service reads, in memory, one organization.
pub struct World {
    pub store: std::sync::Arc<MemoryStore>,
    pub dir: directory::Dir,
    pub templates: MemoryTemplates,
    pub domains: MemoryDomains,
    pub state: State,
    pub clock: FixedClock,
    pub ids: SequentialIds,
    pub secrets: CountedSecrets,
    pub product_api: MemoryProductApi,
    pub org: OrgId,
}

pub type Rules<'a> = RuleService<
    'a,
    MemoryStore,
    MemoryStore,
    MemoryTemplates,
    directory::Dir,
    State,
    FixedClock,
    SequentialIds,
>;

impl World {
    /// An organization `acme` with a verified domain.
    pub async fn new() -> World {
        let store = std::sync::Arc::new(MemoryStore::default());
        let w = World {
            state: State {
                store: store.clone(),
                log: Mutex::default(),
            },
            dir: directory::Dir {
                store: store.clone(),
                groups: Mutex::default(),
            },
            store,
            templates: MemoryTemplates::default(),
            domains: MemoryDomains::default(),
            clock: FixedClock::at(time::macros::datetime!(2026-12-01 09:00 UTC)),
            ids: SequentialIds::default(),
            secrets: CountedSecrets::default(),
            product_api: MemoryProductApi::default(),
            org: OrgId::parse("acme").unwrap_or_else(|_| unreachable!()),
        };
        w.orgs()
            .create(&w.org, "Acme")
            .await
            .unwrap_or_else(|e| unreachable!("{e}"));
        w
    }

    pub fn rules(&self) -> Rules<'_> {
        RuleService {
            config: &*self.store,
            orgs: &*self.store,
            templates: &self.templates,
            directory: &self.dir,
            state: &self.state,
            clock: &self.clock,
            ids: &self.ids,
        }
    }

    pub fn sync(
        &self,
    ) -> SyncService<'_, MemoryStore, MemoryStore, MemoryDomains, directory::Dir, State, FixedClock>
    {
        SyncService {
            config: &*self.store,
            orgs: &*self.store,
            domains: &self.domains,
            directory: &self.dir,
            state: &self.state,
            clock: &self.clock,
        }
    }

    pub fn template_service(
        &self,
    ) -> TemplateService<
        '_,
        MemoryTemplates,
        MemoryStore,
        MemoryStore,
        MemoryStore,
        State,
        FixedClock,
        SequentialIds,
    > {
        TemplateService {
            templates: &self.templates,
            config: &*self.store,
            orgs: &*self.store,
            users: &*self.store,
            state: &self.state,
            clock: &self.clock,
            ids: &self.ids,
        }
    }

    pub fn orgs(&self) -> OrgService<'_, MemoryStore, FixedClock, CountedSecrets> {
        OrgService {
            store: &*self.store,
            clock: &self.clock,
            secrets: &self.secrets,
        }
    }

    /// A directory group `id` with `members` active users (`{id}-{n}`).
    pub async fn group(&self, id: &str, members: usize) -> GroupId {
        let group = GroupId::parse(id).unwrap_or_else(|_| unreachable!());
        self.dir
            .create_group(
                &self.org,
                &DirectoryGroup {
                    id: group.clone(),
                    display_name: id.to_owned(),
                    external_id: None,
                    created: "2026-11-22T00:00:00Z".into(),
                    last_modified: "2026-11-22T00:00:00Z".into(),
                    version: 1,
                },
            )
            .await
            .unwrap_or_else(|e| unreachable!("{e}"));
        let mut ids = Vec::new();
        for n in 0..members {
            let user = UserId::parse(&format!("{id}-{n}")).unwrap_or_else(|_| unreachable!());
            let stored = StoredUser {
                user: member(&user),
                attributes: serde_json::Value::Null,
            };
            self.store
                .create_user(&self.org, &stored)
                .await
                .unwrap_or_else(|e| unreachable!("{e}"));
            ids.push(user);
        }
        self.store
            .add_members(&self.org, &group, &ids)
            .await
            .unwrap_or_else(|e| unreachable!("{e}"));
        group
    }

    /// The organization's domain, grandfathered (allows sync on).
    pub async fn verified_domain(&self) {
        let name = DomainName::parse("example.com").unwrap_or_else(|_| unreachable!());
        let d = OrgDomain::grandfathered(name, "ops", self.clock.now())
            .unwrap_or_else(|_| unreachable!());
        self.domains
            .add_domain(&self.org, &d)
            .await
            .unwrap_or_else(|e| unreachable!("{e}"));
    }

    /// Sets the organization's guardrail.
    pub async fn guardrail(&self, percent: u8) {
        let mut org = self
            .store
            .get_org(&self.org)
            .await
            .ok()
            .flatten()
            .unwrap_or_else(|| unreachable!());
        org.suspension_guardrail_percent = percent;
        self.store
            .update_org(&org)
            .await
            .unwrap_or_else(|e| unreachable!("{e}"));
    }
}

use crate::clock::Clock;
