//! Discovery (RFC 7644 §4): `/ServiceProviderConfig`, `/ResourceTypes` and
//! `/Schemas`, describing exactly what this endpoint supports.

use serde_json::{Value, json};

use super::{CUSTOM_USER_SCHEMA, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};

/// Top-level attributes of the core User schema (plus the common
/// `externalId`), as served by `/Schemas`.
pub const USER_ATTRIBUTES: [&str; 23] = [
    "userName",
    "password",
    "name",
    "displayName",
    "nickName",
    "profileUrl",
    "title",
    "userType",
    "preferredLanguage",
    "locale",
    "timezone",
    "active",
    "emails",
    "phoneNumbers",
    "ims",
    "photos",
    "addresses",
    "groups",
    "entitlements",
    "roles",
    "externalId",
    "id",
    "meta",
];
/// Attributes of the enterprise extension.
pub const ENTERPRISE_ATTRIBUTES: [&str; 6] = [
    "employeeNumber",
    "costCenter",
    "organization",
    "division",
    "department",
    "manager",
];
/// Attributes the service owns; a client cannot change them.
pub const READ_ONLY_ATTRIBUTES: [&str; 3] = ["id", "meta", "groups"];

const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";
const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";

/// What the server supports; `default_count` and `max_results` are the
/// default page size and its cap. Both pagination methods are offered
/// (RFC 9865 §4), index-based by default; cursors do not expire, so no
/// `cursorTimeout` is given.
pub fn service_provider_config(default_count: usize, max_results: usize, base_url: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": max_results},
        "pagination": {
            "cursor": true,
            "index": true,
            "defaultPaginationMethod": "index",
            "defaultPageSize": default_count,
            "maxPageSize": max_results
        },
        "changePassword": {"supported": false},
        "sort": {"supported": false},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Bearer token",
            "description": "A per-organization SCIM token issued by User Sync",
            "primary": true
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base_url}/ServiceProviderConfig")
        }
    })
}

/// The resource types: User (with the enterprise extension, and the custom
/// one when the organization has custom attributes) and Group.
pub fn resource_types(base_url: &str, custom: &[String]) -> Vec<Value> {
    let mut extensions = vec![json!({"schema": ENTERPRISE_USER_SCHEMA, "required": false})];
    if !custom.is_empty() {
        extensions.push(json!({"schema": CUSTOM_USER_SCHEMA, "required": false}));
    }
    vec![
        json!({
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": "User",
            "name": "User",
            "endpoint": "/Users",
            "description": "A directory user",
            "schema": USER_SCHEMA,
            "schemaExtensions": extensions,
            "meta": {"resourceType": "ResourceType", "location": format!("{base_url}/ResourceTypes/User")}
        }),
        json!({
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": "Group",
            "name": "Group",
            "endpoint": "/Groups",
            "description": "A directory (organization) group",
            "schema": GROUP_SCHEMA,
            "meta": {"resourceType": "ResourceType", "location": format!("{base_url}/ResourceTypes/Group")}
        }),
    ]
}

/// One attribute definition.
fn attr(
    name: &str,
    kind: &str,
    multi: bool,
    required: bool,
    mutability: &str,
    uniqueness: &str,
) -> Value {
    json!({
        "name": name,
        "type": kind,
        "multiValued": multi,
        "description": name,
        "required": required,
        "caseExact": matches!(name, "id" | "externalId" | "$ref"),
        "mutability": mutability,
        "returned": if mutability == "writeOnly" { "never" } else { "default" },
        "uniqueness": uniqueness,
    })
}

/// A reference attribute to the given resource types (`external` for URLs).
fn reference(name: &str, types: &[&str], mutability: &str) -> Value {
    let mut a = attr(name, "reference", false, false, mutability, "none");
    if let Some(o) = a.as_object_mut() {
        o.insert("referenceTypes".into(), json!(types));
    }
    a
}

fn string(name: &str) -> Value {
    attr(name, "string", false, false, "readWrite", "none")
}

/// The `value` of a reference to another resource: its id, compared exactly.
fn id_value(mutability: &str) -> Value {
    let mut v = attr("value", "string", false, false, mutability, "none");
    if let Some(o) = v.as_object_mut() {
        o.insert("caseExact".into(), json!(true));
    }
    v
}

fn complex(name: &str, multi: bool, subs: Vec<Value>) -> Value {
    let mut a = attr(name, "complex", multi, false, "readWrite", "none");
    if let Some(o) = a.as_object_mut() {
        o.insert("subAttributes".into(), Value::Array(subs));
    }
    a
}

fn multi_valued(name: &str) -> Value {
    complex(
        name,
        true,
        vec![
            string("value"),
            string("display"),
            string("type"),
            attr("primary", "boolean", false, false, "readWrite", "none"),
        ],
    )
}

fn schema(id: &str, name: &str, attributes: Vec<Value>, base_url: &str) -> Value {
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": id,
        "name": name,
        "description": name,
        "attributes": attributes,
        "meta": {"resourceType": "Schema", "location": format!("{base_url}/Schemas/{id}")}
    })
}

