//! End-to-end tests against the local stack: one test binary, one stack,
//! one organization per test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod activity;
mod admin;
mod bodies;
mod catalog;
mod conformance;
mod connector;
mod console;
mod contract;
mod cursor;
mod deletion;
mod directory_source;
mod domains;
mod drift;
mod failures;
mod hostile;
mod idp_replay;
mod isolation;
mod language;
mod observability;
mod ops_cli;
mod permissions;
mod pipeline;
mod races;
mod redelivery;
mod roles;
mod rules;
mod scim;
mod self_healing;
mod sso;
mod templates;
mod tenant_boundary;
mod user_states;
mod users;
