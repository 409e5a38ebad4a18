//! The admin API's endpoints as one generic table: each [`Endpoint`] is a
//! method on a path, what the OpenAPI document says of it ([`Spec`]), and
//! its handler. The router finds a request's endpoint in the table and
//! calls its handler; the document (`openapi`) is built from the same
//! table. An endpoint with a body names its type once: the handler is
//! handed a [`Json`] of it, and the schema is that type's.

use std::future::Future;
use std::pin::Pin;

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use user_sync_aws::http::HttpRequest;
use user_sync_core::clock::Clock;
use user_sync_core::domains::{Domains, TxtResolver};
use user_sync_core::ids::OrgId;
use user_sync_core::ports::{
    Configuration, Directory, FanOuts, JobQueue, MailQueue, Organizations, ProductApi, SyncState,
    Templates, Tokens,
};
use user_sync_core::ratelimit::{RateCounters, RateGate};
use user_sync_core::sso::{Caller, IdTokenVerifier, SsoConfigs};

use crate::body::Json;
use crate::errors::{ApiError, ErrorCode};
use crate::failures::RetryQueues;

/// What a handler answers.
pub type Answer = Result<ApiGatewayV2httpResponse, ApiError>;

/// A handler's answer, to come.
pub type Pending<'c> = Pin<Box<dyn Future<Output = Answer> + Send + 'c>>;

/// What the admin API runs on: the ports, the rate gate and the product's
/// login URL (template previews show it).
pub trait Backend: Sync + 'static {
    type Directory: Directory
        + Configuration
        + Organizations
        + Tokens
        + FanOuts
        + Templates
        + Domains
        + SsoConfigs;
    type State: SyncState;
    type ProductApi: ProductApi;
    type Jobs: JobQueue;
    type Mail: MailQueue;
    type Counters: RateCounters;
    type Dns: TxtResolver;
    type Clock: Clock;
    type IdTokens: IdTokenVerifier;

    fn directory(&self) -> &Self::Directory;
    fn state(&self) -> &Self::State;
    fn product_api(&self) -> &Self::ProductApi;
    fn queues(&self) -> &RetryQueues<Self::Jobs, Self::Mail>;
    fn gate(&self) -> &RateGate<Self::Counters>;
    fn login_url(&self) -> &str;
    fn dns(&self) -> &Self::Dns;
    /// The time every write and activity entry is stamped with.
    fn clock(&self) -> &Self::Clock;
    /// Verifies people's ID tokens against their issuers' keys.
    fn id_tokens(&self) -> &Self::IdTokens;
}

/// One authenticated request, as a handler sees it.
pub struct Call<'a, X: Backend> {
    pub backend: &'a X,
    /// Who calls: the organization is always the credential's.
    pub caller: &'a Caller,
    pub req: &'a HttpRequest,
    /// The values of the path's parameters, in order.
    pub params: Vec<&'a str>,
    pub rules: crate::rules::Ctx<'a, X::Directory, X::State, X::ProductApi>,
    pub templates: crate::templates::Ctx<'a, X::Directory, X::State>,
}

impl<'a, X: Backend> Call<'a, X> {
    pub fn new(
        backend: &'a X,
        caller: &'a Caller,
        req: &'a HttpRequest,
        params: Vec<&'a str>,
    ) -> Self {
        Self {
            backend,
            caller,
            req,
            params,
            rules: crate::rules::Ctx {
                directory: backend.directory(),
                state: backend.state(),
                product_api: backend.product_api(),
                caller,
            },
            templates: crate::templates::Ctx {
                directory: backend.directory(),
                state: backend.state(),
                caller,
                login_url: backend.login_url(),
            },
        }
    }

