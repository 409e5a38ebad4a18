//! Rules: list, create, read, replace, patch, delete, move, reorder and
//! preview. Every write checks the full-admin invariant (DESIGN §4) and,
//! while sync is on, the mass-suspension guardrail; concurrent writers are
//! told apart by ETags (`412`), and a write never lands on a configuration
//! other than the one it checked.

use std::collections::BTreeSet;

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tracing::info;
use user_sync_aws::http::{HttpRequest, response};
use user_sync_core::StoreError;
use user_sync_core::activity::{Action, ActivityEntry, Subject, SubjectKind};
use user_sync_core::auth::StoredToken;
use user_sync_core::ids::{GroupId, RuleId, TemplateId, new_id};
use user_sync_core::mail::template::canonical_language;
use user_sync_core::ports::{
    Configuration, Directory, Organizations, ProductApi, RuleSet, RuleWrite, StoredRule, SyncState,
    Templates,
};
use user_sync_core::rules::preview::{RuleChange, apply_change};
use user_sync_core::rules::{AdminRole, Priority, Rule};
use user_sync_core::state::Outcome;

use crate::body::{Json, body_from_value};
use crate::errors::{ApiError, ErrorCode, store_error};
use crate::guardrail::{self, Guardrail};
use crate::preview;
use crate::routes::{json_response, now, ok};

/// Most rules per organization.
pub const MAX_RULES: usize = 500;
/// Attempts when another write changed the configuration meanwhile.
const WRITE_ATTEMPTS: usize = 3;

/// What a handler needs.
pub struct Ctx<'a, D, S, P> {
    pub directory: &'a D,
    pub state: &'a S,
    pub product_api: &'a P,
    pub token: &'a StoredToken,
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

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(422, ErrorCode::InvalidRule, message)
}

fn bounded(set: &BTreeSet<String>, what: &str) -> Result<(), ApiError> {
    if set.len() > 100 || set.iter().any(|s| s.is_empty() || s.len() > 200) {
        return Err(invalid(format!(
            "{what}: at most 100 names of 1 to 200 characters"
        )));
    }
    Ok(())
}

fn bounded_text(v: Option<&String>, what: &str) -> Result<(), ApiError> {
    if v.is_some_and(|s| s.is_empty() || s.len() > 200) {
        return Err(invalid(format!("{what}: 1 to 200 characters")));
    }
    Ok(())
}

/// A rule's `language` is a language tag (`de`, `pt-BR`), as templates'
/// variants are: anything else (`../../etc`, a line break) is refused.
fn check_language(v: Option<&String>) -> Result<(), ApiError> {
    match v {
        Some(tag) if canonical_language(tag).is_none() => {
            Err(invalid("language: a language tag such as en, de or pt-BR"))
        }
        _ => Ok(()),
    }
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

pub(crate) fn stale(what: &str) -> ApiError {
    ApiError::new(
        412,
        ErrorCode::PreconditionFailed,
        format!("{what} was changed by someone else; read it again and retry"),
    )
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
    RuleId::parse(s).map_err(|_| ApiError::new(404, ErrorCode::NotFound, "no such rule"))
}

/// A planned write, derived from the configuration just read.
struct Plan {
    write: RuleWrite,
    change: RuleChange,
    confirm: bool,
    action: Action,
    subject: String,
}

/// The result of a write: the rules after it.
struct Written {
    rules: Vec<StoredRule>,
    version: u64,
}

impl Written {
    /// One of the written rules, with its ETag.
    fn rule_response(
        &self,
        id: &RuleId,
        status: u16,
    ) -> Result<ApiGatewayV2httpResponse, ApiError> {
        let stored = self
            .rules
            .iter()
            .find(|r| &r.rule.id == id)
            .ok_or_else(|| ApiError::new(500, ErrorCode::Internal, "internal error"))?;
        with_etag(
            status,
            &rule_view(&stored.rule, stored.version),
            stored.version,
        )
    }
}

/// The rule `id` as read, if `If-Match` (when given) still names its version.
fn read_rule<'s>(
    set: &'s RuleSet,
    id: &RuleId,
    expected: Option<u64>,
) -> Result<&'s StoredRule, ApiError> {
    let stored = set
        .get(id)
        .ok_or_else(|| ApiError::new(404, ErrorCode::NotFound, "no such rule"))?;
    if expected.is_some_and(|v| v != stored.version) {
        return Err(stale("the rule"));
    }
    Ok(stored)
}

