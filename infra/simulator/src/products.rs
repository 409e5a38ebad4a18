//! The products an organization's account offers: `GET
//! /v1/accounts/{orgId}/products` (the product API's read: names, whether a
//! product takes device groups, seats) and the control endpoint's
//! `/control/orgs/{orgId}/products` (set or read the list). An organization
//! never given a list offers [`default_products`]; seat limits stay set by
//! `/control/orgs/{orgId}/seats`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::error::ApiError;
use crate::http::{Reply, product_call};
use crate::state::{SimState, Simulator};

/// Most products in one organization's list.
pub const MAX_PRODUCTS: usize = 100;

/// A product as the control endpoint takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Product {
    pub id: String,
    pub name: String,
    /// Whether the product takes device groups.
    #[serde(default)]
    pub device_groups: bool,
}

/// The GoTo products every organization offers until told otherwise (the
/// products of the local stack's demo catalogue; phone-like and
/// remote-support products take device groups).
pub fn default_products() -> Vec<Product> {
    [
        ("G2M", "GoTo Meeting", false),
        ("G2W", "GoTo Webinar", false),
        ("G2T", "GoTo Training", false),
        ("G2C", "GoTo Connect", true),
        ("G2R", "GoTo Resolve", true),
        ("RESCUE", "Rescue", true),
    ]
    .into_iter()
    .map(|(id, name, device_groups)| Product {
        id: id.to_owned(),
        name: name.to_owned(),
        device_groups,
    })
    .collect()
}

/// Ids and names are non-blank, ids unique, at most [`MAX_PRODUCTS`].
fn check(products: &[Product]) -> Result<(), String> {
    if products.len() > MAX_PRODUCTS {
        return Err(format!("at most {MAX_PRODUCTS} products"));
    }
    let mut seen = std::collections::BTreeSet::new();
    for p in products {
        if p.id.trim().is_empty() || p.name.trim().is_empty() {
            return Err("product ids and names must not be empty".into());
        }
        if !seen.insert(p.id.as_str()) {
            return Err(format!("product {:?} appears twice", p.id));
        }
    }
    Ok(())
}

/// The product API's answer: each product with its seats (`limit` `null`:
/// unlimited; `used`: the seats active accounts hold).
fn offered(s: &SimState, org_id: &str) -> serde_json::Value {
    let limits = s.seats.get(org_id);
    let used = s.accounts.seats_used(org_id);
    let products: Vec<_> = s
        .offered(org_id)
        .into_iter()
        .map(|p| {
            json!({
                "id": p.id,
                "name": p.name,
                "deviceGroups": p.device_groups,
                "seats": {
                    "limit": limits.and_then(|l| l.get(&p.id)),
                    "used": used.get(&p.id).copied().unwrap_or(0),
                },
            })
        })
        .collect();
    json!({ "products": products })
}

/// `GET /v1/accounts/{orgId}/products`.
pub(crate) async fn get_products(
    State(sim): State<Simulator>,
    Path(org_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    product_call(&sim, "GET", &org_id, "", &headers, |s| {
        Reply::Read(offered(s, &org_id))
    })
    .await
}

/// `PUT /control/orgs/{orgId}/products` with `[{"id", "name",
/// "deviceGroups"}]`: replaces the list; answers it.
pub(crate) async fn put_control(
    State(sim): State<Simulator>,
    Path(org_id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Vec<Product>>, ApiError> {
    let body = body.map_err(|r| ApiError::from_body_rejection(&r))?;
    let products: Vec<Product> =
        serde_json::from_slice(&body).map_err(|e| ApiError::invalid_request(e.to_string()))?;
    check(&products).map_err(ApiError::invalid_request)?;
    sim.set_products(&org_id, Some(products));
    Ok(Json(sim.products(&org_id)))
}

/// `GET /control/orgs/{orgId}/products`: the list the organization offers.
pub(crate) async fn get_control(
    State(sim): State<Simulator>,
    Path(org_id): Path<String>,
) -> Json<Vec<Product>> {
    Json(sim.products(&org_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_list_is_valid_and_some_products_take_device_groups() {
        let products = default_products();
        assert_eq!(check(&products), Ok(()));
        assert!(products.iter().any(|p| p.device_groups));
        assert!(products.iter().any(|p| !p.device_groups));
    }

    #[test]
    fn blank_or_repeated_products_are_refused() {
        let p = |id: &str| Product {
            id: id.to_owned(),
            name: "x".to_owned(),
            device_groups: false,
        };
        assert!(check(&[p(" ")]).is_err());
        assert!(check(&[p("A"), p("A")]).is_err());
    }
}
