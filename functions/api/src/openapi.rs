//! The OpenAPI 3.1 document served at `/api/v1/openapi.json`, built from
//! the endpoint table (`endpoints`): every body's JSON Schema is derived
//! from the Rust type that reads or writes it, and the problem's `code`
//! lists every [`ErrorCode`].

use std::sync::OnceLock;

use schemars::generate::SchemaSettings;
use schemars::{Schema, SchemaGenerator};
use serde_json::{Map, Value, json};
use user_sync_aws::http::response;

use crate::PREFIX;
use crate::endpoints::endpoints;
use crate::errors::Problem;
use crate::registry::{Answer, Precondition, Spec, Success, schema, template};

/// The specs of every endpoint, as the router serves them.
fn specs() -> Vec<Spec> {
    endpoints::<crate::Deps>().iter().map(|e| e.spec).collect()
}

/// `GET /openapi.json`: the document.
pub fn serve() -> Answer {
    Ok(response(
        200,
        "application/json",
        document().to_owned(),
        &[],
    ))
}

/// What `GET /openapi.json` answers.
pub const SUCCESS: Success = Success::Json {
    status: 200,
    schema: openapi_schema,
    etag: false,
};

/// Where an answer's ids lead (OpenAPI links): from an operation, to
/// operations, the path parameter they fill and where its value is.
static LINKS: &[(&str, &[&str], &str, &str)] = &[
    (
        "listRules",
        RULE_OPS,
        "ruleId",
        "$response.body#/rules/0/id",
    ),
    ("createRule", RULE_OPS, "ruleId", "$response.body#/id"),
    (
        "listTemplates",
        TEMPLATE_OPS,
        "templateId",
        "$response.body#/items/0/id",
    ),
    (
        "createTemplate",
        TEMPLATE_OPS,
        "templateId",
        "$response.body#/id",
    ),
    (
        "listGroups",
        GROUP_OPS,
        "groupId",
        "$response.body#/items/0/id",
    ),
    (
        "listUsers",
        USER_OPS,
        "userId",
        "$response.body#/items/0/id",
    ),
    (
        "listGroupMembers",
        USER_OPS,
        "userId",
        "$response.body#/items/0/id",
    ),
    (
        "listFailures",
        &["failureDetails"],
        "class",
        "$response.body#/failures/0/class",
    ),
];
const RULE_OPS: &[&str] = &[
    "getRule",
    "replaceRule",
    "patchRule",
    "moveRule",
    "deleteRule",
];
const TEMPLATE_OPS: &[&str] = &[
    "getTemplate",
    "replaceTemplate",
    "previewTemplate",
    "deleteTemplate",
];
const GROUP_OPS: &[&str] = &["getGroup", "listGroupMembers"];
const USER_OPS: &[&str] = &["getUser", "explainUser"];

/// A link's name: the operation it leads to (`GetRule`).
fn link_name(id: &str) -> String {
    let mut chars = id.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().collect::<String>() + chars.as_str())
        .unwrap_or_default()
}

fn links(id: &str) -> Map<String, Value> {
    LINKS
        .iter()
        .filter(|(from, ..)| *from == id)
        .flat_map(|(_, to, parameter, expression)| {
            to.iter().map(move |t| {
                (
                    link_name(t),
                    json!({
                        "operationId": t,
                        "parameters": {*parameter: expression},
                    }),
                )
            })
        })
        .collect()
}

/// The document's own schema: an OpenAPI document is a JSON object.
fn openapi_schema(_: &mut SchemaGenerator) -> Schema {
    schemars::json_schema!({"type": "object", "required": ["openapi", "paths"]})
}

/// The path parameters' schemas.
fn path_parameter(name: &str, g: &mut SchemaGenerator) -> Schema {
    match name {
        "ruleId" => schema::<user_sync_core::ids::RuleId>(g),
        "userId" => schema::<user_sync_core::ids::UserId>(g),
        "groupId" => schema::<user_sync_core::ids::GroupId>(g),
        "templateId" => schema::<user_sync_core::ids::TemplateId>(g),
        "class" => schema::<user_sync_core::state::FailureClass>(g),
        "domain" => crate::query::domain_schema(g),
        _ => schemars::json_schema!({"type": "string"}),
    }
}

