//! The product API: `PUT` and `GET /v1/accounts/{orgId}/users/{userKey}`,
//! and `GET /v1/accounts/{orgId}/seats` (`/products`: [`crate::products`]).
//!
//! Every call goes through [`product_call`]: added latency, then (under the
//! lock) faults, authentication, the operation itself and the call log, then
//! the hang of a "timed out" call. A faulted call changes nothing.

use std::time::Duration;

use crate::accounts::{Account, PutError, parse_account_state};
use crate::error::ApiError;
use crate::faults::{Fault, decide};
use crate::state::{CallRecord, SimState, Simulator};
use crate::timestamp;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// An answer, kept inspectable so that the call log can record it.
pub(crate) enum Reply {
    Ok(StatusCode, Box<Account>),
    /// A read's answer (seats, products).
    Read(serde_json::Value),
    Err(ApiError),
}

impl Reply {
    fn status(&self) -> StatusCode {
        match self {
            Reply::Ok(status, _) => *status,
            Reply::Read(_) => StatusCode::OK,
            Reply::Err(e) => e.status,
        }
    }

    fn code(&self) -> Option<&'static str> {
        match self {
            Reply::Ok(..) | Reply::Read(_) => None,
            Reply::Err(e) => Some(e.code),
        }
    }
}

impl From<Result<Reply, ApiError>> for Reply {
    fn from(r: Result<Reply, ApiError>) -> Self {
        r.unwrap_or_else(Reply::Err)
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        match self {
            Reply::Ok(status, body) => (status, Json(body)).into_response(),
            Reply::Read(body) => (StatusCode::OK, Json(body)).into_response(),
            Reply::Err(e) => e.into_response(),
        }
    }
}

fn fault_reply(fault: Fault) -> ApiError {
    match fault {
        Fault::Down => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the product API is down",
        ),
        Fault::Error => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "unavailable",
            "the product API failed (simulated error)",
        ),
        Fault::RateLimited {
            retry_after_seconds,
        } => ApiError {
            retry_after: Some(retry_after_seconds),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many requests",
            )
        },
        Fault::Timeout { .. } => ApiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            "timeout",
            "the product API did not answer in time (simulated timeout)",
        ),
    }
}

/// Whether the `Authorization` header is `Bearer {api_key}`.
pub(crate) fn authorized(headers: &HeaderMap, api_key: &str) -> bool {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    match value.trim().split_once(' ') {
        Some((scheme, key)) => scheme.eq_ignore_ascii_case("bearer") && key.trim() == api_key,
        None => false,
    }
}

/// Runs one product-API call; `op` runs only if the call is not faulted and
/// is authorized.
pub(crate) async fn product_call(
    sim: &Simulator,
    method: &'static str,
    org_id: &str,
    user_key: &str,
    headers: &HeaderMap,
    op: impl FnOnce(&mut SimState) -> Reply,
) -> Response {
    let at = timestamp();
    // the caller's change, kept in the call log
    let correlation_id = headers
        .get("x-correlation-id")
        .and_then(|v| v.to_str().ok());
    let latency = sim.with_state(|s, _| s.faults_for(org_id).latency_ms);
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    let (reply, hang) = sim.with_state(|s, rng| {
        let (reply, hang) = match decide(s.faults_for_mut(org_id), rng) {
            Some(fault) => {
                let hang = match fault {
                    Fault::Timeout { ms } => Some(ms),
                    _ => None,
                };
                (Reply::Err(fault_reply(fault)), hang)
            }
            None if !authorized(headers, sim.api_key()) => (
                Reply::Err(ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    "missing or wrong bearer key",
                )),
                None,
            ),
            None => (op(s), None),
        };
        s.record(CallRecord {
            seq: 0,
            method: method.to_owned(),
            org_id: org_id.to_owned(),
            user_key: user_key.to_owned(),
            status: reply.status().as_u16(),
            code: reply.code().map(str::to_owned),
            at,
            correlation_id: correlation_id.map(str::to_owned),
        });
        (reply, hang)
    });
    tracing::info!(
        method,
        org_id,
        user_key,
        status = reply.status().as_u16(),
        code = reply.code(),
        correlation_id,
        "product API call"
    );
    if let Some(ms) = hang {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    reply.into_response()
}

/// `PUT /v1/accounts/{orgId}/users/{userKey}`: create or replace an account.
pub(crate) async fn put_user(
    State(sim): State<Simulator>,
    Path((org_id, user_key)): Path<(String, String)>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    product_call(&sim, "PUT", &org_id, &user_key, &headers, |s| {
        put_account(s, &org_id, &user_key, body).into()
    })
    .await
}

fn put_account(
    s: &mut SimState,
    org_id: &str,
    user_key: &str,
    body: Result<Bytes, BytesRejection>,
) -> Result<Reply, ApiError> {
    let body = body.map_err(|r| ApiError::from_body_rejection(&r))?;
    let state = parse_account_state(&body)
        .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_user_data", e.0))?;
    let limits = s.seats.get(org_id);
    match s
        .accounts
        .put(org_id, user_key, state, limits, &s.existing, &timestamp())
    {
        Ok(outcome) => {
            let status = if outcome.created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            Ok(Reply::Ok(status, Box::new(outcome.account)))
        }
        Err(PutError::ExistingAccount) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "existing_account",
            "an account with this email already exists outside this organisation",
        )),
        Err(PutError::OutOfLicenses { product }) => Err(ApiError {
            product: Some(product.clone()),
            ..ApiError::new(
                StatusCode::CONFLICT,
                "out_of_licenses",
                format!("organisation {org_id} has no {product} seats left"),
            )
        }),
    }
}

/// `GET /v1/accounts/{orgId}/users/{userKey}`.
pub(crate) async fn get_user(
    State(sim): State<Simulator>,
    Path((org_id, user_key)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    product_call(&sim, "GET", &org_id, &user_key, &headers, |s| {
        match s.accounts.get(&org_id, &user_key) {
            Some(account) => Reply::Ok(StatusCode::OK, Box::new(account.clone())),
            None => Reply::Err(ApiError::not_found("no such account")),
        }
    })
    .await
}

/// `GET /v1/accounts/{orgId}/seats`: per product, the limit (`null`:
/// unlimited) and the seats active accounts use.
pub(crate) async fn get_seats(
    State(sim): State<Simulator>,
    Path(org_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    product_call(&sim, "GET", &org_id, "", &headers, |s| {
        let limits = s.seats.get(&org_id).cloned().unwrap_or_default();
        let used = s.accounts.seats_used(&org_id);
        let products: std::collections::BTreeSet<&String> =
            limits.keys().chain(used.keys()).collect();
        let body: serde_json::Map<String, serde_json::Value> = products
            .into_iter()
            .map(|p| {
                (
                    p.clone(),
                    serde_json::json!({
                        "limit": limits.get(p),
                        "used": used.get(p).copied().unwrap_or(0),
                    }),
                )
            })
            .collect();
        Reply::Read(serde_json::Value::Object(body))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with_auth(value: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_static(value));
        h
    }

    #[test]
    fn bearer_key_must_match() {
        assert!(authorized(&with_auth("Bearer k1"), "k1"));
        assert!(authorized(&with_auth("bearer k1"), "k1"));
        assert!(!authorized(&with_auth("Bearer k2"), "k1"));
        assert!(!authorized(&with_auth("Basic k1"), "k1"));
        assert!(!authorized(&with_auth("k1"), "k1"));
        assert!(!authorized(&HeaderMap::new(), "k1"));
    }
}
