//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/`) and the crash
//! regressions (`fuzz/regressions/<target>/`) through the fuzz targets'
//! bodies, without libFuzzer, so that the normal test command checks them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use user_sync_core::fuzzing;

type Body = fn(&[u8]);

const TARGETS: [(&str, Body); 4] = [
    ("filter", fuzzing::filter),
    ("patch_path", fuzzing::patch_path),
    ("patch_apply", fuzzing::patch_apply),
    ("resource", fuzzing::resource),
];

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}

/// Runs every file of `dir` through `body`; the files that broke an invariant
/// are added to `broken`. Returns how many files there were.
fn replay(target: &str, body: Body, dir: &Path, broken: &mut Vec<String>) -> usize {
    let inputs = files(dir);
    for input in &inputs {
        let data = std::fs::read(input).expect("a readable corpus file");
        if std::panic::catch_unwind(|| body(&data)).is_err() {
            broken.push(format!("{target}: {}", input.display()));
        }
    }
    inputs.len()
}

#[test]
fn corpus_replays_without_breaking_an_invariant() {
    let mut broken = Vec::new();
    for (target, body) in TARGETS {
        let dir = fuzz_dir().join("corpus").join(target);
        let n = replay(target, body, &dir, &mut broken);
        assert!(
            n > 0,
            "{} is missing or empty: the corpus must be committed",
            dir.display()
        );
    }
    assert!(
        broken.is_empty(),
        "inputs that broke an invariant:\n{}",
        broken.join("\n")
    );
}

#[test]
fn crash_regressions_replay() {
    let mut broken = Vec::new();
    for (target, body) in TARGETS {
        let dir = fuzz_dir().join("regressions").join(target);
        replay(target, body, &dir, &mut broken);
    }
    assert!(
        broken.is_empty(),
        "regressions that broke an invariant:\n{}",
        broken.join("\n")
    );
    // every regression directory names a target
    for dir in dirs(&fuzz_dir().join("regressions")) {
        let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("");
        assert!(
            TARGETS.iter().any(|(t, _)| *t == name),
            "{} is not a fuzz target",
            dir.display()
        );
    }
}

fn dirs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.is_dir())
        .collect()
}
