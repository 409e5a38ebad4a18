//! The query parameters several endpoints share: how each is read, and how
//! the document describes it.

use schemars::{Schema, SchemaGenerator};
use user_sync_aws::http::HttpRequest;

use crate::errors::{ApiError, ErrorCode};
use crate::registry::{Query, schema};

/// Default and largest page of a listing.
pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 200;

/// Longest `search` text.
pub const MAX_SEARCH: usize = 256;

/// Longest product id of the `product` query parameter.
pub const MAX_PRODUCT: usize = 200;

/// The `limit` query parameter: a page size.
pub(crate) fn limit(req: &HttpRequest) -> Result<usize, ApiError> {
    match req.query.get("limit") {
        None => Ok(DEFAULT_LIMIT),
        Some(l) => match l.parse::<usize>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            _ => Err(ApiError::new(
                400,
                ErrorCode::InvalidQuery,
                format!("limit must be 1 to {MAX_LIMIT}"),
            )),
        },
    }
}

/// The `search` query parameter: lowercased and trimmed, `None` when empty.
pub(crate) fn search(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(raw) = req.query.get("search") else {
        return Ok(None);
    };
    if raw.chars().count() > MAX_SEARCH {
        return Err(ApiError::new(
            400,
            ErrorCode::InvalidQuery,
            format!("search: at most {MAX_SEARCH} characters"),
        ));
    }
    let s = raw.trim().to_lowercase();
    Ok((!s.is_empty()).then_some(s))
}

/// The `product` query parameter.
pub(crate) fn product(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let product = req.query.get("product").cloned();
    if product
        .as_ref()
        .is_some_and(|p| p.is_empty() || p.chars().count() > MAX_PRODUCT)
    {
        return Err(ApiError::new(
            400,
            ErrorCode::InvalidQuery,
            format!("product: 1 to {MAX_PRODUCT} characters"),
        ));
    }
    Ok(product)
}

/// The `cursor` query parameter, as given by a previous page.
pub(crate) fn cursor<'r, T>(
    req: &'r HttpRequest,
    parse: fn(&'r str) -> Option<T>,
) -> Result<Option<T>, ApiError> {
    match req.query.get("cursor") {
        None => Ok(None),
        Some(c) => parse(c).map(Some).ok_or_else(|| {
            ApiError::new(
                400,
                ErrorCode::InvalidQuery,
                "cursor is not one this API gave",
            )
        }),
    }
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

pub(crate) fn domain_schema(_: &mut SchemaGenerator) -> Schema {
    schemars::json_schema!({"type": "string", "minLength": 1, "maxLength": user_sync_core::domains::MAX_DOMAIN_LEN})
}

pub const LIMIT: Query = Query::optional("limit", "page size (default 50)", limit_schema);
pub const CURSOR: Query =
    Query::optional("cursor", "`nextCursor` of the previous page", cursor_schema);
pub const SEARCH: Query = Query::optional(
    "search",
    "keeps what contains this text, ignoring case",
    search_schema,
);
pub const PRODUCT: Query = Query::optional(
    "product",
    "a product of the catalogue (out_of_licenses is counted per product)",
    product_schema,
);
pub const DOMAIN: Query = Query::optional(
    "domain",
    "an email domain (unverified_domain is counted per domain)",
    domain_schema,
);
pub const CONFIRM: Query = Query::optional(
    "confirm",
    "go ahead although the mass-suspension guardrail would refuse",
    schema::<bool>,
);
pub const FORMAT: Query = Query {
    name: "format",
    description: "csv or jsonl (JSON lines)",
    schema: format_schema,
    required: true,
};
pub const USER_STATUS: Query = Query::optional(
    "status",
    "only users with this sync status",
    schema::<user_sync_core::progress::UserSyncStatus>,
);
pub const USER_FAILURE_CLASS: Query = Query::optional(
    "failureClass",
    "only users failed with this class",
    schema::<user_sync_core::state::FailureClass>,
);

/// The activity history's filters, in the order the document lists them.
macro_rules! activity_filters {
    ($($head:expr),*; $($tail:expr),*) => {
        &[
            $($head,)*
            Query::optional(
                "action",
                "only this action",
                schema::<user_sync_core::activity::Action>,
            ),
            Query::optional(
                "outcome",
                "only this outcome",
                schema::<user_sync_core::state::Outcome>,
            ),
            Query::optional(
                "failureClass",
                "only failures of this class",
                schema::<user_sync_core::state::FailureClass>,
            ),
            Query::optional(
                "userId",
                "only entries about this user (not with ruleId)",
                schema::<user_sync_core::ids::UserId>,
            ),
            Query::optional(
                "ruleId",
                "only entries about this rule (not with userId)",
                schema::<user_sync_core::ids::RuleId>,
            ),
            Query::optional("from", "oldest time, RFC 3339", time_schema),
            Query::optional("to", "newest time, RFC 3339", time_schema),
            $($tail),*
        ]
    };
}

/// `GET /activity`'s parameters.
pub const ACTIVITY_LIST: &[Query] = activity_filters!(; LIMIT, CURSOR);

/// `GET /activity/export`'s parameters: the format first.
pub const ACTIVITY_EXPORT: &[Query] = activity_filters!(FORMAT; CURSOR);
