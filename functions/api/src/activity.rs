//! The activity history: `GET /activity` (newest first, filtered, paginated)
//! and `GET /activity/export` (CSV or JSON lines, for a time range).

use std::collections::{BTreeSet, HashMap};

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use user_sync_aws::http::{HttpRequest, response};
use user_sync_core::activity::{
    Action, ActivityEntry, ActivityFilter, MAX_RETENTION_DAYS, MIN_ADMIN_RETENTION_DAYS,
    MIN_RETENTION_DAYS, Subject, SubjectKind,
};
use user_sync_core::clock::Clock;
use user_sync_core::ids::{OrgId, RuleId, UserId};
use user_sync_core::organization::Setting;
use user_sync_core::ports::{Configuration, Directory, Organization, Organizations, SyncState};
use user_sync_core::service::settings::By;
use user_sync_core::sso::Caller;
use user_sync_core::state::{FailureClass, Outcome};

use crate::body::Json;
use crate::errors::{ApiError, ErrorCode, store_error};
use crate::query::{cursor, limit};
use crate::routes::ok;
use crate::settings::{Service, SettingView, precondition, respond};

/// A page of the activity history, newest first.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActivityPage {
    pub items: Vec<ActivityItem>,
    /// `null`: the last page.
    pub next_cursor: Option<String>,
}

/// One entry, as the history shows it. `id` is unique and sorts by time
/// (the time, then a random or deterministic suffix), so a page newest-first
/// is a key-ordered query; a user subject also gets the user's name.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActivityItem {
    #[serde(flatten)]
    pub entry: ActivityEntry,
    /// For a user subject, the user's `userName` as the directory holds it
    /// now (absent when the directory no longer holds the user).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_name: Option<String>,
}

/// Each entry with the name of its subject user, read in one batch.
async fn with_names<D: Directory>(
    directory: &D,
    org: &OrgId,
    entries: Vec<ActivityEntry>,
) -> Result<Vec<ActivityItem>, ApiError> {
    let subjects: Vec<Option<UserId>> = entries
        .iter()
        .map(|e| match e.subject.kind {
            SubjectKind::User => UserId::parse(&e.subject.id).ok(),
            _ => None,
        })
        .collect();
    let ids: Vec<UserId> = subjects
        .iter()
        .flatten()
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let names: HashMap<UserId, String> = if ids.is_empty() {
        HashMap::new()
    } else {
        directory
            .get_users(org, &ids)
            .await
            .map_err(store_error)?
            .into_iter()
            .map(|u| (u.user.id, u.user.user_name))
            .collect()
    };
    Ok(entries
        .into_iter()
        .zip(subjects)
        .map(|(entry, subject)| ActivityItem {
            entry,
            subject_name: subject.and_then(|id| names.get(&id).cloned()),
        })
        .collect())
}

/// How long the activity history is kept: the answer of
/// `GET` and `PUT /activity/settings`.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RetentionSettings {
    /// Days; `null`: the stack's default. Below 90 only when ops set it.
    #[schemars(range(min = MIN_RETENTION_DAYS, max = MAX_RETENTION_DAYS))]
    pub retention_days: Option<u32>,
    /// The setting's version, also its `ETag`: send it as `If-Match` with
    /// `PUT /activity/settings`.
    pub version: u64,
}

/// The body of `PUT /activity/settings`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RetentionBody {
    /// Days, 90 to 3650 (only ops can set fewer); `null`: the stack's
    /// default.
    #[schemars(range(min = MIN_ADMIN_RETENTION_DAYS, max = MAX_RETENTION_DAYS))]
    pub retention_days: Option<u32>,
}

/// Entries one export response carries at most; `Next-Cursor` continues.
pub const EXPORT_MAX: usize = 10_000;
/// Bytes after which an export response stops (Lambda answers at most 6 MB).
const EXPORT_MAX_BYTES: usize = 4 * 1024 * 1024;
/// Entries read per storage call while exporting.
const EXPORT_PAGE: usize = 1_000;

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(400, ErrorCode::InvalidQuery, message)
}

