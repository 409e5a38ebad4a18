//! The admin API, as the console calls it for an organization.

use serde_json::{Value, json};

use super::{AdminApi, Answer};

impl AdminApi<'_> {
    pub async fn get(&self, path: &str) -> Answer {
        self.request("GET", path, None, &[]).await
    }

    /// `GET` of a path that must answer `200`; the body.
    pub async fn read(&self, path: &str) -> Value {
        let a = self.get(path).await;
        assert_eq!(a.status, 200, "GET {path}: {}", a.body);
        a.body
    }

    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.request("POST", path, Some(&body), &[]).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Answer {
        self.request("PUT", path, Some(&body), &[]).await
    }

    pub async fn delete(&self, path: &str) -> Answer {
        self.request("DELETE", path, None, &[]).await
    }

    /// Creates a rule; the rule as answered.
    pub async fn rule(&self, body: Value) -> Value {
        let a = self.post("/rules", body).await;
        assert_eq!(a.status, 201, "{}", a.body);
        a.body
    }

    /// Creates a rule, then turns sync on (`{"enabled": true}`); the rule.
    pub async fn rule_and_sync(&self, rule: Value) -> Value {
        let rule = self.rule(rule).await;
        let (status, sync) = self
            .send("PUT", "/sync", Some(json!({"enabled": true})))
            .await;
        assert_eq!(status, 200, "{sync}");
        rule
    }

    /// `PATCH /rules/{id}` of a rule as read, with its ETag.
    pub async fn patch_rule(&self, rule: &Value, fields: Value) -> Answer {
        self.request(
            "PATCH",
            &format!("/rules/{}", super::scim::id(rule)),
            Some(&fields),
            &[("if-match", &format!("\"{}\"", rule["version"]))],
        )
        .await
    }

    /// `PUT /sync`: sync on or off, the guardrail's confirmation given or not.
    pub async fn sync(&self, enabled: bool, confirm: bool) -> Answer {
        self.request(
            "PUT",
            "/sync",
            Some(&json!({"enabled": enabled, "confirm": confirm})),
            &[],
        )
        .await
    }

    /// `GET /sync/failures`.
    pub async fn failures(&self) -> Value {
        self.read("/sync/failures").await
    }

    /// `POST /sync/retry`.
    pub async fn retry(&self, body: Value) -> Answer {
        self.post("/sync/retry", body).await
    }

    /// `POST /templates`.
    pub async fn template(&self, body: Value) -> Answer {
        self.post("/templates", body).await
    }
}
