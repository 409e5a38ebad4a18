//! Discovery (RFC 7644 §4): `/ServiceProviderConfig`, and `/ResourceTypes`
//! and `/Schemas`, whole or one by id, as the organization sees them (its
//! custom attributes included).

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use user_sync_core::ids::OrgId;
use user_sync_core::ports::Organizations;
use user_sync_core::scim::{ScimError, discovery};
use user_sync_core::service::scim_users::captured_attributes;

use crate::query::{DEFAULT_COUNT, MAX_COUNT};
use crate::render::{list_response, ok, store_error};

pub(crate) fn service_provider_config(base: &str) -> ApiGatewayV2httpResponse {
    ok(
        200,
        &discovery::service_provider_config(DEFAULT_COUNT, MAX_COUNT, base),
        None,
    )
}

/// `/ResourceTypes` or `/Schemas` (`kind`), whole or the one named `id`.
pub(crate) async fn discover<S: Organizations>(
    store: &S,
    org: &OrgId,
    kind: &str,
    id: Option<&str>,
    base: &str,
) -> Result<ApiGatewayV2httpResponse, ScimError> {
    let custom = captured_attributes(store, org).await.map_err(store_error)?;
    let (all, what) = if kind == "Schemas" {
        (discovery::schemas(base, &custom), "schema")
    } else {
        (discovery::resource_types(base, &custom), "resource type")
    };
    let body = match id {
        None => {
            let n = all.len();
            list_response(all, n, 1)
        }
        Some(id) => all
            .into_iter()
            .find(|r| r["id"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(id)))
            .ok_or_else(|| ScimError::not_found(format!("no such {what}")))?,
    };
    Ok(ok(200, &body, None))
}