/// A snake_case enum value of a query parameter.
fn enum_param<T: serde::de::DeserializeOwned>(
    req: &HttpRequest,
    name: &str,
    expected: &str,
) -> Result<Option<T>, ApiError> {
    req.query
        .get(name)
        .map(|v| {
            serde_json::from_value(Value::String(v.clone()))
                .map_err(|_| invalid(format!("{name}: expected {expected}")))
        })
        .transpose()
}

/// A time of a query parameter, in the form entries carry.
fn time_param(req: &HttpRequest, name: &str) -> Result<Option<String>, ApiError> {
    req.query
        .get(name)
        .map(|v| {
            user_sync_core::time::parse(v)
                .map(user_sync_core::time::format)
                .ok_or_else(|| {
                    invalid(format!(
                        "{name}: expected an RFC 3339 time such as 2026-11-22T10:00:00Z"
                    ))
                })
        })
        .transpose()
}

/// The filter the query asks for.
fn filter(req: &HttpRequest) -> Result<ActivityFilter, ApiError> {
    let user = req
        .query
        .get("userId")
        .map(|u| UserId::parse(u).map_err(|e| invalid(format!("userId {}", e.reason))))
        .transpose()?;
    let rule = req
        .query
        .get("ruleId")
        .map(|r| RuleId::parse(r).map_err(|e| invalid(format!("ruleId {}", e.reason))))
        .transpose()?;
    let subject = match (user, rule) {
        (Some(_), Some(_)) => return Err(invalid("userId and ruleId: give one or the other")),
        (Some(u), None) => Some(Subject {
            kind: SubjectKind::User,
            id: u.to_string(),
        }),
        (None, Some(r)) => Some(Subject {
            kind: SubjectKind::Rule,
            id: r.to_string(),
        }),
        (None, None) => None,
    };
    let f = ActivityFilter {
        action: enum_param::<Action>(req, "action", "an action such as account_created")?,
        outcome: enum_param::<Outcome>(req, "outcome", "success or failure")?,
        failure_class: enum_param::<FailureClass>(
            req,
            "failureClass",
            "a failure class such as out_of_licenses",
        )?,
        subject,
        from: time_param(req, "from")?,
        to: time_param(req, "to")?,
    };
    if let (Some(from), Some(to)) = (&f.from, &f.to)
        && from > to
    {
        return Err(invalid("from is after to"));
    }
    Ok(f)
}

fn history_cursor(req: &HttpRequest) -> Result<Option<&str>, ApiError> {
    cursor(req, |c| (c.len() <= 512 && !c.contains('\n')).then_some(c))
}

/// `GET /activity`.
pub async fn list<D: Directory + Organizations, S: SyncState>(
    directory: &D,
    state: &S,
    org: &OrgId,
    req: &HttpRequest,
) -> Result<ApiGatewayV2httpResponse, ApiError> {
    let filter = filter(req)?;
    let limit = limit(req)?;
    let (items, next) = state
        .activity(org, &filter, history_cursor(req)?, limit)
        .await
        .map_err(store_error)?;
    ok(&ActivityPage {
        items: with_names(directory, org, items).await?,
        next_cursor: next,
    })
}

/// A CSV field: quoted when it must be, and never read as a formula by a
/// spreadsheet (a leading `=`, `+`, `-`, `@`, tab or CR gets a `'`).
fn csv_field(value: &str) -> String {
    let guarded = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

const CSV_HEADER: &str = "at,actor,action,subjectKind,subjectId,outcome,failureClass,details\n";

fn snake<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(Value::String(s)) => s,
        _ => String::new(),
    }
}

