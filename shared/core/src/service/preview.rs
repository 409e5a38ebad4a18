//! Computing a preview: read the users a change can affect, in pages, and
//! compare their accounts before and after with the pure functions of
//! [`crate::rules::preview`]. Nothing is written.

use std::collections::{BTreeSet, HashSet};

use schemars::JsonSchema;
use serde::Serialize;
use tracing::info;

use super::guardrail::Guardrail;
use crate::StoreError;
use crate::ids::{GroupId, OrgId, UserId};
use crate::ports::{DesiredStates, Memberships, ProductApi, StoredUser, Users};
use crate::rules::preview::{
    AccountChange, PreviewTotals, RuleChange, account_change, affected_groups, newly_suspended,
};
use crate::rules::{
    AssignmentStatus, EffectiveAssignment, Rule, SuspendReason, effective_assignment,
};

/// Users read per page.
const PAGE: usize = 500;
/// Changed users listed in a preview (the totals count them all).
pub const LISTED_USERS: usize = 100;
/// Users one preview evaluates; beyond, it says it is incomplete (the
/// guardrail's count is complete at any size).
pub const MAX_EVALUATED: u64 = 5_000;

/// An account as a preview shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountSummary {
    /// `active` or `suspended`.
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspend_reason: Option<SuspendReason>,
    pub products: BTreeSet<String>,
    pub role: &'static str,
}

fn summary(a: &EffectiveAssignment) -> AccountSummary {
    match &a.status {
        AssignmentStatus::Active => AccountSummary {
            status: "active",
            suspend_reason: None,
            products: a.products.clone(),
            role: a.admin_role.name(),
        },
        AssignmentStatus::Suspended { reason } => AccountSummary {
            status: "suspended",
            suspend_reason: Some(*reason),
            products: a.products.clone(),
            role: a.admin_role.name(),
        },
    }
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserPreview {
    pub user_id: UserId,
    pub user_name: String,
    /// `None`: the user has no account yet.
    pub before: Option<AccountSummary>,
    pub after: AccountSummary,
    pub change: AccountChange,
}

/// A computed preview.
#[derive(Debug, Clone, Default)]
pub struct Preview {
    pub totals: PreviewTotals,
    pub users: Vec<UserPreview>,
    /// `false` when more users were affected than one request evaluates
    /// ([`MAX_EVALUATED`]): the totals then cover the first ones.
    pub complete: bool,
}

/// Computes the preview of going from `current` to `proposed` (both in
/// priority order).
pub async fn compute<D, S>(
    directory: &D,
    state: &S,
    org: &OrgId,
    current: &[Rule],
    proposed: &[Rule],
    change: &RuleChange,
) -> Result<Preview, StoreError>
where
    D: Users + Memberships,
    S: DesiredStates,
{
    let rule_groups: BTreeSet<GroupId> = current
        .iter()
        .chain(proposed)
        .map(|r| r.group_id.clone())
        .collect();
    let eval = Evaluation {
        directory,
        state,
        org,
        current,
        proposed,
        sync_on: matches!(change, RuleChange::SyncOn),
        rule_groups,
    };
    let mut preview = Preview {
        complete: true,
        ..Preview::default()
    };
    let full = |p: &Preview| p.totals.affected_users >= MAX_EVALUATED;
    match affected_groups(current, proposed, change) {
        None => {
            let mut after: Option<UserId> = None;
            loop {
                let (users, next) = directory.list_users(org, after.as_ref(), PAGE).await?;
                eval.users(users, &mut preview).await?;
                match next {
                    Some(_) if full(&preview) => {
                        preview.complete = false;
                        break;
                    }
                    Some(n) => after = Some(n),
                    None => break,
                }
            }
        }
        Some(groups) => {
            // a user in two affected groups is counted once
            let mut seen: HashSet<UserId> = HashSet::new();
            'groups: for group in groups {
                let mut after: Option<UserId> = None;
                loop {
                    if full(&preview) {
                        preview.complete = false;
                        break 'groups;
                    }
                    let (ids, next) = directory.members(org, &group, after.as_ref(), PAGE).await?;
                    let fresh: Vec<UserId> =
                        ids.into_iter().filter(|u| seen.insert(u.clone())).collect();
                    if !fresh.is_empty() {
                        let users = directory.get_users(org, &fresh).await?;
                        eval.users(users, &mut preview).await?;
                    }
                    match next {
                        Some(n) => after = Some(n),
                        None => break,
                    }
                }
            }
        }
    }
    info!(
        org = %org,
        affected = preview.totals.affected_users,
        changed = preview.totals.changed_users,
        "preview computed"
    );
    Ok(preview)
}

struct Evaluation<'a, D, S> {
    directory: &'a D,
    state: &'a S,
    org: &'a OrgId,
    current: &'a [Rule],
    proposed: &'a [Rule],
    sync_on: bool,
    rule_groups: BTreeSet<GroupId>,
}

