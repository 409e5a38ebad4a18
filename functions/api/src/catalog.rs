//! The organization's catalogue: `GET /catalog` (what rules may name) and
//! `PUT /catalog` (replace it; refused while a rule names something it would
//! drop).

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::json;
use tracing::info;
use user_sync_aws::http::HttpRequest;
use user_sync_core::activity::{Action, Subject, SubjectKind};
use user_sync_core::auth::StoredToken;
use user_sync_core::catalog::Catalog;
use user_sync_core::ports::{Configuration, Organizations, SyncState};

use crate::routes::{
    ApiError, now, ok, organization, parse_body, record_admin_change, store_error,
};

/// The catalogue, and whether one was set up (an organization without one
/// has an empty catalogue: rules may then name anything).
#[derive(Debug, Serialize, JsonSchema)]
pub struct CatalogView {
    #[serde(flatten)]
    pub catalog: Catalog,
    pub configured: bool,
}

fn catalog_view(catalog: Option<&Catalog>) -> CatalogView {
    CatalogView {
        catalog: catalog.cloned().unwrap_or_default(),
        configured: catalog.is_some(),
    }
}

/// `GET /catalog`.
pub async fn get<D: Organizations>(
    directory: &D,
    token: &StoredToken,
) -> Result<ApiGatewayV2httpResponse, ApiError> {
    let org = organization(directory, &token.org_id).await?;
    ok(&catalog_view(org.catalog.as_ref()))
}

/// `PUT /catalog`: the whole catalogue.
pub async fn put<D, S>(
    directory: &D,
    state: &S,
    token: &StoredToken,
    req: &HttpRequest,
) -> Result<ApiGatewayV2httpResponse, ApiError>
where
    D: Organizations + Configuration,
    S: SyncState,
{
    let catalog: Catalog = parse_body(req)?;
    catalog
        .validate()
        .map_err(|e| ApiError::new(422, "invalid_catalog", format!("{}: {}", e.field, e.reason)))?;
    let org_id = &token.org_id;
    // a rule may not lose what it names
    let set = directory.rule_set(org_id).await.map_err(store_error)?;
    let broken: Vec<String> = set
        .rules
        .iter()
        .filter_map(|r| {
            catalog
                .check_rule(&r.rule)
                .err()
                .map(|e| format!("rule {} ({}: {})", r.rule.id, e.field, e.reason))
        })
        .collect();
    if !broken.is_empty() {
        return Err(ApiError::new(
            409,
            "catalog_in_use",
            format!(
                "the catalogue would drop what rules name: {}; change those rules first",
                broken.join("; ")
            ),
        ));
    }
    let mut org = organization(directory, org_id).await?;
    org.catalog = Some(catalog);
    directory.update_org(&org).await.map_err(store_error)?;
    let products = org.catalog.as_ref().map_or(0, |c| c.products.len());
    record_admin_change(
        state,
        token,
        now(),
        Action::CatalogChanged,
        Subject {
            kind: SubjectKind::Catalog,
            id: "catalog".into(),
        },
        |e| e.details = json!({"products": products}),
    )
    .await?;
    info!(org = %org_id, "catalogue replaced");
    ok(&catalog_view(org.catalog.as_ref()))
}
