//! What the end-to-end modules share from the harness: the organization
//! with its clients, and how long the pipeline may take.

pub(crate) use user_sync_tests::{PATCH_OP, PIPELINE, TestOrg, id, products};
