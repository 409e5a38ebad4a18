//! Index-based listings (RFC 7644 §3.4.2): `GET /Users`, `GET /Groups`,
//! their `.search` and the root `.search`. A filter identity providers send
//! is answered from an index; any other examines at most [`MAX_SCAN`]
//! resources. Cursor-paginated requests go to [`crate::cursor_listing`].

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use serde_json::Value;
use user_sync_core::StoreError;
use user_sync_core::directory::DirectoryGroup;
use user_sync_core::ids::{GroupId, OrgId, UserId};
use user_sync_core::ports::{Directory, Organizations, StoredUser};
use user_sync_core::scim::cursor::{self, Listing};
use user_sync_core::scim::filter::{Filter, IndexHint};
use user_sync_core::scim::group::render_group;
use user_sync_core::scim::listing::{check_group_filter, check_user_filter, membership_check};
use user_sync_core::scim::user::render_user;
use user_sync_core::scim::{ScimError, custom};
use user_sync_core::service::scim_groups::all_members;
use user_sync_core::service::scim_users::captured_attributes;

use crate::cursor_listing::{CursorPage, cursor_groups, cursor_users};
use crate::query::{ListQuery, MAX_COUNT};
use crate::render::{MAX_RESPONSE_BYTES, list_response, ok, store_error, too_large};

/// Most users or groups a filter that no index serves may examine; over it
/// the filter is refused (`invalidFilter`) instead of timing out.
pub const MAX_SCAN: usize = 10_000;

/// One page of a listing, built while the matches are found: every match is
/// counted, only the page's are kept (projected), and the page ends early
/// (fewer than `count`, which RFC 7644 §3.4.2.4 allows: the client goes on
/// from `startIndex + itemsPerPage`) before it would pass
/// [`MAX_RESPONSE_BYTES`].
pub(crate) struct Page<'q> {
    q: &'q ListQuery,
    total: usize,
    resources: Vec<Value>,
    bytes: usize,
    full: bool,
}

impl<'q> Page<'q> {
    fn new(q: &'q ListQuery) -> Self {
        Self {
            q,
            total: 0,
            resources: Vec::new(),
            bytes: 0,
            full: false,
        }
    }

    /// Whether the next match would be one of the page's.
    fn wants_next(&self) -> bool {
        !self.full && self.total + 1 >= self.q.start_index && self.resources.len() < self.q.count
    }

    /// Counts a match; keeps it when the page wants it (`resource` is
    /// called only then).
    fn add(&mut self, resource: impl FnOnce() -> Value) -> Result<(), ScimError> {
        if self.wants_next() {
            let shown = self.q.projection.apply(resource());
            let size = shown.to_string().len();
            if self.bytes + size > MAX_RESPONSE_BYTES {
                if self.resources.is_empty() {
                    return Err(too_large());
                }
                self.full = true;
            } else {
                self.bytes += size;
                self.resources.push(shown);
            }
        }
        self.total += 1;
        Ok(())
    }

    fn response(self) -> Value {
        list_response(self.resources, self.total, self.q.start_index)
    }
}

