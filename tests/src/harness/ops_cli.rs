//! The ops CLI, run in-process against the shared stack.

use serde_json::Value;

use crate::{sdk_config, stack};

/// What one run of the CLI did.
#[derive(Debug)]
pub struct Ran {
    pub code: u8,
    pub out: String,
    pub err: String,
}

impl Ran {
    /// Its stdout as the one JSON document `--output json` writes.
    pub fn json(&self) -> Value {
        assert_eq!(self.code, 0, "{self:?}");
        serde_json::from_str(&self.out).unwrap_or_else(|e| panic!("{e}: {self:?}"))
    }
}

/// Runs `ops --directory-table <the stack's> <args>`.
pub async fn ops_cli(args: &[&str]) -> Ran {
    let table = stack().directory_table.clone();
    let mut line = vec!["ops", "--directory-table", &table];
    line.extend_from_slice(args);
    let mut out = Vec::new();
    let mut err = Vec::new();
    let code = ops::cli::run_with(line, &sdk_config().await, &mut out, &mut err).await;
    Ran {
        code,
        out: String::from_utf8_lossy(&out).into_owned(),
        err: String::from_utf8_lossy(&err).into_owned(),
    }
}

/// A unique id starting with `prefix` (`prefix-0a1b2c3d4e5f`).
pub fn unique_id(prefix: &str) -> String {
    let mut random = [0u8; 6];
    getrandom::fill(&mut random).expect("random bytes");
    let id: String = random.iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}-{id}")
}
