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
use user_sync_core::organization::Setting;
use user_sync_core::ports::{Organization, Organizations, SyncState};
use user_sync_core::scim::validate_custom_attributes;

use crate::body::Json;
use crate::errors::{ApiError, ErrorCode};
use crate::routes::{now, organization, record_admin_change};
use crate::settings::{precondition, replace, tagged};

/// The captured attributes: the body of `PUT /custom-attributes`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Attributes {
    pub attributes: Vec<String>,
}

/// The captured attributes and their version: the answer of both methods.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AttributesView {
    pub attributes: Vec<String>,
    /// Also the `ETag`: send it as `If-Match` with `PUT /custom-attributes`.
    pub version: u64,
}

fn attributes_response(o: &Organization) -> Result<ApiGatewayV2httpResponse, ApiError> {
    let view = AttributesView {
        attributes: o.custom_attributes.clone(),
        version: o.setting_versions.get(Setting::CustomAttributes),
    };
    tagged(o, Setting::CustomAttributes, &view)
}

/// `GET /custom-attributes`, with its `ETag`.
pub async fn get<D: Organizations>(
    directory: &D,
    org: &OrgId,
) -> Result<ApiGatewayV2httpResponse, ApiError> {
    attributes_response(&organization(directory, org).await?)
}

/// `PUT /custom-attributes` with `{"attributes": [...]}` and `If-Match`:
/// replaces the list (names as `ops custom-attributes set` takes them) and
/// records the change in the activity history.
pub async fn put<D: Organizations, S: SyncState>(
    directory: &D,
    state: &S,
    token: &StoredToken,
    req: &HttpRequest,
    body: Json<'_, Attributes>,
) -> Result<ApiGatewayV2httpResponse, ApiError> {
    let body = body.read()?;
    let names: Vec<String> = body
        .attributes
        .iter()
        .map(|n| n.trim().to_owned())
        .collect();
    validate_custom_attributes(&names).map_err(|e| {
        ApiError::new(
            400,
            ErrorCode::InvalidBody,
            format!("attributes: {}", e.reason),
        )
    })?;
    let expected = precondition(req)?;
    let org = &token.org_id;
    let mut previous = None;
    let o = replace(
        directory,
        org,
        Setting::CustomAttributes,
        "the list of custom attributes",
        expected,
        |o| {
            previous = None;
            if o.custom_attributes == names {
                return Ok(false);
            }
            previous = Some(std::mem::replace(&mut o.custom_attributes, names.clone()));
            Ok(true)
        },
    )
    .await?;
    if let Some(previous) = previous {
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
    }
    attributes_response(&o)
}
