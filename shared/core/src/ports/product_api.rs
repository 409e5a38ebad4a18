//! The external product API.

use std::future::Future;

use crate::ids::{OrgId, UserId};
use crate::state::{FailureClass, ProductAccount, RemoteAccount};

/// What the product API did with an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountWrite {
    Created,
    Updated,
}

/// The product API's refusals, classified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProductApiError {
    #[error("the email already has an account elsewhere")]
    ExistingAccount,
    #[error("out of licenses for {product}")]
    OutOfLicenses { product: String },
    #[error("the product API refused the user data: {0}")]
    InvalidUserData(String),
    /// 429: retry after the given number of seconds.
    #[error("rate limited")]
    RateLimited { retry_after_seconds: u64 },
    /// 5xx, timeouts, connection failures.
    #[error("product API unavailable: {0}")]
    Unavailable(String),
}

impl ProductApiError {
    pub fn class(&self) -> FailureClass {
        match self {
            ProductApiError::ExistingAccount => FailureClass::ExistingAccount,
            ProductApiError::OutOfLicenses { .. } => FailureClass::OutOfLicenses,
            ProductApiError::InvalidUserData(_) => FailureClass::InvalidUserData,
            ProductApiError::RateLimited { .. } | ProductApiError::Unavailable(_) => {
                FailureClass::ProductApiUnavailable
            }
        }
    }
}

/// One product's seats at the product API.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct Seats {
    /// `None`: unlimited.
    pub limit: Option<u64>,
    pub used: u64,
}

/// A product the organization's account offers, as the product API says:
/// its id (what rules and accounts name), its name, whether it takes
/// device groups, and its seats.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct OfferedProduct {
    pub id: String,
    pub name: String,
    /// Whether a rule giving this product may name device groups.
    pub device_groups: bool,
    pub seats: Seats,
}

/// The external product API (DESIGN §5). Safe to call twice with the same state.
pub trait ProductApi: Sync {
    fn put_account(
        &self,
        org: &OrgId,
        user_key: &UserId,
        account: &ProductAccount,
    ) -> impl Future<Output = Result<AccountWrite, ProductApiError>> + Send;
    /// Seats per product (products without a limit may be left out).
    fn seats(
        &self,
        org: &OrgId,
    ) -> impl Future<Output = Result<std::collections::BTreeMap<String, Seats>, ProductApiError>> + Send;
    /// The products the organization's account offers, with their names,
    /// whether they take device groups and their seats (`limit` `None`:
    /// unlimited). MUST answer `Unavailable` (never an empty list) when the
    /// product API does not answer in time.
    fn products(
        &self,
        org: &OrgId,
    ) -> impl Future<Output = Result<Vec<OfferedProduct>, ProductApiError>> + Send;
    /// The account the product holds for `user_key`, as it holds it (and who
    /// changed it last, when the product says so); `None` when it holds
    /// none. Reads only: the drift check calls it for every checked user.
    fn get_account(
        &self,
        org: &OrgId,
        user_key: &UserId,
    ) -> impl Future<Output = Result<Option<RemoteAccount>, ProductApiError>> + Send;
}
