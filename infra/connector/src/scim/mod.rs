//! The SCIM side: a client of the organization's SCIM endpoint, and what it
//! holds, read into the connector's terms.
//!
//! The client honours `429 Retry-After`, retries `5xx` answers and timeouts
//! with a bounded, jittered backoff, and never logs the token, a body or a
//! personal attribute: only the method, the resource type, the status and
//! `scimType`.

mod client;
mod encoding;
mod held;

pub use client::{Answer, Counters, ScimClient};
pub use encoding::encode;
pub use held::{HeldGroup, HeldUser};

pub const CORE_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const CORE_GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const CUSTOM: &str = "urn:ietf:params:scim:schemas:extension:usersync:2.0:User";
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// What went wrong talking to the SCIM endpoint.
#[derive(Debug, thiserror::Error)]
pub enum ScimError {
    /// The endpoint refused the request; retrying the same will not help.
    #[error("{method} {resource}: HTTP {status}{}", scim_type.as_ref().map(|t| format!(" ({t})")).unwrap_or_default())]
    Refused {
        method: &'static str,
        resource: &'static str,
        status: u16,
        scim_type: Option<String>,
    },
    /// The token was refused (401/403): nothing will work until it is fixed.
    #[error(
        "{method} {resource}: the SCIM token was refused (HTTP {status}); check scim.token_env / scim.token_file"
    )]
    Unauthorized {
        method: &'static str,
        resource: &'static str,
        status: u16,
    },
    /// Still failing after every attempt (5xx, 429, timeouts, connection
    /// errors).
    #[error("{method} {resource}: no answer after {attempts} attempts: {last}")]
    Unavailable {
        method: &'static str,
        resource: &'static str,
        attempts: u32,
        last: String,
    },
    /// An answer that is not what SCIM says it should be.
    #[error("{method} {resource}: unexpected answer: {0}", .detail)]
    Protocol {
        method: &'static str,
        resource: &'static str,
        detail: String,
    },
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

impl ScimError {
    /// Whether the whole run must stop (no later request can succeed).
    pub fn is_fatal(&self) -> bool {
        matches!(self, Self::Unauthorized { .. } | Self::Client(_))
    }
}