impl<D, S, P> Ctx<'_, D, S, P>
where
    D: Directory + Configuration + Organizations + Templates,
    S: SyncState,
    P: ProductApi,
{
    pub async fn list(&self) -> Result<ApiGatewayV2httpResponse, ApiError> {
        let set = self
            .directory
            .rule_set(&self.token.org_id)
            .await
            .map_err(store_error)?;
        with_etag(200, &list_view(&set.rules, set.version), set.version)
    }

    pub async fn get(&self, id: &str) -> Result<ApiGatewayV2httpResponse, ApiError> {
        let id = parse_rule_id(id)?;
        let set = self
            .directory
            .rule_set(&self.token.org_id)
            .await
            .map_err(store_error)?;
        let rule = set
            .get(&id)
            .ok_or_else(|| ApiError::new(404, ErrorCode::NotFound, "no such rule"))?;
        with_etag(200, &rule_view(&rule.rule, rule.version), rule.version)
    }

    /// Checks a body and builds the rule it describes.
    async fn rule_from(
        &self,
        id: RuleId,
        body: RuleBody,
        default_priority: u32,
    ) -> Result<Rule, ApiError> {
        let org = &self.token.org_id;
        let group_id =
            GroupId::parse(&body.group_id).map_err(|e| invalid(format!("groupId: {e}")))?;
        if self
            .directory
            .get_group(org, &group_id)
            .await
            .map_err(store_error)?
            .is_none()
        {
            return Err(invalid(
                "groupId does not name a directory group of this organization",
            ));
        }
        bounded(&body.products, "products")?;
        bounded(&body.device_groups, "deviceGroups")?;
        bounded_text(body.user_group.as_ref(), "userGroup")?;
        bounded_text(body.settings_template.as_ref(), "settingsTemplate")?;
        bounded_text(body.email_template.as_ref(), "emailTemplate")?;
        if let Some(name) = &body.email_template {
            self.check_template(name).await?;
        }
        check_language(body.language.as_ref())?;
        let admin_role = body.admin_role.map(AdminRole::from);
        if let Some(AdminRole::Manager {
            privileges,
            managed_groups,
        }) = &admin_role
        {
            bounded(privileges, "adminRole.privileges")?;
            bounded(managed_groups, "adminRole.managedGroups")?;
        }
        if body.description.len() > 500 {
            return Err(invalid("description: at most 500 characters"));
        }
        let priority = Priority::new(body.priority.unwrap_or(default_priority))
            .map_err(|e| invalid(format!("priority: {}", e.reason)))?;
        let rule = Rule {
            id,
            group_id,
            description: body.description,
            priority,
            products: body.products,
            admin_role,
            user_group: body.user_group,
            device_groups: body.device_groups,
            settings_template: body.settings_template,
            email_template: body.email_template,
            language: body.language,
        };
        // products, privileges, groups and templates the organization has
        if let Some(catalog) = self
            .directory
            .get_org(org)
            .await
            .map_err(store_error)?
            .and_then(|o| o.catalog)
        {
            catalog
                .check_rule(&rule)
                .map_err(|e| invalid(format!("{}: {}", e.field, e.reason)))?;
        }
        Ok(rule)
    }

    /// `emailTemplate` names `default` or one of the organization's templates.
    async fn check_template(&self, name: &str) -> Result<(), ApiError> {
        let unknown = || {
            invalid(format!(
                "emailTemplate: \"{name}\" is not a template of this organization; use an id from GET /api/v1/templates, or \"default\""
            ))
        };
        let id = TemplateId::parse(name).map_err(|_| unknown())?;
        if id.is_shipped_default() {
            return Ok(());
        }
        match self.directory.get_template(&self.token.org_id, &id).await {
            Ok(Some(_)) => Ok(()),
            Ok(None) => Err(unknown()),
            Err(e) => Err(store_error(e)),
        }
    }

    /// Applies a write planned against the configuration as read, re-reading
    /// and re-planning when another write landed in between.
    async fn write<F>(&self, mut plan: F) -> Result<Written, ApiError>
    where
        F: FnMut(&RuleSet) -> Result<Plan, ApiError>,
    {
        let org = &self.token.org_id;
        for _ in 0..WRITE_ATTEMPTS {
            let set = self.directory.rule_set(org).await.map_err(store_error)?;
            let p = plan(&set)?;
            let current = set.rules();
            let proposed = apply_change(&current, &p.change)
                .map_err(|e| invalid(format!("{}: {}", e.field, e.reason)))?;
            if proposed.len() > MAX_RULES {
                return Err(invalid(format!(
                    "at most {MAX_RULES} rules per organization"
                )));
            }
            if set.sync.enabled && !proposed.iter().any(Rule::grants_full_admin) {
                return Err(ApiError::new(
                    409,
                    ErrorCode::FullAdminRuleRequired,
                    "while sync is on, at least one rule must grant Full Admin; turn sync off first, or give another rule Full Admin",
                ));
            }
            if set.sync.enabled && !p.confirm && can_suspend(&current, &p.change) {
                let g = self.guardrail(&current, &proposed, &p.change).await?;
                if g.confirmation_required {
                    return Err(ApiError::new(
                        409,
                        ErrorCode::MassSuspension,
                        g.message("this rule change"),
                    ));
                }
            }
            let order: Vec<RuleId> = proposed.iter().map(|r| r.id.clone()).collect();
            match self
                .directory
                .write_rules(org, &p.write, &order, &set)
                .await
            {
                Ok(()) => {}
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(store_error(e)),
            }
            self.record(&p, &set, &proposed).await?;
            let rules = proposed
                .into_iter()
                .map(|rule| {
                    let old = set.get(&rule.id).map(|r| r.version);
                    let version = match (&p.write, old) {
                        (RuleWrite::Update { rule: r, .. }, Some(v)) if r.id == rule.id => v + 1,
                        (_, Some(v)) => v,
                        (_, None) => 1,
                    };
                    StoredRule { rule, version }
                })
                .collect();
            return Ok(Written {
                rules,
                version: set.version + 1,
            });
        }
        Err(ApiError::new(
            409,
            ErrorCode::Conflict,
            "the rules kept changing while this request was applied; retry",
        ))
    }

    async fn guardrail(
        &self,
        current: &[Rule],
        proposed: &[Rule],
        change: &RuleChange,
    ) -> Result<Guardrail, ApiError> {
        guardrail::verdict(
            self.directory,
            self.state,
            &self.token.org_id,
            current,
            proposed,
            matches!(change, RuleChange::SyncOn),
        )
        .await
        .map_err(store_error)
    }

    async fn record(&self, p: &Plan, set: &RuleSet, proposed: &[Rule]) -> Result<(), ApiError> {
        let at = now();
        let mut entry = ActivityEntry::new(
            at.clone(),
            &format!("{}#{}", p.subject, set.version + 1),
            &self.token.name,
            p.action,
            Subject {
                kind: SubjectKind::Rule,
                id: p.subject.clone(),
            },
            Outcome::Success,
        );
        entry.details = match &p.write {
            RuleWrite::Create(r) | RuleWrite::Update { rule: r, .. } => {
                let priority = proposed
                    .iter()
                    .find(|x| x.id == r.id)
                    .map(|x| x.priority.get());
                json!({"priority": priority, "groupId": r.group_id})
            }
            RuleWrite::Delete { .. } => json!({}),
            RuleWrite::Reorder => {
                json!({"order": proposed.iter().map(|r| r.id.as_str()).collect::<Vec<_>>()})
            }
        };
        self.state
            .append_activity(&self.token.org_id, &entry)
            .await
            .map_err(store_error)?;
        info!(org = %self.token.org_id, rule = %p.subject, action = ?p.action, "rules changed");
        Ok(())
    }

    pub async fn create(
        &self,
        body: Json<'_, RuleBody>,
    ) -> Result<ApiGatewayV2httpResponse, ApiError> {
        let body = body.read()?;
        let confirm = body.confirm;
        let mut random = [0u8; 16];
        getrandom::fill(&mut random)
            .map_err(|_| ApiError::new(500, ErrorCode::Internal, "internal error"))?;
        let id = RuleId::parse(&new_id(random))
            .map_err(|_| ApiError::new(500, ErrorCode::Internal, "internal error"))?;
        let requested = body.priority;
        // the priority is checked against the rules the write reads
        let rule = self.rule_from(id.clone(), body, Priority::MAX).await?;
        let written = self
            .write(|set| {
                let last = u32::try_from(set.rules.len() + 1).unwrap_or(Priority::MAX);
                let priority = match requested {
                    Some(p) if p > last => {
                        return Err(invalid(format!(
                            "priority: 1 to {last} (one past the lowest rule)"
                        )));
                    }
                    Some(p) => p,
                    None => last,
                };
                let rule = Rule {
                    priority: Priority::new(priority)
                        .map_err(|e| invalid(format!("priority: {}", e.reason)))?,
                    ..rule.clone()
                };
                Ok(Plan {
                    write: RuleWrite::Create(rule.clone()),
                    change: RuleChange::Create(rule),
                    confirm,
                    action: Action::RuleCreated,
                    subject: id.to_string(),
                })
            })
            .await?;
        written.rule_response(&id, 201)
    }

    /// `PUT` (`patch == false`) or `PATCH` of a rule.
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
        let set = self
            .directory
            .rule_set(&self.token.org_id)
            .await
            .map_err(store_error)?;
        // the body is judged first: an invalid one is refused as invalid
        // whatever version it names
        let current = read_rule(&set, &id, None)?;
        let merged = if patch {
            let mut base = match json!(current.rule) {
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
        let confirm = body.confirm;
        let rule = self
            .rule_from(id.clone(), body, current.rule.priority.get())
            .await?;
        let last = u32::try_from(set.rules.len()).unwrap_or(Priority::MAX);
        if rule.priority.get() > last {
            return Err(invalid(format!("priority: 1 to {last}")));
        }
        read_rule(&set, &id, expected)?;
        let written = self
            .write(|set| {
                let stored = read_rule(set, &id, expected)?;
                Ok(Plan {
                    write: RuleWrite::Update {
                        rule: rule.clone(),
                        expected_version: stored.version,
                    },
                    change: RuleChange::Update(rule.clone()),
                    confirm,
                    action: Action::RuleUpdated,
                    subject: id.to_string(),
                })
            })
            .await?;
        written.rule_response(&id, 200)
    }

    pub async fn delete(
        &self,
        id: &str,
        req: &HttpRequest,
    ) -> Result<ApiGatewayV2httpResponse, ApiError> {
        let id = parse_rule_id(id)?;
        let expected = if_match(req, true)?.flatten();
        let confirm = confirmed(req)?;
        self.write(|set| {
            let stored = read_rule(set, &id, expected)?;
            Ok(Plan {
                write: RuleWrite::Delete {
                    id: id.clone(),
                    expected_version: stored.version,
                },
                change: RuleChange::Delete(id.clone()),
                confirm,
                action: Action::RuleDeleted,
                subject: id.to_string(),
            })
        })
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
            (Some(d), None) => Err(d),
            (None, Some(p)) => Ok(p),
            _ => {
                return Err(ApiError::new(
                    400,
                    ErrorCode::InvalidBody,
                    "give either \"direction\" (\"up\" or \"down\") or \"priority\"",
                ));
            }
        };
        let written = self
            .write(|set| {
                if expected.is_some_and(|v| v != set.version) {
                    return Err(stale("the rules' order"));
                }
                let mut order = set.order();
                let from = order
                    .iter()
                    .position(|r| r == &id)
                    .ok_or_else(|| ApiError::new(404, ErrorCode::NotFound, "no such rule"))?;
                let to = match target {
                    Err(Direction::Up) => from.saturating_sub(1),
                    Err(Direction::Down) => (from + 1).min(order.len() - 1),
                    Ok(p) => {
                        let p = usize::try_from(p).unwrap_or(usize::MAX);
                        if p == 0 || p > order.len() {
                            return Err(invalid(format!("priority: 1 to {}", order.len())));
                        }
                        p - 1
                    }
                };
                let moving = order.remove(from);
                order.insert(to, moving);
                Ok(Plan {
                    write: RuleWrite::Reorder,
                    change: RuleChange::Reorder(order),
                    confirm: true,
                    action: Action::RulesReordered,
                    subject: id.to_string(),
                })
            })
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
        if body.order.len() > MAX_RULES {
            return Err(invalid(format!("order: at most {MAX_RULES} ids")));
        }
        let order = body
            .order
            .iter()
            .map(|s| RuleId::parse(s).map_err(|e| invalid(format!("order: {e}"))))
            .collect::<Result<Vec<_>, _>>()?;
        let written = self
            .write(|set| {
                if expected.is_some_and(|v| v != set.version) {
                    return Err(stale("the rules' order"));
                }
                Ok(Plan {
                    write: RuleWrite::Reorder,
                    change: RuleChange::Reorder(order.clone()),
                    confirm: true,
                    action: Action::RulesReordered,
                    subject: "order".into(),
                })
            })
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
        let org = &self.token.org_id;
        let set = self.directory.rule_set(org).await.map_err(store_error)?;
        let current = set.rules();
        let rule_body =
            |v: Value| -> Result<RuleBody, ApiError> { body_from_value(v, "change.rule") };
        let change = match body.change {
            ChangeBody::Create { rule } => {
                let last = u32::try_from(current.len() + 1).unwrap_or(Priority::MAX);
                let id = RuleId::parse("proposed")
                    .map_err(|_| ApiError::new(500, ErrorCode::Internal, "internal error"))?;
                RuleChange::Create(self.rule_from(id, rule_body(rule)?, last).await?)
            }
            ChangeBody::Update { id, rule } => {
                let id = parse_rule_id(&id)?;
                let old = set
                    .get(&id)
                    .ok_or_else(|| ApiError::new(404, ErrorCode::NotFound, "no such rule"))?;
                RuleChange::Update(
                    self.rule_from(id, rule_body(rule)?, old.rule.priority.get())
                        .await?,
                )
            }
            ChangeBody::Delete { id } => RuleChange::Delete(parse_rule_id(&id)?),
            ChangeBody::Reorder { order } => RuleChange::Reorder(
                order
                    .iter()
                    .map(|s| RuleId::parse(s).map_err(|e| invalid(format!("order: {e}"))))
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            ChangeBody::SyncOn {} => RuleChange::SyncOn,
        };
        let proposed = apply_change(&current, &change)
            .map_err(|e| invalid(format!("{}: {}", e.field, e.reason)))?;
        let computed = preview::compute(
            self.directory,
            self.state,
            org,
            &current,
            &proposed,
            &change,
        )
        .await
        .map_err(store_error)?;
        let seats = preview::seats(self.product_api, org, &computed.totals).await;
        let mut verdict = self.guardrail(&current, &proposed, &change).await?;
        // as the write: while sync is off a rule change applies nothing, so
        // it is never asked (turning sync on is)
        if !set.sync.enabled && !matches!(change, RuleChange::SyncOn) {
            verdict.confirmation_required = false;
        }
        ok(&preview::view(
            &computed,
            seats,
            verdict,
            set.sync.enabled,
            proposed.iter().any(Rule::grants_full_admin),
        ))
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

/// Whether a change can suspend anyone: only removing a rule, or moving it
/// to another group, takes a match away.
fn can_suspend(current: &[Rule], change: &RuleChange) -> bool {
    match change {
        RuleChange::Delete(_) | RuleChange::SyncOn => true,
        RuleChange::Update(rule) => current
            .iter()
            .find(|r| r.id == rule.id)
            .is_none_or(|r| r.group_id != rule.group_id),
        RuleChange::Create(_) | RuleChange::Reorder(_) => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::body::body_from_slice;

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

    #[test]
    fn a_rule_language_is_a_language_tag() {
        for ok in ["en", "de", "pt-BR", "pt-br", "zh-Hant"] {
            assert!(check_language(Some(&ok.to_owned())).is_ok(), "{ok}");
        }
        assert!(check_language(None).is_ok());
        for bad in [
            "",
            "../../etc",
            "en\r\nX: y",
            "e",
            "english-language-tag-x",
            "__proto__",
        ] {
            let e = check_language(Some(&bad.to_owned())).unwrap_err();
            assert_eq!(
                (e.status, e.code.as_str()),
                (422, "invalid_rule"),
                "{bad:?}"
            );
        }
    }
}
