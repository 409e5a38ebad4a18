//! The product API simulator's `/control/*` endpoint: what it holds, the
//! calls it answered, and the faults and seats a test sets.

use std::collections::BTreeMap;

use serde_json::Value;

use super::Client;

/// A client of the simulator's control endpoint, for one organization or
/// for all of them.
#[derive(Debug, Clone)]
pub struct Simulator {
    client: Client,
    base: String,
    org: Option<String>,
}

impl Simulator {
    /// The simulator at `product_api_url`.
    pub fn new(client: &Client, product_api_url: &str) -> Self {
        Self {
            client: client.clone(),
            base: product_api_url.to_owned(),
            org: None,
        }
    }

    /// The same simulator, seen for one organization.
    pub fn for_org(mut self, org_id: &str) -> Self {
        self.org = Some(org_id.to_owned());
        self
    }

    fn org(&self) -> &str {
        self.org
            .as_deref()
            .expect("a simulator seen for an organization")
    }

    fn url(&self, path: &str) -> String {
        format!("{}/control{path}", self.base)
    }

    /// A control request (`path` after `/control`); its status and body.
    pub async fn send(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.client
            .send(method, &self.url(path), None, body.as_ref())
            .await
    }

    /// A control request that must answer `200`; the body.
    pub async fn control(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, v) = self.send(method, path, body).await;
        assert_eq!(status, 200, "{method} {path}: {v}");
        v
    }

    /// Sets the organization's seat limits at the product API, e.g.
    /// `{"G2W": 7}`.
    pub async fn set_seats(&self, seats: Value) -> Value {
        self.control("PUT", &format!("/orgs/{}/seats", self.org()), Some(seats))
            .await
    }

    /// Sets the products the organization's account offers at the product
    /// API, e.g. `[{"id": "G2W", "name": "GoTo Webinar", "deviceGroups":
    /// false}]` (until set: the simulator's default list, the demo
    /// products).
    pub async fn set_products(&self, products: Value) -> Value {
        self.control(
            "PUT",
            &format!("/orgs/{}/products", self.org()),
            Some(products),
        )
        .await
    }

    /// Sets the organization's fault switches (e.g. `{"down": true}`);
    /// `None`: its calls follow the global switches again.
    pub async fn set_faults(&self, faults: Option<Value>) -> Value {
        let path = format!("/orgs/{}/faults", self.org());
        match faults {
            Some(f) => self.control("PUT", &path, Some(f)).await,
            None => self.control("DELETE", &path, None).await,
        }
    }

    /// The organization's account of `user` (by user id), if any.
    pub async fn account(&self, user: &str) -> Option<Value> {
        let (status, a) = self
            .send("GET", &format!("/accounts/{}/{user}", self.org()), None)
            .await;
        (status == 200).then_some(a)
    }

    /// The organization's accounts, by user id.
    pub async fn accounts(&self) -> BTreeMap<String, Value> {
        self.control("GET", &format!("/accounts?org={}", self.org()), None)
            .await["accounts"]
            .as_array()
            .expect("accounts")
            .iter()
            .map(|a| {
                (
                    a["userKey"].as_str().unwrap_or_default().to_owned(),
                    a.clone(),
                )
            })
            .collect()
    }

    /// The product API calls made for the organization, or for one of its
    /// users.
    pub async fn calls(&self, user: Option<&str>) -> Vec<Value> {
        self.control("GET", &format!("/calls?org={}", self.org()), None)
            .await["calls"]
            .as_array()
            .expect("calls")
            .iter()
            .filter(|c| user.is_none_or(|u| c["userKey"] == u))
            .cloned()
            .collect()
    }

    /// The product API calls of the organization, counted by status.
    pub async fn calls_by_status(&self) -> BTreeMap<u64, usize> {
        let mut counts = BTreeMap::new();
        for c in self.calls(None).await {
            *counts.entry(c["status"].as_u64().unwrap_or(0)).or_default() += 1;
        }
        counts
    }
}

/// The products of an account at the product API.
pub fn products(account: &Value) -> Vec<&str> {
    account["products"]
        .as_array()
        .expect("products")
        .iter()
        .map(|p| p.as_str().expect("a product name"))
        .collect()
}