    /// The path's (first) parameter: `{ruleId}` of `/rules/{ruleId}`.
    pub fn id(&self) -> &'a str {
        // the table gives as many parameters as the path has
        self.params.first().copied().unwrap_or_default()
    }

    pub fn org(&self) -> &'a OrgId {
        &self.caller.org
    }

    pub fn directory(&self) -> &'a X::Directory {
        self.backend.directory()
    }

    pub fn state(&self) -> &'a X::State {
        self.backend.state()
    }

    pub fn product_api(&self) -> &'a X::ProductApi {
        self.backend.product_api()
    }

    pub fn queues(&self) -> &'a RetryQueues<X::Jobs, X::Mail> {
        self.backend.queues()
    }

    pub fn dns(&self) -> &'a X::Dns {
        self.backend.dns()
    }

    pub fn clock(&self) -> &'a X::Clock {
        self.backend.clock()
    }

    /// The settings' service over the backend's tables and clock.
    pub fn settings(&self) -> crate::settings::Service<'a, X::Directory, X::State, X::Clock> {
        crate::settings::service(self.directory(), self.state(), self.clock())
    }
}

/// A JSON Schema for one body or parameter, registered with the generator.
pub type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

/// The schema of `T` (a `$ref` to its component when it has a name).
pub fn schema<T: JsonSchema>(g: &mut SchemaGenerator) -> Schema {
    g.subschema_for::<T>()
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

impl Query {
    /// A parameter a request may leave out.
    pub const fn optional(name: &'static str, description: &'static str, schema: SchemaFn) -> Self {
        Self {
            name,
            description,
            schema,
            required: false,
        }
    }
}

/// What the document says of an endpoint, and how the router treats it.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// The OpenAPI `operationId` (`createRule`).
    pub id: &'static str,
    pub method: &'static str,
    /// Below `/api/v1`; `{name}` is a path parameter.
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
    /// Served without a token (the document itself).
    pub public: bool,
    /// The refusal of another method on this path, when not the usual
    /// `405 method_not_allowed` (`Allow` is added).
    pub refusal: Option<fn() -> ApiError>,
}

type AdminHandler<X> = Box<dyn for<'c> Fn(&'c Call<'c, X>) -> Pending<'c> + Send + Sync>;
type OpenHandler<X> = Box<dyn for<'c> Fn(&'c X, &'c [&'c str]) -> Pending<'c> + Send + Sync>;

enum Handler<X: Backend> {
    /// Answered before authentication.
    Public(fn() -> Answer),
    /// Answered without authentication, from the backend and the path's
    /// parameters (what a sign-in page shows).
    Open(OpenHandler<X>),
    Admin(AdminHandler<X>),
}

/// One endpoint of the table.
pub struct Endpoint<X: Backend> {
    pub spec: Spec,
    handler: Handler<X>,
}

impl<X: Backend> Endpoint<X> {
    /// The public endpoint's answer, if this is one.
    pub fn public_answer(&self) -> Option<Answer> {
        match &self.handler {
            Handler::Public(answer) => Some(answer()),
            Handler::Open(_) | Handler::Admin(_) => None,
        }
    }

    /// Runs the handler of an endpoint open without authentication, if
    /// this is one.
    pub fn open<'c>(&self, backend: &'c X, params: &'c [&'c str]) -> Option<Pending<'c>> {
        match &self.handler {
            Handler::Open(handler) => Some(handler(backend, params)),
            Handler::Public(_) | Handler::Admin(_) => None,
        }
    }

    /// Runs the handler of an authenticated endpoint.
    pub fn call<'c>(&self, call: &'c Call<'c, X>) -> Pending<'c> {
        match &self.handler {
            Handler::Admin(handler) => handler(call),
            // answered before authentication
            Handler::Public(_) | Handler::Open(_) => {
                Box::pin(std::future::ready(Err(ApiError::internal())))
            }
        }
    }
}

/// An endpoint being registered: `get("listRules", "/rules", RULES,
/// "…").tagged::<RuleList>(200).to(|c| …)`.
#[must_use]
#[derive(Debug, Clone, Copy)]
pub struct Route(Spec);

fn route(
    id: &'static str,
    method: &'static str,
    path: &'static str,
    tag: &'static str,
    summary: &'static str,
) -> Route {
    Route(Spec {
        id,
        method,
        path,
        summary,
        tag,
        query: &[],
        if_match: Precondition::None,
        body: None,
        body_optional: false,
        success: Success::Empty,
        errors: &[],
        public: false,
        refusal: None,
    })
}

