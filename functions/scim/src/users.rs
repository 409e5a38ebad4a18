//! `/Users/{id}` and `POST /Users`: parse, call the users service, render.

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use tracing::info;
use user_sync_aws::http::HttpRequest;
use user_sync_core::ports::Directory;
use user_sync_core::ports::Organizations;
use user_sync_core::scim::ScimError;
use user_sync_core::scim::user::{parse_user, render_user};
use user_sync_core::service::scim_users::UserWrite;

use crate::render::{created, no_content, not_modified, ok, parse_json, projection, user_error};
use crate::routes::Ctx;

pub(crate) async fn get<S: Directory + Organizations>(
    cx: &Ctx<'_, S>,
    id: &str,
    req: &HttpRequest,
) -> Result<ApiGatewayV2httpResponse, ScimError> {
    let u = cx.users().get(cx.org, id).await.map_err(user_error)?;
    if let Some(r) = not_modified(req, u.user.version) {
        return Ok(r);
    }
    Ok(ok(
        200,
        &projection(req)?.apply(render_user(&u.user, &u.attributes, &cx.base)),
        Some(u.user.version),
    ))
}

pub(crate) async fn create<S: Directory + Organizations>(
    cx: &Ctx<'_, S>,
    req: &HttpRequest,
) -> Result<ApiGatewayV2httpResponse, ScimError> {
    let input = parse_user(&parse_json(req)?)?;
    let u = cx.users().create(cx.org, input).await.map_err(user_error)?;
    info!(
        org = %cx.org,
        user_id = %u.user.id,
        relinked_from = ?u.user.link.relinked_from,
        "user created"
    );
    Ok(created(
        &render_user(&u.user, &u.attributes, &cx.base),
        u.user.version,
    ))
}

pub(crate) async fn replace<S: Directory + Organizations>(
    cx: &Ctx<'_, S>,
    id: &str,
    req: &HttpRequest,
) -> Result<ApiGatewayV2httpResponse, ScimError> {
    update(cx, id, req, Update::Replace).await
}

pub(crate) async fn patch<S: Directory + Organizations>(
    cx: &Ctx<'_, S>,
    id: &str,
    req: &HttpRequest,
) -> Result<ApiGatewayV2httpResponse, ScimError> {
    update(cx, id, req, Update::Patch).await
}

/// How a request changes a user: `PUT` replaces it, `PATCH` applies
/// operations to it.
enum Update {
    Replace,
    Patch,
}

async fn update<S: Directory + Organizations>(
    cx: &Ctx<'_, S>,
    id: &str,
    req: &HttpRequest,
    how: Update,
) -> Result<ApiGatewayV2httpResponse, ScimError> {
    let body = parse_json(req)?;
    let users = cx.users();
    let if_match = req.header("if-match");
    let written = match how {
        Update::Replace => users.replace(cx.org, id, if_match, &body).await,
        Update::Patch => users.patch(cx.org, id, if_match, &body).await,
    }
    .map_err(user_error)?;
    Ok(saved(cx, written))
}

fn saved<S>(cx: &Ctx<'_, S>, written: UserWrite) -> ApiGatewayV2httpResponse {
    let u = written.user;
    if written.changed {
        info!(org = %cx.org, user_id = %u.user.id, version = u.user.version, "user updated");
    }
    ok(
        200,
        &render_user(&u.user, &u.attributes, &cx.base),
        Some(u.user.version),
    )
}

pub(crate) async fn delete<S: Directory + Organizations>(
    cx: &Ctx<'_, S>,
    id: &str,
    req: &HttpRequest,
) -> Result<ApiGatewayV2httpResponse, ScimError> {
    let groups = cx
        .users()
        .delete(cx.org, id, req.header("if-match"))
        .await
        .map_err(user_error)?;
    info!(org = %cx.org, user_id = %id, groups, "user deleted in the directory: its account is suspended");
    Ok(no_content(None))
}
