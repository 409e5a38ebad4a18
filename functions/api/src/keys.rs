//! The caller and the organization's keys: `GET /me` (the caller's key name
//! and role: the console offers only what the role may use) and `GET /keys`
//! (the organization's admin API keys, never a secret nor its hash).
//! Keys are issued and revoked with `ops token`.

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use schemars::JsonSchema;
use serde::Serialize;
use user_sync_core::auth::{StoredToken, TokenKind};
use user_sync_core::ports::Tokens;

use crate::errors::{ApiError, store_error};
use crate::routes::ok;

/// The caller, as its credential names it.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Me {
    pub org_id: String,
    /// The key's name: the actor of the caller's changes in the activity history.
    pub name: String,
    /// `admin`, `operator` or `viewer`.
    pub role: String,
    pub key_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

/// One admin API key, without its secret.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyView {
    pub id: String,
    pub name: String,
    /// `admin`, `operator` or `viewer`.
    pub role: String,
    pub created_at: String,
    /// Absent: the key does not expire.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// Absent: never used. Written at most once every few minutes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<String>,
}

/// The organization's admin API keys, oldest first.
#[derive(Debug, Serialize, JsonSchema)]
pub struct KeyList {
    pub keys: Vec<KeyView>,
}

impl From<&StoredToken> for KeyView {
    fn from(t: &StoredToken) -> Self {
        Self {
            id: t.token_id.clone(),
            name: t.name.clone(),
            role: t.role.name().to_owned(),
            created_at: t.created.clone(),
            expires_at: t.expires_at.clone(),
            last_used_at: t.last_used_at.clone(),
        }
    }
}

pub async fn me(token: &StoredToken) -> Result<ApiGatewayV2httpResponse, ApiError> {
    ok(&Me {
        org_id: token.org_id.to_string(),
        name: token.name.clone(),
        role: token.role.name().to_owned(),
        key_id: token.token_id.clone(),
        expires_at: token.expires_at.clone(),
    })
}

pub async fn list<T: Tokens>(
    tokens: &T,
    token: &StoredToken,
) -> Result<ApiGatewayV2httpResponse, ApiError> {
    let mut stored = tokens
        .list_tokens(&token.org_id)
        .await
        .map_err(store_error)?;
    stored.retain(|t| t.kind == TokenKind::Admin);
    stored.sort_by(|a, b| a.created.cmp(&b.created).then(a.token_id.cmp(&b.token_id)));
    ok(&KeyList {
        keys: stored.iter().map(KeyView::from).collect(),
    })
}