impl<D: Users + Memberships, S: DesiredStates> Evaluation<'_, D, S> {
    async fn users(&self, users: Vec<StoredUser>, preview: &mut Preview) -> Result<(), StoreError> {
        if users.is_empty() {
            return Ok(());
        }
        let ids: Vec<UserId> = users.iter().map(|u| u.user.id.clone()).collect();
        let mut memberships = self
            .directory
            .memberships_among(self.org, &ids, &self.rule_groups)
            .await?;
        // what was last decided for each user: whether it has a product
        // account, and (turning sync on) what the account holds
        let mut stored = self.state.user_states(self.org, &ids).await?;
        for user in users {
            let groups = memberships.remove(&user.user.id).unwrap_or_default();
            let status = user.user.facts().status;
            let desired = stored
                .remove(&user.user.id)
                .and_then(|(desired, _)| desired);
            // generation 0: no rule ever entitled the user, so no account
            // was made (see `state::decide`)
            let has_account = desired.as_ref().is_some_and(|d| d.generation > 0);
            let (before, after) = if self.sync_on {
                (
                    desired.map(|d| d.assignment),
                    effective_assignment(status, &groups, self.current),
                )
            } else {
                (
                    Some(effective_assignment(status, &groups, self.current)),
                    effective_assignment(status, &groups, self.proposed),
                )
            };
            let before = before.filter(|_| has_account);
            if before.is_none() && !after.is_active() {
                // no account, and none to make for a user no rule entitles
                preview.totals.add(&AccountChange::default(), false);
                continue;
            }
            let change = account_change(before.as_ref(), &after);
            preview
                .totals
                .add(&change, newly_suspended(before.as_ref(), &after));
            if change.is_change() && preview.users.len() < LISTED_USERS {
                preview.users.push(UserPreview {
                    user_id: user.user.id.clone(),
                    user_name: user.user.user_name.clone(),
                    before: before.as_ref().map(summary),
                    after: summary(&after),
                    change,
                });
            }
        }
        Ok(())
    }
}

/// Seats each product would need, against what the product API reports
/// (`null` figures when it does not answer).
pub async fn seats<P: ProductApi>(
    product_api: &P,
    org: &OrgId,
    totals: &PreviewTotals,
) -> Vec<SeatNeed> {
    let needed = totals.additional_seats();
    if needed.is_empty() {
        return Vec::new();
    }
    let known = match product_api.seats(org).await {
        Ok(s) => Some(s),
        Err(e) => {
            info!(org = %org, error = %e, "seat counts unavailable for the preview");
            None
        }
    };
    needed
        .into_iter()
        .map(|(product, additional)| {
            let (limit, used) = match known.as_ref() {
                Some(k) => match k.get(&product) {
                    Some(s) => (s.limit, Some(s.used)),
                    // a product the product API does not list has no limit
                    None => (None, Some(0)),
                },
                None => (None, None),
            };
            let available = match (limit, used) {
                (Some(l), Some(u)) => Some(l.saturating_sub(u)),
                _ => None,
            };
            let sufficient = match (known.is_some(), available) {
                (true, Some(a)) => Some(additional <= a),
                (true, None) => Some(true),
                (false, _) => None,
            };
            SeatNeed {
                product,
                additional,
                limit,
                used,
                available,
                sufficient,
            }
        })
        .collect()
}

/// Seats a change needs of one product, against what the product API
/// reports. Unlimited: `limit` and `available` `null`, `used` a number,
/// `sufficient` `true`. Unknown (the product API did not answer): `limit`,
/// `used`, `available` and `sufficient` all `null` — never "enough".
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SeatNeed {
    pub product: String,
    pub additional: u64,
    /// `null`: unlimited (then `used` is a number) or unknown (then `used`
    /// is `null` too).
    pub limit: Option<u64>,
    /// `null`: unknown.
    pub used: Option<u64>,
    /// `null`: unlimited or unknown.
    pub available: Option<u64>,
    /// `true`: enough seats, or unlimited; `false`: not enough; `null`:
    /// unknown (the product API did not answer).
    pub sufficient: Option<bool>,
}

/// The answer of `POST /rules/preview`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreviewView {
    /// `false`: more users were affected than one preview evaluates; the
    /// totals cover the first ones.
    pub complete: bool,
    pub totals: PreviewTotals,
    pub seats: Vec<SeatNeed>,
    pub guardrail: Guardrail,
    /// The first changed users.
    pub users: Vec<UserPreview>,
    /// More users changed than `users` lists.
    pub users_truncated: bool,
    pub sync_enabled: bool,
    /// Whether a rule still grants Full Admin after the change.
    pub full_admin_rule_after: bool,
}

/// The response body of a preview.
pub fn view(
    preview: &Preview,
    seats: Vec<SeatNeed>,
    guardrail: Guardrail,
    sync_enabled: bool,
    full_admin_rule_after: bool,
) -> PreviewView {
    let changed = usize::try_from(preview.totals.changed_users).unwrap_or(usize::MAX);
    PreviewView {
        complete: preview.complete,
        totals: preview.totals.clone(),
        seats,
        guardrail,
        users: preview.users.clone(),
        users_truncated: changed > preview.users.len(),
        sync_enabled,
        full_admin_rule_after,
    }
}
