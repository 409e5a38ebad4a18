//! The emulator's DynamoDB patches (`infra/moto_dynamodb_queries.py`)
//! answer as moto does: `infra/moto_dynamodb_queries_check.py` sends random
//! writes and reads to moto in process, without the patches and then with
//! them, and compares every answer byte for byte. Needs `scripts/setup` to
//! have created `.venv`; fails (never skips) otherwise.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::Command;

#[test]
fn patched_emulator_answers_as_moto_does() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new(repo.join(".venv/bin/python"))
        .arg(repo.join("infra/moto_dynamodb_queries_check.py"))
        .current_dir(&repo)
        .output()
        .unwrap_or_else(|e| panic!("could not run the check (run scripts/setup): {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "the patched emulator differs from moto:\n{text}"
    );
}
