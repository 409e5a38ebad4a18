//! Cursor-paginated listings (RFC 9865) of `/Users` and `/Groups`: each
//! request examines a bounded number of resources, in id order, from the
//! cursor's position on.

use serde_json::{Value, json};
use user_sync_core::directory::DirectoryGroup;
use user_sync_core::ids::{GroupId, OrgId, UserId};
use user_sync_core::ports::{Directory, Organizations, StoredUser};
use user_sync_core::scim::cursor::{self, Listing};
use user_sync_core::scim::filter::{Filter, IndexHint};
use user_sync_core::scim::group::render_group;
use user_sync_core::scim::listing::membership_check;
use user_sync_core::scim::user::render_user;
use user_sync_core::scim::{LIST_RESPONSE_SCHEMA, ScimError, custom};
use user_sync_core::service::scim_groups::all_members;

use crate::listing::{indexed_users, load_captured};
use crate::query::{ListQuery, MAX_COUNT};
use crate::render::{MAX_RESPONSE_BYTES, store_error, too_large};

/// Most users or groups one cursor-paginated request examines when a filter
/// needs examining them: the page then holds fewer than `count` (maybe
/// none) and a `nextCursor` (RFC 9865 allows fewer), so the work of a
/// request stays bounded however large the organization is.
pub const CURSOR_SCAN_BUDGET: usize = 1_000;

/// Resources read per storage query while examining a filter.
const SCAN_CHUNK: usize = 200;

/// One page of a cursor-paginated listing (RFC 9865): the resources after
/// the cursor's position, in id order, and the position the next page
/// resumes after (the last resource examined, shown or not).
pub(crate) struct CursorPage<'q> {
    q: &'q ListQuery,
    /// The last id examined (where the next page resumes).
    position: Option<String>,
    resources: Vec<Value>,
    bytes: usize,
    /// Whether resources may follow the position.
    more: bool,
}

impl<'q> CursorPage<'q> {
    pub(crate) fn new(q: &'q ListQuery, after: Option<String>) -> Self {
        Self {
            q,
            position: after,
            resources: Vec::new(),
            bytes: 0,
            more: false,
        }
    }

    /// Whether the page takes another resource.
    fn has_room(&self) -> bool {
        !self.more && self.resources.len() < self.q.count
    }

    /// Whether `id` comes after the position.
    fn is_after(&self, id: &str) -> bool {
        self.position.as_deref().is_none_or(|p| id > p)
    }

    /// Examines the resource `id`: shows `resource` when it is given (a
    /// match) and the page has room. Returns whether the page went on
    /// (else the position stays before `id`, and more may follow).
    fn examine(&mut self, id: &str, resource: Option<Value>) -> Result<bool, ScimError> {
        if !self.has_room() {
            self.more = true;
            return Ok(false);
        }
        if let Some(resource) = resource {
            let shown = self.q.projection.apply(resource);
            let size = shown.to_string().len();
            if self.bytes + size > MAX_RESPONSE_BYTES {
                if self.resources.is_empty() {
                    return Err(too_large());
                }
                self.more = true;
                return Ok(false);
            }
            self.bytes += size;
            self.resources.push(shown);
        }
        self.position = Some(id.to_owned());
        Ok(true)
    }

    /// The ListResponse: `nextCursor` unless this is the last page, no
    /// `totalResults` (counting every match is the cost cursors avoid:
    /// RFC 9865 §2 lets a provider omit it) and no `startIndex`.
    pub(crate) fn response(self, listing: Listing) -> Value {
        let mut body = json!({
            "schemas": [LIST_RESPONSE_SCHEMA],
            "itemsPerPage": self.resources.len(),
            "Resources": self.resources,
        });
        if self.more
            && let Some(p) = &self.position
        {
            body["nextCursor"] = Value::String(cursor::next_cursor(
                listing,
                self.q.filter_text.as_deref(),
                p,
            ));
        }
        body
    }
}