/// Every schema the endpoint understands for an organization with these
/// custom attributes.
pub fn schemas(base_url: &str, custom: &[String]) -> Vec<Value> {
    let user = vec![
        attr("userName", "string", false, true, "readWrite", "server"),
        complex(
            "name",
            false,
            vec![
                string("formatted"),
                string("familyName"),
                string("givenName"),
                string("middleName"),
                string("honorificPrefix"),
                string("honorificSuffix"),
            ],
        ),
        string("displayName"),
        string("nickName"),
        reference("profileUrl", &["external"], "readWrite"),
        string("title"),
        string("userType"),
        string("preferredLanguage"),
        string("locale"),
        string("timezone"),
        // accepted and discarded: never stored, never returned
        attr("password", "string", false, false, "writeOnly", "none"),
        attr("active", "boolean", false, false, "readWrite", "none"),
        multi_valued("emails"),
        multi_valued("phoneNumbers"),
        multi_valued("ims"),
        multi_valued("photos"),
        complex(
            "addresses",
            true,
            vec![
                string("formatted"),
                string("streetAddress"),
                string("locality"),
                string("region"),
                string("postalCode"),
                string("country"),
                string("type"),
                attr("primary", "boolean", false, false, "readWrite", "none"),
            ],
        ),
        {
            let mut g = complex(
                "groups",
                true,
                vec![
                    id_value("readOnly"),
                    reference("$ref", &["Group"], "readOnly"),
                    string("display"),
                    string("type"),
                ],
            );
            if let Some(o) = g.as_object_mut() {
                o.insert("mutability".into(), json!("readOnly"));
            }
            g
        },
        multi_valued("entitlements"),
        multi_valued("roles"),
    ];
    let enterprise = vec![
        string("employeeNumber"),
        string("costCenter"),
        string("organization"),
        string("division"),
        string("department"),
        complex(
            "manager",
            false,
            vec![
                id_value("readWrite"),
                reference("$ref", &["User"], "readWrite"),
                attr("displayName", "string", false, false, "readOnly", "none"),
            ],
        ),
    ];
    let group = vec![
        attr("displayName", "string", false, true, "readWrite", "none"),
        complex(
            "members",
            true,
            vec![
                id_value("immutable"),
                reference("$ref", &["User"], "immutable"),
                {
                    let mut t = attr("type", "string", false, false, "immutable", "none");
                    if let Some(o) = t.as_object_mut() {
                        o.insert("canonicalValues".into(), json!(["User"]));
                    }
                    t
                },
            ],
        ),
    ];
    let mut all = vec![
        schema(USER_SCHEMA, "User", user, base_url),
        schema(
            ENTERPRISE_USER_SCHEMA,
            "EnterpriseUser",
            enterprise,
            base_url,
        ),
        schema(GROUP_SCHEMA, "Group", group, base_url),
    ];
    if !custom.is_empty() {
        let attributes = custom.iter().map(|n| string(n)).collect();
        all.push(schema(
            CUSTOM_USER_SCHEMA,
            "CustomUser",
            attributes,
            base_url,
        ));
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(schema: &Value) -> Vec<String> {
        schema["attributes"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x["name"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn attribute_lists_match_the_served_schemas() {
        let all = schemas("b", &[]);
        let mut user = names(&all[0]);
        user.extend(["externalId".to_owned(), "id".to_owned(), "meta".to_owned()]);
        let mut want: Vec<String> = USER_ATTRIBUTES.iter().map(|s| (*s).to_owned()).collect();
        user.sort();
        want.sort();
        assert_eq!(user, want);
        assert_eq!(names(&all[1]), ENTERPRISE_ATTRIBUTES.to_vec());
    }

    #[test]
    fn the_password_is_write_only_and_never_returned() {
        let all = schemas("b", &[]);
        let password = all[0]["attributes"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["name"] == "password"))
            .cloned()
            .unwrap_or_default();
        assert_eq!(password["mutability"], "writeOnly");
        assert_eq!(password["returned"], "never");
        for name in super::super::user::NEVER_RETURNED {
            assert!(USER_ATTRIBUTES.contains(&name));
        }
    }

    #[test]
    fn every_schema_and_resource_type_has_an_id_and_location() {
        for v in schemas("https://x/scim/v2", &["badge".to_owned()])
            .iter()
            .chain(resource_types("https://x/scim/v2", &[]).iter())
        {
            assert!(v["id"].is_string());
            assert!(
                v["meta"]["location"]
                    .as_str()
                    .is_some_and(|l| l.starts_with("https://x/scim/v2/"))
            );
        }
        let spc = service_provider_config(100, 200, "b");
        assert_eq!(spc["filter"]["maxResults"], 200);
        assert_eq!(spc["pagination"]["cursor"], true);
        assert_eq!(spc["pagination"]["index"], true);
        assert_eq!(spc["pagination"]["defaultPaginationMethod"], "index");
        assert_eq!(spc["pagination"]["defaultPageSize"], 100);
        assert_eq!(spc["pagination"]["maxPageSize"], 200);
        assert_eq!(spc["etag"]["supported"], true);
    }
}
