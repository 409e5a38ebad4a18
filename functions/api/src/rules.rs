//! Rules: list, create, read, replace, patch, delete, move, reorder and
//! preview. A handler parses the request (its `If-Match`, its body), calls
//! one method of [`RuleService`], which owns every decision (the checks, the
//! cap, the full-admin invariant of DESIGN §4, the guardrail, the retries
//! and versions, the activity entry), and renders the answer; refusals are
//! rendered by `service_errors`.

use std::collections::BTreeSet;

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use user_sync_aws::http::{HttpRequest, response};
use user_sync_core::clock::{RandomIds, SystemClock};
use user_sync_core::ids::RuleId;
use user_sync_core::ports::{
    Configuration, Directory, Organizations, ProductApi, StoredRule, SyncState, Templates,
};
use user_sync_core::rules::{AdminRole, Rule};
use user_sync_core::service::rules::{Move, ProposedChange, RuleError, RuleInput, RuleService};
use user_sync_core::sso::Caller;

use crate::body::{Json, body_from_value};
use crate::errors::{ApiError, ErrorCode};
use crate::routes::{json_response, ok};

/// What a handler needs.
pub struct Ctx<'a, D, S, P> {
    pub directory: &'a D,
    pub state: &'a S,
    pub product_api: &'a P,
    pub caller: &'a Caller,
}

/// The body of `POST /rules` and `PUT /rules/{id}`: a rule without its id
/// (`priority` left out: last).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuleBody {
    group_id: String,
    #[serde(default)]
    description: String,
    priority: Option<u32>,
    #[serde(default)]
    products: BTreeSet<String>,
    #[serde(default)]
    admin_role: Option<AdminRoleBody>,
    #[serde(default)]
    user_group: Option<String>,
    #[serde(default)]
    device_groups: BTreeSet<String>,
    #[serde(default)]
    settings_template: Option<String>,
    #[serde(default)]
    email_template: Option<String>,
    #[serde(default)]
    language: Option<String>,
    /// Go ahead although the guardrail would refuse.
    #[serde(default)]
    confirm: bool,
}

/// The admin role a rule sets: no admin rights, Full Admin, or a manager
/// with privileges over the user groups it manages. A rule without
/// `adminRole` (or with `null`) sets no role.
// Stricter than the stored `AdminRole`, which also reads `managed_groups`
// (rules stored before the rename): a request must say `managedGroups`.
// Every variant is a struct, even those without fields: serde lets a unit
// variant of an internally tagged enum ignore unknown fields.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum AdminRoleBody {
    None {},
    FullAdmin {},
    Manager {
        #[serde(default)]
        privileges: BTreeSet<String>,
        #[serde(default, rename = "managedGroups")]
        managed_groups: BTreeSet<String>,
    },
}

impl From<AdminRoleBody> for AdminRole {
    fn from(body: AdminRoleBody) -> Self {
        match body {
            AdminRoleBody::None {} => AdminRole::None,
            AdminRoleBody::FullAdmin {} => AdminRole::FullAdmin,
            AdminRoleBody::Manager {
                privileges,
                managed_groups,
            } => AdminRole::Manager {
                privileges,
                managed_groups,
            },
        }
    }
}

impl RuleBody {
    /// The rule it describes, and whether the guardrail is confirmed.
    fn into_input(self) -> (RuleInput, bool) {
        let input = RuleInput {
            group_id: self.group_id,
            description: self.description,
            priority: self.priority,
            products: self.products,
            admin_role: self.admin_role.map(AdminRole::from),
            user_group: self.user_group,
            device_groups: self.device_groups,
            settings_template: self.settings_template,
            email_template: self.email_template,
            language: self.language,
        };
        (input, self.confirm)
    }
}

/// The body of `PATCH /rules/{id}`: the fields of [`RuleBody`] to change,
/// every one optional.
#[derive(Debug)]
pub struct RulePatch;

impl JsonSchema for RulePatch {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "RulePatch".into()
    }

    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let mut schema = RuleBody::json_schema(g);
        schema.remove("required");
        schema
    }
}

/// A rule as the API shows it: with its version (also its ETag).
#[derive(Debug, Serialize, JsonSchema)]
pub struct RuleView {
    #[serde(flatten)]
    pub rule: Rule,
    pub version: u64,
}

/// The rules, highest priority first, and the version of their order (the
/// list's ETag, for `If-Match` on `PUT /rules/order`).
#[derive(Debug, Serialize, JsonSchema)]
pub struct RuleList {
    pub rules: Vec<RuleView>,
    pub version: u64,
}

/// The body of `POST /rules/{id}/move`: a direction or a target priority.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MoveBody {
    direction: Option<Direction>,
    priority: Option<u32>,
}