/// What each error status means here; the body is always a problem.
fn error_description(status: u16) -> &'static str {
    match status {
        400 => {
            "The request is malformed: a body that is not JSON or has mistyped or missing fields, or a bad query parameter or header"
        }
        401 => "No valid admin token",
        403 => "A SCIM token: the admin API takes the organization's admin token",
        404 => "No such resource in the token's organization",
        405 => {
            "The resource does not offer this method (Allow lists those it does): organization groups and the shipped default template are read-only"
        }
        409 => {
            "In conflict with the current configuration (e.g. full_admin_rule_required, mass_suspension, catalog_in_use, template_in_use)"
        }
        412 => "If-Match names a version that is no longer current: read again and retry",
        413 => "The body is larger than 64 KiB",
        422 => {
            "The body is well-formed but not valid: a field it may not have (unknown_field, at any depth), or a value the organization does not allow (e.g. a product the product API does not offer)"
        }
        428 => "If-Match is required (send the ETag you read)",
        429 => {
            "The organization sent more admin requests than its limit in this 10-second window: wait Retry-After seconds"
        }
        500 => "Internal error",
        503 => {
            "Storage (unavailable) or the product API (products_unavailable: a rule naming products cannot be checked) temporarily unavailable; retry later"
        }
        _ => "Error",
    }
}

/// The name of an error status's shared response.
fn error_name(status: u16) -> String {
    format!("Problem{status}")
}

/// Every error status's response: a problem.
fn error_responses(specs: &[Spec], g: &mut SchemaGenerator) -> Map<String, Value> {
    let problem = schema::<Problem>(g);
    let mut statuses: Vec<u16> = specs
        .iter()
        .flat_map(|e| e.errors.iter())
        .chain(&COMMON_ERRORS)
        .copied()
        .collect();
    statuses.sort_unstable();
    statuses.dedup();
    statuses
        .into_iter()
        .map(|status| {
            let mut r = json!({
                "description": error_description(status),
                "content": {"application/problem+json": {"schema": problem.clone()}},
            });
            if status == 405 {
                r["headers"] = json!({"Allow": {
                    "description": "the methods the resource allows",
                    "schema": {"type": "string"},
                }});
            }
            if status == 429 {
                r["headers"] = json!({"Retry-After": {
                    "description": "seconds until the organization may call again",
                    "schema": {"type": "integer", "minimum": 1},
                }});
            }
            (error_name(status), r)
        })
        .collect()
}

/// Errors every authenticated endpoint may answer.
const COMMON_ERRORS: [u16; 7] = [401, 403, 404, 405, 429, 500, 503];

fn operation(e: &Spec, g: &mut SchemaGenerator) -> Value {
    let mut parameters: Vec<Value> = template(e.path)
        .filter_map(|t| t.strip_prefix('{').and_then(|t| t.strip_suffix('}')))
        .map(|name| {
            json!({
                "name": name,
                "in": "path",
                "required": true,
                "schema": path_parameter(name, g),
            })
        })
        .collect();
    for q in e.query {
        parameters.push(json!({
            "name": q.name,
            "in": "query",
            "required": q.required,
            "description": q.description,
            "schema": (q.schema)(g),
        }));
    }
    if e.if_match != Precondition::None {
        parameters.push(json!({
            "name": "If-Match",
            "in": "header",
            "required": e.if_match == Precondition::Required,
            "description": "the ETag you read (\"3\"), or * to overwrite whatever is there",
            "schema": {"type": "string", "pattern": "^(\\*|(W/)?\"[0-9]{1,19}\")$"},
        }));
    }
    let mut responses = Map::new();
    let (status, body) = match e.success {
        Success::Json {
            status,
            schema,
            etag,
        } => {
            let mut r = json!({
                "description": "OK",
                "content": {"application/json": {"schema": schema(g)}},
            });
            if etag {
                r["headers"] = json!({"ETag": {
                    "description": "the version, for If-Match on the next write",
                    "schema": {"type": "string"},
                }});
            }
            let links = links(e.id);
            if !links.is_empty() {
                r["links"] = Value::Object(links);
            }
            (status, r)
        }
        Success::Empty => (204, json!({"description": "Done"})),
        Success::Export => (
            200,
            json!({
                "description": "Entries, newest first; Next-Cursor (a header) names where the next request carries on",
                "headers": {"Next-Cursor": {
                    "description": "present when more entries remain: send it as cursor",
                    "schema": {"type": "string"},
                }},
                "content": {
                    "text/csv": {"schema": {"type": "string"}},
                    "application/x-ndjson": {"schema": {"type": "string"}},
                },
            }),
        ),
    };
    responses.insert(status.to_string(), body);
    let public = e.public;
    let common: &[u16] = if public { &[405, 500] } else { &COMMON_ERRORS };
    let mut errors: Vec<u16> = e.errors.iter().chain(common).copied().collect();
    errors.sort_unstable();
    errors.dedup();
    for status in errors {
        responses.insert(
            status.to_string(),
            json!({"$ref": format!("#/components/responses/{}", error_name(status))}),
        );
    }
    let mut op = json!({
        "operationId": e.id,
        "summary": e.summary,
        "tags": [e.tag],
        "parameters": parameters,
        "responses": responses,
    });
    if public {
        op["security"] = json!([]);
    } else if let Some(role) = user_sync_core::access::required_role(e.id) {
        op["x-required-role"] = json!(role.name());
        op["description"] = json!(format!(
            "Needs the {role} role or above (viewer < operator < admin); a key with less is refused 403 forbidden."
        ));
    }
    if let Some(body) = e.body {
        op["requestBody"] = json!({
            "required": !e.body_optional,
            "content": {"application/json": {"schema": body(g)}},
        });
    }
    op
}

