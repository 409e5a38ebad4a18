//! Errors a caller can act on.

use std::error::Error as StdError;

type Source = Box<dyn StdError + Send + Sync + 'static>;

/// The error contract of every storage and queue port.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The item does not exist.
    #[error("not found")]
    NotFound,
    /// A condition failed: the item exists already, or its version moved on.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The request was refused as invalid; retrying it will not help.
    #[error("invalid: {0}")]
    Invalid(String),
    /// A failure that may pass: throttling, a timeout, a service error.
    #[error("transient storage failure")]
    Transient(#[source] Source),
    /// A failure that will not pass by retrying (permissions, missing table).
    #[error("permanent storage failure")]
    Permanent(#[source] Source),
}

impl StoreError {
    pub fn transient(source: impl StdError + Send + Sync + 'static) -> Self {
        Self::Transient(Box::new(source))
    }

    pub fn permanent(source: impl StdError + Send + Sync + 'static) -> Self {
        Self::Permanent(Box::new(source))
    }
}

/// Input that does not make a valid domain value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct DomainError {
    pub field: &'static str,
    pub reason: String,
}

impl DomainError {
    pub fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
        }
    }
}
