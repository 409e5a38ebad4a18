//! The connector's configuration: one TOML file with the tables `[scim]`
//! (where to push), `[sync]` (when and how safely), and `[directory]`,
//! `[scope]`, `[mapping]` (what to read: [`crate::source::config`]); see
//! docs/connector.md.
//!
//! Unknown keys are refused, and every error names the key and the line.
//! The SCIM token is read from an environment variable or a file, never from
//! the file itself or the command line.

mod parse;
mod token;

pub use parse::parse_duration;

use std::path::PathBuf;
use std::time::Duration;

use crate::source::config::{DirectoryConfig, MappingConfig, ScopeConfig};

/// Most deactivations a run makes unconfirmed, by default.
pub const DEFAULT_MAX_DEACTIVATIONS: u64 = 50;
/// Largest share of the users in scope a run deactivates unconfirmed, by
/// default (10 %).
pub const DEFAULT_MAX_DEACTIVATION_SHARE: f64 = 0.10;
/// Time between the end of a run and the start of the next one, by default.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(120);
/// Most random time added to each interval, by default.
pub const DEFAULT_JITTER: Duration = Duration::from_secs(15);
/// How often a full run replaces an incremental one, by default.
pub const DEFAULT_FULL_EVERY: Duration = Duration::from_secs(6 * 3600);
/// Longest a single SCIM request may take, by default.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// SCIM requests in flight at once, by default.
pub const DEFAULT_CONCURRENCY: usize = 4;
/// Longest a token may be (a bound on what is read from a file).
pub(super) const MAX_TOKEN_LEN: usize = 4096;
/// Largest configuration file read.
pub(super) const MAX_FILE_LEN: u64 = 1024 * 1024;

/// A configuration error, naming the key and the line where there is one.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the configuration file {0} is larger than 1 MiB")]
    TooLarge(PathBuf),
    #[error("{0}")]
    Syntax(String),
    #[error("line {line}: `{key}`: {message}")]
    Invalid {
        key: String,
        line: usize,
        message: String,
    },
    #[error("`{key}`: {message}")]
    Missing { key: String, message: String },
}

/// Where the token comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    Env(String),
    File(PathBuf),
}

/// `[scim]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ScimConfig {
    /// The organization's SCIM base, without a trailing slash
    /// (`https://…/scim/v2`).
    pub url: String,
    pub token: TokenSource,
    pub timeout: Duration,
    pub concurrency: usize,
}

/// `[sync]`.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncConfig {
    pub interval: Duration,
    pub jitter: Duration,
    pub full_every: Duration,
    pub guard: Guard,
    pub state_dir: PathBuf,
}

/// The deactivation guard: a run that would deactivate more users than
/// either bound stops before any write.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Guard {
    pub max_deactivations: u64,
    /// Of the users in scope, between 0 and 1.
    pub max_share: f64,
}

impl Default for Guard {
    fn default() -> Self {
        Self {
            max_deactivations: DEFAULT_MAX_DEACTIVATIONS,
            max_share: DEFAULT_MAX_DEACTIVATION_SHARE,
        }
    }
}

/// The parsed configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub scim: ScimConfig,
    pub sync: SyncConfig,
    pub directory: DirectoryConfig,
    pub scope: ScopeConfig,
    pub mapping: MappingConfig,
}
