//! The mass-suspension guardrail: how many active users a change would
//! suspend because no rule matches them any more, counted from memberships
//! (and, turning sync on, the states of the users outside the rules'
//! groups), in pages, so that it stays complete at any directory size.
//!
//! - a rule change: the members of groups no rule names after the change,
//!   less those in a group a rule still names, less the inactive ones;
//! - sync turned on: the active users outside the rules' groups whose
//!   product account an earlier sync left active (a user no rule ever
//!   entitled has no account and gets none; a suspended one stays so), as
//!   the preview counts them.

use std::collections::{BTreeSet, HashSet};

use serde::Serialize;

use crate::StoreError;
use crate::directory::DirectoryStatus;
use crate::ids::{GroupId, OrgId, UserId};
use crate::ports::{
    DEFAULT_GUARDRAIL_PERCENT, DesiredStates, Memberships, Organizations, UserLookup, Users,
};
use crate::rules::Rule;
use crate::rules::preview::exceeds_guardrail;

/// Ids read per page.
const PAGE: usize = 1_000;

/// The guardrail's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Guardrail {
    pub suspended: u64,
    pub directory_users: u64,
    pub threshold_percent: u8,
    pub confirmation_required: bool,
}

impl Guardrail {
    /// The refusal's message, with the numbers.
    pub fn message(&self, what: &str) -> String {
        // one decimal, in integers: 12.5 % is 125 tenths
        let tenths = (self.suspended * 1000)
            .checked_div(self.directory_users)
            .unwrap_or(0);
        format!(
            "{what} would suspend {} of the organization's {} users ({}.{} %), more than the guardrail of {} %; repeat the request with \"confirm\": true to go ahead",
            self.suspended,
            self.directory_users,
            tenths / 10,
            tenths % 10,
            self.threshold_percent
        )
    }
}

fn len(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

fn groups(rules: &[Rule]) -> BTreeSet<GroupId> {
    rules.iter().map(|r| r.group_id.clone()).collect()
}

async fn all_members<D: Memberships>(
    directory: &D,
    org: &OrgId,
    groups: &BTreeSet<GroupId>,
) -> Result<HashSet<UserId>, StoreError> {
    let mut out = HashSet::new();
    for g in groups {
        let mut after: Option<UserId> = None;
        loop {
            let (ids, next) = directory.members(org, g, after.as_ref(), PAGE).await?;
            out.extend(ids);
            match next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
    }
    Ok(out)
}

/// Active users that would lose their last matching rule.
pub async fn would_suspend<D: Users + UserLookup + Memberships, S: DesiredStates>(
    directory: &D,
    state: &S,
    org: &OrgId,
    current: &[Rule],
    proposed: &[Rule],
    sync_on: bool,
) -> Result<u64, StoreError> {
    let kept = groups(proposed);
    if sync_on {
        let matched = all_members(directory, org, &kept).await?;
        let mut count = 0u64;
        let mut after: Option<UserId> = None;
        loop {
            let (page, next) = directory.user_statuses(org, after.as_ref(), PAGE).await?;
            let outside: Vec<UserId> = page
                .into_iter()
                .filter(|(u, s)| *s == DirectoryStatus::Active && !matched.contains(u))
                .map(|(u, _)| u)
                .collect();
            if !outside.is_empty() {
                count += len(state
                    .user_states(org, &outside)
                    .await?
                    .into_values()
                    .filter_map(|(desired, _)| desired)
                    // generation 0: no rule ever entitled the user, no account
                    .filter(|d| d.generation > 0 && d.assignment.is_active())
                    .count());
            }
            match next {
                Some(n) => after = Some(n),
                None => return Ok(count),
            }
        }
    }
    let lost: BTreeSet<GroupId> = groups(current).difference(&kept).cloned().collect();
    if lost.is_empty() {
        return Ok(0);
    }
    let candidates: Vec<UserId> = all_members(directory, org, &lost)
        .await?
        .into_iter()
        .collect();
    let mut count = 0u64;
    for chunk in candidates.chunks(100) {
        let still: HashSet<UserId> = directory
            .memberships_among(org, chunk, &kept)
            .await?
            .into_keys()
            .collect();
        let unmatched: Vec<UserId> = chunk
            .iter()
            .filter(|u| !still.contains(u))
            .cloned()
            .collect();
        if unmatched.is_empty() {
            continue;
        }
        count += len(directory
            .get_users(org, &unmatched)
            .await?
            .iter()
            .filter(|u| u.user.status() == DirectoryStatus::Active)
            .count());
    }
    Ok(count)
}

/// The verdict for going from `current` to `proposed` (or turning sync on),
/// against the organization's own threshold.
pub async fn verdict<O: Organizations, D: Users + UserLookup + Memberships, S: DesiredStates>(
    orgs: &O,
    directory: &D,
    state: &S,
    org: &OrgId,
    current: &[Rule],
    proposed: &[Rule],
    sync_on: bool,
) -> Result<Guardrail, StoreError> {
    let threshold_percent = orgs
        .get_org(org)
        .await?
        .map_or(DEFAULT_GUARDRAIL_PERCENT, |o| {
            o.suspension_guardrail_percent
        });
    let suspended = would_suspend(directory, state, org, current, proposed, sync_on).await?;
    let directory_users = directory.count_users(org).await?;
    Ok(Guardrail {
        suspended,
        directory_users,
        threshold_percent,
        confirmation_required: exceeds_guardrail(suspended, directory_users, threshold_percent),
    })
}
