//! The typed test harness: an organization per test ([`TestOrg`]) with a
//! client for each of its surfaces — the SCIM endpoint ([`Scim`]), the admin
//! API ([`AdminApi`]), the product API simulator's control endpoint
//! ([`Simulator`]) — SCIM request builders, and the check of an error
//! answer ([`assert_problem`]). Every URL a test sends to is built by
//! [`Urls`].

mod admin;
mod api;
mod aws_calls;
mod builders;
mod http;
mod ops_cli;
mod org;
mod problem;
mod scim;
mod simulator;
mod urls;

pub use api::{AdminApi, AdminSurface, Api, Scim, ScimSurface, Surface};
pub use aws_calls::{call_resources, logical_ids};
pub use builders::{GroupBuilder, PATCH_OP, USER_SCHEMA, UserBuilder, members_patch, patch};
pub use http::{Answer, Call, Client, enc, eventually};
pub use ops_cli::{Ran, ops_cli, unique_id};
pub use org::{PIPELINE, TEST_DOMAINS, TestOrg, new_org, new_org_without_domains};
pub use problem::{Reply, assert_problem};
pub use scim::id;
pub use simulator::{Simulator, products};
pub use urls::{Urls, api_url, control_url, scim_url};
