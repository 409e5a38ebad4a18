//! Every endpoint of the admin API, registered once: the router serves
//! what this table names and nothing else, and the OpenAPI document is
//! built from it. Adding an endpoint is a handler and one entry here.

use crate::activity::{self, ActivityPage, RetentionSettings};
use crate::catalog::{self, CatalogView};
use crate::custom_attributes::{self, AttributesView};
use crate::domains::{self, DomainList, DomainView};
use crate::drift::{self, DriftCheckView};
use crate::explain::{Explanation, explain};
use crate::failures::{self, FailureDetails, FailureSummary, RetryResult};
use crate::groups::{self, GroupPage, GroupView, MemberPage};
use crate::keys::{self, KeyList, Me};
use crate::openapi;
use crate::preview::PreviewView;
use crate::query::{
    ACTIVITY_EXPORT, ACTIVITY_LIST, CONFIRM, CURSOR, DOMAIN, LIMIT, PRODUCT, SEARCH,
    USER_FAILURE_CLASS, USER_STATUS,
};
use crate::registry::{
    Backend, Endpoint, Precondition::Optional, Precondition::Required, Success, delete, get, patch,
    post, put,
};
use crate::rules::{RuleList, RuleView};
use crate::sso::{self, SignIn, SsoSettings};
use crate::sync::{self, SyncView};
use crate::templates::{RenderedEmail, TemplateList, TemplateView};
use crate::users::{self, UserPage, UserView};
use user_sync_core::ports::SyncSettings;

const RULES: &str = "Rules";
const SYNC: &str = "Sync";
const DIRECTORY: &str = "Directory";
const ACTIVITY: &str = "Activity history";
const SETTINGS: &str = "Settings";
const TEMPLATES: &str = "Welcome emails";
const DOMAINS: &str = "Domains";
const ACCESS: &str = "Access";

/// A write whose `If-Match` is required.
const GUARDED: &[u16] = &[400, 409, 412, 413, 422, 428];

