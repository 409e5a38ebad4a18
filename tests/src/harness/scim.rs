//! The SCIM endpoint, as an organization's identity provider calls it.

use serde_json::{Value, json};

use super::{GroupBuilder, Scim, UserBuilder, enc, members_patch, patch};

const SEARCH_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

impl Scim<'_> {
    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.send("GET", path, None).await
    }

    pub async fn post(&self, path: &str, body: impl Into<Value>) -> (u16, Value) {
        self.send("POST", path, Some(body.into())).await
    }

    pub async fn put(&self, path: &str, body: impl Into<Value>) -> (u16, Value) {
        self.send("PUT", path, Some(body.into())).await
    }

    /// A PATCH of these operations (see [`patch`]).
    pub async fn patch(&self, path: &str, operations: Value) -> (u16, Value) {
        self.send("PATCH", path, Some(patch(operations))).await
    }

    pub async fn delete(&self, path: &str) -> (u16, Value) {
        self.send("DELETE", path, None).await
    }

    /// `GET /{resource}?filter=…`, the filter encoded.
    pub async fn search(&self, resource: &str, filter: &str) -> (u16, Value) {
        self.get(&format!("/{resource}?filter={}", enc(filter)))
            .await
    }

    /// `POST /{resource}/.search` of a SearchRequest with these fields
    /// (`filter`, `startIndex`, `cursor`, `count`…).
    pub async fn search_by_post(&self, resource: &str, mut fields: Value) -> (u16, Value) {
        fields["schemas"] = json!([SEARCH_REQUEST]);
        self.post(&format!("/{resource}/.search"), fields).await
    }

    /// Creates a user; its id.
    pub async fn create_user(&self, user: UserBuilder) -> String {
        let (status, u) = self.post("/Users", user).await;
        assert_eq!(status, 201, "{u}");
        id(&u)
    }

    /// The user `name` (its userName and email [`TestOrg::email`]), first
    /// name `name`; its id.
    pub async fn user(&self, name: &str) -> String {
        self.user_named(name, name).await
    }

    /// The user `name` (its userName is [`TestOrg::email`]) whose first name
    /// is `given_name`; its id.
    pub async fn user_named(&self, name: &str, given_name: &str) -> String {
        let email = self.org.email(name);
        self.create_user(UserBuilder::person(&email, given_name, "Test"))
            .await
    }

    /// Creates a group; its id.
    pub async fn create_group(&self, group: GroupBuilder) -> String {
        let (status, g) = self.post("/Groups", group).await;
        assert_eq!(status, 201, "{g}");
        id(&g)
    }

    /// A group without members; its id.
    pub async fn group(&self, name: &str) -> String {
        self.create_group(GroupBuilder::new(name)).await
    }

    /// A group, then these members added to it; its id.
    pub async fn group_with(&self, name: &str, users: &[&str]) -> String {
        let g = self.group(name).await;
        if !users.is_empty() {
            self.members(&g, "add", users).await;
        }
        g
    }

    /// Adds (`op` = `add`) or removes (`remove`) members of a group.
    pub async fn members(&self, group: &str, op: &str, users: &[&str]) {
        let (status, body) = self
            .send(
                "PATCH",
                &format!("/Groups/{group}?excludedAttributes=members"),
                Some(members_patch(op, users)),
            )
            .await;
        assert!(status == 200 || status == 204, "{status} {body}");
    }
}

/// The `id` of a SCIM resource or an admin API object.
pub fn id(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {v}"))
        .to_owned()
}
