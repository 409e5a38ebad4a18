//! The admin API's endpoints, as one table: the router finds a request's
//! endpoint in it (so nothing is served that the table does not name), and
//! the OpenAPI 3.1 document served at `/api/v1/openapi.json` is built from
//! it, with every body's JSON Schema derived from the Rust type that reads
//! or writes that body.

use std::sync::OnceLock;

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::{Map, Value, json};

use crate::PREFIX;
use crate::routes::{ApiError, MAX_LIMIT, MAX_PRODUCT, MAX_SEARCH, Problem};

/// A JSON Schema for one body or parameter, registered with the generator.
pub type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

/// The schema of `T` (a `$ref` to its component when it has a name).
pub fn schema<T: JsonSchema>(g: &mut SchemaGenerator) -> Schema {
    g.subschema_for::<T>()
}

/// Every operation of the admin API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    OpenApi,
    ListRules,
    CreateRule,
    PreviewRuleChange,
    ReorderRules,
    GetRule,
    ReplaceRule,
    PatchRule,
    DeleteRule,
    MoveRule,
    GetSync,
    PutSync,
    ListFailures,
    FailureDetails,
    RetrySync,
    GetCatalog,
    PutCatalog,
    ListActivity,
    ExportActivity,
    GetActivitySettings,
    PutActivitySettings,
    ListUsers,
    GetUser,
    ExplainUser,
    GetCustomAttributes,
    PutCustomAttributes,
    ListGroups,
    GetGroup,
    ListGroupMembers,
    ListTemplates,
    CreateTemplate,
    GetTemplate,
    ReplaceTemplate,
    DeleteTemplate,
    PreviewTemplate,
    ListDomains,
    AddDomain,
    VerifyDomain,
    RemoveDomain,
}

/// Whether an endpoint reads `If-Match`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precondition {
    None,
    Optional,
    Required,
}

/// What a successful request answers.
#[derive(Debug, Clone, Copy)]
pub enum Success {
    /// JSON with this status and schema; `etag`: with an `ETag` header.
    Json {
        status: u16,
        schema: SchemaFn,
        etag: bool,
    },
    /// `204 No Content`.
    Empty,
    /// The activity export: CSV or JSON lines.
    Export,
}

/// A query parameter.
#[derive(Debug, Clone, Copy)]
pub struct Query {
    pub name: &'static str,
    pub description: &'static str,
    pub schema: SchemaFn,
    pub required: bool,
}

/// One endpoint: a method on a path (below `/api/v1`; `{name}` is a path
/// parameter).
#[derive(Debug, Clone, Copy)]
pub struct Endpoint {
    pub op: Op,
    pub method: &'static str,
    pub path: &'static str,
    pub summary: &'static str,
    pub tag: &'static str,
    pub query: &'static [Query],
    pub if_match: Precondition,
    /// The request body; `body_optional`: it may be left out.
    pub body: Option<SchemaFn>,
    pub body_optional: bool,
    pub success: Success,
    /// The error statuses particular to this endpoint (those every
    /// authenticated endpoint can answer are added to all).
    pub errors: &'static [u16],
}

fn limit_schema(_: &mut SchemaGenerator) -> Schema {
    schemars::json_schema!({"type": "integer", "minimum": 1, "maximum": MAX_LIMIT})
}

fn product_schema(_: &mut SchemaGenerator) -> Schema {
    schemars::json_schema!({"type": "string", "minLength": 1, "maxLength": MAX_PRODUCT})
}

fn search_schema(_: &mut SchemaGenerator) -> Schema {
    schemars::json_schema!({"type": "string", "maxLength": MAX_SEARCH})
}

fn cursor_schema(_: &mut SchemaGenerator) -> Schema {
    schemars::json_schema!({"type": "string", "maxLength": 512})
}

fn time_schema(_: &mut SchemaGenerator) -> Schema {
    schemars::json_schema!({"type": "string", "format": "date-time"})
}

fn format_schema(_: &mut SchemaGenerator) -> Schema {
    schemars::json_schema!({"type": "string", "enum": ["csv", "jsonl"]})
}