/// The admin API. The router matches requests against it; the most literal
/// path wins.
pub fn endpoints<X: Backend>() -> Vec<Endpoint<X>> {
    vec![
        get("openApi", "/openapi.json", "Meta", "This document (no token needed)")
            .success(openapi::SUCCESS)
            .public(openapi::serve),
        // access
        get(
            "getMe",
            "/me",
            ACCESS,
            "The caller: a key or a person, its name and role",
        )
            .returns::<Me>(200)
            .to(|c| Box::pin(keys::me(c.caller))),
        get(
            "listKeys",
            "/keys",
            ACCESS,
            "The organization's admin API keys (never their secrets)",
        )
        .returns::<KeyList>(200)
        .to(|c| Box::pin(keys::list(c.directory(), c.caller))),
        get(
            "getSso",
            "/sso",
            ACCESS,
            "The organization's single sign-on (read-only: ops set it)",
        )
        .returns::<SsoSettings>(200)
        .to(|c| Box::pin(sso::get(c.directory(), c.caller))),
        get(
            "getSignIn",
            "/sign-in/{orgId}",
            ACCESS,
            "What the organization's sign-in page shows (no token needed: only what a login page shows)",
        )
        .returns::<SignIn>(200)
        .errors(&[404])
        .open(|backend, params| Box::pin(sso::sign_in(backend, params))),
        // rules
        get("listRules", "/rules", RULES, "The rules, highest priority first")
            .tagged::<RuleList>(200)
            .to(|c| Box::pin(c.rules.list())),
        post("createRule", "/rules", RULES, "Create a rule")
            .tagged::<RuleView>(201)
            .errors(&[400, 409, 413, 422])
            .json(|c, body| Box::pin(c.rules.create(body))),
        post(
            "previewRuleChange",
            "/rules/preview",
            RULES,
            "What a rule change would do, without doing it",
        )
        .returns::<PreviewView>(200)
        .errors(&[400, 404, 413, 422])
        .json(|c, body| Box::pin(c.rules.preview(body))),
        put("reorderRules", "/rules/order", RULES, "Set the full order of the rules")
            .tagged::<RuleList>(200)
            .if_match(Required)
            .errors(GUARDED)
            .json(|c, body| Box::pin(c.rules.reorder(c.req, body))),
        get("getRule", "/rules/{ruleId}", RULES, "One rule")
            .tagged::<RuleView>(200)
            .to(|c| Box::pin(c.rules.get(c.id()))),
        put("replaceRule", "/rules/{ruleId}", RULES, "Replace a rule")
            .tagged::<RuleView>(200)
            .if_match(Required)
            .errors(GUARDED)
            .json(|c, body: crate::body::Json<crate::rules::RuleBody>| {
                Box::pin(c.rules.replace(c.id(), c.req, body.untyped(), false))
            }),
        patch("patchRule", "/rules/{ruleId}", RULES, "Change some fields of a rule")
            .tagged::<RuleView>(200)
            .if_match(Required)
            .errors(GUARDED)
            .json(|c, body: crate::body::Json<crate::rules::RulePatch>| {
                Box::pin(c.rules.replace(c.id(), c.req, body.untyped(), true))
            }),
        delete("deleteRule", "/rules/{ruleId}", RULES, "Delete a rule")
            .query(&[CONFIRM])
            .if_match(Required)
            .errors(&[400, 409, 412, 428])
            .to(|c| Box::pin(c.rules.delete(c.id(), c.req))),
        post(
            "moveRule",
            "/rules/{ruleId}/move",
            RULES,
            "Move a rule up, down or to a priority",
        )
        .tagged::<RuleList>(200)
        .if_match(Optional)
        .errors(&[400, 409, 412, 413, 422])
        .json(|c, body| Box::pin(c.rules.move_rule(c.id(), c.req, body))),
        // sync
        get("getSync", "/sync", SYNC, "Sync on or off, and its progress")
            .returns::<SyncView>(200)
            .to(|c| Box::pin(sync::get_sync(c.directory(), c.state(), c.org()))),
        put("putSync", "/sync", SYNC, "Turn sync on or off")
            .returns::<SyncSettings>(200)
            .errors(&[400, 409, 413, 422])
            .json(|c, body| Box::pin(sync::put_sync(c.directory(), c.state(), c.caller, body))),
        get(
            "getDriftCheck",
            "/sync/drift-check",
            SYNC,
            "How often the drift check runs",
        )
        .tagged::<DriftCheckView>(200)
        .to(|c| Box::pin(drift::get(c.directory(), c.org()))),
        put(
            "putDriftCheck",
            "/sync/drift-check",
            SYNC,
            "Set how often the drift check runs",
        )
        .tagged::<DriftCheckView>(200)
        .if_match(Required)
        .errors(&[400, 412, 413, 422, 428])
        .json(|c, body| Box::pin(drift::put(c.settings(), c.caller, c.req, body))),
        get(
            "listFailures",
            "/sync/failures",
            SYNC,
            "One banner per failure class",
        )
        .returns::<FailureSummary>(200)
        .to(|c| Box::pin(failures::summary(c.directory(), c.state(), c.org()))),
        get(
            "failureDetails",
            "/sync/failures/{class}",
            SYNC,
            "The users of one failure class (a banner's Details)",
        )
        .returns::<FailureDetails>(200)
        .query(&[PRODUCT, DOMAIN, LIMIT, CURSOR])
        .errors(&[400])
        .to(|c| {
            Box::pin(failures::details(
                c.directory(),
                c.state(),
                c.org(),
                c.id(),
                c.req,
            ))
        }),
        post(
            "retrySync",
            "/sync/retry",
            SYNC,
            "Retry sync: send the organization's failed users and welcome emails again",
        )
        .returns::<RetryResult>(200)
        .optional_json(|c, body| {
            Box::pin(failures::retry(
                c.state(),
                c.queues(),
                c.product_api(),
                c.clock(),
                c.caller,
                body,
            ))
        }),
        // settings
        get(
            "getCatalog",
            "/catalog",
            SETTINGS,
            "Products (from the product API), privileges, user groups, device groups, settings templates",
        )
        .tagged::<CatalogView>(200)
        .to(|c| Box::pin(catalog::get(c.directory(), c.product_api(), c.caller))),
        put("putCatalog", "/catalog", SETTINGS, "Replace the catalogue")
            .tagged::<CatalogView>(200)
            .if_match(Required)
            .errors(GUARDED)
            .json(|c, body| {
                Box::pin(catalog::put(
                    c.settings(),
                    c.product_api(),
                    c.caller,
                    c.req,
                    body,
                ))
            }),
        // activity
        get(
            "listActivity",
            "/activity",
            ACTIVITY,
            "The activity history, newest first",
        )
        .returns::<ActivityPage>(200)
        .query(ACTIVITY_LIST)
        .errors(&[400])
        .to(|c| Box::pin(activity::list(c.directory(), c.state(), c.org(), c.req))),
        get(
            "exportActivity",
            "/activity/export",
            ACTIVITY,
            "Export the activity history as CSV or JSON lines",
        )
        .success(Success::Export)
        .query(ACTIVITY_EXPORT)
        .errors(&[400])
        .to(|c| Box::pin(activity::export(c.state(), c.org(), c.req))),
        get(
            "getActivitySettings",
            "/activity/settings",
            ACTIVITY,
            "How long the history is kept",
        )
        .tagged::<RetentionSettings>(200)
        .to(|c| Box::pin(activity::settings(c.directory(), c.org()))),
        put(
            "putActivitySettings",
            "/activity/settings",
            ACTIVITY,
            "Set how long the history is kept",
        )
        .tagged::<RetentionSettings>(200)
        .if_match(Required)
        .errors(&[400, 412, 413, 422, 428])
        .json(|c, body| {
            Box::pin(activity::put_settings(c.settings(), c.caller, c.req, body))
        }),
        // directory
        get("listUsers", "/users", DIRECTORY, "Users and their sync status")
            .returns::<UserPage>(200)
            .query(&[SEARCH, USER_STATUS, USER_FAILURE_CLASS, PRODUCT, LIMIT, CURSOR])
            .errors(&[400])
            .to(|c| Box::pin(users::list(c.directory(), c.state(), c.org(), c.req))),
        get(
            "getUser",
            "/users/{userId}",
            DIRECTORY,
            "One user, its sync status and attributes",
        )
        .returns::<UserView>(200)
        .to(|c| Box::pin(users::get(c.directory(), c.state(), c.org(), c.id()))),
        get(
            "explainUser",
            "/users/{userId}/assignment",
            DIRECTORY,
            "Which rule gave a user which field, and the last outcome",
        )
        .returns::<Explanation>(200)
        .to(|c| Box::pin(explain(c.directory(), c.state(), c.org(), c.id()))),
        get(
            "getCustomAttributes",
            "/custom-attributes",
            SETTINGS,
            "The SCIM extension attributes the organization captures",
        )
        .tagged::<AttributesView>(200)
        .to(|c| Box::pin(custom_attributes::get(c.directory(), c.org()))),
        put(
            "putCustomAttributes",
            "/custom-attributes",
            SETTINGS,
            "Set the captured extension attributes",
        )
        .tagged::<AttributesView>(200)
        .if_match(Required)
        .errors(&[400, 412, 413, 422, 428])
        .json(|c, body| {
            Box::pin(custom_attributes::put(c.settings(), c.caller, c.req, body))
        }),
        get(
            "listGroups",
            "/groups",
            DIRECTORY,
            "The directory's groups (read-only: they come from the directory)",
        )
        .returns::<GroupPage>(200)
        .query(&[SEARCH, LIMIT, CURSOR])
        .errors(&[400])
        .refusing(groups::read_only)
        .to(|c| Box::pin(groups::list(c.directory(), c.org(), c.req))),
        get("getGroup", "/groups/{groupId}", DIRECTORY, "One group")
            .returns::<GroupView>(200)
            .refusing(groups::read_only)
            .to(|c| Box::pin(groups::get(c.directory(), c.org(), c.id()))),
        get(
            "listGroupMembers",
            "/groups/{groupId}/members",
            DIRECTORY,
            "A group's members",
        )
        .returns::<MemberPage>(200)
        .query(&[LIMIT, CURSOR])
        .errors(&[400])
        .refusing(groups::read_only)
        .to(|c| Box::pin(groups::members(c.directory(), c.org(), c.id(), c.req))),
        // welcome emails
        get(
            "listTemplates",
            "/templates",
            TEMPLATES,
            "Welcome-email templates",
        )
        .returns::<TemplateList>(200)
        .to(|c| Box::pin(c.templates.list())),
        post("createTemplate", "/templates", TEMPLATES, "Create a template")
            .tagged::<TemplateView>(201)
            .errors(&[400, 409, 413, 422])
            .json(|c, body| Box::pin(c.templates.create(body))),
        get(
            "getTemplate",
            "/templates/{templateId}",
            TEMPLATES,
            "One template",
        )
        .tagged::<TemplateView>(200)
        .to(|c| Box::pin(c.templates.get(c.id()))),
        put(
            "replaceTemplate",
            "/templates/{templateId}",
            TEMPLATES,
            "Replace a template",
        )
        .tagged::<TemplateView>(200)
        .if_match(Required)
        .errors(&[400, 405, 412, 413, 422, 428])
        .json(|c, body| Box::pin(c.templates.replace(c.id(), c.req, body))),
        delete(
            "deleteTemplate",
            "/templates/{templateId}",
            TEMPLATES,
            "Delete a template no rule uses",
        )
        .if_match(Required)
        .errors(&[400, 405, 409, 412, 428])
        .to(|c| Box::pin(c.templates.delete(c.id(), c.req))),
        post(
            "previewTemplate",
            "/templates/{templateId}/preview",
            TEMPLATES,
            "Render a template as a user would receive it",
        )
        .returns::<RenderedEmail>(200)
        .optional_json(|c, body| Box::pin(c.templates.preview(c.id(), body))),
        // domains
        get(
            "listDomains",
            "/domains",
            DOMAINS,
            "The organization's domains, their state and the record to publish",
        )
        .returns::<DomainList>(200)
        .to(|c| Box::pin(domains::list(c.directory(), c.caller))),
        post(
            "addDomain",
            "/domains",
            DOMAINS,
            "Add a domain: its verification token and the DNS TXT record to publish",
        )
        .returns::<DomainView>(201)
        .errors(&[400, 409, 413, 422])
        .json(|c, body| Box::pin(domains::add(
                c.directory(),
                c.state(),
                c.clock(),
                c.caller,
                body,
            ))),
        post(
            "verifyDomain",
            "/domains/{domain}/verify",
            DOMAINS,
            "Look the domain's TXT record up and verify it (409: not found, held by another organization, or the lookup failed)",
        )
        .returns::<DomainView>(200)
        .errors(&[404, 409])
        .to(|c| {
            Box::pin(domains::verify(
                c.directory(),
                c.state(),
                c.dns(),
                c.clock(),
                c.caller,
                c.id(),
            ))
        }),
        delete("removeDomain", "/domains/{domain}", DOMAINS, "Remove a domain")
            .errors(&[404])
            .to(|c| Box::pin(domains::remove(
                c.directory(),
                c.state(),
                c.clock(),
                c.caller,
                c.id(),
            ))),
    ]
}