/// Users matching a filter, as one page: from an index when the filter is
/// one identity providers send, else by examining at most [`MAX_SCAN`]
/// users. Deleted users are omitted from every result (RFC 7644 §3.6).
async fn find_users<S: Directory + Organizations>(
    store: &S,
    org: &OrgId,
    q: &ListQuery,
    base: &str,
    page: &mut Page<'_>,
) -> Result<(), ScimError> {
    // the organization's custom attributes, read only once a user with
    // custom values is to be shown
    let mut captured: Option<Vec<String>> = None;
    let render = |u: &StoredUser, captured: &Option<Vec<String>>| render_stored(u, captured, base);
    if let Some(f) = &q.filter {
        let hint = f.index_hint();
        if let Some(candidates) = indexed_candidates(store, org, hint, &mut captured).await? {
            let before = page.total;
            for u in &candidates {
                let resource = render(u, &captured);
                if f.matches(&resource) {
                    page.add(|| resource)?;
                }
            }
            // the email index holds each user's primary (or work) address
            // only: a secondary one is found by examining the users
            if !(page.total == before && matches!(hint, Some(IndexHint::Email(_)))) {
                return Ok(());
            }
        }
    }
    let mut scan = Scan::new();
    while let Some(after) = scan.position() {
        let chunk = store.list_users(org, after, 200).await;
        let users = scan.take(chunk, || match q.filter {
                Some(_) => ScimError::invalid_filter(format!(
                    "this filter is answered by examining every user, and the organization has more than {MAX_SCAN}; \
                     use userName eq or id eq"
                )),
                None => ScimError::new(
                    400,
                    Some("tooMany"),
                    format!("the organization has more than {MAX_SCAN} users; use a filter"),
                ),
            })?;
        load_captured(store, org, &users, &mut captured).await?;
        for u in users.iter().filter(|u| !u.user.deleted) {
            match &q.filter {
                Some(f) => {
                    let resource = render(u, &captured);
                    if f.matches(&resource) {
                        page.add(|| resource)?;
                    }
                }
                // without a filter, only the page's users are rendered
                None => page.add(|| render(u, &captured))?,
            }
        }
    }
    Ok(())
}

/// A stored user as shown: its custom attributes limited to those the
/// organization captures (`captured`, `None` while none was read).
pub(crate) fn render_stored(u: &StoredUser, captured: &Option<Vec<String>>, base: &str) -> Value {
    let captured = captured.as_deref().unwrap_or_default();
    render_user(&u.user, &custom::visible(captured, &u.attributes), base)
}

/// The users an index finds for a filter's hint that are not deleted, in id
/// order, with the organization's custom attributes read into `captured`
/// when one of them holds custom values; `None` when no index serves the
/// filter. The index narrows; the whole filter decides.
pub(crate) async fn indexed_candidates<S: Directory + Organizations>(
    store: &S,
    org: &OrgId,
    hint: Option<IndexHint<'_>>,
    captured: &mut Option<Vec<String>>,
) -> Result<Option<Vec<StoredUser>>, ScimError> {
    let Some(mut candidates) = indexed_users(store, org, hint).await? else {
        return Ok(None);
    };
    candidates.retain(|u| !u.user.deleted);
    candidates.sort_by(|a, b| a.user.id.cmp(&b.user.id));
    load_captured(store, org, &candidates, captured).await?;
    Ok(Some(candidates))
}

/// What one index lookup found (none, one or a bounded set), a storage
/// failure as a SCIM error.
async fn found<T, R: IntoIterator<Item = T>>(
    lookup: impl Future<Output = Result<R, StoreError>>,
) -> Result<Vec<T>, ScimError> {
    Ok(lookup.await.map_err(store_error)?.into_iter().collect())
}

/// The groups an index finds for a filter's hint (a bounded set the whole
/// filter then decides on), or `None` when no index serves the filter.
pub(crate) async fn indexed_groups<S: Directory>(
    store: &S,
    org: &OrgId,
    filter: Option<&Filter>,
) -> Result<Option<Vec<DirectoryGroup>>, ScimError> {
    Ok(match filter.and_then(Filter::index_hint) {
        Some(IndexHint::DisplayName(name)) => {
            Some(found(store.find_groups_by_name(org, name, MAX_COUNT)).await?)
        }
        Some(IndexHint::Id(id)) => Some(match GroupId::parse(id) {
            Ok(id) => found(store.get_group(org, &id)).await?,
            Err(_) => Vec::new(),
        }),
        _ => None,
    })
}