const LIMIT: Query = Query {
    name: "limit",
    description: "page size (default 50)",
    schema: limit_schema,
    required: false,
};
const CURSOR: Query = Query {
    name: "cursor",
    description: "`nextCursor` of the previous page",
    schema: cursor_schema,
    required: false,
};
const SEARCH: Query = Query {
    name: "search",
    description: "keeps what contains this text, ignoring case",
    schema: search_schema,
    required: false,
};
const PRODUCT: Query = Query {
    name: "product",
    description: "a product of the catalogue (out_of_licenses is counted per product)",
    schema: product_schema,
    required: false,
};
fn domain_schema(_: &mut SchemaGenerator) -> Schema {
    schemars::json_schema!({"type": "string", "minLength": 1, "maxLength": user_sync_core::domains::MAX_DOMAIN_LEN})
}
const DOMAIN: Query = Query {
    name: "domain",
    description: "an email domain (unverified_domain is counted per domain)",
    schema: domain_schema,
    required: false,
};
const CONFIRM: Query = Query {
    name: "confirm",
    description: "go ahead although the mass-suspension guardrail would refuse",
    schema: schema::<bool>,
    required: false,
};

const ACTIVITY_FILTERS: [Query; 7] = [
    Query {
        name: "action",
        description: "only this action",
        schema: schema::<user_sync_core::activity::Action>,
        required: false,
    },
    Query {
        name: "outcome",
        description: "only this outcome",
        schema: schema::<user_sync_core::state::Outcome>,
        required: false,
    },
    Query {
        name: "failureClass",
        description: "only failures of this class",
        schema: schema::<user_sync_core::state::FailureClass>,
        required: false,
    },
    Query {
        name: "userId",
        description: "only entries about this user (not with ruleId)",
        schema: schema::<user_sync_core::ids::UserId>,
        required: false,
    },
    Query {
        name: "ruleId",
        description: "only entries about this rule (not with userId)",
        schema: schema::<user_sync_core::ids::RuleId>,
        required: false,
    },
    Query {
        name: "from",
        description: "oldest time, RFC 3339",
        schema: time_schema,
        required: false,
    },
    Query {
        name: "to",
        description: "newest time, RFC 3339",
        schema: time_schema,
        required: false,
    },
];

const fn get(op: Op, path: &'static str, tag: &'static str, summary: &'static str) -> Endpoint {
    Endpoint {
        op,
        method: "GET",
        path,
        summary,
        tag,
        query: &[],
        if_match: Precondition::None,
        body: None,
        body_optional: false,
        success: Success::Empty,
        errors: &[],
    }
}

const fn write(
    op: Op,
    method: &'static str,
    path: &'static str,
    tag: &'static str,
    summary: &'static str,
    body: SchemaFn,
) -> Endpoint {
    Endpoint {
        method,
        body: Some(body),
        errors: &[400, 413, 422],
        ..get(op, path, tag, summary)
    }
}

const fn json(status: u16, schema: SchemaFn) -> Success {
    Success::Json {
        status,
        schema,
        etag: false,
    }
}

const fn tagged(status: u16, schema: SchemaFn) -> Success {
    Success::Json {
        status,
        schema,
        etag: true,
    }
}

use crate::activity::{ActivityPage, RetentionBody, RetentionSettings};
use crate::catalog::CatalogView;
use crate::custom_attributes::{Attributes, AttributesView};
use crate::domains::{AddDomainBody, DomainList, DomainView};
use crate::explain::Explanation;
use crate::failures::{FailureDetails, FailureSummary, RetryBody, RetryResult};
use crate::groups::{GroupPage, GroupView, MemberPage};
use crate::preview::PreviewView;
use crate::routes::{SyncBody, SyncView};
use crate::rules::{MoveBody, OrderBody, PreviewBody, RuleBody, RuleList, RulePatch, RuleView};
use crate::templates::{
    RenderedEmail, TemplateBody, TemplateList, TemplatePreviewBody, TemplateView,
};
use crate::users::{UserPage, UserView};
use user_sync_core::catalog::Catalog;
use user_sync_core::ports::SyncSettings;

const RULES: &str = "Rules";
const SYNC: &str = "Sync";
const DIRECTORY: &str = "Directory";
const ACTIVITY: &str = "Activity history";
const SETTINGS: &str = "Settings";
const TEMPLATES: &str = "Welcome emails";
const DOMAINS: &str = "Domains";

