//! Organization groups, read-only: they come from the directory (SCIM), and
//! admins pick them in rules. `GET /groups` (search by name, member counts,
//! paginated), `GET /groups/{id}`, `GET /groups/{id}/members`; writes answer
//! `405`.

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use schemars::JsonSchema;
use serde::Serialize;
use user_sync_aws::http::HttpRequest;
use user_sync_core::directory::{DirectoryGroup, DirectoryStatus};
use user_sync_core::ids::{GroupId, OrgId, UserId};
use user_sync_core::ports::Directory;

use crate::errors::{ApiError, ErrorCode, store_error};
use crate::query::{MAX_LIMIT, cursor, limit, search};
use crate::routes::ok;

/// Groups one search request reads at most; the cursor carries on.
const SEARCH_SCAN: usize = 2_000;

/// A directory group as admins pick it in rules.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupView {
    pub id: GroupId,
    pub display_name: String,
    pub external_id: Option<String>,
    pub member_count: u64,
    pub last_modified: String,
}

/// A page of groups.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupPage {
    pub items: Vec<GroupView>,
    /// `null`: the last page.
    pub next_cursor: Option<GroupId>,
}

/// A group's member.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    pub id: UserId,
    pub user_name: String,
    pub directory_status: DirectoryStatus,
}

/// A page of a group's members.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MemberPage {
    pub items: Vec<Member>,
    /// `null`: the last page.
    pub next_cursor: Option<UserId>,
}

/// `405` for any write: groups come from the directory.
pub fn read_only() -> ApiError {
    ApiError::new(
        405,
        ErrorCode::ReadOnly,
        "organization groups come from your identity provider's directory; change them there",
    )
}

async fn group_view<D: Directory>(
    directory: &D,
    org: &OrgId,
    g: &DirectoryGroup,
) -> Result<GroupView, ApiError> {
    let members = directory
        .count_members(org, &g.id)
        .await
        .map_err(store_error)?;
    Ok(GroupView {
        id: g.id.clone(),
        display_name: g.display_name.clone(),
        external_id: g.external_id.clone(),
        member_count: members,
        last_modified: g.last_modified.clone(),
    })
}

/// `GET /groups?search=&limit=&cursor=`: in id order; `search` keeps the
/// groups whose name contains it, ignoring case.
pub async fn list<D: Directory>(
    directory: &D,
    org: &OrgId,
    req: &HttpRequest,
) -> Result<ApiGatewayV2httpResponse, ApiError> {
    let limit = limit(req)?;
    let search = search(req)?;
    let mut after = cursor(req, |c| GroupId::parse(c).ok())?;
    let mut found = Vec::new();
    let mut scanned = 0;
    let next = loop {
        let page = if search.is_some() { MAX_LIMIT } else { limit };
        let (groups, more) = directory
            .list_groups(org, after.as_ref(), page)
            .await
            .map_err(store_error)?;
        scanned += groups.len();
        let count = groups.len();
        let mut full_at = None;
        for (i, g) in groups.into_iter().enumerate() {
            let id = g.id.clone();
            let keep = search
                .as_ref()
                .is_none_or(|s| g.display_name.to_lowercase().contains(s.as_str()));
            if keep {
                found.push(g);
            }
            if found.len() == limit {
                full_at = Some((i, id));
                break;
            }
        }
        match (full_at, more) {
            // the page is full: carry on after its last group, unless that
            // was the very last one
            (Some((i, _)), None) if i + 1 == count => break None,
            (Some((_, id)), _) => break Some(id),
            (None, None) => break None,
            // a search read its share of groups: the cursor carries on
            (None, Some(n)) if scanned >= SEARCH_SCAN => break Some(n),
            (None, Some(n)) => after = Some(n),
        }
    };
    let mut items = Vec::with_capacity(found.len());
    for g in &found {
        items.push(group_view(directory, org, g).await?);
    }
    ok(&GroupPage {
        items,
        next_cursor: next,
    })
}

/// The organization's group `id`, or `404`.
async fn existing<D: Directory>(
    directory: &D,
    org: &OrgId,
    id: &str,
) -> Result<DirectoryGroup, ApiError> {
    let not_found = || ApiError::new(404, ErrorCode::NotFound, "no such group");
    let id = GroupId::parse(id).map_err(|_| not_found())?;
    directory
        .get_group(org, &id)
        .await
        .map_err(store_error)?
        .ok_or_else(not_found)
}

/// `GET /groups/{id}`.
pub async fn get<D: Directory>(
    directory: &D,
    org: &OrgId,
    id: &str,
) -> Result<ApiGatewayV2httpResponse, ApiError> {
    let g = existing(directory, org, id).await?;
    ok(&group_view(directory, org, &g).await?)
}

/// `GET /groups/{id}/members?limit=&cursor=`: members in id order.
pub async fn members<D: Directory>(
    directory: &D,
    org: &OrgId,
    id: &str,
    req: &HttpRequest,
) -> Result<ApiGatewayV2httpResponse, ApiError> {
    let id = existing(directory, org, id).await?.id;
    let limit = limit(req)?;
    let after = cursor(req, |c| UserId::parse(c).ok())?;
    let (ids, next) = directory
        .members(org, &id, after.as_ref(), limit)
        .await
        .map_err(store_error)?;
    let mut users = directory.get_users(org, &ids).await.map_err(store_error)?;
    users.sort_by(|a, b| a.user.id.cmp(&b.user.id));
    let items = users
        .iter()
        .map(|u| Member {
            id: u.user.id.clone(),
            user_name: u.user.user_name.clone(),
            directory_status: u.user.status(),
        })
        .collect();
    ok(&MemberPage {
        items,
        next_cursor: next,
    })
}
