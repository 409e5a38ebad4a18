//! The services on the in-memory ports: every decision they own, in
//! milliseconds, without an emulator.

use std::sync::{Arc, Mutex};

use crate::activity::{ActivityEntry, ActivityFilter};
use crate::clock::{FixedClock, SequentialIds};
use crate::directory::DirectoryGroup;
use crate::domains::{DomainName, Domains, OrgDomain};
use crate::ids::{GroupId, OrgId, UserId};
use crate::memory::{MemoryProductApi, MemoryStore, member};
use crate::ports::{ActivityLog, Groups, Memberships, Organizations, StoredUser, Users};
use crate::service::orgs::{OrgService, TokenSecrets};
use crate::service::rules::RuleService;
use crate::service::settings::SettingsService;
use crate::service::sync::SyncService;
use crate::service::templates::TemplateService;

mod domains;
mod orgs;
mod repair;
mod rules;
mod settings;
mod stream_lag;
mod sync;
mod templates;

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
    /// Every store port: the directory, templates, domains, desired
    /// states and the activity log, on the world's clock.
    pub store: MemoryStore,
    pub clock: Arc<FixedClock>,
    pub ids: SequentialIds,
    pub secrets: CountedSecrets,
    pub product_api: MemoryProductApi,
    pub org: OrgId,
}

/// The store, in the services' type parameters.
type M = MemoryStore;

pub type Rules<'a> = RuleService<'a, M, M, M, M, M, FixedClock, SequentialIds, MemoryProductApi>;

impl World {
    /// An organization `acme` with a verified domain.
    pub async fn new() -> World {
        let clock = Arc::new(FixedClock::at(
            time::macros::datetime!(2026-12-01 09:00 UTC),
        ));
        let w = World {
            store: MemoryStore::with_clock(clock.clone()),
            clock,
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
            config: &self.store,
            orgs: &self.store,
            product_api: &self.product_api,
            templates: &self.store,
            directory: &self.store,
            state: &self.store,
            clock: &self.clock,
            ids: &self.ids,
        }
    }

    pub fn sync(&self) -> SyncService<'_, M, M, M, M, M, FixedClock> {
        SyncService {
            config: &self.store,
            orgs: &self.store,
            domains: &self.store,
            directory: &self.store,
            state: &self.store,
            clock: &self.clock,
        }
    }

    pub fn template_service(
        &self,
    ) -> TemplateService<'_, M, M, M, M, M, FixedClock, SequentialIds> {
        TemplateService {
            templates: &self.store,
            config: &self.store,
            orgs: &self.store,
            users: &self.store,
            state: &self.store,
            clock: &self.clock,
            ids: &self.ids,
        }
    }

    pub fn settings(&self) -> SettingsService<'_, M, M, M, FixedClock> {
        SettingsService {
            orgs: &self.store,
            config: &self.store,
            history: Some(&self.store),
            clock: &self.clock,
        }
    }

    pub fn orgs(&self) -> OrgService<'_, MemoryStore, FixedClock, CountedSecrets> {
        OrgService {
            store: &self.store,
            clock: &self.clock,
            secrets: &self.secrets,
        }
    }

    /// A directory group `id` with `members` active users (`{id}-{n}`).
    pub async fn group(&self, id: &str, members: usize) -> GroupId {
        let group = GroupId::parse(id).unwrap_or_else(|_| unreachable!());
        self.store
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

    /// The organization's activity history, oldest first.
    pub async fn entries(&self) -> Vec<ActivityEntry> {
        let (mut entries, _) = self
            .store
            .activity(&self.org, &ActivityFilter::default(), None, usize::MAX)
            .await
            .unwrap_or_else(|e| unreachable!("{e}"));
        entries.reverse();
        entries
    }

    /// `org`'s activity history, newest first.
    pub async fn activity_of(&self, org: &OrgId) -> Vec<ActivityEntry> {
        self.store
            .activity(org, &ActivityFilter::default(), None, 50)
            .await
            .unwrap_or_else(|e| unreachable!("{e}"))
            .0
    }

    /// `org`'s `ReconcileStarted` entries, newest first.
    pub async fn reconciles_started(&self, org: &OrgId) -> Vec<ActivityEntry> {
        let mut entries = self.activity_of(org).await;
        entries.retain(|e| e.action == crate::activity::Action::ReconcileStarted);
        entries
    }

    /// Turns sync on for `org`.
    pub async fn sync_on(&self, org: &OrgId) {
        use crate::ports::{Configuration, SyncSettings};
        let set = self
            .store
            .rule_set(org)
            .await
            .unwrap_or_else(|e| unreachable!("{e}"));
        let sync = SyncSettings {
            enabled: true,
            changed_at: None,
            changed_by: None,
        };
        self.store
            .put_sync(org, &sync, set.version)
            .await
            .unwrap_or_else(|e| unreachable!("{e}"));
    }

    /// The organization's stored token `token_id`.
    pub async fn token(&self, token_id: &str) -> crate::auth::StoredToken {
        use crate::ports::Tokens;
        self.store
            .get_token(&self.org, token_id)
            .await
            .ok()
            .flatten()
            .unwrap_or_else(|| unreachable!())
    }

    /// The organization's domain, grandfathered (allows sync on).
    pub async fn verified_domain(&self) {
        let name = DomainName::parse("example.com").unwrap_or_else(|_| unreachable!());
        let d = OrgDomain::grandfathered(name, "ops", self.clock.now())
            .unwrap_or_else(|_| unreachable!());
        self.store
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
