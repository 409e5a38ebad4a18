//! The organization's catalogue: `GET /catalog` (what rules may name) and
//! `PUT /catalog` (replace it; refused while a rule names something it would
//! drop).

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use schemars::JsonSchema;
use serde::Serialize;
use user_sync_aws::http::HttpRequest;
use user_sync_core::auth::StoredToken;
use user_sync_core::catalog::Catalog;
use user_sync_core::clock::Clock;
use user_sync_core::organization::Setting;
use user_sync_core::ports::{Configuration, Organization, Organizations, SyncState};
use user_sync_core::service::settings::By;

use crate::body::Json;
use crate::errors::ApiError;
use crate::routes::organization;
use crate::settings::{Service, precondition, tagged};

/// The catalogue, and whether one was set up (an organization without one
/// has an empty catalogue: rules may then name anything).
#[derive(Debug, Serialize, JsonSchema)]
pub struct CatalogView {
    #[serde(flatten)]
    pub catalog: Catalog,
    pub configured: bool,
    /// The catalogue's version, also its `ETag`: send it as `If-Match` with
    /// `PUT /catalog`.
    pub version: u64,
}

fn catalog_response(org: &Organization) -> Result<ApiGatewayV2httpResponse, ApiError> {
    let view = CatalogView {
        catalog: org.catalog.clone().unwrap_or_default(),
        configured: org.catalog.is_some(),
        version: org.setting_versions.get(Setting::Catalog),
    };
    tagged(org, Setting::Catalog, &view)
}

/// `GET /catalog`, with its `ETag`.
pub async fn get<D: Organizations>(
    directory: &D,
    token: &StoredToken,
) -> Result<ApiGatewayV2httpResponse, ApiError> {
    catalog_response(&organization(directory, &token.org_id).await?)
}

/// `PUT /catalog`: the whole catalogue, with `If-Match`.
pub async fn put<D, S, K>(
    settings: Service<'_, D, S, K>,
    token: &StoredToken,
    req: &HttpRequest,
    body: Json<'_, Catalog>,
) -> Result<ApiGatewayV2httpResponse, ApiError>
where
    D: Organizations + Configuration,
    S: SyncState,
    K: Clock,
{
    let org = settings
        .replace_catalog(&token.org_id, By::Admin(&token.name), body.read()?, || {
            precondition(req)
        })
        .await?;
    catalog_response(&org)
}
