//! The SCIM services on the in-memory ports: versions and `If-Match`,
//! PATCH semantics, uniqueness, deletion, returning people, concurrent
//! group writers. No database: the whole tier runs in seconds.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod groups;
mod users;

use serde_json::{Value, json};
use user_sync_core::clock::{FixedClock, SequentialIds};
use user_sync_core::ids::OrgId;
use user_sync_core::memory::MemoryStore;
use user_sync_core::ports::{Organization, Organizations};
use user_sync_core::scim::PATCH_OP_SCHEMA;
use user_sync_core::scim::user::{UserInput, parse_user};

/// The store, a clock standing at 2026-12-01 and ids counted from 1.
pub struct World<S = MemoryStore> {
    pub store: S,
    pub clock: FixedClock,
    pub ids: SequentialIds,
    pub org: OrgId,
}

impl<S> World<S> {
    pub fn over(store: S) -> Self {
        World {
            store,
            clock: FixedClock::at(time::macros::datetime!(2026-12-01 09:00:00 UTC)),
            ids: SequentialIds::default(),
            org: OrgId::parse("acme").unwrap(),
        }
    }

    /// Moves the clock on by a minute.
    pub fn later(&self) {
        self.clock.advance(time::Duration::minutes(1));
    }
}

pub fn world() -> World {
    World::over(MemoryStore::default())
}

/// Stores the organization, capturing `custom` attributes.
pub async fn with_org<S: Organizations>(w: &World<S>, custom: &[&str]) {
    w.store
        .create_org(&Organization {
            id: w.org.clone(),
            name: "Acme".into(),
            default_language: "en".into(),
            created: "2026-01-01T00:00:00.000Z".into(),
            custom_attributes: custom.iter().map(|s| (*s).to_owned()).collect(),
            suspension_guardrail_percent: 10,
            activity_retention_days: None,
            catalog: None,
            version: 1,
            setting_versions: Default::default(),
            drift_check: Default::default(),
        })
        .await
        .unwrap();
}

pub fn user_input(body: Value) -> UserInput {
    parse_user(&body).unwrap()
}

pub fn ada(user_name: &str, external_id: Option<&str>) -> UserInput {
    let mut body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "emails": [{"value": user_name, "type": "work", "primary": true}],
        "active": true
    });
    if let Some(x) = external_id {
        body["externalId"] = json!(x);
    }
    user_input(body)
}

/// A PatchOp request of `ops`.
pub fn patch(ops: Value) -> Value {
    json!({"schemas": [PATCH_OP_SCHEMA], "Operations": ops})
}
