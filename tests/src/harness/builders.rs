//! SCIM request bodies as identity providers send them.

use serde_json::{Map, Value, json};

/// The schema of a SCIM user.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The schema of a SCIM PATCH request.
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// A SCIM user: `UserBuilder::new("ada@example.com").name("Ada",
/// "Lovelace").email("ada@example.com").build()`. Active unless said
/// otherwise; no name or email unless given.
#[derive(Debug, Clone)]
pub struct UserBuilder {
    body: Map<String, Value>,
}

impl UserBuilder {
    pub fn new(user_name: &str) -> Self {
        let mut body = Map::new();
        body.insert("schemas".into(), json!([USER_SCHEMA]));
        body.insert("userName".into(), json!(user_name));
        body.insert("active".into(), json!(true));
        Self { body }
    }

    /// The user most tests create: userName and work email `email`, named
    /// `given` `family`, active.
    pub fn person(email: &str, given: &str, family: &str) -> Self {
        Self::new(email).name(given, family).email(email)
    }

    /// `name.givenName` and `name.familyName`.
    pub fn name(self, given: &str, family: &str) -> Self {
        self.attr("name", json!({"givenName": given, "familyName": family}))
    }

    /// `name.givenName` only.
    pub fn given_name(self, given: &str) -> Self {
        self.attr("name", json!({"givenName": given}))
    }

    /// One primary work email.
    pub fn email(self, email: &str) -> Self {
        self.attr(
            "emails",
            json!([{"primary": true, "value": email, "type": "work"}]),
        )
    }

    pub fn external_id(self, external_id: &str) -> Self {
        self.attr("externalId", json!(external_id))
    }

    pub fn active(self, active: bool) -> Self {
        self.attr("active", json!(active))
    }

    /// Any other attribute (`locale`, `preferredLanguage`, an extension…).
    pub fn attr(mut self, key: &str, value: Value) -> Self {
        self.body.insert(key.to_owned(), value);
        self
    }

    pub fn build(self) -> Value {
        Value::Object(self.body)
    }
}

impl From<UserBuilder> for Value {
    fn from(user: UserBuilder) -> Self {
        user.build()
    }
}

/// A SCIM group: `GroupBuilder::new("Sales").members(&[&ada]).build()`.
#[derive(Debug, Clone)]
pub struct GroupBuilder {
    body: Map<String, Value>,
}

impl GroupBuilder {
    pub fn new(display_name: &str) -> Self {
        let mut body = Map::new();
        body.insert("displayName".into(), json!(display_name));
        Self { body }
    }

    /// Members by user id.
    pub fn members(mut self, users: &[&str]) -> Self {
        let members: Vec<Value> = users.iter().map(|u| json!({"value": u})).collect();
        self.body.insert("members".into(), Value::Array(members));
        self
    }

    pub fn attr(mut self, key: &str, value: Value) -> Self {
        self.body.insert(key.to_owned(), value);
        self
    }

    pub fn build(self) -> Value {
        Value::Object(self.body)
    }
}

impl From<GroupBuilder> for Value {
    fn from(group: GroupBuilder) -> Self {
        group.build()
    }
}

/// A SCIM PATCH request of these operations.
pub fn patch(operations: Value) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": operations})
}

/// A SCIM PATCH request that adds (`op` = `add`) or removes (`remove`)
/// these users as members of a group.
pub fn members_patch(op: &str, users: &[&str]) -> Value {
    let value: Vec<Value> = users.iter().map(|u| json!({"value": u})).collect();
    patch(json!([{"op": op, "path": "members", "value": value}]))
}
