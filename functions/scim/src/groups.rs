//! `/Groups/{id}` and `POST /Groups`: parse, call the groups service,
//! render.

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use tracing::info;
use user_sync_aws::http::HttpRequest;
use user_sync_core::ports::Directory;
use user_sync_core::scim::ScimError;
use user_sync_core::scim::group::{parse_group, render_group};
use user_sync_core::scim::patch::parse_patch;

use crate::render::{
    MAX_RESPONSE_BYTES, created, group_error, no_content, not_modified, ok, parse_json, projection,
    too_large,
};
use crate::routes::Ctx;

pub(crate) async fn get<S: Directory>(
    cx: &Ctx<'_, S>,
    id: &str,
    req: &HttpRequest,
) -> Result<ApiGatewayV2httpResponse, ScimError> {
    let groups = cx.groups();
    let g = groups.get(cx.org, id).await.map_err(group_error)?;
    if let Some(r) = not_modified(req, g.version) {
        return Ok(r);
    }
    let projection = projection(req)?;
    let members = if projection.wants("members") {
        Some(groups.members(cx.org, &g.id).await.map_err(group_error)?)
    } else {
        None
    };
    let body = projection.apply(render_group(&g, members.as_deref(), &cx.base));
    if body.to_string().len() > MAX_RESPONSE_BYTES {
        return Err(too_large());
    }
    Ok(ok(200, &body, Some(g.version)))
}

pub(crate) async fn create<S: Directory>(
    cx: &Ctx<'_, S>,
    req: &HttpRequest,
) -> Result<ApiGatewayV2httpResponse, ScimError> {
    let input = parse_group(&parse_json(req)?)?;
    let w = cx
        .groups()
        .create(cx.org, input)
        .await
        .map_err(group_error)?;
    info!(org = %cx.org, group_id = %w.group.id, members = w.added, "group created");
    Ok(created(
        &render_group(&w.group, w.members.as_deref(), &cx.base),
        w.group.version,
    ))
}

/// `PATCH /Groups/{id}`: `204` with the new ETag, or `200` with the group
/// and its members when the request asks for them (`attributes=members`).
pub(crate) async fn patch<S: Directory>(
    cx: &Ctx<'_, S>,
    id: &str,
    req: &HttpRequest,
) -> Result<ApiGatewayV2httpResponse, ScimError> {
    let ops = parse_patch(&parse_json(req)?)?;
    let groups = cx.groups();
    let w = groups
        .patch(cx.org, id, req.header("if-match"), &ops)
        .await
        .map_err(group_error)?;
    info!(org = %cx.org, group_id = %w.group.id, added = w.added, removed = w.removed, "group patched");
    if !projection(req)?.wants("members") {
        return Ok(no_content(Some(w.group.version)));
    }
    let members = groups
        .members(cx.org, &w.group.id)
        .await
        .map_err(group_error)?;
    Ok(ok(
        200,
        &render_group(&w.group, Some(&members), &cx.base),
        Some(w.group.version),
    ))
}

/// `PUT /Groups/{id}`: the new display name and the whole member list.
pub(crate) async fn replace<S: Directory>(
    cx: &Ctx<'_, S>,
    id: &str,
    req: &HttpRequest,
) -> Result<ApiGatewayV2httpResponse, ScimError> {
    let input = parse_group(&parse_json(req)?)?;
    let w = cx
        .groups()
        .replace(cx.org, id, req.header("if-match"), input)
        .await
        .map_err(group_error)?;
    info!(org = %cx.org, group_id = %w.group.id, added = w.added, removed = w.removed, "group replaced");
    Ok(ok(
        200,
        &render_group(&w.group, w.members.as_deref(), &cx.base),
        Some(w.group.version),
    ))
}

/// `DELETE /Groups/{id}`: the directory says the group is gone.
pub(crate) async fn delete<S: Directory>(
    cx: &Ctx<'_, S>,
    id: &str,
    req: &HttpRequest,
) -> Result<ApiGatewayV2httpResponse, ScimError> {
    let members = cx
        .groups()
        .delete(cx.org, id, req.header("if-match"))
        .await
        .map_err(group_error)?;
    info!(org = %cx.org, group_id = %id, members, "group deleted");
    Ok(no_content(None))
}
