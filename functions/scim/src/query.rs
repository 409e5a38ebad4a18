//! What a list request asks for, from the query string or a `.search` body:
//! filter, paging (index-based or cursor, RFC 9865) and projection.

use serde_json::Value;
use user_sync_aws::http::HttpRequest;
use user_sync_core::scim::cursor;
use user_sync_core::scim::filter::{Filter, parse_filter};
use user_sync_core::scim::{Projection, ScimError};

use crate::render::projection;

/// Default and largest page size.
pub const DEFAULT_COUNT: usize = 100;
pub const MAX_COUNT: usize = 200;

/// What a list request asks for, from the query string or a `.search` body.
pub(crate) struct ListQuery {
    pub(crate) filter: Option<Filter>,
    /// The filter as sent, which a cursor is bound to.
    pub(crate) filter_text: Option<String>,
    pub(crate) start_index: usize,
    pub(crate) count: usize,
    /// `Some` (empty for the first page) when the client asks for cursor
    /// pagination (RFC 9865); index-based otherwise.
    pub(crate) cursor: Option<String>,
    pub(crate) projection: Projection,
}

fn integer(v: Option<&Value>, what: &str) -> Result<Option<i64>, ScimError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| ScimError::invalid_value(format!("{what} must be an integer"))),
        Some(Value::String(s)) => s
            .trim()
            .parse::<i64>()
            .map(Some)
            .map_err(|_| ScimError::invalid_value(format!("{what} must be an integer"))),
        Some(_) => Err(ScimError::invalid_value(format!(
            "{what} must be an integer"
        ))),
    }
}

fn positive(v: Option<&Value>, what: &str) -> Result<Option<usize>, ScimError> {
    Ok(integer(v, what)?.map(|n| usize::try_from(n.max(0)).unwrap_or(0)))
}

/// The `cursor` of a request: a string (empty for the first page).
fn cursor_param(v: Option<&Value>) -> Result<Option<String>, ScimError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(c)) => Ok(Some(c.trim().to_owned())),
        Some(_) => Err(ScimError::new(
            400,
            Some("invalidCursor"),
            "cursor must be a string (empty for the first page)",
        )),
    }
}

impl ListQuery {
    fn from_parts(
        filter: Option<&str>,
        start_index: Option<&Value>,
        count: Option<&Value>,
        cursor: Option<&Value>,
        projection: Projection,
    ) -> Result<Self, ScimError> {
        let filter_text = filter
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(str::to_owned);
        let filter = match &filter_text {
            Some(f) => Some(parse_filter(f)?),
            None => None,
        };
        let cursor = cursor_param(cursor)?;
        if cursor.is_some() {
            if start_index.is_some_and(|v| !v.is_null()) {
                return Err(ScimError::invalid_value(
                    "startIndex and cursor cannot be combined: send startIndex for index-based pagination, cursor for cursor pagination",
                ));
            }
            return Ok(Self {
                filter,
                filter_text,
                start_index: 1,
                count: cursor::cursor_count(integer(count, "count")?, DEFAULT_COUNT, MAX_COUNT)?,
                cursor,
                projection,
            });
        }
        Ok(Self {
            filter,
            filter_text,
            // startIndex below 1 is read as 1; count below 0 as 0 (RFC 7644 §3.4.2.4)
            start_index: positive(start_index, "startIndex")?.unwrap_or(1).max(1),
            count: positive(count, "count")?
                .unwrap_or(DEFAULT_COUNT)
                .min(MAX_COUNT),
            cursor: None,
            projection,
        })
    }

    pub(crate) fn from_query(req: &HttpRequest) -> Result<Self, ScimError> {
        let q = |k: &str| {
            req.query
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(k))
                .map(|(_, v)| Value::String(v.clone()))
        };
        let filter = req
            .query
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("filter"))
            .map(|(_, v)| v.as_str());
        Self::from_parts(
            filter,
            q("startIndex").as_ref(),
            q("count").as_ref(),
            q("cursor").as_ref(),
            projection(req)?,
        )
    }

    pub(crate) fn from_search(body: &Value) -> Result<Self, ScimError> {
        let Some(obj) = body.as_object() else {
            return Err(ScimError::invalid_syntax(
                "the body must be a SearchRequest object",
            ));
        };
        let get = |k: &str| {
            obj.iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(k))
                .map(|(_, v)| v)
        };
        let filter = match get("filter") {
            None | Some(Value::Null) => None,
            Some(Value::String(f)) => Some(f.as_str()),
            Some(_) => return Err(ScimError::invalid_filter("filter must be a string")),
        };
        let names = |k: &str| -> Result<Option<String>, ScimError> {
            match get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Array(list)) => list
                    .iter()
                    .map(|v| v.as_str().map(str::to_owned))
                    .collect::<Option<Vec<String>>>()
                    .map(|v| Some(v.join(",")))
                    .ok_or_else(|| {
                        ScimError::invalid_value(format!("{k} must be an array of strings"))
                    }),
                Some(_) => Err(ScimError::invalid_value(format!(
                    "{k} must be an array of strings"
                ))),
            }
        };
        let projection = Projection::parse(
            names("attributes")?.as_deref(),
            names("excludedAttributes")?.as_deref(),
        )?;
        Self::from_parts(
            filter,
            get("startIndex"),
            get("count"),
            get("cursor"),
            projection,
        )
    }
}
