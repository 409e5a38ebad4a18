//! Single sign-on on the admin API: a person's ID token as the caller
//! (the organization is the one its issuer and client are configured for,
//! never the request's), the organization's configuration read-only
//! (`GET /sso`) and what a sign-in page shows (`GET /sign-in/{orgId}`,
//! without authentication). Ops set the configuration (`ops sso`).

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use schemars::JsonSchema;
use serde::Serialize;
use tracing::{info, warn};
use user_sync_aws::correlation;
use user_sync_aws::oidc::unverified_claims;
use user_sync_core::clock::Clock;
use user_sync_core::ids::OrgId;
use user_sync_core::sso::{
    Caller, IdTokenVerifier, SCOPES, SsoConfig, SsoConfigs, VerifyError, check_claims, role_of,
};

use crate::errors::{ApiError, ErrorCode, store_error};
use crate::registry::Backend;
use crate::routes::{ok, organization};

/// Most audiences of one token looked up in the index.
const MAX_AUDIENCES: usize = 5;

/// The refusal of a person whose groups map to no role.
pub const NO_ROLE: &str = "your account has no role in User Sync: ask your administrator to add you to one of the groups it maps";

/// The request's correlation id, when it runs within one.
pub(crate) fn correlation_id() -> Option<String> {
    correlation::current().map(|o| o.correlation_id)
}

/// The person an ID token names: `401` for any refused token (the reason
/// logged), `403` when their claim values map to no role, `503` when the
/// issuer's keys cannot be fetched.
pub(crate) async fn person<X: Backend>(backend: &X, token: &str) -> Result<Caller, ApiError> {
    let refused = |reason: &str| {
        info!(reason, "an ID token refused");
        ApiError::invalid_token()
    };
    let unverified =
        unverified_claims(token).ok_or_else(|| refused("the payload does not parse"))?;
    let issuer = unverified.str("iss").ok_or_else(|| refused("no issuer"))?;
    let mut org = None;
    for client in unverified.audiences().into_iter().take(MAX_AUDIENCES) {
        if let Some(found) = backend
            .directory()
            .find_sso_org(issuer, client)
            .await
            .map_err(store_error)?
        {
            org = Some(found);
            break;
        }
    }
    let org = org.ok_or_else(|| refused("no organization signs in with this issuer and client"))?;
    let config = backend
        .directory()
        .get_sso(&org)
        .await
        .map_err(store_error)?
        .ok_or_else(|| refused("the organization's configuration was removed"))?;
    let claims = match backend
        .id_tokens()
        .verify(token, &config.discovered.jwks_uri)
        .await
    {
        Ok(c) => c,
        Err(VerifyError::Invalid(reason)) => return Err(refused(&reason)),
        Err(VerifyError::Unavailable(reason)) => {
            warn!(org = %org, reason, "the identity provider's keys cannot be fetched");
            return Err(ApiError::new(
                503,
                ErrorCode::IdentityProviderUnavailable,
                "the identity provider cannot be reached; retry later",
            ));
        }
    };
    if let Err(why) = check_claims(&claims, &config, backend.clock().now()) {
        return Err(refused(&why.to_string()));
    }
    let Some(role) = role_of(&claims, &config) else {
        info!(org = %org, "a person whose claim values map to no role");
        return Err(ApiError::new(403, ErrorCode::Forbidden, NO_ROLE));
    };
    // check_claims made sure of the subject
    let subject = claims.subject().unwrap_or_default().to_owned();
    Ok(Caller {
        org,
        role,
        name: claims.actor_name().unwrap_or(&subject).to_owned(),
        subject: Some(subject),
        key_id: None,
        expires_at: claims.expires_at().map(user_sync_core::time::format),
        correlation_id: correlation_id(),
    })
}

/// The role claim's values, per role.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RolesView {
    pub admin: Vec<String>,
    pub operator: Vec<String>,
    pub viewer: Vec<String>,
}

/// The organization's identity provider, as ops set it.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SsoView {
    /// What "Sign in with <name>" shows.
    pub name: String,
    pub issuer: String,
    pub client_id: String,
    /// The ID token claim whose values map to roles.
    pub role_claim: String,
    pub roles: RolesView,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_session_endpoint: Option<String>,
}

impl From<&SsoConfig> for SsoView {
    fn from(c: &SsoConfig) -> Self {
        Self {
            name: c.name.clone(),
            issuer: c.issuer.clone(),
            client_id: c.client_id.clone(),
            role_claim: c.role_claim.clone(),
            roles: RolesView {
                admin: c.roles.admin.clone(),
                operator: c.roles.operator.clone(),
                viewer: c.roles.viewer.clone(),
            },
            authorization_endpoint: c.discovered.authorization_endpoint.clone(),
            token_endpoint: c.discovered.token_endpoint.clone(),
            end_session_endpoint: c.discovered.end_session_endpoint.clone(),
        }
    }
}

/// `GET /sso`.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SsoSettings {
    /// `null`: people sign in with keys only.
    pub sso: Option<SsoView>,
    /// False: admin keys are refused on requests a browser makes.
    pub token_sign_in: bool,
}

pub async fn get<D: SsoConfigs>(
    directory: &D,
    caller: &Caller,
) -> Result<ApiGatewayV2httpResponse, ApiError> {
    let config = directory.get_sso(&caller.org).await.map_err(store_error)?;
    ok(&SsoSettings {
        token_sign_in: config.as_ref().is_none_or(|c| c.token_sign_in),
        sso: config.as_ref().map(SsoView::from),
    })
}

/// What a sign-in page needs of the identity provider.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignInProvider {
    pub name: String,
    pub issuer: String,
    pub client_id: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_session_endpoint: Option<String>,
    /// The scopes to ask for.
    pub scopes: String,
}

/// `GET /sign-in/{orgId}`: what the organization's sign-in page shows.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignIn {
    /// The organization's name.
    pub organization: String,
    /// False: sign in with the identity provider only.
    pub token_sign_in: bool,
    /// `null`: no single sign-on; sign in with a key.
    pub sso: Option<SignInProvider>,
}

/// `GET /sign-in/{orgId}`, without authentication: `404` for an unknown
/// organization.
pub async fn sign_in<X: Backend>(
    backend: &X,
    params: &[&str],
) -> Result<ApiGatewayV2httpResponse, ApiError> {
    let not_found = || ApiError::new(404, ErrorCode::NotFound, "no such organization");
    let org = params
        .first()
        .and_then(|p| OrgId::parse(p).ok())
        .ok_or_else(not_found)?;
    let found = organization(backend.directory(), &org).await?;
    let config = backend
        .directory()
        .get_sso(&org)
        .await
        .map_err(store_error)?;
    ok(&SignIn {
        organization: found.name.clone(),
        token_sign_in: config.as_ref().is_none_or(|c| c.token_sign_in),
        sso: config.map(|c| SignInProvider {
            name: c.name,
            issuer: c.issuer,
            client_id: c.client_id,
            authorization_endpoint: c.discovered.authorization_endpoint,
            token_endpoint: c.discovered.token_endpoint,
            end_session_endpoint: c.discovered.end_session_endpoint,
            scopes: SCOPES.to_owned(),
        }),
    })
}