/// The admin API. The router matches requests against it in order.
pub static ENDPOINTS: &[Endpoint] = &[
    Endpoint {
        success: Success::Json {
            status: 200,
            schema: openapi_schema,
            etag: false,
        },
        ..get(
            Op::OpenApi,
            "/openapi.json",
            "Meta",
            "This document (no token needed)",
        )
    },
    Endpoint {
        success: tagged(200, schema::<RuleList>),
        ..get(
            Op::ListRules,
            "/rules",
            RULES,
            "The rules, highest priority first",
        )
    },
    Endpoint {
        success: tagged(201, schema::<RuleView>),
        errors: &[400, 409, 413, 422],
        ..write(
            Op::CreateRule,
            "POST",
            "/rules",
            RULES,
            "Create a rule",
            schema::<RuleBody>,
        )
    },
    Endpoint {
        success: json(200, schema::<PreviewView>),
        errors: &[400, 404, 413, 422],
        ..write(
            Op::PreviewRuleChange,
            "POST",
            "/rules/preview",
            RULES,
            "What a rule change would do, without doing it",
            schema::<PreviewBody>,
        )
    },
    Endpoint {
        success: tagged(200, schema::<RuleList>),
        if_match: Precondition::Required,
        errors: &[400, 409, 412, 413, 422, 428],
        ..write(
            Op::ReorderRules,
            "PUT",
            "/rules/order",
            RULES,
            "Set the full order of the rules",
            schema::<OrderBody>,
        )
    },
    Endpoint {
        success: tagged(200, schema::<RuleView>),
        ..get(Op::GetRule, "/rules/{ruleId}", RULES, "One rule")
    },
    Endpoint {
        success: tagged(200, schema::<RuleView>),
        if_match: Precondition::Required,
        errors: &[400, 409, 412, 413, 422, 428],
        ..write(
            Op::ReplaceRule,
            "PUT",
            "/rules/{ruleId}",
            RULES,
            "Replace a rule",
            schema::<RuleBody>,
        )
    },
    Endpoint {
        success: tagged(200, schema::<RuleView>),
        if_match: Precondition::Required,
        errors: &[400, 409, 412, 413, 422, 428],
        ..write(
            Op::PatchRule,
            "PATCH",
            "/rules/{ruleId}",
            RULES,
            "Change some fields of a rule",
            schema::<RulePatch>,
        )
    },
    Endpoint {
        method: "DELETE",
        query: &[CONFIRM],
        if_match: Precondition::Required,
        success: Success::Empty,
        errors: &[400, 409, 412, 428],
        ..get(Op::DeleteRule, "/rules/{ruleId}", RULES, "Delete a rule")
    },
    Endpoint {
        success: tagged(200, schema::<RuleList>),
        if_match: Precondition::Optional,
        errors: &[400, 409, 412, 413, 422],
        ..write(
            Op::MoveRule,
            "POST",
            "/rules/{ruleId}/move",
            RULES,
            "Move a rule up, down or to a priority",
            schema::<MoveBody>,
        )
    },
    Endpoint {
        success: json(200, schema::<SyncView>),
        ..get(
            Op::GetSync,
            "/sync",
            SYNC,
            "Sync on or off, and its progress",
        )
    },
    Endpoint {
        success: json(200, schema::<SyncSettings>),
        errors: &[400, 409, 413, 422],
        ..write(
            Op::PutSync,
            "PUT",
            "/sync",
            SYNC,
            "Turn sync on or off",
            schema::<SyncBody>,
        )
    },
    Endpoint {
        success: json(200, schema::<FailureSummary>),
        ..get(
            Op::ListFailures,
            "/sync/failures",
            SYNC,
            "One banner per failure class",
        )
    },
    Endpoint {
        success: json(200, schema::<FailureDetails>),
        query: &[PRODUCT, DOMAIN, LIMIT, CURSOR],
        errors: &[400],
        ..get(
            Op::FailureDetails,
            "/sync/failures/{class}",
            SYNC,
            "The users of one failure class (a banner's Details)",
        )
    },
    Endpoint {
        success: json(200, schema::<RetryResult>),
        body_optional: true,
        errors: &[400, 413, 422],
        ..write(
            Op::RetrySync,
            "POST",
            "/sync/retry",
            SYNC,
            "Retry sync: send the organization's failed users and welcome emails again",
            schema::<RetryBody>,
        )
    },
    Endpoint {
        success: tagged(200, schema::<CatalogView>),
        ..get(
            Op::GetCatalog,
            "/catalog",
            SETTINGS,
            "Products, privileges, user groups, device groups, settings templates",
        )
    },
    Endpoint {
        success: tagged(200, schema::<CatalogView>),
        if_match: Precondition::Required,
        errors: &[400, 409, 412, 413, 422, 428],
        ..write(
            Op::PutCatalog,
            "PUT",
            "/catalog",
            SETTINGS,
            "Replace the catalogue",
            schema::<Catalog>,
        )
    },
    Endpoint {
        success: json(200, schema::<ActivityPage>),
        query: &[
            ACTIVITY_FILTERS[0],
            ACTIVITY_FILTERS[1],
            ACTIVITY_FILTERS[2],
            ACTIVITY_FILTERS[3],
            ACTIVITY_FILTERS[4],
            ACTIVITY_FILTERS[5],
            ACTIVITY_FILTERS[6],
            LIMIT,
            CURSOR,
        ],
        errors: &[400],
        ..get(
            Op::ListActivity,
            "/activity",
            ACTIVITY,
            "The activity history, newest first",
        )
    },
    Endpoint {
        success: Success::Export,
        query: &[
            Query {
                name: "format",
                description: "csv or jsonl (JSON lines)",
                schema: format_schema,
                required: true,
            },
            ACTIVITY_FILTERS[0],
            ACTIVITY_FILTERS[1],
            ACTIVITY_FILTERS[2],
            ACTIVITY_FILTERS[3],
            ACTIVITY_FILTERS[4],
            ACTIVITY_FILTERS[5],
            ACTIVITY_FILTERS[6],
            CURSOR,
        ],
        errors: &[400],
        ..get(
            Op::ExportActivity,
            "/activity/export",
            ACTIVITY,
            "Export the activity history as CSV or JSON lines",
        )
    },
    Endpoint {
        success: tagged(200, schema::<RetentionSettings>),
        ..get(
            Op::GetActivitySettings,
            "/activity/settings",
            ACTIVITY,
            "How long the history is kept",
        )
    },
    Endpoint {
        success: tagged(200, schema::<RetentionSettings>),
        if_match: Precondition::Required,
        errors: &[400, 412, 413, 422, 428],
        ..write(
            Op::PutActivitySettings,
            "PUT",
            "/activity/settings",
            ACTIVITY,
            "Set how long the history is kept",
            schema::<RetentionBody>,
        )
    },
    Endpoint {
        success: json(200, schema::<UserPage>),
        query: &[
            SEARCH,
            Query {
                name: "status",
                description: "only users with this sync status",
                schema: schema::<user_sync_core::progress::UserSyncStatus>,
                required: false,
            },
            Query {
                name: "failureClass",
                description: "only users failed with this class",
                schema: schema::<user_sync_core::state::FailureClass>,
                required: false,
            },
            PRODUCT,
            LIMIT,
            CURSOR,
        ],
        errors: &[400],
        ..get(
            Op::ListUsers,
            "/users",
            DIRECTORY,
            "Users and their sync status",
        )
    },
    Endpoint {
        success: json(200, schema::<UserView>),
        ..get(
            Op::GetUser,
            "/users/{userId}",
            DIRECTORY,
            "One user, its sync status and attributes",
        )
    },
    Endpoint {
        success: json(200, schema::<Explanation>),
        ..get(
            Op::ExplainUser,
            "/users/{userId}/assignment",
            DIRECTORY,
            "Which rule gave a user which field, and the last outcome",
        )
    },
    Endpoint {
        success: tagged(200, schema::<AttributesView>),
        ..get(
            Op::GetCustomAttributes,
            "/custom-attributes",
            SETTINGS,
            "The SCIM extension attributes the organization captures",
        )
    },
    Endpoint {
        success: tagged(200, schema::<AttributesView>),
        if_match: Precondition::Required,
        errors: &[400, 412, 413, 422, 428],
        ..write(
            Op::PutCustomAttributes,
            "PUT",
            "/custom-attributes",
            SETTINGS,
            "Set the captured extension attributes",
            schema::<Attributes>,
        )
    },
    Endpoint {
        success: json(200, schema::<GroupPage>),
        query: &[SEARCH, LIMIT, CURSOR],
        errors: &[400],
        ..get(
            Op::ListGroups,
            "/groups",
            DIRECTORY,
            "The directory's groups (read-only: they come from the directory)",
        )
    },
    Endpoint {
        success: json(200, schema::<GroupView>),
        ..get(Op::GetGroup, "/groups/{groupId}", DIRECTORY, "One group")
    },
    Endpoint {
        success: json(200, schema::<MemberPage>),
        query: &[LIMIT, CURSOR],
        errors: &[400],
        ..get(
            Op::ListGroupMembers,
            "/groups/{groupId}/members",
            DIRECTORY,
            "A group's members",
        )
    },
    Endpoint {
        success: json(200, schema::<TemplateList>),
        ..get(
            Op::ListTemplates,
            "/templates",
            TEMPLATES,
            "Welcome-email templates",
        )
    },
    Endpoint {
        success: tagged(201, schema::<TemplateView>),
        errors: &[400, 409, 413, 422],
        ..write(
            Op::CreateTemplate,
            "POST",
            "/templates",
            TEMPLATES,
            "Create a template",
            schema::<TemplateBody>,
        )
    },
    Endpoint {
        success: tagged(200, schema::<TemplateView>),
        ..get(
            Op::GetTemplate,
            "/templates/{templateId}",
            TEMPLATES,
            "One template",
        )
    },
    Endpoint {
        success: tagged(200, schema::<TemplateView>),
        if_match: Precondition::Required,
        errors: &[400, 405, 412, 413, 422, 428],
        ..write(
            Op::ReplaceTemplate,
            "PUT",
            "/templates/{templateId}",
            TEMPLATES,
            "Replace a template",
            schema::<TemplateBody>,
        )
    },
    Endpoint {
        method: "DELETE",
        if_match: Precondition::Required,
        success: Success::Empty,
        errors: &[400, 405, 409, 412, 428],
        ..get(
            Op::DeleteTemplate,
            "/templates/{templateId}",
            TEMPLATES,
            "Delete a template no rule uses",
        )
    },
    Endpoint {
        success: json(200, schema::<RenderedEmail>),
        body_optional: true,
        errors: &[400, 413, 422],
        ..write(
            Op::PreviewTemplate,
            "POST",
            "/templates/{templateId}/preview",
            TEMPLATES,
            "Render a template as a user would receive it",
            schema::<TemplatePreviewBody>,
        )
    },
    Endpoint {
        success: json(200, schema::<DomainList>),
        ..get(
            Op::ListDomains,
            "/domains",
            DOMAINS,
            "The organization's domains, their state and the record to publish",
        )
    },
    Endpoint {
        success: json(201, schema::<DomainView>),
        errors: &[400, 409, 413, 422],
        ..write(
            Op::AddDomain,
            "POST",
            "/domains",
            DOMAINS,
            "Add a domain: its verification token and the DNS TXT record to publish",
            schema::<AddDomainBody>,
        )
    },
    Endpoint {
        method: "POST",
        success: json(200, schema::<DomainView>),
        errors: &[404, 409],
        ..get(
            Op::VerifyDomain,
            "/domains/{domain}/verify",
            DOMAINS,
            "Look the domain's TXT record up and verify it (409: not found, held by another organization, or the lookup failed)",
        )
    },
    Endpoint {
        method: "DELETE",
        success: Success::Empty,
        errors: &[404],
        ..get(
            Op::RemoveDomain,
            "/domains/{domain}",
            DOMAINS,
            "Remove a domain",
        )
    },
];

