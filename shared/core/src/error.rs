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

    /// The same failure again, for each of several writes one call failed
    /// (the source kept as its message).
    #[must_use]
    pub fn again(&self) -> Self {
        match self {
            Self::NotFound => Self::NotFound,
            Self::Conflict(m) => Self::Conflict(m.clone()),
            Self::Invalid(m) => Self::Invalid(m.clone()),
            Self::Transient(source) => Self::Transient(Box::new(Again(source.to_string()))),
            Self::Permanent(source) => Self::Permanent(Box::new(Again(source.to_string()))),
        }
    }
}

/// A failure's source, as its message (see [`StoreError::again`]).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Again(String);

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