pub fn get(
    id: &'static str,
    path: &'static str,
    tag: &'static str,
    summary: &'static str,
) -> Route {
    route(id, "GET", path, tag, summary)
}

pub fn post(
    id: &'static str,
    path: &'static str,
    tag: &'static str,
    summary: &'static str,
) -> Route {
    route(id, "POST", path, tag, summary)
}

pub fn put(
    id: &'static str,
    path: &'static str,
    tag: &'static str,
    summary: &'static str,
) -> Route {
    route(id, "PUT", path, tag, summary)
}

pub fn patch(
    id: &'static str,
    path: &'static str,
    tag: &'static str,
    summary: &'static str,
) -> Route {
    route(id, "PATCH", path, tag, summary)
}

pub fn delete(
    id: &'static str,
    path: &'static str,
    tag: &'static str,
    summary: &'static str,
) -> Route {
    route(id, "DELETE", path, tag, summary)
}

/// The error statuses of an endpoint with a body, unless it names its own.
const BODY_ERRORS: &[u16] = &[400, 413, 422];

impl Route {
    /// Answers `status` with a `T` as JSON.
    pub fn returns<T: JsonSchema>(self, status: u16) -> Self {
        self.success(Success::Json {
            status,
            schema: schema::<T>,
            etag: false,
        })
    }

    /// Answers `status` with a `T` as JSON and its version as `ETag`.
    pub fn tagged<T: JsonSchema>(self, status: u16) -> Self {
        self.success(Success::Json {
            status,
            schema: schema::<T>,
            etag: true,
        })
    }

    pub fn success(mut self, success: Success) -> Self {
        self.0.success = success;
        self
    }

    pub fn query(mut self, query: &'static [Query]) -> Self {
        self.0.query = query;
        self
    }

    pub fn if_match(mut self, precondition: Precondition) -> Self {
        self.0.if_match = precondition;
        self
    }

    pub fn errors(mut self, errors: &'static [u16]) -> Self {
        self.0.errors = errors;
        self
    }

    /// Other methods on this path are refused with `refusal` (and `Allow`).
    pub fn refusing(mut self, refusal: fn() -> ApiError) -> Self {
        self.0.refusal = Some(refusal);
        self
    }

    /// Served without a token, before authentication.
    pub fn public<X: Backend>(mut self, answer: fn() -> Answer) -> Endpoint<X> {
        self.0.public = true;
        Endpoint {
            spec: self.0,
            handler: Handler::Public(answer),
        }
    }

    /// An endpoint answered without authentication, from the backend and
    /// the path's parameters.
    pub fn open<X, F>(mut self, handler: F) -> Endpoint<X>
    where
        X: Backend,
        F: for<'c> Fn(&'c X, &'c [&'c str]) -> Pending<'c> + Send + Sync + 'static,
    {
        self.0.public = true;
        Endpoint {
            spec: self.0,
            handler: Handler::Open(Box::new(handler)),
        }
    }

    /// An endpoint without a body.
    pub fn to<X, F>(self, handler: F) -> Endpoint<X>
    where
        X: Backend,
        F: for<'c> Fn(&'c Call<'c, X>) -> Pending<'c> + Send + Sync + 'static,
    {
        Endpoint {
            spec: self.0,
            handler: Handler::Admin(Box::new(handler)),
        }
    }

    /// An endpoint whose body is a `B`: the handler is handed it to read,
    /// and the document's schema is `B`'s.
    pub fn json<X, B, F>(self, handler: F) -> Endpoint<X>
    where
        X: Backend,
        B: JsonSchema + 'static,
        F: for<'c> Fn(&'c Call<'c, X>, Json<'c, B>) -> Pending<'c> + Send + Sync + 'static,
    {
        self.with_body::<B>(false)
            .to(move |c| handler(c, Json::required(&c.req.body)))
    }

    /// An endpoint whose body is a `B` that may be left out (`B::default()`).
    pub fn optional_json<X, B, F>(self, handler: F) -> Endpoint<X>
    where
        X: Backend,
        B: JsonSchema + Default + 'static,
        F: for<'c> Fn(&'c Call<'c, X>, Json<'c, B>) -> Pending<'c> + Send + Sync + 'static,
    {
        self.with_body::<B>(true)
            .to(move |c| handler(c, Json::optional(&c.req.body)))
    }

    fn with_body<B: JsonSchema>(mut self, optional: bool) -> Self {
        self.0.body = Some(schema::<B>);
        self.0.body_optional = optional;
        if self.0.errors.is_empty() {
            self.0.errors = BODY_ERRORS;
        }
        self
    }
}

