//! The contract of each port, as checks every adapter passes: the
//! in-memory fakes (`crate::memory`, in this crate's tests) and the DynamoDB
//! adapters (on the AWS emulator, in `user-sync-aws`'s tests). One module
//! per capability; each check asserts what the port's doc comments say an
//! adapter MUST do (conflicts, harmless repeats, paging, lookups ignoring
//! case, batched reads leaving missing ids out, …).
//!
//! Every check works in an organization of its own ([`fresh_org`]), so
//! checks run in parallel and again on the same tables. A check panics
//! (assertions) on a broken contract, and returns the error of a call that
//! should have succeeded.

pub mod activity;
pub mod configuration;
pub mod desired_states;
pub mod email_claims;
pub mod failure_index;
pub mod fan_outs;
pub mod groups;
pub mod joint_reads;
pub mod organizations;
pub mod returning;
pub mod sso;
pub mod sync_outcomes;
pub mod templates;
pub mod tokens;
pub mod users;

use crate::StoreError;
use crate::clock::{IdSource, RandomIds};
use crate::ids::{GroupId, OrgId, UserId};

/// What a check returns: the error of a call that should have succeeded.
pub type Checked = Result<(), StoreError>;

/// A new organization's id, used by nothing else.
pub fn fresh_org() -> OrgId {
    let id = RandomIds.new_id().unwrap_or_default().replace('-', "");
    OrgId::parse(&format!("contract-{}", &id[..id.len().min(30)])).expect("a valid id")
}

/// A user id (valid: the checks' own).
pub fn uid(id: &str) -> UserId {
    UserId::parse(id).expect("a valid user id")
}

/// A group id (valid: the checks' own).
pub fn gid(id: &str) -> GroupId {
    GroupId::parse(id).expect("a valid group id")
}

/// A unique suffix for ids within one organization.
fn fresh() -> String {
    RandomIds.new_id().unwrap_or_default()
}

/// Asserts that `result` is a `Conflict`.
#[track_caller]
fn assert_conflict<T: std::fmt::Debug>(result: Result<T, StoreError>, what: &str) {
    assert!(
        matches!(result, Err(StoreError::Conflict(_))),
        "{what}: expected Conflict, got {result:?}"
    );
}

/// Pages through a listing until its cursor is `None` (a page may be empty
/// when the previous one ended exactly at the end), checking each page
/// holds at most `limit` items.
async fn all_pages<T, C, F, Fut>(limit: usize, mut page: F) -> Result<Vec<T>, StoreError>
where
    F: FnMut(Option<C>) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<T>, Option<C>), StoreError>>,
{
    let mut out = Vec::new();
    let mut cursor = None;
    for _ in 0..1_000 {
        let (items, next) = page(cursor.take()).await?;
        assert!(items.len() <= limit, "a page holds at most `limit` items");
        out.extend(items);
        match next {
            Some(c) => cursor = Some(c),
            None => return Ok(out),
        }
    }
    panic!("a listing that does not end");
}

#[cfg(test)]
mod in_memory;
