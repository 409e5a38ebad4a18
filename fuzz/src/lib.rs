//! The fuzz targets' bodies. They live in `user_sync_core::fuzzing` so that
//! `shared/core/tests/fuzz_corpus.rs` replays the committed corpus through the
//! same code without libFuzzer; this crate only re-exports them.

pub use user_sync_core::fuzzing::{filter, patch_apply, patch_path, resource};
