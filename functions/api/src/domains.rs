//! The organization's domains: `GET /domains`, `POST /domains` (add one:
//! the token and the TXT record to publish), `POST /domains/{domain}/verify`
//! (look the record up) and `DELETE /domains/{domain}`. The decisions are in
//! `user_sync_core::service::domains` (and `user_sync_core::domains`).

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use user_sync_aws::http::response;
use user_sync_core::clock::Clock;
use user_sync_core::domains::{
    DomainName, DomainOpError, Domains, OrgDomain, TxtRecord, TxtResolver, VerifyRefusal,
};
use user_sync_core::ports::SyncState;
use user_sync_core::service::domains::DomainService;
use user_sync_core::sso::Caller;

use crate::body::Json;
use crate::errors::{ApiError, ErrorCode, store_error};
use crate::routes::ok;

/// A domain, and the record that proves it.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DomainView {
    #[serde(flatten)]
    pub domain: OrgDomain,
    /// The DNS TXT record to publish.
    pub record: TxtRecord,
    /// Present while the record is missing (with the date the grace period
    /// ends and what happens then) and once the domain lapsed: what the
    /// admin must know and do.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

impl From<OrgDomain> for DomainView {
    fn from(d: OrgDomain) -> Self {
        Self {
            record: d.record(),
            warning: d.warning(),
            domain: d,
        }
    }
}

/// `GET /domains`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DomainList {
    pub domains: Vec<DomainView>,
}

/// The body of `POST /domains`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddDomainBody {
    /// The domain (`example.com`; an internationalized name is stored in
    /// its ASCII form). No wildcards.
    #[schemars(length(min = 1, max = 254))]
    pub domain: String,
    /// Allow addresses in its subdomains too.
    #[serde(default)]
    pub include_subdomains: bool,
}

fn domain_path(s: &str) -> Result<DomainName, ApiError> {
    DomainName::parse(s).map_err(|_| ApiError::new(404, ErrorCode::NotFound, "no such domain"))
}

fn op_error(e: DomainOpError) -> ApiError {
    match e {
        DomainOpError::NotFound => ApiError::new(404, ErrorCode::NotFound, "no such domain"),
        DomainOpError::Exists => ApiError::new(
            409,
            ErrorCode::DomainExists,
            "the organization has this domain already",
        ),
        DomainOpError::TooMany => ApiError::new(409, ErrorCode::TooManyDomains, e.to_string()),
        DomainOpError::Refused(r @ VerifyRefusal::RecordNotFound { .. }) => {
            ApiError::new(409, ErrorCode::RecordNotFound, r.to_string())
        }
        DomainOpError::Refused(r @ VerifyRefusal::ClaimedByAnother) => {
            ApiError::new(409, ErrorCode::DomainTaken, r.to_string())
        }
        DomainOpError::Refused(r @ VerifyRefusal::CouldNotCheck(_)) => {
            ApiError::new(409, ErrorCode::DnsLookupFailed, r.to_string())
        }
        DomainOpError::NoRandomness(_) => ApiError::new(500, ErrorCode::Internal, "internal error"),
        DomainOpError::Store(e) => store_error(e),
    }
}

/// The domains' service over the admin API's tables and clock.
fn service<'a, D, S, K>(directory: &'a D, state: &'a S, clock: &'a K) -> DomainService<'a, D, S, K>
where
    D: Domains,
    S: SyncState,
    K: Clock,
{
    DomainService {
        domains: directory,
        history: Some(state),
        clock,
    }
}

/// `GET /domains`.
pub async fn list<D: Domains>(
    directory: &D,
    caller: &Caller,
) -> Result<ApiGatewayV2httpResponse, ApiError> {
    let domains = directory
        .list_domains(&caller.org)
        .await
        .map_err(store_error)?;
    ok(&DomainList {
        domains: domains.into_iter().map(DomainView::from).collect(),
    })
}

/// `POST /domains`: `201` with the token and the record.
pub async fn add<D: Domains, S: SyncState, K: Clock>(
    directory: &D,
    state: &S,
    clock: &K,
    caller: &Caller,
    body: Json<'_, AddDomainBody>,
) -> Result<ApiGatewayV2httpResponse, ApiError> {
    let body = body.read()?;
    let name = DomainName::parse(&body.domain)
        .map_err(|e| ApiError::new(422, ErrorCode::InvalidDomain, e.to_string()))?;
    let d = service(directory, state, clock)
        .add(&caller.org, &caller.name, name, body.include_subdomains)
        .await
        .map_err(op_error)?;
    let body = serde_json::to_string(&DomainView::from(d))
        .map_err(|_| ApiError::new(500, ErrorCode::Internal, "internal error"))?;
    Ok(response(201, "application/json", body, &[]))
}

/// `POST /domains/{domain}/verify`.
pub async fn verify<D: Domains, S: SyncState, R: TxtResolver, K: Clock>(
    directory: &D,
    state: &S,
    dns: &R,
    clock: &K,
    caller: &Caller,
    domain: &str,
) -> Result<ApiGatewayV2httpResponse, ApiError> {
    let name = domain_path(domain)?;
    let d = service(directory, state, clock)
        .verify(dns, &caller.org, &caller.name, &name)
        .await
        .map_err(op_error)?;
    ok(&DomainView::from(d))
}

/// `DELETE /domains/{domain}`: `204`.
pub async fn remove<D: Domains, S: SyncState, K: Clock>(
    directory: &D,
    state: &S,
    clock: &K,
    caller: &Caller,
    domain: &str,
) -> Result<ApiGatewayV2httpResponse, ApiError> {
    let name = domain_path(domain)?;
    service(directory, state, clock)
        .remove(&caller.org, &caller.name, &name)
        .await
        .map_err(op_error)?;
    Ok(response(204, "application/json", String::new(), &[]))
}
