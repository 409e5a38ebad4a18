//! The caller and the organization's keys: `GET /me` (the caller's key name
//! and role: the console offers only what the role may use) and `GET /keys`
//! (the organization's admin API keys, never a secret nor its hash).
//! Keys are issued and revoked with `ops token`.

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use schemars::JsonSchema;
use serde::Serialize;
use user_sync_core::auth::{StoredToken, TokenKind};
use user_sync_core::ports::Tokens;
use user_sync_core::sso::{Caller, CallerKind};

use crate::errors::{ApiError, store_error};
use crate::routes::ok;

/// The caller, as its credential names it.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Me {
    /// `key` (an admin API key) or `person` (signed in with the
    /// organization's identity provider).
    pub kind: String,
    pub org_id: String,
    /// The key's or the person's name: the actor of the caller's changes in
    /// the activity history.
    pub name: String,
    /// A person's subject (`sub`): the activity history's `actorSubject`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// `admin`, `operator` or `viewer`.
    pub role: String,
    /// A key's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// When the key or the person's token expires.
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

pub async fn me(caller: &Caller) -> Result<ApiGatewayV2httpResponse, ApiError> {
    let kind = match caller.kind() {
        CallerKind::Key => "key",
        CallerKind::Person => "person",
    };
    ok(&Me {
        kind: kind.to_owned(),
        org_id: caller.org.to_string(),
        name: caller.name.clone(),
        subject: caller.subject.clone(),
        role: caller.role.name().to_owned(),
        key_id: caller.key_id.clone(),
        expires_at: caller.expires_at.clone(),
    })
}

pub async fn list<T: Tokens>(
    tokens: &T,
    caller: &Caller,
) -> Result<ApiGatewayV2httpResponse, ApiError> {
    let mut stored = tokens.list_tokens(&caller.org).await.map_err(store_error)?;
    stored.retain(|t| t.kind == TokenKind::Admin);
    stored.sort_by(|a, b| a.created.cmp(&b.created).then(a.token_id.cmp(&b.token_id)));
    ok(&KeyList {
        keys: stored.iter().map(KeyView::from).collect(),
    })
}
