//! `GET /users/{id}/assignment`: why a user has what they have — their
//! groups, the matching rules in priority order, the effective assignment
//! with the rule behind each field, the account's language and where it
//! came from, what was last decided and applied, and the last outcome.

use std::collections::BTreeSet;

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use schemars::JsonSchema;
use serde::Serialize;
use user_sync_core::directory::DirectoryStatus;
use user_sync_core::ids::{GroupId, OrgId, RuleId, UserId};
use user_sync_core::language::{AccountLanguage, account_language};
use user_sync_core::ports::{Configuration, Directory, Organizations, SyncState};
use user_sync_core::rules::{EffectiveAssignment, effective_assignment};
use user_sync_core::state::SyncStatus;

use crate::errors::{ApiError, store_error};
use crate::routes::ok;

/// Groups named in an explanation (a user's groups beyond are counted).
const MAX_GROUPS: usize = 100;

/// The user explained.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExplainedUser {
    pub id: UserId,
    pub user_name: String,
    pub directory_status: DirectoryStatus,
}

/// One of the user's groups.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserGroup {
    pub id: GroupId,
    pub display_name: Option<String>,
    /// Whether a rule names the group.
    pub named_by_rules: bool,
}

/// A rule that matches the user, in priority order.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MatchingRule {
    pub id: RuleId,
    pub priority: u32,
    pub group_id: GroupId,
    pub description: String,
}

/// What the evaluator last decided for the user.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Decided {
    pub generation: u64,
    pub updated_at: String,
    pub assignment: EffectiveAssignment,
    /// The account's language as decided, and where it came from.
    pub language: Option<AccountLanguage>,
    /// `false` while a change is on its way (or sync is off).
    pub matches_rules: bool,
}

/// What the product API last accepted.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Applied {
    pub generation: u64,
    /// Whether the desired generation is applied. The user's sync status
    /// (`GET /users/{id}`) says more: an applied suspension is `suspended`,
    /// never `in_sync`.
    pub in_sync: bool,
}

/// `GET /users/{id}/assignment`.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Explanation {
    pub user: ExplainedUser,
    pub sync_enabled: bool,
    /// The first groups of the user.
    pub groups: Vec<UserGroup>,
    pub group_count: usize,
    pub matching_rules: Vec<MatchingRule>,
    /// What the rules give the user now, with the rule behind each field.
    pub assignment: EffectiveAssignment,
    /// The account's language now (the product account's `locale`, the
    /// welcome email's language) and where it comes from: a rule, the
    /// directory, or the organization's default.
    pub language: Option<AccountLanguage>,
    pub desired: Option<Decided>,
    pub applied: Option<Applied>,
    pub last_outcome: Option<SyncStatus>,
}

pub async fn explain<D, S>(
    directory: &D,
    state: &S,
    org: &OrgId,
    id: &str,
) -> Result<ApiGatewayV2httpResponse, ApiError>
where
    D: Directory + Configuration + Organizations,
    S: SyncState,
{
    let user = crate::users::existing(directory, org, id).await?;
    let id = user.user.id.clone();
    let set = directory.rule_set(org).await.map_err(store_error)?;
    let rules = set.rules();
    let groups = directory.groups_of(org, &id).await.map_err(store_error)?;
    let rule_groups: BTreeSet<&GroupId> = rules.iter().map(|r| &r.group_id).collect();
    let mut named = Vec::new();
    for g in groups.iter().take(MAX_GROUPS) {
        let name = directory
            .get_group(org, g)
            .await
            .map_err(store_error)?
            .map(|g| g.display_name);
        named.push(UserGroup {
            id: g.clone(),
            display_name: name,
            named_by_rules: rule_groups.contains(g),
        });
    }
    let facts = user.user.facts();
    let assignment = effective_assignment(facts.status, &groups, &rules);
    let default_language = directory
        .get_org(org)
        .await
        .map_err(store_error)?
        .map(|o| o.default_language);
    let language = account_language(&assignment, &facts, default_language.as_deref());
    let matching_rules = rules
        .iter()
        .filter(|r| groups.contains(&r.group_id))
        .map(|r| MatchingRule {
            id: r.id.clone(),
            priority: r.priority.get(),
            group_id: r.group_id.clone(),
            description: r.description.clone(),
        })
        .collect();
    let (desired, status) = state.user_state(org, &id).await.map_err(store_error)?;
    let applied = status.as_ref().map(|s| Applied {
        generation: s.applied_generation,
        in_sync: desired
            .as_ref()
            .is_some_and(|d| d.generation == s.applied_generation),
    });
    let desired = desired.map(|d| Decided {
        generation: d.generation,
        matches_rules: d.assignment == assignment
            && d.facts == facts
            && d.language().as_ref() == language.as_ref(),
        language: d.language(),
        updated_at: d.updated_at,
        assignment: d.assignment,
    });
    ok(&Explanation {
        user: ExplainedUser {
            id: user.user.id.clone(),
            user_name: user.user.user_name.clone(),
            directory_status: facts.status,
        },
        sync_enabled: set.sync.enabled,
        groups: named,
        group_count: groups.len(),
        matching_rules,
        assignment,
        language,
        desired,
        applied,
        last_outcome: status,
    })
}
