//! One organization per test: created through the ops path with its
//! tokens, and the typed clients of its surfaces.

use std::time::Duration;

use serde_json::Value;
use user_sync_core::ids::OrgId;

use super::{AdminApi, Client, Scim, Simulator, Urls, eventually, unique_id};
use crate::directory;

/// How long the pipeline may take to bring a change to the product API.
pub const PIPELINE: Duration = Duration::from_secs(90);

/// The email domains the tests' users are in. Every organization
/// [`new_org`] creates lists them as "unverified (grandfathered)" through
/// the ops path, so its users are provisioned and it may turn sync on.
/// (They cannot be verified through the ops override instead: a verified
/// domain is held by one organization only, and the tests' organizations
/// share these.) Tests of domains themselves use [`new_org_without_domains`].
pub const TEST_DOMAINS: &[&str] = &[
    "example.com",
    "example.org",
    "mail.example.org",
    "x.com",
    "contoso.com",
    "home.example",
    "user-sync.local",
    // the tests' directory servers' users (tests/src/directory_servers.rs)
    "example.test",
];

/// A fresh organization with its tokens, the stack it lives on and a client.
#[derive(Debug, Clone)]
pub struct TestOrg {
    pub org_id: String,
    pub scim_token: String,
    pub admin_token: String,
    pub urls: Urls,
    pub client: Client,
}

impl TestOrg {
    /// Creates an organization with a unique id (starting with `prefix`),
    /// a SCIM and an admin token, and the [`TEST_DOMAINS`].
    pub async fn new(prefix: &str) -> Self {
        new_org(prefix).await
    }

    /// An organization created elsewhere (on a stack of the test's own).
    pub fn from_tokens(org_id: &str, scim_token: &str, admin_token: &str, urls: Urls) -> Self {
        Self {
            org_id: org_id.to_owned(),
            scim_token: scim_token.to_owned(),
            admin_token: admin_token.to_owned(),
            urls,
            client: Client::new(),
        }
    }

    /// The organization's id, parsed.
    pub fn id(&self) -> OrgId {
        OrgId::parse(&self.org_id).expect("org id")
    }

    /// The SCIM endpoint, with the organization's SCIM token.
    pub fn scim(&self) -> Scim<'_> {
        Scim::new(self)
    }

    /// The admin API, with the organization's admin token.
    pub fn admin(&self) -> AdminApi<'_> {
        AdminApi::new(self)
    }

    /// The product API simulator, seen for this organization.
    pub fn simulator(&self) -> Simulator {
        Simulator::new(&self.client, &self.urls.product_api).for_org(&self.org_id)
    }

    /// The email (and userName) of the user `name` of this organization.
    pub fn email(&self, name: &str) -> String {
        format!("{name}.{}@example.com", self.org_id)
    }

    /// Waits until the product API's account of `user` satisfies `ok`.
    pub async fn until(&self, user: &str, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
        let sim = self.simulator();
        eventually(what, PIPELINE, || async {
            sim.account(user).await.filter(|a| ok(a))
        })
        .await
    }
}

/// An organization with no domain at all, as `ops org create` makes one.
pub async fn new_org_without_domains(prefix: &str) -> TestOrg {
    create(prefix, false).await
}

/// Creates an organization with a unique id (starting with `prefix`), a
/// SCIM and an admin token, and the [`TEST_DOMAINS`].
pub async fn new_org(prefix: &str) -> TestOrg {
    create(prefix, true).await
}

async fn create(prefix: &str, with_domains: bool) -> TestOrg {
    let org_id = OrgId::parse(&unique_id(prefix)).expect("valid org id");
    let store = directory().await;
    let created = ops::create_organization(&store, &org_id, "Test Company")
        .await
        .expect("create organization");
    if with_domains {
        ops::grandfather_domains(&store, &org_id, TEST_DOMAINS)
            .await
            .expect("the test domains");
    }
    TestOrg::from_tokens(
        created.org_id.as_str(),
        &created.scim_token,
        &created.admin_token,
        Urls::of_stack(),
    )
}
