//! Cursor-paginated listings (RFC 9865) of `/Users` and `/Groups`: each
//! request examines a bounded number of resources, in id order, from the
//! cursor's position on.

use serde_json::{Value, json};
use user_sync_core::directory::DirectoryGroup;
use user_sync_core::ids::{GroupId, OrgId, UserId};
use user_sync_core::ports::{Directory, Organizations, StoredUser};
use user_sync_core::scim::cursor::{self, Listing};
use user_sync_core::scim::filter::IndexHint;
use user_sync_core::scim::group::render_group;
use user_sync_core::scim::listing::membership_check;
use user_sync_core::scim::{LIST_RESPONSE_SCHEMA, ScimError};
use user_sync_core::service::scim_groups::all_members;

use crate::listing::{indexed_candidates, indexed_groups, load_captured, render_stored};
use crate::query::ListQuery;
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

    /// How many resources the next read asks for, `examined` of the budget
    /// spent: without a filter every resource read is shown (but deleted
    /// users), so only as many as the page lacks.
    fn wanted(&self, examined: usize) -> usize {
        match self.q.filter {
            None => self.q.count.saturating_sub(self.resources.len()).max(1),
            Some(_) => SCAN_CHUNK,
        }
        .min(CURSOR_SCAN_BUDGET - examined)
    }

    /// The position as an id (`parse` reads the listing's ids).
    fn after<Id, E>(
        &self,
        parse: impl FnOnce(&str) -> Result<Id, E>,
    ) -> Result<Option<Id>, ScimError> {
        self.position
            .as_deref()
            .map(parse)
            .transpose()
            .map_err(|_| ScimError::internal())
    }

    /// After a read (the last one when `exhausted`), with `examined` of the
    /// budget spent: whether the listing reads on (else more may follow
    /// when the page is full or the budget spent).
    fn reads_on(&mut self, exhausted: bool, examined: usize) -> bool {
        if exhausted {
            return false;
        }
        if !self.has_room() || examined >= CURSOR_SCAN_BUDGET {
            self.more = true;
            return false;
        }
        true
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
    if let Some(f) = &q.filter {
        let hint = f.index_hint();
        if let Some(candidates) = indexed_candidates(store, org, hint, &mut captured).await? {
            let matches: Vec<(&StoredUser, Value)> = candidates
                .iter()
                .map(|u| (u, render_stored(u, &captured, base)))
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
        let after = page.after(UserId::parse)?;
        let (users, next) = store
            .list_users(org, after.as_ref(), page.wanted(examined))
            .await
            .map_err(store_error)?;
        examined += users.len();
        load_captured(store, org, &users, &mut captured).await?;
        for u in &users {
            let resource = if u.user.deleted {
                None
            } else {
                let resource = render_stored(u, &captured, base);
                match &q.filter {
                    Some(f) if !f.matches(&resource) => None,
                    _ => Some(resource),
                }
            };
            if !page.examine(u.user.id.as_str(), resource)? {
                return Ok(());
            }
        }
        if !page.reads_on(next.is_none(), examined) {
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
            indexed_groups(store, org, q.filter.as_ref()).await?
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
        let after = page.after(GroupId::parse)?;
        let (groups, next) = store
            .list_groups(org, after.as_ref(), page.wanted(examined))
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
        if !page.reads_on(next.is_none(), examined) {
            return Ok(());
        }
    }
}