/// Users after the page's position, as one cursor page: from an index
/// when the filter is one identity providers send (a bounded set), else by
/// reading the organization's users in id order from the position on,
/// only as many as the page needs (without a filter) or at most
/// [`CURSOR_SCAN_BUDGET`] (with one). Deleted users are omitted.
pub(crate) async fn cursor_users<S: Directory + Organizations>(
    store: &S,
    org: &OrgId,
    q: &ListQuery,
    base: &str,
    page: &mut CursorPage<'_>,
) -> Result<(), ScimError> {
    let mut captured: Option<Vec<String>> = None;
    let render = |u: &StoredUser, captured: &Option<Vec<String>>| {
        let captured = captured.as_deref().unwrap_or_default();
        render_user(&u.user, &custom::visible(captured, &u.attributes), base)
    };
    if let Some(f) = &q.filter {
        let hint = f.index_hint();
        let candidates = indexed_users(store, org, hint).await?;
        if let Some(mut candidates) = candidates {
            candidates.retain(|u| !u.user.deleted);
            candidates.sort_by(|a, b| a.user.id.cmp(&b.user.id));
            load_captured(store, org, &candidates, &mut captured).await?;
            let matches: Vec<(&StoredUser, Value)> = candidates
                .iter()
                .map(|u| (u, render(u, &captured)))
                .filter(|(_, r)| f.matches(r))
                .collect();
            // as in index-based listings: a secondary address is found by
            // examining the users
            if !(matches.is_empty() && matches!(hint, Some(IndexHint::Email(_)))) {
                for (u, resource) in matches {
                    if page.is_after(u.user.id.as_str())
                        && !page.examine(u.user.id.as_str(), Some(resource))?
                    {
                        break;
                    }
                }
                return Ok(());
            }
        }
    }
    let mut examined = 0usize;
    loop {
        let wanted = match q.filter {
            // without a filter every user read is shown (but deleted ones)
            None => q.count.saturating_sub(page.resources.len()).max(1),
            Some(_) => SCAN_CHUNK,
        }
        .min(CURSOR_SCAN_BUDGET - examined);
        let after = match page.position.as_deref() {
            Some(p) => Some(UserId::parse(p).map_err(|_| ScimError::internal())?),
            None => None,
        };
        let (users, next) = store
            .list_users(org, after.as_ref(), wanted)
            .await
            .map_err(store_error)?;
        examined += users.len();
        load_captured(store, org, &users, &mut captured).await?;
        for u in &users {
            let resource = if u.user.deleted {
                None
            } else {
                let resource = render(u, &captured);
                match &q.filter {
                    Some(f) if !f.matches(&resource) => None,
                    _ => Some(resource),
                }
            };
            if !page.examine(u.user.id.as_str(), resource)? {
                return Ok(());
            }
        }
        if next.is_none() {
            return Ok(());
        }
        if !page.has_room() || examined >= CURSOR_SCAN_BUDGET {
            page.more = true;
            return Ok(());
        }
    }
}

/// Groups after the page's position, as one cursor page: the membership
/// check and the indexed filters read a bounded set; any other listing
/// reads the organization's groups in id order from the position on, at
/// most [`CURSOR_SCAN_BUDGET`] of them. Members are read only for the
/// groups shown.
pub(crate) async fn cursor_groups<S: Directory>(
    store: &S,
    org: &OrgId,
    q: &ListQuery,
    with_members: bool,
    base: &str,
    page: &mut CursorPage<'_>,
) -> Result<(), ScimError> {
    let indexed: Option<Vec<DirectoryGroup>> =
        if let Some((group, user)) = q.filter.as_ref().and_then(membership_check) {
            let (Ok(group_id), Ok(user_id)) = (GroupId::parse(group), UserId::parse(user)) else {
                return Ok(());
            };
            let is_member = store
                .groups_of(org, &user_id)
                .await
                .map_err(store_error)?
                .contains(&group_id);
            Some(if is_member {
                store
                    .get_group(org, &group_id)
                    .await
                    .map_err(store_error)?
                    .into_iter()
                    .collect()
            } else {
                Vec::new()
            })
        } else {
            match q.filter.as_ref().and_then(Filter::index_hint) {
                Some(IndexHint::DisplayName(name)) => Some(
                    store
                        .find_groups_by_name(org, name, MAX_COUNT)
                        .await
                        .map_err(store_error)?,
                ),
                Some(IndexHint::Id(id)) => Some(match GroupId::parse(id) {
                    Ok(id) => store
                        .get_group(org, &id)
                        .await
                        .map_err(store_error)?
                        .into_iter()
                        .collect(),
                    Err(_) => Vec::new(),
                }),
                _ => None,
            }
        };
    let membership = q.filter.as_ref().and_then(membership_check).is_some();
    let full = async |g: &DirectoryGroup| -> Result<Value, ScimError> {
        let members = all_members(store, org, &g.id).await.map_err(store_error)?;
        Ok(render_group(g, Some(&members), base))
    };
    if let Some(mut groups) = indexed {
        groups.sort_by(|a, b| a.id.cmp(&b.id));
        for g in groups {
            let resource = render_group(&g, None, base);
            // the membership check matched already (members are not compared)
            let matches = membership || q.filter.as_ref().is_none_or(|f| f.matches(&resource));
            if !matches || !page.is_after(g.id.as_str()) {
                continue;
            }
            let shown = if with_members && page.has_room() {
                full(&g).await?
            } else {
                resource
            };
            if !page.examine(g.id.as_str(), Some(shown))? {
                break;
            }
        }
        return Ok(());
    }
    let mut examined = 0usize;
    loop {
        let wanted = match q.filter {
            None => q.count.saturating_sub(page.resources.len()).max(1),
            Some(_) => SCAN_CHUNK,
        }
        .min(CURSOR_SCAN_BUDGET - examined);
        let after = match page.position.as_deref() {
            Some(p) => Some(GroupId::parse(p).map_err(|_| ScimError::internal())?),
            None => None,
        };
        let (groups, next) = store
            .list_groups(org, after.as_ref(), wanted)
            .await
            .map_err(store_error)?;
        examined += groups.len();
        for g in &groups {
            let resource = render_group(g, None, base);
            let shown = if q.filter.as_ref().is_some_and(|f| !f.matches(&resource)) {
                None
            } else if with_members && page.has_room() {
                Some(full(g).await?)
            } else {
                Some(resource)
            };
            if !page.examine(g.id.as_str(), shown)? {
                return Ok(());
            }
        }
        if next.is_none() {
            return Ok(());
        }
        if !page.has_room() || examined >= CURSOR_SCAN_BUDGET {
            page.more = true;
            return Ok(());
        }
    }
}
