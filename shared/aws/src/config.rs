//! The settings several functions read alike, once at start-up: the two
//! tables, how long activity is kept, the product API, an organization's
//! request rate. Each function's `Config` embeds the pieces it needs.

use crate::dynamo::{DirectoryTable, StateTable};
use crate::env::{ConfigError, number, required};
use crate::product_api::{HttpProductApi, ProductApiSettings};

/// The directory and state tables (`DIRECTORY_TABLE`, `STATE_TABLE`).
#[derive(Debug, Clone)]
pub struct Tables {
    pub directory: String,
    pub state: String,
}

impl Tables {
    pub fn from_lookup(get: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Ok(Self {
            directory: required(get, "DIRECTORY_TABLE")?,
            state: required(get, "STATE_TABLE")?,
        })
    }

    /// The directory table, and the state table keeping activity
    /// `activity_retention_days` unless the organization set its own
    /// retention (read from the directory).
    pub fn open(
        self,
        ddb: &aws_sdk_dynamodb::Client,
        activity_retention_days: u32,
    ) -> (DirectoryTable, StateTable) {
        let state = StateTable::new(ddb.clone(), self.state, activity_retention_days)
            .with_org_retention(self.directory.clone());
        (DirectoryTable::new(ddb.clone(), self.directory), state)
    }
}

/// Days activity entries are kept (`ACTIVITY_RETENTION_DAYS`, 365 by
/// default).
pub fn activity_retention_days(get: &dyn Fn(&str) -> Option<String>) -> Result<u32, ConfigError> {
    number(get, "ACTIVITY_RETENTION_DAYS", 365u32)
}

/// Requests per second an organization may make (averaged over a window of
/// `ratelimit::WINDOW_SECONDS`; `ORG_REQUESTS_PER_SECOND`, by default the
/// function's `default`); 0: no limit.
pub fn org_requests_per_second(
    get: &dyn Fn(&str) -> Option<String>,
    default: u32,
) -> Result<u32, ConfigError> {
    number(get, "ORG_REQUESTS_PER_SECOND", default)
}

/// What a function that calls the product API and records activity reads:
/// the tables, the activity retention and the product API settings (its
/// timeout by default `default_timeout_ms`).
#[derive(Clone)]
pub struct ProductSync {
    pub tables: Tables,
    pub activity_retention_days: u32,
    pub product_api: ProductApiSettings,
}

impl ProductSync {
    pub fn from_lookup(
        get: &dyn Fn(&str) -> Option<String>,
        default_timeout_ms: u64,
    ) -> Result<Self, ConfigError> {
        Ok(Self {
            tables: Tables::from_lookup(get)?,
            activity_retention_days: activity_retention_days(get)?,
            product_api: ProductApiSettings::from_lookup(get, default_timeout_ms)?,
        })
    }

    /// The tables (see [`Tables::open`]) and the product API adapter, its
    /// key read now (the one call to AWS this makes).
    pub async fn connect(
        self,
        sdk: &aws_config::SdkConfig,
    ) -> Result<
        (DirectoryTable, StateTable, HttpProductApi),
        Box<dyn std::error::Error + Send + Sync>,
    > {
        let product_api = self.product_api.connect(sdk).await?;
        let ddb = aws_sdk_dynamodb::Client::new(sdk);
        let (directory, state) = self.tables.open(&ddb, self.activity_retention_days);
        Ok((directory, state, product_api))
    }
}

/// Shows the tables and the product API's URL, not where its key is kept.
impl std::fmt::Debug for ProductSync {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProductSync")
            .field("tables", &self.tables)
            .field("product_api_url", &self.product_api.url)
            .finish_non_exhaustive()
    }
}
