//! The index of an organization's deleted users by the keys a returning
//! person finds them by ([`crate::ports::ReturningIndex`]): filled, once,
//! for an organization created before it.

use crate::StoreError;
use crate::directory::may_return;
use crate::ids::OrgId;
use crate::ports::{ReturningIndex, Users};

/// Users read per page.
pub const INDEX_PAGE: usize = 200;

/// What [`index_organization`] has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IndexCount {
    /// Users read.
    pub examined: u64,
    /// Deleted users a returning person could take over, filed.
    pub filed: u64,
}

/// Files every deleted user of an organization that a returning person
/// could take over, [`INDEX_PAGE`] users at a time (`progress` is told the
/// running count after each page), then marks the organization indexed.
///
/// Safe while the organization is in use: a user deleted meanwhile is
/// filed by its deletion, and until the mark every create looks for a
/// returning person as before. A deleted user taken over between its page
/// and its filing stays filed: a create with its key looks, and finds no
/// one, as before the index. Running it again files nothing new.
pub async fn index_organization<S: Users + ReturningIndex>(
    store: &S,
    org: &OrgId,
    mut progress: impl FnMut(&IndexCount),
) -> Result<IndexCount, StoreError> {
    let mut count = IndexCount::default();
    let mut after = None;
    loop {
        let (users, next) = store.list_users(org, after.as_ref(), INDEX_PAGE).await?;
        count.examined += users.len() as u64;
        let deleted: Vec<_> = users
            .into_iter()
            .map(|u| u.user)
            .filter(may_return)
            .collect();
        if !deleted.is_empty() {
            store.file_returnable(org, &deleted).await?;
            count.filed += deleted.len() as u64;
        }
        progress(&count);
        match next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    store.mark_returnable_indexed(org).await?;
    Ok(count)
}
