//! Rules and the sync switch, in memory.

use super::*;

impl Configuration for MemoryStore {
    async fn rule_set(&self, org: &OrgId) -> Result<RuleSet, StoreError> {
        // an organization without rules has sync off, at version 0
        Ok(self
            .with_org(org, |o| o.rule_set.clone())
            .unwrap_or(RuleSet {
                rules: Vec::new(),
                sync: SyncSettings {
                    enabled: false,
                    changed_at: None,
                    changed_by: None,
                },
                version: 0,
            }))
    }

    async fn write_rules(
        &self,
        _org: &OrgId,
        _write: &RuleWrite,
        _order: &[RuleId],
        _read: &RuleSet,
    ) -> Result<(), StoreError> {
        Err(unsupported())
    }

    async fn put_sync(
        &self,
        _org: &OrgId,
        _sync: &SyncSettings,
        _expected_version: u64,
    ) -> Result<(), StoreError> {
        Err(unsupported())
    }
}
