//! An organization's rules and sync switch.

use std::future::Future;

use super::*;
use crate::StoreError;
use crate::ids::{OrgId, RuleId};
use crate::rules::Rule;

/// A rule with its storage version (its ETag).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRule {
    pub rule: Rule,
    pub version: u64,
}

/// An organization's rules and sync switch, read together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSet {
    /// In priority order; priorities are dense, 1..n.
    pub rules: Vec<StoredRule>,
    pub sync: SyncSettings,
    /// Grows with every rule write and reorder (the order's ETag).
    pub version: u64,
}

impl RuleSet {
    pub fn rules(&self) -> Vec<Rule> {
        self.rules.iter().map(|r| r.rule.clone()).collect()
    }

    pub fn get(&self, id: &RuleId) -> Option<&StoredRule> {
        self.rules.iter().find(|r| &r.rule.id == id)
    }

    pub fn order(&self) -> Vec<RuleId> {
        self.rules.iter().map(|r| r.rule.id.clone()).collect()
    }
}

/// What tells whether rules read earlier are still the organization's,
/// read without them: the configuration's version (every rule write and
/// reorder moves it on with the rules, in one transaction:
/// [`RuleSet::version`]) and the sync settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigStamp {
    pub version: u64,
    pub sync: SyncSettings,
}

impl ConfigStamp {
    /// The stamp of a rule set read whole.
    pub fn of(set: &RuleSet) -> Self {
        Self {
            version: set.version,
            sync: set.sync.clone(),
        }
    }
}

/// One change of the rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleWrite {
    /// A new rule; MUST fail with `Conflict` when its id exists.
    Create(Rule),
    /// MUST fail with `Conflict` unless the stored rule has `expected_version`.
    Update { rule: Rule, expected_version: u64 },
    /// MUST fail with `Conflict` unless the stored rule has `expected_version`.
    Delete { id: RuleId, expected_version: u64 },
    /// Only the order changes.
    Reorder,
}

/// Rules and sync settings.
pub trait Configuration: Sync {
    /// Every rule of the organization, in priority order, with the sync
    /// switch and the configuration version.
    fn rule_set(&self, org: &OrgId) -> impl Future<Output = Result<RuleSet, StoreError>> + Send;
    /// Every rule of the organization and its sync settings, read together.
    fn rules_and_sync(
        &self,
        org: &OrgId,
    ) -> impl Future<Output = Result<(Vec<Rule>, SyncSettings), StoreError>> + Send {
        async move {
            let set = self.rule_set(org).await?;
            Ok((set.rules(), set.sync))
        }
    }
    /// Applies one rule change and stores `order` (every rule id, highest
    /// priority first) atomically. MUST return `Conflict` when the stored
    /// configuration is no longer `read.version`, when the sync switch is no
    /// longer `read.sync.enabled`, or as the write itself states.
    fn write_rules(
        &self,
        org: &OrgId,
        write: &RuleWrite,
        order: &[RuleId],
        read: &RuleSet,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Stores the sync switch. MUST return `Conflict` when the configuration
    /// is no longer at `expected_version` (a rule changed meanwhile).
    fn put_sync(
        &self,
        org: &OrgId,
        sync: &SyncSettings,
        expected_version: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}
