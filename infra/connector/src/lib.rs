//! The directory connector: reads users and groups from Active Directory or
//! a generic LDAP v3 directory and keeps an organization's SCIM directory in
//! step with it, through the organization's public SCIM endpoint and SCIM
//! token only (it is one more identity provider).
//!
//! - [`model`]: what a directory read yields, independent of LDAP and SCIM.
//! - [`source`]: reading the directory (connections, paged search, range
//!   retrieval, nested groups, change markers, attribute mapping).
//! - [`cli`]: the command line, its output and exit codes.
//! - [`config`]: the configuration file.
//! - [`directory`]: the source behind the sync's directory port.
//! - [`scim`]: the SCIM endpoint's client and what it holds.
//! - [`sync`]: one run: plan, guard, apply, state.
//!
//! docs/connector.md is the user's guide.

pub mod cli;
pub mod config;
pub mod directory;
pub mod model;
pub mod scim;
pub mod source;
pub mod sync;
