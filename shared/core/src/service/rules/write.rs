//! How a rule write lands: planned on the configuration as read, checked
//! (the cap, Full Admin while sync is on, the guardrail), written only on
//! that configuration (re-read and re-planned when another write came
//! first) and recorded in the activity history.

use serde_json::json;
use tracing::info;

use super::{MAX_RULES, RuleError, RuleService, WRITE_ATTEMPTS, refused};
use crate::StoreError;
use crate::activity::{Action, ActivityEntry, Subject, SubjectKind};
use crate::clock::{Clock, IdSource};
use crate::ids::{GroupId, OrgId, RuleId};
use crate::ports::{
    ActivityLog, Configuration, DesiredStates, Directory, Organizations, RuleSet, RuleWrite,
    StoredRule, Templates,
};
use crate::rules::Rule;
use crate::rules::preview::{RuleChange, apply_change};
use crate::service::guardrail::{self, Guardrail};
use crate::state::Outcome;

/// How many moved rules a reorder's activity entry names (each a group
/// read).
const MOVES_NAMED: usize = 20;

/// The rules after a write, with the order's new version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub rules: Vec<StoredRule>,
    pub version: u64,
}

/// The rule just written is not among the rules the write produced (never
/// happens: the write planned it).
#[derive(Debug, thiserror::Error)]
#[error("the rule written is missing from the rules written")]
struct Missing;

impl Written {
    pub(super) fn rule(&self, id: &RuleId) -> Result<StoredRule, RuleError> {
        self.rules
            .iter()
            .find(|r| &r.rule.id == id)
            .cloned()
            .ok_or_else(|| RuleError::Store(StoreError::permanent(Missing)))
    }
}

/// A planned write, derived from the configuration just read.
pub(super) struct Plan {
    pub(super) write: RuleWrite,
    pub(super) change: RuleChange,
    pub(super) confirm: bool,
    pub(super) action: Action,
    pub(super) subject: String,
}

/// Whether a change can suspend anyone: only removing a rule, or moving it
/// to another group, takes a match away.
fn can_suspend(current: &[Rule], change: &RuleChange) -> bool {
    match change {
        RuleChange::Delete(_) | RuleChange::SyncOn => true,
        RuleChange::Update(rule) => current
            .iter()
            .find(|r| r.id == rule.id)
            .is_none_or(|r| r.group_id != rule.group_id),
        RuleChange::Create(_) | RuleChange::Reorder(_) => false,
    }
}