#[derive(Debug, Deserialize, Clone, Copy, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Direction {
    Up,
    Down,
}

/// The body of `PUT /rules/order`: every rule's id, highest priority first.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderBody {
    order: Vec<String>,
}

/// A change to preview.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum ChangeBody {
    Create {
        #[schemars(with = "RuleBody")]
        rule: Value,
    },
    Update {
        id: String,
        #[schemars(with = "RuleBody")]
        rule: Value,
    },
    Delete {
        id: String,
    },
    Reorder {
        order: Vec<String>,
    },
    SyncOn {},
}

/// The body of `POST /rules/preview`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewBody {
    change: ChangeBody,
}
fn etag(version: u64) -> String {
    format!("\"{version}\"")
}

/// The version an `If-Match` header names; `Ok(None)` for `*`.
pub(crate) fn if_match(req: &HttpRequest, required: bool) -> Result<Option<Option<u64>>, ApiError> {
    let Some(value) = req.header("if-match") else {
        if required {
            return Err(ApiError::new(
                428,
                ErrorCode::PreconditionRequired,
                "send If-Match with the ETag you read, so that another admin's change is not overwritten",
            ));
        }
        return Ok(None);
    };
    let v = value.trim();
    if v == "*" {
        return Ok(Some(None));
    }
    // "3" or W/"3", as ETag gave it
    v.strip_prefix("W/")
        .unwrap_or(v)
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|n| n.parse::<u64>().ok())
        .map(|n| Some(Some(n)))
        .ok_or_else(|| {
            ApiError::new(
                400,
                ErrorCode::InvalidHeader,
                "If-Match must be an ETag such as \"3\", or *",
            )
        })
}
fn rule_view(rule: &Rule, version: u64) -> RuleView {
    RuleView {
        rule: rule.clone(),
        version,
    }
}

fn list_view(rules: &[StoredRule], version: u64) -> RuleList {
    RuleList {
        rules: rules
            .iter()
            .map(|r| rule_view(&r.rule, r.version))
            .collect(),
        version,
    }
}

pub(crate) fn with_etag<T: Serialize>(
    status: u16,
    body: &T,
    version: u64,
) -> Result<ApiGatewayV2httpResponse, ApiError> {
    json_response(status, body, &[("etag", etag(version))])
}

fn parse_rule_id(s: &str) -> Result<RuleId, ApiError> {
    RuleId::parse(s).map_err(|_| RuleError::NotFound.into())
}

fn stored_response(status: u16, s: &StoredRule) -> Result<ApiGatewayV2httpResponse, ApiError> {
    with_etag(status, &rule_view(&s.rule, s.version), s.version)
}

/// The rules' service over the handler's ports.
type Rules<'a, D, S, P> = RuleService<'a, D, D, D, D, S, SystemClock, RandomIds, P>;

