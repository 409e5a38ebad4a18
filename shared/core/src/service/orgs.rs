//! Organizations as ops create them, and their tokens: an organization
//! starts with one SCIM token and one admin token; ops issue more (named:
//! an admin token's name is the actor of its changes) and revoke them. A
//! token is shown once, in plain text; only its hash is kept.

use crate::StoreError;
use crate::auth::{Role, TokenKind, issue};
use crate::clock::{Clock, NoRandomness};
use crate::ids::OrgId;
use crate::ports::{Organization, Organizations, Tokens};

/// Longest token name (it is the activity actor of an admin token).
pub const MAX_TOKEN_NAME: usize = 100;

/// Random bytes for token secrets.
pub trait TokenSecrets: Sync {
    /// 40 random bytes: 8 for a token's id, 32 for its secret.
    fn token_bytes(&self) -> Result<[u8; 40], NoRandomness>;
}

/// Random bytes from the operating system.
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomSecrets;

impl TokenSecrets for RandomSecrets {
    fn token_bytes(&self) -> Result<[u8; 40], NoRandomness> {
        let mut b = [0u8; 40];
        getrandom::fill(&mut b).map_err(|_| NoRandomness)?;
        Ok(b)
    }
}

/// Why an organization or token operation failed.
#[derive(Debug, thiserror::Error)]
pub enum OrgError {
    /// The organization exists already.
    #[error("organization exists")]
    Exists,
    /// No such organization, or no such token.
    #[error("not found")]
    NotFound,
    /// The token name is not one a token may have.
    #[error("{0}")]
    InvalidTokenName(String),
    #[error(transparent)]
    NoRandomness(#[from] NoRandomness),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for OrgError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => OrgError::NotFound,
            e => OrgError::Store(e),
        }
    }
}

/// A new organization and its tokens, in plain text (shown once).
#[derive(Clone)]
pub struct NewOrganization {
    pub org_id: OrgId,
    pub scim_token: String,
    pub admin_token: String,
}

impl std::fmt::Debug for NewOrganization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewOrganization")
            .field("org_id", &self.org_id)
            .finish_non_exhaustive()
    }
}

/// A token just issued: its id, and its plain text (shown once).
#[derive(Clone)]
pub struct IssuedTokenText {
    pub token_id: String,
    pub plain: String,
}

impl std::fmt::Debug for IssuedTokenText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedTokenText")
            .field("token_id", &self.token_id)
            .finish_non_exhaustive()
    }
}

/// The name of the token kinds' first tokens.
const SCIM_TOKEN_NAME: &str = "Identity provider";
const ADMIN_TOKEN_NAME: &str = "Admin";

/// A token name: 1 to [`MAX_TOKEN_NAME`] characters on one line, and not
/// the pipeline's own actor name. Answers it trimmed.
pub fn check_token_name(name: &str) -> Result<&str, OrgError> {
    let name = name.trim();
    if name.is_empty()
        || name.chars().count() > MAX_TOKEN_NAME
        || name.chars().any(char::is_control)
    {
        return Err(OrgError::InvalidTokenName(format!(
            "a token name is 1 to {MAX_TOKEN_NAME} characters on one line"
        )));
    }
    if name == crate::activity::SYNC_USER {
        return Err(OrgError::InvalidTokenName(
            "\"Sync user\" is the pipeline's own name; pick another".to_owned(),
        ));
    }
    Ok(name)
}

/// Organizations and tokens, over their store.
pub struct OrgService<'a, S, K, R> {
    pub store: &'a S,
    pub clock: &'a K,
    pub secrets: &'a R,
}

impl<S, K, R> OrgService<'_, S, K, R>
where
    S: Organizations + Tokens,
    K: Clock,
    R: TokenSecrets,
{
    /// Creates an organization (English, the default guardrail, no
    /// catalogue) with one SCIM token and one admin token.
    pub async fn create(&self, org_id: &OrgId, name: &str) -> Result<NewOrganization, OrgError> {
        let created = self.clock.timestamp();
        let org = Organization::new(org_id.clone(), name, created.clone());
        match self.store.create_org(&org).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => return Err(OrgError::Exists),
            Err(e) => return Err(e.into()),
        }
        let scim = issue(
            org_id,
            TokenKind::Scim,
            SCIM_TOKEN_NAME,
            self.secrets.token_bytes()?,
            created.clone(),
        );
        let admin = issue(
            org_id,
            TokenKind::Admin,
            ADMIN_TOKEN_NAME,
            self.secrets.token_bytes()?,
            created,
        );
        self.store.put_token(&scim.stored).await?;
        self.store.put_token(&admin.stored).await?;
        Ok(NewOrganization {
            org_id: org_id.clone(),
            scim_token: scim.plain,
            admin_token: admin.plain,
        })
    }

    /// Issues a new token of `kind`, named `name`, for an existing
    /// organization.
    pub async fn issue_token(
        &self,
        org_id: &OrgId,
        kind: TokenKind,
        name: &str,
    ) -> Result<IssuedTokenText, OrgError> {
        self.issue_key(org_id, kind, name, Role::Admin, None).await
    }

    /// Issues a token of `kind` with a role (an admin API key's; a SCIM
    /// token's is not used) and, with `expires_in`, an expiry that long from
    /// now.
    pub async fn issue_key(
        &self,
        org_id: &OrgId,
        kind: TokenKind,
        name: &str,
        role: Role,
        expires_in: Option<time::Duration>,
    ) -> Result<IssuedTokenText, OrgError> {
        let name = check_token_name(name)?;
        self.store
            .get_org(org_id)
            .await?
            .ok_or(OrgError::NotFound)?;
        let token = issue(
            org_id,
            kind,
            name,
            self.secrets.token_bytes()?,
            self.clock.timestamp(),
        )
        .with_role(role)
        .expiring(expires_in.map(|d| crate::time::format(self.clock.now() + d)));
        self.store.put_token(&token.stored).await?;
        Ok(IssuedTokenText {
            token_id: token.stored.token_id,
            plain: token.plain,
        })
    }

    /// Revokes a token at once; `NotFound` when the organization has none
    /// by that id.
    pub async fn revoke_token(&self, org_id: &OrgId, token_id: &str) -> Result<(), OrgError> {
        Ok(self.store.delete_token(org_id, token_id).await?)
    }
}
