//! The control endpoint under `/control` (no auth): inspect accounts and the
//! call log, set seats, existing accounts and faults, reset.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::accounts::{Account, SeatLimits};
use crate::error::ApiError;
use crate::faults::Faults;
use crate::state::{CallRecord, Simulator};

#[derive(Debug, Deserialize)]
pub(crate) struct OrgFilter {
    org: Option<String>,
}

/// Parses a control request body.
fn read_json<T: DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> Result<T, ApiError> {
    let body = body.map_err(|r| ApiError::from_body_rejection(&r))?;
    serde_json::from_slice(&body).map_err(|e| ApiError::invalid_request(e.to_string()))
}

#[derive(Serialize)]
pub(crate) struct Accounts {
    accounts: Vec<Account>,
}

/// `GET /control/accounts?org={orgId}`.
pub(crate) async fn list_accounts(
    State(sim): State<Simulator>,
    Query(filter): Query<OrgFilter>,
) -> Json<Accounts> {
    Json(Accounts {
        accounts: sim.accounts(filter.org.as_deref()),
    })
}

/// `GET /control/accounts/{orgId}/{userKey}`.
pub(crate) async fn get_account(
    State(sim): State<Simulator>,
    Path((org_id, user_key)): Path<(String, String)>,
) -> Response {
    match sim.account(&org_id, &user_key) {
        Some(account) => Json(account).into_response(),
        None => ApiError::not_found("no such account").into_response(),
    }
}

#[derive(Serialize)]
pub(crate) struct Calls {
    calls: Vec<CallRecord>,
}

/// `GET /control/calls?org={orgId}`.
pub(crate) async fn list_calls(
    State(sim): State<Simulator>,
    Query(filter): Query<OrgFilter>,
) -> Json<Calls> {
    Json(Calls {
        calls: sim.calls(filter.org.as_deref()),
    })
}

/// `PUT /control/orgs/{orgId}/seats` with `{"G2M": 10, "G2W": 0}`.
pub(crate) async fn put_seats(
    State(sim): State<Simulator>,
    Path(org_id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<SeatLimits>, ApiError> {
    let limits: SeatLimits = read_json(body)?;
    if limits.keys().any(|p| p.trim().is_empty()) {
        return Err(ApiError::invalid_request("product names must not be empty"));
    }
    sim.set_seats(&org_id, limits);
    Ok(Json(sim.seats(&org_id)))
}

/// `GET /control/orgs/{orgId}/seats`.
pub(crate) async fn get_seats(
    State(sim): State<Simulator>,
    Path(org_id): Path<String>,
) -> Json<SeatLimits> {
    Json(sim.seats(&org_id))
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Emails {
    emails: Vec<String>,
}

/// `PUT /control/existing-accounts` with `{"emails": [...]}`.
pub(crate) async fn put_existing_accounts(
    State(sim): State<Simulator>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Emails>, ApiError> {
    let Emails { emails } = read_json(body)?;
    sim.set_existing_accounts(emails);
    Ok(Json(Emails {
        emails: sim.existing_accounts(),
    }))
}

/// `GET /control/existing-accounts`.
pub(crate) async fn get_existing_accounts(State(sim): State<Simulator>) -> Json<Emails> {
    Json(Emails {
        emails: sim.existing_accounts(),
    })
}

/// `PUT /control/faults`: replaces all switches.
pub(crate) async fn put_faults(
    State(sim): State<Simulator>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Faults>, ApiError> {
    let faults: Faults = read_json(body)?;
    sim.set_faults(faults).map_err(ApiError::invalid_request)?;
    Ok(Json(sim.faults()))
}

/// `GET /control/faults`.
pub(crate) async fn get_faults(State(sim): State<Simulator>) -> Json<Faults> {
    Json(sim.faults())
}

/// `PUT /control/orgs/{orgId}/faults`: replaces that organization's
/// switches; they apply to its calls instead of the global ones.
pub(crate) async fn put_org_faults(
    State(sim): State<Simulator>,
    Path(org_id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Faults>, ApiError> {
    let faults: Faults = read_json(body)?;
    sim.set_org_faults(&org_id, Some(faults))
        .map_err(ApiError::invalid_request)?;
    Ok(Json(sim.org_faults(&org_id)))
}

/// `GET /control/orgs/{orgId}/faults`: the switches its calls follow.
pub(crate) async fn get_org_faults(
    State(sim): State<Simulator>,
    Path(org_id): Path<String>,
) -> Json<Faults> {
    Json(sim.org_faults(&org_id))
}

/// `DELETE /control/orgs/{orgId}/faults`: its calls follow the global
/// switches again.
pub(crate) async fn delete_org_faults(
    State(sim): State<Simulator>,
    Path(org_id): Path<String>,
) -> Result<Json<Faults>, ApiError> {
    sim.set_org_faults(&org_id, None)
        .map_err(ApiError::invalid_request)?;
    Ok(Json(sim.org_faults(&org_id)))
}

/// `POST /control/reset`.
pub(crate) async fn reset(State(sim): State<Simulator>) -> Json<serde_json::Value> {
    sim.reset();
    Json(json!({ "ok": true }))
}

/// `GET /health`.
pub(crate) async fn health() -> Json<serde_json::Value> {
    Json(json!({ "ok": true }))
}

/// Any other path.
pub(crate) async fn not_found() -> ApiError {
    ApiError::not_found("no such route")
}

/// A known path with another method.
pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this path does not take this method",
    )
}
