//! What the endpoint holds (users and groups), read into the connector's terms.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{CUSTOM, ENTERPRISE};

/// A user as the endpoint holds it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeldUser {
    pub id: String,
    pub external_id: Option<String>,
    pub user_name: String,
    pub active: bool,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub display_name: Option<String>,
    /// The primary address first.
    pub emails: Vec<String>,
    pub phone_numbers: Vec<String>,
    pub employee_number: Option<String>,
    pub department: Option<String>,
    pub cost_center: Option<String>,
    pub division: Option<String>,
    /// The manager's SCIM id.
    pub manager: Option<String>,
    pub custom: BTreeMap<String, String>,
}

/// A group as the endpoint holds it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeldGroup {
    pub id: String,
    pub external_id: Option<String>,
    pub display_name: String,
    /// Member user ids.
    pub members: Vec<String>,
}

pub(super) fn string(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn values(v: &Value, key: &str) -> Vec<String> {
    let mut list: Vec<(bool, String)> = v
        .get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|e| {
                    let primary = e.get("primary").and_then(Value::as_bool).unwrap_or(false);
                    string(e, "value").map(|s| (primary, s))
                })
                .collect()
        })
        .unwrap_or_default();
    // the primary first, the others in the order served
    list.sort_by_key(|(primary, _)| !*primary);
    list.into_iter().map(|(_, s)| s).collect()
}

impl HeldUser {
    /// Reads a served User; `None` without an `id` or a `userName`.
    pub fn from_scim(v: &Value) -> Option<Self> {
        let active = match v.get("active") {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => !s.eq_ignore_ascii_case("false"),
            _ => true,
        };
        let name = v.get("name").cloned().unwrap_or(Value::Null);
        let ent = v.get(ENTERPRISE).cloned().unwrap_or(Value::Null);
        let manager = match ent.get("manager") {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(m) => string(m, "value"),
            None => None,
        };
        let custom = v
            .get(CUSTOM)
            .and_then(Value::as_object)
            .map(|o| {
                o.iter()
                    .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned())))
                    .collect()
            })
            .unwrap_or_default();
        Some(Self {
            id: string(v, "id")?,
            external_id: string(v, "externalId"),
            user_name: string(v, "userName")?,
            active,
            given_name: string(&name, "givenName"),
            family_name: string(&name, "familyName"),
            display_name: string(v, "displayName"),
            emails: values(v, "emails"),
            phone_numbers: values(v, "phoneNumbers"),
            employee_number: string(&ent, "employeeNumber"),
            department: string(&ent, "department"),
            cost_center: string(&ent, "costCenter"),
            division: string(&ent, "division"),
            manager,
            custom,
        })
    }
}

impl HeldGroup {
    /// Reads a served Group; `None` without an `id`.
    pub fn from_scim(v: &Value) -> Option<Self> {
        let mut members: Vec<String> = v
            .get("members")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|m| string(m, "value")).collect())
            .unwrap_or_default();
        members.sort();
        members.dedup();
        Some(Self {
            id: string(v, "id")?,
            external_id: string(v, "externalId"),
            display_name: string(v, "displayName").unwrap_or_default(),
            members,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_served_user_is_read_with_its_extensions() {
        let u = HeldUser::from_scim(&json!({
            "id": "u1", "externalId": "x1", "userName": "ada@example.com",
            "active": "False",
            "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "emails": [{"value": "other@example.com"}, {"value": "ada@example.com", "primary": true}],
            ENTERPRISE: {"department": "R&D", "manager": {"value": "m1", "displayName": "M"}},
            CUSTOM: {"badgeNumber": "B7"}
        }))
        .unwrap();
        assert!(!u.active);
        assert_eq!(u.emails, ["ada@example.com", "other@example.com"]);
        assert_eq!(u.department.as_deref(), Some("R&D"));
        assert_eq!(u.manager.as_deref(), Some("m1"));
        assert_eq!(u.custom["badgeNumber"], "B7");
        assert!(HeldUser::from_scim(&json!({"userName": "no id"})).is_none());
    }
}
