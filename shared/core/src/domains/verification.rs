//! Verification tokens, the TXT record to publish, and the resolver port.

use std::future::Future;

use super::{DomainName, RECORD_LABEL, RECORD_PREFIX, TOKEN_BYTES};

/// A domain's verification token: random, hex.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(transparent)]
pub struct VerificationToken(String);

/// The system's random source failed.
#[derive(Debug, thiserror::Error)]
#[error("no random bytes")]
pub struct NoRandomness;

impl VerificationToken {
    /// A new token from the system's random source.
    pub fn generate() -> Result<Self, NoRandomness> {
        let mut bytes = [0u8; TOKEN_BYTES];
        getrandom::fill(&mut bytes).map_err(|_| NoRandomness)?;
        Ok(Self(hex::encode(bytes)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The DNS TXT record that proves a domain.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct TxtRecord {
    /// The record's full name, `_user-sync.<domain>`.
    pub name: String,
    /// Always `TXT`.
    #[serde(rename = "type")]
    pub record_type: String,
    /// The record's exact value, `user-sync-verification=<token>`.
    pub value: String,
}

impl TxtRecord {
    pub fn for_domain(domain: &DomainName, token: &VerificationToken) -> Self {
        Self {
            name: format!("{RECORD_LABEL}.{domain}"),
            record_type: "TXT".to_owned(),
            value: format!("{RECORD_PREFIX}{}", token.as_str()),
        }
    }
}

/// What a TXT lookup found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxtLookup {
    /// The name has TXT records: their texts (each record's strings joined).
    Found(Vec<String>),
    /// The name does not exist (NXDOMAIN) or has no TXT record.
    NotFound,
    /// No answer could be had (timeout, SERVFAIL, refused, network): the
    /// reason, for the admin. Never a verdict on the record.
    CouldNotCheck(String),
}

/// Looks DNS TXT records up.
pub trait TxtResolver: Sync {
    /// The TXT records of `name` (a full name, as `_user-sync.example.com`).
    /// MUST answer [`TxtLookup::NotFound`] only for NXDOMAIN or an empty
    /// answer, and [`TxtLookup::CouldNotCheck`] for every failure to get an
    /// answer.
    fn txt(&self, name: &str) -> impl Future<Output = TxtLookup> + Send;
}