/// The users an index finds for a filter's hint (a bounded set the whole
/// filter then decides on), or `None` when no index serves the filter.
pub(crate) async fn indexed_users<S: Directory>(
    store: &S,
    org: &OrgId,
    hint: Option<IndexHint<'_>>,
) -> Result<Option<Vec<StoredUser>>, ScimError> {
    Ok(match hint {
        Some(IndexHint::UserName(name)) => {
            Some(found(store.find_user_by_user_name(org, name)).await?)
        }
        Some(IndexHint::Id(id)) => Some(match UserId::parse(id) {
            Ok(id) => found(store.get_user(org, &id)).await?,
            Err(_) => Vec::new(),
        }),
        Some(IndexHint::ExternalId(x)) => {
            Some(found(store.find_users_by_external_id(org, x, MAX_COUNT)).await?)
        }
        Some(IndexHint::Email(e)) => {
            Some(found(store.find_users_by_email(org, e, MAX_COUNT)).await?)
        }
        Some(IndexHint::DisplayName(_)) | None => None,
    })
}

/// Reads the organization's custom attributes into `captured` the first
/// time one of `users` holds custom values (no read otherwise).
pub(crate) async fn load_captured<S: Organizations>(
    store: &S,
    org: &OrgId,
    users: &[StoredUser],
    captured: &mut Option<Vec<String>>,
) -> Result<(), ScimError> {
    if captured.is_none()
        && users
            .iter()
            .any(|u| custom::has_custom_values(&u.attributes))
    {
        *captured = Some(captured_attributes(store, org).await.map_err(store_error)?);
    }
    Ok(())
}

pub(crate) async fn list_users<S: Directory + Organizations>(
    store: &S,
    org: &OrgId,
    q: &ListQuery,
    base: &str,
) -> Result<ApiGatewayV2httpResponse, ScimError> {
    check_user_filter(q.filter.as_ref())?;
    if let Some(c) = &q.cursor {
        let after = cursor::parse_cursor(Listing::Users, q.filter_text.as_deref(), c)?;
        let mut page = CursorPage::new(q, after);
        cursor_users(store, org, q, base, &mut page).await?;
        return Ok(ok(200, &page.response(Listing::Users), None));
    }
    let mut page = Page::new(q);
    find_users(store, org, q, base, &mut page).await?;
    Ok(ok(200, &page.response(), None))
}

pub(crate) async fn list_groups<S: Directory>(
    store: &S,
    org: &OrgId,
    q: &ListQuery,
    base: &str,
) -> Result<ApiGatewayV2httpResponse, ScimError> {
    check_group_filter(q.filter.as_ref())?;
    let with_members = q.projection.wants("members");
    if let Some(c) = &q.cursor {
        let after = cursor::parse_cursor(Listing::Groups, q.filter_text.as_deref(), c)?;
        let mut page = CursorPage::new(q, after);
        cursor_groups(store, org, q, with_members, base, &mut page).await?;
        return Ok(ok(200, &page.response(Listing::Groups), None));
    }
    let mut page = Page::new(q);
    // the membership check reads one group and one user's groups
    if let Some((group, user)) = q.filter.as_ref().and_then(membership_check) {
        let (Ok(group_id), Ok(user_id)) = (GroupId::parse(group), UserId::parse(user)) else {
            return Ok(ok(200, &page.response(), None));
        };
        let Some(g) = store.get_group(org, &group_id).await.map_err(store_error)? else {
            return Ok(ok(200, &page.response(), None));
        };
        let is_member = store
            .groups_of(org, &user_id)
            .await
            .map_err(store_error)?
            .contains(&group_id);
        if is_member {
            page.add(|| {
                render_group(
                    &g,
                    with_members.then_some(std::slice::from_ref(&user_id)),
                    base,
                )
            })?;
        }
        return Ok(ok(200, &page.response(), None));
    }
    let indexed = indexed_groups(store, org, q.filter.as_ref()).await?;
    let mut matches = Vec::new();
    if let Some(groups) = indexed {
        for g in groups {
            let resource = render_group(&g, None, base);
            if q.filter.as_ref().is_none_or(|f| f.matches(&resource)) {
                matches.push((g, resource));
            }
        }
        matches.sort_by(|a, b| a.0.id.cmp(&b.0.id));
    } else {
        matches = scan_groups(store, org, q.filter.as_ref(), base).await?;
    }
    page_groups(store, org, matches, with_members, base, &mut page).await?;
    Ok(ok(200, &page.response(), None))
}