impl<D, S, P> Ctx<'_, D, S, P>
where
    D: Directory + Configuration + Organizations + Templates,
    S: SyncState,
    P: ProductApi,
{
    fn rules(&self) -> Rules<'_, D, S, P> {
        RuleService {
            config: self.directory,
            orgs: self.directory,
            product_api: self.product_api,
            templates: self.directory,
            directory: self.directory,
            state: self.state,
            clock: &SystemClock,
            ids: &RandomIds,
        }
    }

    pub async fn list(&self) -> Result<ApiGatewayV2httpResponse, ApiError> {
        let set = self.rules().list(&self.caller.org).await?;
        with_etag(200, &list_view(&set.rules, set.version), set.version)
    }

    pub async fn get(&self, id: &str) -> Result<ApiGatewayV2httpResponse, ApiError> {
        let id = parse_rule_id(id)?;
        let rule = self.rules().get(&self.caller.org, &id).await?;
        stored_response(200, &rule)
    }

    pub async fn create(
        &self,
        body: Json<'_, RuleBody>,
    ) -> Result<ApiGatewayV2httpResponse, ApiError> {
        let body = body.read()?;
        let (input, confirm) = body.into_input();
        let rule = self
            .rules()
            .create(&self.caller.org, &self.caller.name, input, confirm)
            .await?;
        stored_response(201, &rule)
    }

    /// `PUT` (`patch == false`) or `PATCH` of a rule: a `PATCH` body's
    /// fields are merged into the rule as stored.
    pub async fn replace(
        &self,
        id: &str,
        req: &HttpRequest,
        body: Json<'_, Value>,
        patch: bool,
    ) -> Result<ApiGatewayV2httpResponse, ApiError> {
        let id = parse_rule_id(id)?;
        let expected = if_match(req, true)?.flatten();
        let body = body.read()?;
        let Value::Object(fields) = body else {
            return Err(ApiError::new(
                400,
                ErrorCode::InvalidBody,
                "the body must be a JSON object",
            ));
        };
        let build = |current: &Rule| {
            let merged = if patch {
                let mut base = match json!(current) {
                    Value::Object(m) => m,
                    _ => Map::new(),
                };
                base.remove("id");
                base.extend(fields);
                Value::Object(base)
            } else {
                Value::Object(fields)
            };
            let body: RuleBody = body_from_value(merged, "")?;
            Ok::<_, ApiError>(body.into_input())
        };
        let rule = self
            .rules()
            .replace(&self.caller.org, &self.caller.name, &id, expected, build)
            .await?;
        stored_response(200, &rule)
    }

    pub async fn delete(
        &self,
        id: &str,
        req: &HttpRequest,
    ) -> Result<ApiGatewayV2httpResponse, ApiError> {
        let id = parse_rule_id(id)?;
        let expected = if_match(req, true)?.flatten();
        let confirm = confirmed(req)?;
        self.rules()
            .delete(&self.caller.org, &self.caller.name, &id, expected, confirm)
            .await?;
        Ok(response(204, "application/json", String::new(), &[]))
    }

    /// `POST /rules/{id}/move`: `{"direction": "up"|"down"}` or `{"priority": n}`.
    pub async fn move_rule(
        &self,
        id: &str,
        req: &HttpRequest,
        body: Json<'_, MoveBody>,
    ) -> Result<ApiGatewayV2httpResponse, ApiError> {
        let id = parse_rule_id(id)?;
        let expected = if_match(req, false)?.flatten();
        let body = body.read()?;
        let target = match (body.direction, body.priority) {
            (Some(Direction::Up), None) => Move::Up,
            (Some(Direction::Down), None) => Move::Down,
            (None, Some(p)) => Move::To(p),
            _ => {
                return Err(ApiError::new(
                    400,
                    ErrorCode::InvalidBody,
                    "give either \"direction\" (\"up\" or \"down\") or \"priority\"",
                ));
            }
        };
        let written = self
            .rules()
            .move_rule(&self.caller.org, &self.caller.name, &id, expected, target)
            .await?;
        with_etag(
            200,
            &list_view(&written.rules, written.version),
            written.version,
        )
    }

    /// `PUT /rules/order`: `{"order": [every rule id, highest priority first]}`.
    pub async fn reorder(
        &self,
        req: &HttpRequest,
        body: Json<'_, OrderBody>,
    ) -> Result<ApiGatewayV2httpResponse, ApiError> {
        let expected = if_match(req, true)?.flatten();
        let body = body.read()?;
        let written = self
            .rules()
            .reorder(&self.caller.org, &self.caller.name, &body.order, expected)
            .await?;
        with_etag(
            200,
            &list_view(&written.rules, written.version),
            written.version,
        )
    }

    /// `POST /rules/preview`: what a change would do, without doing it.
    pub async fn preview(
        &self,
        body: Json<'_, PreviewBody>,
    ) -> Result<ApiGatewayV2httpResponse, ApiError> {
        let body = body.read()?;
        let change = match body.change {
            ChangeBody::Create { rule } => ProposedChange::Create(rule),
            ChangeBody::Update { id, rule } => ProposedChange::Update { id, rule },
            ChangeBody::Delete { id } => ProposedChange::Delete(id),
            ChangeBody::Reorder { order } => ProposedChange::Reorder(order),
            ChangeBody::SyncOn {} => ProposedChange::SyncOn,
        };
        let rule = |v: Value| {
            let body: RuleBody = body_from_value(v, "change.rule")?;
            Ok::<_, ApiError>(body.into_input().0)
        };
        let view = self.rules().preview(&self.caller.org, change, rule).await?;
        ok(&view)
    }
}

