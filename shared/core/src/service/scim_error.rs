//! Why a SCIM write (of a user or a group) was refused: one error for both
//! services, mapped to a SCIM answer once by the SCIM handler.

use crate::StoreError;
use crate::clock::NoRandomness;
use crate::scim::{ScimError, if_match_allows};

/// Why a SCIM user or group operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum ScimWriteError {
    /// No such resource, or a deleted user (gone for SCIM: RFC 7644 §3.6).
    #[error("resource not found")]
    NotFound,
    /// Another user holds the userName (ignoring case).
    #[error("a user with this userName already exists")]
    Uniqueness,
    /// `If-Match` names another version than the stored one.
    #[error("the resource version does not match If-Match")]
    PreconditionFailed,
    /// Another write moved the resource (or one of a user's groups) on
    /// meanwhile (and `If-Match` was sent, or it kept moving over every
    /// attempt).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The request breaks a SCIM rule (its status and `scimType` say which:
    /// a member that is not a user of the organization, a read-only id…).
    #[error(transparent)]
    Invalid(#[from] ScimError),
    #[error(transparent)]
    NoRandomness(#[from] NoRandomness),
    /// The store failed (not a conflict).
    #[error("storage failure")]
    Store(#[source] StoreError),
}

impl From<StoreError> for ScimWriteError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(why) => Self::Conflict(why),
            e => Self::Store(e),
        }
    }
}

/// `PreconditionFailed` unless `If-Match` allows the stored `version`.
pub(crate) fn check_if_match(if_match: Option<&str>, version: u64) -> Result<(), ScimWriteError> {
    if if_match_allows(if_match, version) {
        Ok(())
    } else {
        Err(ScimWriteError::PreconditionFailed)
    }
}