/// The OpenAPI 3.1 document, built once per process.
pub fn document() -> &'static str {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    DOCUMENT.get_or_init(|| build().to_string())
}

fn build() -> Value {
    let mut g = SchemaSettings::draft2020_12()
        .with(|s| {
            s.definitions_path = "/components/schemas".into();
            s.meta_schema = None;
        })
        .into_generator();
    let specs = specs();
    let mut paths = Map::new();
    for e in &specs {
        let op = operation(e, &mut g);
        let item = paths
            .entry(format!("{PREFIX}{}", e.path))
            .or_insert_with(|| json!({}));
        item[e.method.to_lowercase()] = op;
    }
    let responses = error_responses(&specs, &mut g);
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "User Sync admin API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Rules that map directory groups to product entitlements, sync on/off and progress, failures and Retry sync, users, activity history, welcome-email templates. Authenticate with one of the organization's admin API keys as a bearer token, or with a person's ID token from the organization's identity provider (single sign-on; the role from the token's role claim); each operation names the role it needs in x-required-role (viewer < operator < admin) and refuses a key with less 403 forbidden; errors are RFC 9457 problem details (application/problem+json) whose `type` is urn:user-sync:problem:{code}. See docs/admin-api.md.",
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "paths": paths,
        "components": {
            "responses": responses,
            "schemas": g.take_definitions(true),
            "securitySchemes": {"adminToken": {
                "type": "http",
                "scheme": "bearer",
                "description": "an admin API key of the organization, with a role (ops token create <org> admin <name> --role viewer|operator|admin), or a person's OpenID Connect ID token from the organization's identity provider (ops sso set)",
            }},
        },
        "security": [{"adminToken": []}],
    })
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_is_in_the_document_once() {
        let doc: Value = match serde_json::from_str(document()) {
            Ok(d) => d,
            Err(e) => panic!("the document is JSON: {e}"),
        };
        assert_eq!(doc["openapi"], "3.1.0");
        let mut ids = Vec::new();
        for e in specs() {
            let op = &doc["paths"][format!("{PREFIX}{}", e.path)][e.method.to_lowercase()];
            assert!(op.is_object(), "{} {} is documented", e.method, e.path);
            ids.push(op["operationId"].as_str().unwrap_or_default().to_owned());
        }
        let count = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), count, "operation ids are unique");
        // every authenticated operation declares the role it needs, from
        // the one table in core
        for e in specs().iter().filter(|e| !e.public) {
            let op = &doc["paths"][format!("{PREFIX}{}", e.path)][e.method.to_lowercase()];
            let Some(role) = user_sync_core::access::required_role(e.id) else {
                panic!(
                    "{} has no role in user_sync_core::access::REQUIRED_ROLES",
                    e.id
                )
            };
            assert_eq!(op["x-required-role"], role.name(), "{}", e.id);
        }
        // every $ref names a schema the document has
        let text = document();
        let schemas = &doc["components"]["schemas"];
        for part in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
            let name = part.split('"').next().unwrap_or_default();
            assert!(schemas.get(name).is_some(), "{name} is defined");
        }
    }

    /// Any body may carry a field its type lacks: `422 unknown_field`.
    #[test]
    fn every_endpoint_with_a_body_documents_422() {
        for e in specs().iter().filter(|e| e.body.is_some()) {
            assert!(e.errors.contains(&422), "{} {} lists 422", e.method, e.path);
        }
    }

    /// Every object a request body may hold, at any depth, refuses fields
    /// it does not name (`deny_unknown_fields`, which schemars writes as
    /// `"additionalProperties": false`).
    #[test]
    fn every_request_body_object_refuses_unknown_fields() {
        fn visit<'d>(schema: &'d Value, doc: &'d Value, seen: &mut Vec<&'d str>, at: &str) {
            if let Some(name) = schema["$ref"]
                .as_str()
                .and_then(|r| r.strip_prefix("#/components/schemas/"))
            {
                if !seen.contains(&name) {
                    seen.push(name);
                    visit(&doc["components"]["schemas"][name], doc, seen, name);
                }
                return;
            }
            if let Some(properties) = schema["properties"].as_object() {
                assert_eq!(
                    schema["additionalProperties"],
                    Value::Bool(false),
                    "{at} takes unknown fields"
                );
                for (field, s) in properties {
                    visit(s, doc, seen, &format!("{at}.{field}"));
                }
            }
            for key in ["anyOf", "oneOf", "allOf"] {
                for s in schema[key].as_array().into_iter().flatten() {
                    visit(s, doc, seen, at);
                }
            }
            for key in ["items", "additionalProperties"] {
                if schema[key].is_object() {
                    visit(&schema[key], doc, seen, &format!("{at}[]"));
                }
            }
        }
        let doc: Value = match serde_json::from_str(document()) {
            Ok(d) => d,
            Err(e) => panic!("the document is JSON: {e}"),
        };
        let mut seen = Vec::new();
        for e in specs().iter().filter(|e| e.body.is_some()) {
            let op = &doc["paths"][format!("{PREFIX}{}", e.path)][e.method.to_lowercase()];
            let schema = &op["requestBody"]["content"]["application/json"]["schema"];
            assert!(schema.is_object(), "{} {} has a body", e.method, e.path);
            visit(schema, &doc, &mut seen, &format!("{} {}", e.method, e.path));
        }
        for name in [
            "AdminRoleBody",
            "ChangeBody",
            "RuleBody",
            "Catalog",
            "Variant",
        ] {
            assert!(seen.contains(&name), "{name} was checked");
        }
    }

    /// One naming convention for every field of every body, request or
    /// response: camelCase (values such as `full_admin` are not fields).
    #[test]
    fn every_field_name_is_camel_case() {
        fn visit(v: &Value, at: &str) {
            match v {
                Value::Object(map) => {
                    if let Some(Value::Object(properties)) = map.get("properties") {
                        for field in properties.keys() {
                            assert!(
                                !field.contains('_') && !field.starts_with(char::is_uppercase),
                                "{at}: {field} is not camelCase"
                            );
                        }
                    }
                    for (k, v) in map {
                        visit(v, &format!("{at}/{k}"));
                    }
                }
                Value::Array(items) => items.iter().for_each(|v| visit(v, at)),
                _ => {}
            }
        }
        match serde_json::from_str::<Value>(document()) {
            Ok(doc) => visit(&doc["components"], "#/components"),
            Err(e) => panic!("the document is JSON: {e}"),
        }
    }

    /// `functions/api/console/codes.js` exports every error code, for the
    /// console to compare with; `UPDATE_OPENAPI=1 cargo test -p api openapi`
    /// rewrites it too.
    #[test]
    fn the_console_codes_are_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("console/codes.js");
        let module = crate::errors::console_module();
        if std::env::var_os("UPDATE_OPENAPI").is_some() {
            if let Err(e) = std::fs::write(&path, &module) {
                panic!("writing {}: {e}", path.display());
            }
            return;
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == module,
            "console/codes.js is out of date: run UPDATE_OPENAPI=1 cargo test -p api openapi"
        );
    }

    /// `docs/openapi.json` is this document, for readers and client
    /// generators; `UPDATE_OPENAPI=1 cargo test -p api openapi` rewrites it.
    #[test]
    fn the_committed_document_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
        let doc: Value = match serde_json::from_str(document()) {
            Ok(d) => d,
            Err(e) => panic!("the document is JSON: {e}"),
        };
        let pretty = match serde_json::to_string_pretty(&doc) {
            Ok(p) => p + "\n",
            Err(e) => panic!("{e}"),
        };
        if std::env::var_os("UPDATE_OPENAPI").is_some() {
            if let Err(e) = std::fs::write(&path, &pretty) {
                panic!("writing {}: {e}", path.display());
            }
            return;
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == pretty,
            "docs/openapi.json is out of date: run UPDATE_OPENAPI=1 cargo test -p api openapi"
        );
    }
}
