//! End-to-end tests against the local stack: one test binary, one stack,
//! one organization per test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod activity;
mod admin;
mod catalog;
mod conformance;
mod contract;
mod failures;
mod idp_replay;
mod ops_cli;
mod permissions;
mod pipeline;
mod rules;
mod scim;
mod templates;
mod users;
