//! SCIM Groups ("organization groups").

use serde_json::{Value, json};

use super::{GROUP_SCHEMA, ScimError, etag, opt_string};
use crate::directory::DirectoryGroup;
use crate::ids::UserId;

/// Most members accepted in one Group body; larger groups are built with PATCH.
pub const MAX_MEMBERS_PER_REQUEST: usize = 1000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupInput {
    pub display_name: String,
    pub external_id: Option<String>,
    pub members: Vec<String>,
}

/// Parses a Group resource from a POST or PUT body.
pub fn parse_group(body: &Value) -> Result<GroupInput, ScimError> {
    let Some(obj) = body.as_object() else {
        return Err(ScimError::invalid_syntax(
            "the request body must be a JSON object",
        ));
    };
    let display_name = match super::user::get_ci(obj, "displayName") {
        Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= super::MAX_STRING_LEN => {
            s.clone()
        }
        _ => {
            return Err(ScimError::invalid_value(
                "displayName is required and must be a non-empty string",
            ));
        }
    };
    if display_name.chars().any(char::is_control) {
        return Err(ScimError::invalid_value(
            "displayName must not contain control characters",
        ));
    }
    let external_id = opt_string(super::user::get_ci(obj, "externalId"), "externalId")?;
    let members = match super::user::get_ci(obj, "members") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) if list.len() <= MAX_MEMBERS_PER_REQUEST => list
            .iter()
            .map(
                |m| match m.as_object().and_then(|o| super::user::get_ci(o, "value")) {
                    Some(Value::String(s)) => Ok(s.clone()),
                    _ => Err(ScimError::invalid_value(
                        "each member needs a string value (the user id)",
                    )),
                },
            )
            .collect::<Result<_, _>>()?,
        Some(Value::Array(_)) => {
            return Err(ScimError::invalid_value(format!(
                "at most {MAX_MEMBERS_PER_REQUEST} members per request; add more with PATCH"
            )));
        }
        Some(_) => return Err(ScimError::invalid_value("members must be an array")),
    };
    Ok(GroupInput {
        display_name,
        external_id,
        members,
    })
}

/// Renders a group; `members` is `None` when the client excluded them.
pub fn render_group(group: &DirectoryGroup, members: Option<&[UserId]>, base_url: &str) -> Value {
    let mut v = json!({
        "schemas": [GROUP_SCHEMA],
        "id": group.id.as_str(),
        "displayName": group.display_name,
        "meta": {
            "resourceType": "Group",
            "created": group.created,
            "lastModified": group.last_modified,
            "location": format!("{base_url}/Groups/{}", group.id),
            "version": etag(group.version),
        }
    });
    if let Some(obj) = v.as_object_mut() {
        if let Some(x) = &group.external_id {
            obj.insert("externalId".into(), json!(x));
        }
        if let Some(members) = members {
            let list: Vec<Value> = members
                .iter()
                .map(|m| json!({"value": m.as_str(), "$ref": format!("{base_url}/Users/{m}"), "type": "User"}))
                .collect();
            obj.insert("members".into(), Value::Array(list));
        }
    }
    v
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_group_with_members() {
        let g =
            parse_group(&json!({"displayName": "Sales", "members": [{"value": "u1"}]})).unwrap();
        assert_eq!(g.display_name, "Sales");
        assert_eq!(g.members, vec!["u1".to_owned()]);
        assert!(parse_group(&json!({"displayName": ""})).is_err());
        assert!(parse_group(&json!({"displayName": "x", "members": [{"value": 1}]})).is_err());
    }
}