/// Where a request goes: its endpoint and the values of its path
/// parameters, or `404`, or `405` (with the methods the path allows).
pub fn find<'t, 'r, X: Backend>(
    table: &'t [Endpoint<X>],
    method: &str,
    segments: &[&'r str],
) -> Result<(&'t Endpoint<X>, Vec<&'r str>), ApiError> {
    // the most literal template that fits the path wins ("/rules/order"
    // over "/rules/{ruleId}")
    let mut best: Option<(usize, &'static str)> = None;
    for e in table {
        if let Some(literals) = fits(e.spec.path, segments)
            && best.is_none_or(|(l, _)| literals > l)
        {
            best = Some((literals, e.spec.path));
        }
    }
    let Some((_, path)) = best else {
        return Err(ApiError::new(404, ErrorCode::NotFound, "no such endpoint"));
    };
    let on_path = || table.iter().filter(move |e| e.spec.path == path);
    if let Some(e) = on_path().find(|e| e.spec.method == method) {
        let params = template(e.spec.path)
            .zip(segments)
            .filter(|(t, _)| t.starts_with('{'))
            .map(|(_, s)| *s)
            .collect();
        return Ok((e, params));
    }
    let allow = on_path()
        .map(|e| e.spec.method)
        .collect::<Vec<_>>()
        .join(", ");
    let refusal = match on_path().find_map(|e| e.spec.refusal) {
        Some(refusal) => refusal(),
        None => ApiError::new(
            405,
            ErrorCode::MethodNotAllowed,
            format!("{method} is not allowed here; use {allow}"),
        ),
    };
    Err(refusal.with_allow(allow))
}

/// A path template's segments (`rules`, `{ruleId}`).
pub fn template(path: &str) -> impl Iterator<Item = &str> {
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

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use super::*;
    use crate::Deps;
    use crate::endpoints::endpoints;

    #[test]
    fn literal_paths_win_over_parameters() {
        let table = endpoints::<Deps>();
        let Ok((e, params)) = find(&table, "PUT", &["rules", "order"]) else {
            panic!("PUT /rules/order is an endpoint");
        };
        assert_eq!(e.spec.id, "reorderRules");
        assert!(params.is_empty());
        let Ok((e, params)) = find(&table, "GET", &["rules", "r-1"]) else {
            panic!("GET /rules/{{id}} is an endpoint");
        };
        assert_eq!(e.spec.id, "getRule");
        assert_eq!(params, ["r-1"]);
    }

    #[test]
    fn a_known_path_with_another_method_is_405_with_allow() {
        let table = endpoints::<Deps>();
        let Err(e) = find(&table, "GET", &["rules", "order"]) else {
            panic!("GET /rules/order is not an endpoint");
        };
        assert_eq!(e.status, 405);
        assert_eq!(e.allow.as_deref(), Some("PUT"));
        let Err(e) = find(&table, "POST", &["groups"]) else {
            panic!("groups are read-only");
        };
        assert_eq!((e.status, e.allow.as_deref()), (405, Some("GET")));
        assert!(e.message.contains("directory"), "{}", e.message);
        let Err(e) = find(&table, "GET", &["nothing"]) else {
            panic!("no such path");
        };
        assert_eq!(e.status, 404);
    }
}
