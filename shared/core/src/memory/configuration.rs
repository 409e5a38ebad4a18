//! Rules and the sync switch, in memory, with the version contracts of
//! [`Configuration`].

use super::*;
use crate::ports::StoredRule;
use crate::rules::Priority;

fn empty() -> RuleSet {
    // an organization without rules has sync off, at version 0
    RuleSet {
        rules: Vec::new(),
        sync: SyncSettings {
            enabled: false,
            changed_at: None,
            changed_by: None,
        },
        version: 0,
    }
}

fn conflict(what: &str) -> StoreError {
    StoreError::Conflict(what.to_owned())
}

/// The rules after `write`, or the conflict its contract states.
fn applied(rules: &mut Vec<StoredRule>, write: &RuleWrite) -> Result<(), StoreError> {
    let at = |rules: &[StoredRule], id: &RuleId, expected: u64| match rules
        .iter()
        .position(|r| &r.rule.id == id)
    {
        Some(i) if rules[i].version == expected => Ok(i),
        _ => Err(conflict("the rule is not at the version read")),
    };
    match write {
        RuleWrite::Create(rule) => {
            if rules.iter().any(|r| r.rule.id == rule.id) {
                return Err(conflict("a rule with this id exists"));
            }
            rules.push(StoredRule {
                rule: rule.clone(),
                version: 1,
            });
        }
        RuleWrite::Update {
            rule,
            expected_version,
        } => {
            let i = at(rules, &rule.id, *expected_version)?;
            rules[i] = StoredRule {
                rule: rule.clone(),
                version: expected_version + 1,
            };
        }
        RuleWrite::Delete {
            id,
            expected_version,
        } => {
            let i = at(rules, id, *expected_version)?;
            rules.remove(i);
        }
        RuleWrite::Reorder => {}
    }
    Ok(())
}

/// `rules` in `order` (a rule it does not name goes last, by id), with
/// dense priorities, as the order item decides them.
fn ordered(rules: Vec<StoredRule>, order: &[RuleId]) -> Result<Vec<StoredRule>, StoreError> {
    let mut by_id: BTreeMap<RuleId, StoredRule> =
        rules.into_iter().map(|r| (r.rule.id.clone(), r)).collect();
    let mut out: Vec<StoredRule> = order.iter().filter_map(|id| by_id.remove(id)).collect();
    out.extend(by_id.into_values());
    for (i, r) in out.iter_mut().enumerate() {
        let p = u32::try_from(i + 1).unwrap_or(Priority::MAX);
        r.rule.priority = Priority::new(p).map_err(|e| StoreError::Invalid(e.to_string()))?;
    }
    Ok(out)
}

impl Configuration for MemoryStore {
    async fn rule_set(&self, org: &OrgId) -> Result<RuleSet, StoreError> {
        Ok(self
            .with_org(org, |o| o.rule_set.clone())
            .unwrap_or_else(empty))
    }

    async fn write_rules(
        &self,
        org: &OrgId,
        write: &RuleWrite,
        order: &[RuleId],
        read: &RuleSet,
    ) -> Result<(), StoreError> {
        self.with_org(org, |o| {
            let set = o.rule_set.get_or_insert_with(empty);
            if set.version != read.version {
                return Err(conflict("the rules changed since they were read"));
            }
            if set.sync.enabled != read.sync.enabled {
                return Err(conflict("sync was switched since the rules were read"));
            }
            let mut rules = set.rules.clone();
            applied(&mut rules, write)?;
            set.rules = ordered(rules, order)?;
            set.version += 1;
            Ok(())
        })
    }

    async fn put_sync(
        &self,
        org: &OrgId,
        sync: &SyncSettings,
        expected_version: u64,
    ) -> Result<(), StoreError> {
        self.with_org(org, |o| {
            let set = o.rule_set.get_or_insert_with(empty);
            if set.version != expected_version {
                return Err(conflict("the rules changed since they were read"));
            }
            set.sync = sync.clone();
            Ok(())
        })
    }
}