impl<C, O, T, D, S, K, I, P> RuleService<'_, C, O, T, D, S, K, I, P>
where
    C: Configuration,
    O: Organizations,
    T: Templates,
    D: Directory,
    S: DesiredStates + ActivityLog,
    K: Clock,
    I: IdSource,
{
    /// Applies a write planned against the configuration as read, re-reading
    /// and re-planning when another write landed in between.
    pub(super) async fn write<F>(
        &self,
        org: &OrgId,
        actor: &str,
        mut plan: F,
    ) -> Result<Written, RuleError>
    where
        F: FnMut(&RuleSet) -> Result<Plan, RuleError>,
    {
        for _ in 0..WRITE_ATTEMPTS {
            let set = self.config.rule_set(org).await?;
            let p = plan(&set)?;
            let current = set.rules();
            let proposed = apply_change(&current, &p.change).map_err(refused)?;
            if proposed.len() > MAX_RULES {
                return Err(RuleError::TooMany);
            }
            if set.sync.enabled && !proposed.iter().any(Rule::grants_full_admin) {
                return Err(RuleError::FullAdminRequired);
            }
            if set.sync.enabled && !p.confirm && can_suspend(&current, &p.change) {
                let g = self.guardrail(org, &current, &proposed, &p.change).await?;
                if g.confirmation_required {
                    return Err(RuleError::MassSuspension(g));
                }
            }
            let order: Vec<RuleId> = proposed.iter().map(|r| r.id.clone()).collect();
            match self.config.write_rules(org, &p.write, &order, &set).await {
                Ok(()) => {}
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
            self.record(org, actor, &p, &set, &proposed).await?;
            let rules = proposed
                .into_iter()
                .map(|rule| {
                    let old = set.get(&rule.id).map(|r| r.version);
                    let version = match (&p.write, old) {
                        (RuleWrite::Update { rule: r, .. }, Some(v)) if r.id == rule.id => v + 1,
                        (_, Some(v)) => v,
                        (_, None) => 1,
                    };
                    StoredRule { rule, version }
                })
                .collect();
            return Ok(Written {
                rules,
                version: set.version + 1,
            });
        }
        Err(RuleError::Conflict)
    }

    pub(super) async fn guardrail(
        &self,
        org: &OrgId,
        current: &[Rule],
        proposed: &[Rule],
        change: &RuleChange,
    ) -> Result<Guardrail, RuleError> {
        Ok(guardrail::verdict(
            self.orgs,
            self.directory,
            self.state,
            org,
            current,
            proposed,
            matches!(change, RuleChange::SyncOn),
        )
        .await?)
    }

    /// The activity entry of a write.
    async fn record(
        &self,
        org: &OrgId,
        actor: &str,
        p: &Plan,
        set: &RuleSet,
        proposed: &[Rule],
    ) -> Result<(), RuleError> {
        let mut entry = ActivityEntry::new(
            self.clock.timestamp(),
            &format!("{}#{}", p.subject, set.version + 1),
            actor,
            p.action,
            Subject {
                kind: SubjectKind::Rule,
                id: p.subject.clone(),
            },
            Outcome::Success,
        );
        entry.details = match &p.write {
            RuleWrite::Create(r) | RuleWrite::Update { rule: r, .. } => {
                let priority = proposed
                    .iter()
                    .find(|x| x.id == r.id)
                    .map(|x| x.priority.get());
                json!({
                    "priority": priority,
                    "groupId": r.group_id,
                    "group": self.group_name(org, &r.group_id).await?,
                })
            }
            RuleWrite::Delete { id, .. } => match set.get(id) {
                Some(stored) => json!({
                    "priority": stored.rule.priority.get(),
                    "groupId": stored.rule.group_id,
                    "group": self.group_name(org, &stored.rule.group_id).await?,
                }),
                None => json!({}),
            },
            RuleWrite::Reorder => {
                // a move names the rule moved; a whole new order, the rules
                // whose priority changed (the first MOVES_NAMED of them)
                let changed: Vec<&Rule> = proposed
                    .iter()
                    .filter(|r| {
                        r.id.as_str() == p.subject
                            || (p.subject == "order"
                                && set
                                    .get(&r.id)
                                    .is_some_and(|s| s.rule.priority != r.priority))
                    })
                    .collect();
                let mut moved = Vec::new();
                for rule in changed.iter().take(MOVES_NAMED) {
                    let from = set.get(&rule.id).map(|r| r.rule.priority.get());
                    moved.push(json!({
                        "id": rule.id,
                        "groupId": rule.group_id,
                        "group": self.group_name(org, &rule.group_id).await?,
                        "from": from,
                        "to": rule.priority.get(),
                    }));
                }
                json!({
                    "order": proposed.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
                    "moved": moved,
                    "movedCount": changed.len(),
                })
            }
        };
        self.state.append_activity(org, &entry).await?;
        info!(org = %org, rule = %p.subject, action = ?p.action, "rules changed");
        Ok(())
    }

    /// A rule's group as the history names it, read when the entry is
    /// written so that the entry still reads after the group is deleted
    /// (`None`: the group is gone already).
    async fn group_name(&self, org: &OrgId, group: &GroupId) -> Result<Option<String>, RuleError> {
        Ok(self
            .directory
            .get_group(org, group)
            .await?
            .map(|g| g.display_name))
    }
}