/// Adds matching groups to a page, with their members unless excluded
/// (read only for the groups the page shows).
async fn page_groups<S: Directory>(
    store: &S,
    org: &OrgId,
    matches: Vec<(DirectoryGroup, Value)>,
    with_members: bool,
    base: &str,
    page: &mut Page<'_>,
) -> Result<(), ScimError> {
    for (g, resource) in matches {
        if with_members && page.wants_next() {
            let members = all_members(store, org, &g.id).await.map_err(store_error)?;
            let full = render_group(&g, Some(&members), base);
            page.add(|| full)?;
        } else {
            page.add(|| resource)?;
        }
    }
    Ok(())
}

/// `POST /.search` at the root: users, then groups (without members), that
/// match the filter.
pub(crate) async fn search_everything<S: Directory + Organizations>(
    store: &S,
    org: &OrgId,
    q: &ListQuery,
    base: &str,
) -> Result<ApiGatewayV2httpResponse, ScimError> {
    check_user_filter(q.filter.as_ref())?;
    check_group_filter(q.filter.as_ref())?;
    if q.cursor.is_some() {
        return Err(ScimError::new(
            400,
            Some("invalidCursor"),
            "cursor: cursor pagination is offered on /Users, /Groups and their .search; this root search pages by startIndex",
        ));
    }
    let mut page = Page::new(q);
    find_users(store, org, q, base, &mut page).await?;
    for (_, resource) in scan_groups(store, org, q.filter.as_ref(), base).await? {
        page.add(|| resource)?;
    }
    Ok(ok(200, &page.response(), None))
}

/// Every group of the organization that matches `filter` (evaluated without
/// members), examining at most [`MAX_SCAN`] groups.
async fn scan_groups<S: Directory>(
    store: &S,
    org: &OrgId,
    filter: Option<&Filter>,
    base: &str,
) -> Result<Vec<(DirectoryGroup, Value)>, ScimError> {
    let mut matches = Vec::new();
    let mut scan = Scan::new();
    while let Some(after) = scan.position() {
        let chunk = store.list_groups(org, after, 200).await;
        let groups = scan.take(chunk, || {
            ScimError::invalid_filter(format!(
                "the organization has more than {MAX_SCAN} groups; use displayName eq or id eq"
            ))
        })?;
        for g in groups {
            let resource = render_group(&g, None, base);
            if filter.is_none_or(|f| f.matches(&resource)) {
                matches.push((g, resource));
            }
        }
    }
    Ok(matches)
}

/// Reading an organization's users or groups in id order, a chunk at a
/// time, refusing the listing once more than [`MAX_SCAN`] were read.
struct Scan<Id> {
    /// The last id read (the next chunk starts after it).
    after: Option<Id>,
    seen: usize,
    done: bool,
}

impl<Id> Scan<Id> {
    fn new() -> Self {
        Self {
            after: None,
            seen: 0,
            done: false,
        }
    }

    /// Where the next chunk starts (after this id, or at the first), or
    /// `None` once the last chunk was taken.
    fn position(&self) -> Option<Option<&Id>> {
        (!self.done).then_some(self.after.as_ref())
    }

    /// Takes a chunk read at the position (its items and the id the next
    /// starts after): its items, or the error `too_many` once more than
    /// [`MAX_SCAN`] were read (a failed read as a SCIM error).
    fn take<T>(
        &mut self,
        chunk: Result<(Vec<T>, Option<Id>), StoreError>,
        too_many: impl FnOnce() -> ScimError,
    ) -> Result<Vec<T>, ScimError> {
        let (items, next) = chunk.map_err(store_error)?;
        self.seen += items.len();
        if self.seen > MAX_SCAN {
            return Err(too_many());
        }
        self.done = next.is_none();
        self.after = next;
        Ok(items)
    }
}
