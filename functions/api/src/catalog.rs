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
use user_sync_core::organization::Setting;
use user_sync_core::ports::{Configuration, Organization, Organizations, SyncState};

use crate::body::Json;
use crate::errors::{ApiError, ErrorCode, store_error};
use crate::routes::{now, organization, record_admin_change};
use crate::rules::stale;
use crate::settings::{precondition, replace, tagged};

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

/// The catalogue, as a `412` names it.
const WHAT: &str = "the catalogue";

/// `GET /catalog`, with its `ETag`.
pub async fn get<D: Organizations>(
    directory: &D,
    token: &StoredToken,
) -> Result<ApiGatewayV2httpResponse, ApiError> {
    catalog_response(&organization(directory, &token.org_id).await?)
}

/// `PUT /catalog`: the whole catalogue, with `If-Match`.
pub async fn put<D, S>(
    directory: &D,
    state: &S,
    token: &StoredToken,
    req: &HttpRequest,
    body: Json<'_, Catalog>,
) -> Result<ApiGatewayV2httpResponse, ApiError>
where
    D: Organizations + Configuration,
    S: SyncState,
{
    let catalog = body.read()?;
    catalog.validate().map_err(|e| {
        ApiError::new(
            422,
            ErrorCode::InvalidCatalog,
            format!("{}: {}", e.field, e.reason),
        )
    })?;
    let expected = precondition(req)?;
    let org_id = &token.org_id;
    // a stale ETag is answered before the rules are read
    organization(directory, org_id)
        .await?
        .setting_versions
        .check(Setting::Catalog, expected)
        .map_err(|_| stale(WHAT))?;
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
            ErrorCode::CatalogInUse,
            format!(
                "the catalogue would drop what rules name: {}; change those rules first",
                broken.join("; ")
            ),
        ));
    }
    let org = replace(directory, org_id, Setting::Catalog, WHAT, expected, |o| {
        o.catalog = Some(catalog.clone());
        Ok(true)
    })
    .await?;
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
    catalog_response(&org)
}