/// Where an answer's ids lead (OpenAPI links): from an operation, to
/// operations, the path parameter they fill and where its value is.
static LINKS: &[(Op, &[Op], &str, &str)] = &[
    (
        Op::ListRules,
        RULE_OPS,
        "ruleId",
        "$response.body#/rules/0/id",
    ),
    (Op::CreateRule, RULE_OPS, "ruleId", "$response.body#/id"),
    (
        Op::ListTemplates,
        TEMPLATE_OPS,
        "templateId",
        "$response.body#/items/0/id",
    ),
    (
        Op::CreateTemplate,
        TEMPLATE_OPS,
        "templateId",
        "$response.body#/id",
    ),
    (
        Op::ListGroups,
        GROUP_OPS,
        "groupId",
        "$response.body#/items/0/id",
    ),
    (
        Op::ListUsers,
        USER_OPS,
        "userId",
        "$response.body#/items/0/id",
    ),
    (
        Op::ListGroupMembers,
        USER_OPS,
        "userId",
        "$response.body#/items/0/id",
    ),
    (
        Op::ListFailures,
        &[Op::FailureDetails],
        "class",
        "$response.body#/failures/0/class",
    ),
];
const RULE_OPS: &[Op] = &[
    Op::GetRule,
    Op::ReplaceRule,
    Op::PatchRule,
    Op::MoveRule,
    Op::DeleteRule,
];
const TEMPLATE_OPS: &[Op] = &[
    Op::GetTemplate,
    Op::ReplaceTemplate,
    Op::PreviewTemplate,
    Op::DeleteTemplate,
];
const GROUP_OPS: &[Op] = &[Op::GetGroup, Op::ListGroupMembers];
const USER_OPS: &[Op] = &[Op::GetUser, Op::ExplainUser];

