//! The custom SCIM attributes an organization captures (the extension
//! `urn:ietf:params:scim:schemas:extension:usersync:2.0:User`):
//! `GET /custom-attributes` and `PUT /custom-attributes`.

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tracing::info;
use user_sync_aws::http::HttpRequest;
use user_sync_core::activity::{Action, Subject, SubjectKind};
use user_sync_core::auth::StoredToken;
use user_sync_core::ids::OrgId;
use user_sync_core::ports::{Organizations, SyncState};
use user_sync_core::scim::validate_custom_attributes;

use crate::routes::{
    ApiError, now, ok, organization, parse_body, record_admin_change, store_error,
};

/// The captured attributes: the body of `PUT /custom-attributes` and the
/// answer of both methods.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Attributes {
    pub attributes: Vec<String>,
}

/// `GET /custom-attributes`.
pub async fn get<D: Organizations>(
    directory: &D,
    org: &OrgId,
) -> Result<ApiGatewayV2httpResponse, ApiError> {
    let o = organization(directory, org).await?;
    ok(&Attributes {
        attributes: o.custom_attributes,
    })
}

/// `PUT /custom-attributes` with `{"attributes": [...]}`: replaces the list
/// (names as `ops custom-attributes set` takes them) and records the change
/// in the activity history.
pub async fn put<D: Organizations, S: SyncState>(
    directory: &D,
    state: &S,
    token: &StoredToken,
    req: &HttpRequest,
) -> Result<ApiGatewayV2httpResponse, ApiError> {
    let body: Attributes = parse_body(req)?;
    let names: Vec<String> = body
        .attributes
        .iter()
        .map(|n| n.trim().to_owned())
        .collect();
    validate_custom_attributes(&names)
        .map_err(|e| ApiError::new(400, "invalid_body", format!("attributes: {}", e.reason)))?;
    let org = &token.org_id;
    let mut o = organization(directory, org).await?;
    if o.custom_attributes == names {
        return ok(&Attributes { attributes: names });
    }
    let previous = std::mem::replace(&mut o.custom_attributes, names.clone());
    directory.update_org(&o).await.map_err(store_error)?;
    record_admin_change(
        state,
        token,
        now(),
        Action::CustomAttributesChanged,
        Subject {
            kind: SubjectKind::Organization,
            id: org.to_string(),
        },
        |e| e.details = json!({"attributes": names, "previous": previous}),
    )
    .await?;
    info!(org = %org, count = names.len(), "custom attributes changed");
    ok(&Attributes { attributes: names })
}