fn csv_line(e: &ActivityEntry) -> String {
    let details = if e.details.is_null() {
        String::new()
    } else {
        e.details.to_string()
    };
    let fields = [
        e.at.clone(),
        e.actor.clone(),
        snake(&e.action),
        snake(&e.subject.kind),
        e.subject.id.clone(),
        snake(&e.outcome),
        e.failure_class
            .map(|c| c.as_str().to_owned())
            .unwrap_or_default(),
        details,
    ];
    let mut line = fields
        .iter()
        .map(|f| csv_field(f))
        .collect::<Vec<_>>()
        .join(",");
    line.push('\n');
    line
}

/// `GET /activity/export?format=csv|jsonl&from=&to=&...`: up to
/// [`EXPORT_MAX`] entries (or about 4 MB), newest first; `Next-Cursor` names where the next
/// request (with `cursor=`) carries on.
pub async fn export<S: SyncState>(
    state: &S,
    org: &OrgId,
    req: &HttpRequest,
) -> Result<ApiGatewayV2httpResponse, ApiError> {
    let csv = match req.query.get("format").map(String::as_str) {
        Some("csv") => true,
        Some("jsonl") => false,
        _ => return Err(invalid("format: csv or jsonl")),
    };
    let filter = filter(req)?;
    let mut cursor = history_cursor(req)?.map(str::to_owned);
    let mut body = if csv {
        CSV_HEADER.to_owned()
    } else {
        String::new()
    };
    let mut count = 0usize;
    loop {
        let (entries, next) = state
            .activity(
                org,
                &filter,
                cursor.as_deref(),
                EXPORT_PAGE.min(EXPORT_MAX - count),
            )
            .await
            .map_err(store_error)?;
        count += entries.len();
        for e in &entries {
            if csv {
                body.push_str(&csv_line(e));
            } else {
                body.push_str(&json!(e).to_string());
                body.push('\n');
            }
        }
        cursor = next;
        if cursor.is_none() || count >= EXPORT_MAX || body.len() >= EXPORT_MAX_BYTES {
            break;
        }
    }
    let (content_type, extension) = if csv {
        ("text/csv; charset=utf-8", "csv")
    } else {
        ("application/x-ndjson", "jsonl")
    };
    let mut headers = vec![(
        "content-disposition",
        format!("attachment; filename=\"activity-{org}.{extension}\""),
    )];
    if let Some(c) = &cursor {
        headers.push(("next-cursor", c.clone()));
    }
    Ok(response(200, content_type, body, &headers))
}

impl SettingView for RetentionSettings {
    const SETTING: Setting = Setting::ActivityRetention;

    fn of(org: &Organization, version: u64) -> Self {
        Self {
            retention_days: org.activity_retention_days,
            version,
        }
    }
}

/// `GET /activity/settings`: how long the history is kept (`null`: the
/// stack's default), with its `ETag`.
pub async fn settings<D: Organizations>(
    directory: &D,
    org: &OrgId,
) -> Result<ApiGatewayV2httpResponse, ApiError> {
    crate::settings::get::<RetentionSettings, _>(directory, org).await
}

/// `PUT /activity/settings` with `{"retentionDays": 90}` (or `null` for the
/// stack's default) and `If-Match`: at least [`MIN_ADMIN_RETENTION_DAYS`].
/// Entries written from then on expire after it; entries written before
/// keep the expiry they were written with.
pub async fn put_settings<D, S, K>(
    settings: Service<'_, D, S, K>,
    caller: &Caller,
    req: &HttpRequest,
    body: Json<'_, RetentionBody>,
) -> Result<ApiGatewayV2httpResponse, ApiError>
where
    D: Organizations + Configuration,
    S: SyncState,
    K: Clock,
{
    let body = body.read()?;
    let org = settings
        .set_retention(
            &caller.org,
            By::Admin(&caller.name),
            body.retention_days,
            || precondition(req),
        )
        .await?;
    respond::<RetentionSettings>(&org)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_never_formulas() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(csv_field("-1,2"), "\"'-1,2\"");
        assert_eq!(csv_field("line\nbreak"), "\"line\nbreak\"");
    }
}