/// `?confirm=true` (for requests without a body).
fn confirmed(req: &HttpRequest) -> Result<bool, ApiError> {
    match req.query.get("confirm").map(String::as_str) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(ApiError::new(
            400,
            ErrorCode::InvalidQuery,
            "confirm must be true or false",
        )),
    }
}
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::body::body_from_slice;
    use user_sync_core::ids::GroupId;
    use user_sync_core::rules::Priority;

    fn rule_body(json: &str) -> Result<RuleBody, ApiError> {
        body_from_slice(json.as_bytes())
    }

    fn refused(json: &str) -> (u16, &'static str, String) {
        let e = rule_body(json).unwrap_err();
        (e.status, e.code.as_str(), e.message)
    }

    #[test]
    fn a_manager_role_takes_managed_groups_in_camel_case() {
        let body = rule_body(
            r#"{"groupId":"g1","adminRole":{"type":"manager","privileges":["manage_users"],"managedGroups":["sales"]}}"#,
        )
        .unwrap();
        assert_eq!(
            body.admin_role.map(AdminRole::from),
            Some(AdminRole::Manager {
                privileges: BTreeSet::from(["manage_users".to_owned()]),
                managed_groups: BTreeSet::from(["sales".to_owned()]),
            })
        );
        for (json, role) in [
            (r#"{"type":"none"}"#, AdminRole::None),
            (r#"{"type":"full_admin"}"#, AdminRole::FullAdmin),
        ] {
            let body = rule_body(&format!(r#"{{"groupId":"g1","adminRole":{json}}}"#)).unwrap();
            assert_eq!(body.admin_role.map(AdminRole::from), Some(role), "{json}");
        }
    }

    #[test]
    fn every_admin_role_refuses_unknown_fields_naming_their_path() {
        // the stored rules' old spelling is not taken from a request
        assert_eq!(
            refused(
                r#"{"groupId":"g1","adminRole":{"type":"manager","managed_groups":["sales"]}}"#
            ),
            (
                422,
                "unknown_field",
                "adminRole.managed_groups: unknown field, expected `privileges` or `managedGroups`"
                    .to_owned()
            )
        );
        assert_eq!(
            refused(r#"{"groupId":"g1","adminRole":{"type":"manager","managedGroup":[]}}"#).2,
            "adminRole.managedGroup: unknown field, expected `privileges` or `managedGroups`"
        );
        // variants without fields too (serde lets unit variants of a tagged
        // enum ignore them)
        for role in ["none", "full_admin"] {
            assert_eq!(
                refused(&format!(
                    r#"{{"groupId":"g1","adminRole":{{"type":"{role}","privileges":[]}}}}"#
                )),
                (
                    422,
                    "unknown_field",
                    "adminRole.privileges: unknown field, no other field is allowed here"
                        .to_owned()
                ),
                "{role}"
            );
        }
    }

    #[test]
    fn a_misspelt_rule_field_is_422_naming_the_fields_allowed() {
        let (status, code, detail) = refused(r#"{"groupId":"g1","descripton":"x"}"#);
        assert_eq!((status, code), (422, "unknown_field"));
        assert!(
            detail.starts_with(
                "descripton: unknown field, expected one of `groupId`, `description`,"
            ),
            "{detail}"
        );
        assert!(detail.contains("`adminRole`"), "{detail}");
    }

    #[test]
    fn a_preview_names_the_path_inside_its_change() {
        let body: PreviewBody = body_from_slice(
            br#"{"change":{"kind":"create","rule":{"groupId":"g1","adminRole":{"type":"manager","managedGroup":[]}}}}"#,
        )
        .unwrap();
        let ChangeBody::Create { rule } = body.change else {
            panic!("a create change");
        };
        let e = body_from_value::<RuleBody>(rule, "change.rule").unwrap_err();
        assert_eq!((e.status, e.code.as_str()), (422, "unknown_field"));
        assert!(
            e.message
                .starts_with("change.rule.adminRole.managedGroup: unknown field"),
            "{}",
            e.message
        );
        // the change itself is a tagged enum as well
        let e = body_from_slice::<PreviewBody>(br#"{"change":{"kind":"sync_on","rule":{}}}"#)
            .unwrap_err();
        assert_eq!(
            (e.status, e.code.as_str(), e.message.as_str()),
            (
                422,
                "unknown_field",
                "change.rule: unknown field, no other field is allowed here"
            )
        );
    }

    #[test]
    fn a_stored_rule_patched_reads_back_as_a_body() {
        // PATCH merges the fields sent into the rule as stored and served
        let rule = Rule {
            id: RuleId::parse("r1").unwrap(),
            group_id: GroupId::parse("g1").unwrap(),
            description: String::new(),
            priority: Priority::new(1).unwrap(),
            products: BTreeSet::new(),
            admin_role: Some(AdminRole::Manager {
                privileges: BTreeSet::new(),
                managed_groups: BTreeSet::from(["sales".to_owned()]),
            }),
            user_group: None,
            device_groups: BTreeSet::new(),
            settings_template: None,
            email_template: None,
            language: None,
        };
        let Value::Object(mut fields) = json!(rule) else {
            panic!("a rule is an object");
        };
        fields.remove("id");
        let body: RuleBody = body_from_value(Value::Object(fields), "").unwrap();
        assert_eq!(body.admin_role.map(AdminRole::from), rule.admin_role);
    }
}
