//! The admin's and the identity provider's side of an end-to-end test: one
//! organization, its SCIM and admin calls, and what the product API holds.

use std::time::Duration;

use serde_json::{Value, json};
use user_sync_tests::{Answer, Client, TestOrg, eventually, new_org, stack};

pub(crate) const PIPELINE: Duration = Duration::from_secs(90);
pub(crate) const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

pub(crate) struct Admin {
    pub(crate) org: TestOrg,
    pub(crate) c: Client,
}

impl Admin {
    pub(crate) async fn new(prefix: &str) -> Self {
        Self {
            org: new_org(prefix).await,
            c: Client::new(),
        }
    }

    pub(crate) async fn scim(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.c
            .send(
                method,
                &format!("{}{path}", stack().scim_url),
                Some(&self.org.scim_token),
                body.as_ref(),
            )
            .await
    }

    /// The email of the user `name` of this organization.
    pub(crate) fn email(&self, name: &str) -> String {
        format!("{name}.{}@example.com", self.org.org_id)
    }

    pub(crate) async fn user(&self, name: &str) -> String {
        self.user_named(name, name).await
    }

    /// A user `name` (its userName is [`Admin::email`]) whose first name is
    /// `given_name`.
    pub(crate) async fn user_named(&self, name: &str, given_name: &str) -> String {
        let email = self.email(name);
        let (status, u) = self
            .scim(
                "POST",
                "/Users",
                Some(json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": email,
                    "name": {"givenName": given_name, "familyName": "Test"},
                    "emails": [{"primary": true, "value": email, "type": "work"}],
                    "active": true
                })),
            )
            .await;
        assert_eq!(status, 201, "{u}");
        u["id"].as_str().unwrap().to_owned()
    }

    pub(crate) async fn group(&self, name: &str) -> String {
        let (status, g) = self
            .scim("POST", "/Groups", Some(json!({"displayName": name})))
            .await;
        assert_eq!(status, 201, "{g}");
        g["id"].as_str().unwrap().to_owned()
    }

    /// A group with these members.
    pub(crate) async fn group_with(&self, name: &str, users: &[&str]) -> String {
        let g = self.group(name).await;
        if !users.is_empty() {
            self.members(&g, "add", users).await;
        }
        g
    }

    pub(crate) async fn members(&self, group: &str, op: &str, users: &[&str]) {
        let value: Vec<Value> = users.iter().map(|u| json!({"value": u})).collect();
        let (status, body) = self
            .scim(
                "PATCH",
                &format!("/Groups/{group}?excludedAttributes=members"),
                Some(json!({"schemas": [PATCH_OP], "Operations": [{"op": op, "path": "members", "value": value}]})),
            )
            .await;
        assert!(status == 200 || status == 204, "{status} {body}");
    }

    pub(crate) async fn api(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Answer {
        self.c
            .request(
                method,
                &format!("{}{path}", stack().api_url),
                Some(&self.org.admin_token),
                body.as_ref(),
                headers,
            )
            .await
    }

    pub(crate) async fn rule(&self, body: Value) -> Value {
        let a = self.api("POST", "/rules", Some(body), &[]).await;
        assert_eq!(a.status, 201, "{}", a.body);
        a.body
    }

    /// `PATCH /rules/{id}` of a rule as read, with its ETag.
    pub(crate) async fn patch_rule(&self, rule: &Value, fields: Value) -> Answer {
        self.api(
            "PATCH",
            &format!("/rules/{}", id(rule)),
            Some(fields),
            &[("if-match", &format!("\"{}\"", rule["version"]))],
        )
        .await
    }

    pub(crate) async fn sync(&self, enabled: bool, confirm: bool) -> Answer {
        self.api(
            "PUT",
            "/sync",
            Some(json!({"enabled": enabled, "confirm": confirm})),
            &[],
        )
        .await
    }

    pub(crate) async fn account(&self, user: &str) -> Option<Value> {
        let url = format!(
            "{}/control/accounts/{}/{user}",
            stack().product_api_url,
            self.org.org_id
        );
        let (status, a) = self.c.send("GET", &url, None, None).await;
        (status == 200).then_some(a)
    }

    pub(crate) async fn until(&self, user: &str, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
        eventually(what, PIPELINE, || async {
            self.account(user).await.filter(|a| ok(a))
        })
        .await
    }
}

pub(crate) fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

pub(crate) fn products(a: &Value) -> Vec<&str> {
    a["products"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect()
}
