//! The organization's catalogue: `GET /catalog` (what rules may name: the
//! products the product API offers, with their seats, and the lists set up
//! by ops or an admin) and `PUT /catalog` (replace the lists; refused while
//! a rule names something they would drop, and when they name products).

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use schemars::JsonSchema;
use serde::Serialize;
use user_sync_aws::http::HttpRequest;
use user_sync_core::catalog::Catalog;
use user_sync_core::clock::Clock;
use user_sync_core::organization::Setting;
use user_sync_core::ports::{
    Configuration, OfferedProduct, Organization, Organizations, ProductApi, SyncState,
};
use user_sync_core::service::settings::By;
use user_sync_core::sso::Caller;

use crate::body::Json;
use crate::errors::ApiError;
use crate::routes::organization;
use crate::settings::{Service, precondition, tagged};

/// What rules may name: the products the product API offers (their names
/// and seats from it, briefly cached), and the privileges, user groups,
/// device groups and settings templates set up for the organization (an
/// empty list: nothing of that kind can be named).
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CatalogView {
    /// From the product API; empty when it did not answer in time.
    pub products: Vec<OfferedProduct>,
    /// Whether the product API answered: when `false`, `products` is empty
    /// and a rule naming products cannot be written until it answers.
    pub products_available: bool,
    #[serde(flatten)]
    pub catalog: Catalog,
    /// Whether the lists were ever set up (by ops or `PUT /catalog`).
    pub configured: bool,
    /// The lists' version, also its `ETag`: send it as `If-Match` with
    /// `PUT /catalog`.
    pub version: u64,
}

async fn catalog_response<P: ProductApi>(
    org: &Organization,
    product_api: &P,
) -> Result<ApiGatewayV2httpResponse, ApiError> {
    let products = product_api.products(&org.id).await.ok();
    let view = CatalogView {
        products_available: products.is_some(),
        products: products.unwrap_or_default(),
        catalog: org.catalog.clone().unwrap_or_default(),
        configured: org.catalog.is_some(),
        version: org.setting_versions.get(Setting::Catalog),
    };
    tagged(org, Setting::Catalog, &view)
}

/// `GET /catalog`, with its `ETag`.
pub async fn get<D: Organizations, P: ProductApi>(
    directory: &D,
    product_api: &P,
    caller: &Caller,
) -> Result<ApiGatewayV2httpResponse, ApiError> {
    catalog_response(&organization(directory, &caller.org).await?, product_api).await
}

/// `PUT /catalog`: the whole list of privileges, user groups, device
/// groups and settings templates, with `If-Match`.
pub async fn put<D, S, K, P>(
    settings: Service<'_, D, S, K>,
    product_api: &P,
    caller: &Caller,
    req: &HttpRequest,
    body: Json<'_, Catalog>,
) -> Result<ApiGatewayV2httpResponse, ApiError>
where
    D: Organizations + Configuration,
    S: SyncState,
    K: Clock,
    P: ProductApi,
{
    let org = settings
        .replace_catalog(&caller.org, By::Admin(&caller.name), body.read()?, || {
            precondition(req)
        })
        .await?;
    catalog_response(&org, product_api).await
}
