//! `PATCH /control/accounts/{orgId}/{userKey}`: an account changed as a
//! product admin would change it in the product's own console, outside the
//! integration. The change names who made it (`updatedBy`), which the
//! product API's `GET` then answers until the integration writes the account
//! again. Not logged in `/control/calls`: it is not a product-API call.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::Value;

use crate::accounts::{Account, parse_account_state};
use crate::error::ApiError;
use crate::state::Simulator;
use crate::timestamp;

/// Who an edit names when the body does not say.
pub const DEFAULT_EDITOR: &str = "product admin";

/// Applies `{"role": "full_admin", "updatedBy": "Jane"}` (any of the
/// account's fields, validated as a `PUT` body is; no seat check, as a
/// product admin is not held to the integration's limits).
pub(crate) async fn patch_account(
    State(sim): State<Simulator>,
    Path((org_id, user_key)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Account>, ApiError> {
    let body = body.map_err(|r| ApiError::from_body_rejection(&r))?;
    let Ok(Value::Object(mut patch)) = serde_json::from_slice::<Value>(&body) else {
        return Err(ApiError::invalid_request(
            "the body is a JSON object of the account's fields",
        ));
    };
    let editor = match patch.remove("updatedBy") {
        None => DEFAULT_EDITOR.to_owned(),
        Some(Value::String(s)) if !s.trim().is_empty() => s,
        Some(_) => return Err(ApiError::invalid_request("updatedBy is a non-empty string")),
    };
    sim.with_state(|s, _| {
        let current = s
            .accounts
            .get(&org_id, &user_key)
            .ok_or_else(|| ApiError::not_found("no such account"))?;
        let mut merged = serde_json::to_value(&current.state)
            .map_err(|e| ApiError::invalid_request(e.to_string()))?;
        if let Value::Object(fields) = &mut merged {
            fields.extend(patch);
        }
        let bytes =
            serde_json::to_vec(&merged).map_err(|e| ApiError::invalid_request(e.to_string()))?;
        let state = parse_account_state(&bytes).map_err(|e| {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_user_data", e.0)
        })?;
        s.accounts
            .edit(&org_id, &user_key, state, &editor, &timestamp())
            .map(Json)
            .ok_or_else(|| ApiError::not_found("no such account"))
    })
}