fn links(op: Op) -> Map<String, Value> {
    LINKS
        .iter()
        .filter(|(from, ..)| *from == op)
        .flat_map(|(_, to, parameter, expression)| {
            to.iter().map(move |t| {
                (
                    format!("{t:?}"),
                    json!({
                        "operationId": operation_id(*t),
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
        "domain" => {
            schemars::json_schema!({"type": "string", "minLength": 1, "maxLength": user_sync_core::domains::MAX_DOMAIN_LEN})
        }
        _ => schemars::json_schema!({"type": "string"}),
    }
}

/// Where a request goes: its endpoint and the values of its path
/// parameters, or `404`, or `405` (with the methods the path allows).
pub fn find<'r>(
    method: &str,
    segments: &[&'r str],
) -> Result<(&'static Endpoint, Vec<&'r str>), ApiError> {
    // the most literal template that fits the path wins ("/rules/order"
    // over "/rules/{ruleId}")
    let mut best: Option<(usize, &'static str)> = None;
    for e in ENDPOINTS {
        if let Some(literals) = fits(e.path, segments)
            && best.is_none_or(|(l, _)| literals > l)
        {
            best = Some((literals, e.path));
        }
    }
    let Some((_, path)) = best else {
        return Err(ApiError::new(404, "not_found", "no such endpoint"));
    };
    let on_path = || ENDPOINTS.iter().filter(move |e| e.path == path);
    if let Some(e) = on_path().find(|e| e.method == method) {
        let params = template(e.path)
            .zip(segments)
            .filter(|(t, _)| t.starts_with('{'))
            .map(|(_, s)| *s)
            .collect();
        return Ok((e, params));
    }
    let allow = on_path().map(|e| e.method).collect::<Vec<_>>().join(", ");
    let refusal = if path.starts_with("/groups") {
        crate::groups::read_only()
    } else {
        ApiError::new(
            405,
            "method_not_allowed",
            format!("{method} is not allowed here; use {allow}"),
        )
    };
    Err(refusal.with_allow(allow))
}

fn template(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty())
}

/// How many literal segments of `path` a request's segments match, if all
/// of them fit.
fn fits(path: &str, segments: &[&str]) -> Option<usize> {
    if template(path).count() != segments.len() {
        return None;
    }
    let mut literals = 0;
    for (t, s) in template(path).zip(segments) {
        if t.starts_with('{') {
            if s.is_empty() {
                return None;
            }
        } else if t == *s {
            literals += 1;
        } else {
            return None;
        }
    }
    Some(literals)
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
            "The body is well-formed but not valid: a field it may not have (unknown_field, at any depth), or a value the organization does not allow (e.g. a product not in the catalogue)"
        }
        428 => "If-Match is required (send the ETag you read)",
        429 => {
            "The organization sent more admin requests than its limit in this 10-second window: wait Retry-After seconds"
        }
        500 => "Internal error",
        503 => "Storage temporarily unavailable; retry later",
        _ => "Error",
    }
}

/// The name of an error status's shared response.
fn error_name(status: u16) -> String {
    format!("Problem{status}")
}

/// Every error status's response: a problem.
fn error_responses(g: &mut SchemaGenerator) -> Map<String, Value> {
    let problem = schema::<Problem>(g);
    let mut statuses: Vec<u16> = ENDPOINTS
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

fn operation(e: &Endpoint, g: &mut SchemaGenerator) -> Value {
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
            let links = links(e.op);
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
    let public = e.op == Op::OpenApi;
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
        "operationId": operation_id(e.op),
        "summary": e.summary,
        "tags": [e.tag],
        "parameters": parameters,
        "responses": responses,
    });
    if public {
        op["security"] = json!([]);
    }
    if let Some(body) = e.body {
        op["requestBody"] = json!({
            "required": !e.body_optional,
            "content": {"application/json": {"schema": body(g)}},
        });
    }
    op
}

fn operation_id(op: Op) -> String {
    let name = format!("{op:?}");
    let mut chars = name.chars();
    chars
        .next()
        .map(|c| c.to_lowercase().collect::<String>() + chars.as_str())
        .unwrap_or_default()
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
    let mut paths = Map::new();
    for e in ENDPOINTS {
        let op = operation(e, &mut g);
        let item = paths
            .entry(format!("{PREFIX}{}", e.path))
            .or_insert_with(|| json!({}));
        item[e.method.to_lowercase()] = op;
    }
    let responses = error_responses(&mut g);
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "User Sync admin API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Rules that map directory groups to product entitlements, sync on/off and progress, failures and Retry sync, users, activity history, welcome-email templates. Authenticate with the organization's admin token as a bearer token; errors are RFC 9457 problem details (application/problem+json) whose `type` is urn:user-sync:problem:{code}. See docs/admin-api.md.",
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "paths": paths,
        "components": {
            "responses": responses,
            "schemas": g.take_definitions(true),
            "securitySchemes": {"adminToken": {
                "type": "http",
                "scheme": "bearer",
                "description": "the organization's admin token (ops token create <org> admin <name>)",
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
    fn literal_paths_win_over_parameters() {
        let Ok((e, params)) = find("PUT", &["rules", "order"]) else {
            panic!("PUT /rules/order is an endpoint");
        };
        assert_eq!(e.op, Op::ReorderRules);
        assert!(params.is_empty());
        let Ok((e, params)) = find("GET", &["rules", "r-1"]) else {
            panic!("GET /rules/{{id}} is an endpoint");
        };
        assert_eq!(e.op, Op::GetRule);
        assert_eq!(params, ["r-1"]);
    }

    #[test]
    fn a_known_path_with_another_method_is_405_with_allow() {
        let Err(e) = find("GET", &["rules", "order"]) else {
            panic!("GET /rules/order is not an endpoint");
        };
        assert_eq!(e.status, 405);
        assert_eq!(e.allow.as_deref(), Some("PUT"));
        let Err(e) = find("POST", &["groups"]) else {
            panic!("groups are read-only");
        };
        assert_eq!((e.status, e.allow.as_deref()), (405, Some("GET")));
        assert!(e.message.contains("directory"), "{}", e.message);
        let Err(e) = find("GET", &["nothing"]) else {
            panic!("no such path");
        };
        assert_eq!(e.status, 404);
    }

    #[test]
    fn every_operation_is_in_the_document_once() {
        let doc: Value = match serde_json::from_str(document()) {
            Ok(d) => d,
            Err(e) => panic!("the document is JSON: {e}"),
        };
        assert_eq!(doc["openapi"], "3.1.0");
        let mut ids = Vec::new();
        for e in ENDPOINTS {
            let op = &doc["paths"][format!("{PREFIX}{}", e.path)][e.method.to_lowercase()];
            assert!(op.is_object(), "{} {} is documented", e.method, e.path);
            ids.push(op["operationId"].as_str().unwrap_or_default().to_owned());
        }
        let count = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), count, "operation ids are unique");
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
        for e in ENDPOINTS.iter().filter(|e| e.body.is_some()) {
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
        for e in ENDPOINTS.iter().filter(|e| e.body.is_some()) {
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
