//! The custom SCIM attributes an organization captures (the extension
//! `urn:ietf:params:scim:schemas:extension:usersync:2.0:User`):
//! `GET /custom-attributes` and `PUT /custom-attributes`.

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use user_sync_aws::http::HttpRequest;
use user_sync_core::clock::Clock;
use user_sync_core::ids::OrgId;
use user_sync_core::organization::Setting;
use user_sync_core::ports::{Configuration, Organization, Organizations, SyncState};
use user_sync_core::service::settings::By;
use user_sync_core::sso::Caller;

use crate::body::Json;
use crate::errors::ApiError;
use crate::settings::{self, Service, SettingView, precondition, respond};

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

impl SettingView for AttributesView {
    const SETTING: Setting = Setting::CustomAttributes;

    fn of(org: &Organization, version: u64) -> Self {
        Self {
            attributes: org.custom_attributes.clone(),
            version,
        }
    }
}

/// `GET /custom-attributes`, with its `ETag`.
pub async fn get<D: Organizations>(
    directory: &D,
    org: &OrgId,
) -> Result<ApiGatewayV2httpResponse, ApiError> {
    settings::get::<AttributesView, _>(directory, org).await
}

/// `PUT /custom-attributes` with `{"attributes": [...]}` and `If-Match`:
/// replaces the list (names as `ops custom-attributes set` takes them) and
/// records the change in the activity history.
pub async fn put<D, S, K>(
    settings: Service<'_, D, S, K>,
    caller: &Caller,
    req: &HttpRequest,
    body: Json<'_, Attributes>,
) -> Result<ApiGatewayV2httpResponse, ApiError>
where
    D: Organizations + Configuration,
    S: SyncState,
    K: Clock,
{
    let body = body.read()?;
    let o = settings
        .replace_custom_attributes(
            &caller.org,
            By::Admin(&caller.name),
            &body.attributes,
            || precondition(req),
        )
        .await?;
    respond::<AttributesView>(&o)
}
