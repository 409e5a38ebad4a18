//! `GET /users/{id}/assignment`: why a user has what they have — their
//! groups, the matching rules in priority order, the effective assignment
//! with the rule behind each field, what was last decided and applied, and
//! the last outcome.

use std::collections::BTreeSet;

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use serde_json::{Value, json};
use user_sync_aws::http::response;
use user_sync_core::ids::{GroupId, OrgId, UserId};
use user_sync_core::ports::{Configuration, Directory, SyncState};
use user_sync_core::rules::effective_assignment;

use crate::routes::{ApiError, store_error};

/// Groups named in an explanation (a user's groups beyond are counted).
const MAX_GROUPS: usize = 100;

pub async fn explain<D, S>(
    directory: &D,
    state: &S,
    org: &OrgId,
    id: &str,
) -> Result<ApiGatewayV2httpResponse, ApiError>
where
    D: Directory + Configuration,
    S: SyncState,
{
    let not_found = || ApiError::new(404, "not_found", "no such user");
    let id = UserId::parse(id).map_err(|_| not_found())?;
    let user = directory
        .get_user(org, &id)
        .await
        .map_err(store_error)?
        .ok_or_else(not_found)?;
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
        named.push(json!({"id": g, "displayName": name, "namedByRules": rule_groups.contains(g)}));
    }
    let facts = user.user.facts();
    let assignment = effective_assignment(facts.status, &groups, &rules);
    let matching: Vec<Value> = rules
        .iter()
        .filter(|r| groups.contains(&r.group_id))
        .map(|r| {
            json!({
                "id": r.id,
                "priority": r.priority.get(),
                "groupId": r.group_id,
                "description": r.description,
            })
        })
        .collect();
    let (desired, status) = state.user_state(org, &id).await.map_err(store_error)?;
    let desired_json = desired.as_ref().map(|d| {
        json!({
            "generation": d.generation,
            "updatedAt": d.updated_at,
            "assignment": d.assignment,
            // false while a change is on its way (or sync is off)
            "matchesRules": d.assignment == assignment && d.facts == facts,
        })
    });
    let applied = status.as_ref().map(|s| {
        json!({
            "generation": s.applied_generation,
            "inSync": desired.as_ref().is_some_and(|d| d.generation == s.applied_generation),
        })
    });
    let body = json!({
        "user": {
            "id": user.user.id,
            "userName": user.user.user_name,
            "directoryStatus": facts.status,
        },
        "syncEnabled": set.sync.enabled,
        "groups": named,
        "groupCount": groups.len(),
        "matchingRules": matching,
        "assignment": assignment,
        "desired": desired_json,
        "applied": applied,
        "lastOutcome": status,
    });
    Ok(response(200, "application/json", body.to_string(), &[]))
}
