//! The organization's catalogue: `GET /catalog` (what rules may name) and
//! `PUT /catalog` (replace it; refused while a rule names something it would
//! drop).

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use serde_json::{Value, json};
use tracing::info;
use user_sync_aws::http::{HttpRequest, response};
use user_sync_core::activity::{Action, ActivityEntry, Subject, SubjectKind};
use user_sync_core::auth::StoredToken;
use user_sync_core::catalog::Catalog;
use user_sync_core::ports::{Configuration, Organizations, SyncState};
use user_sync_core::state::Outcome;

use crate::routes::{ApiError, now, parse_body, store_error};

fn catalog_json(catalog: Option<&Catalog>) -> Value {
    let mut v = json!(catalog.cloned().unwrap_or_default());
    if let Some(o) = v.as_object_mut() {
        o.insert("configured".into(), json!(catalog.is_some()));
    }
    v
}

fn ok(body: &Value) -> ApiGatewayV2httpResponse {
    response(200, "application/json", body.to_string(), &[])
}

/// `GET /catalog`.
pub async fn get<D: Organizations>(
    directory: &D,
    token: &StoredToken,
) -> Result<ApiGatewayV2httpResponse, ApiError> {
    let org = directory
        .get_org(&token.org_id)
        .await
        .map_err(store_error)?
        .ok_or_else(|| ApiError::new(404, "not_found", "the organization does not exist"))?;
    Ok(ok(&catalog_json(org.catalog.as_ref())))
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
    let mut org = directory
        .get_org(org_id)
        .await
        .map_err(store_error)?
        .ok_or_else(|| ApiError::new(404, "not_found", "the organization does not exist"))?;
    org.catalog = Some(catalog);
    directory.update_org(&org).await.map_err(store_error)?;
    let at = now();
    let mut entry = ActivityEntry::new(
        at.clone(),
        &format!("catalog#{at}"),
        &token.name,
        Action::CatalogChanged,
        Subject {
            kind: SubjectKind::Catalog,
            id: "catalog".into(),
        },
        Outcome::Success,
    );
    entry.details = json!({
        "products": org.catalog.as_ref().map_or(0, |c| c.products.len()),
    });
    state
        .append_activity(org_id, &entry)
        .await
        .map_err(store_error)?;
    info!(org = %org_id, "catalogue replaced");
    Ok(ok(&catalog_json(org.catalog.as_ref())))
}
