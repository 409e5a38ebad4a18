//! One correlation id per change. It is born where the change is made (the
//! SCIM or admin request, a fan-out task the evaluator starts or continues)
//! and travels with it: on the DirectoryTable items the change writes (so
//! the stream record the evaluator reads carries it), on the jobs and mail
//! jobs sent for it, to the product API as `X-Correlation-Id`, on the
//! activity entries, and in every log line (the span field
//! `correlation_id`).
//!
//! Within a change, the adapters find it in a task-local scope
//! ([`within`]): the DirectoryTable writes and the queues stamp what they
//! write, and the product API client sends the header, without every port
//! taking the id as an argument.

use std::collections::HashMap;
use std::future::Future;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use aws_lambda_events::http::HeaderValue;
use aws_sdk_dynamodb::types::AttributeValue;
use tracing::Instrument;
use user_sync_core::activity::ActivityEntry;
use user_sync_core::clock::{IdSource, RandomIds};
use user_sync_core::job::{EntitlementJob, MailJob};

/// The header a correlation id travels in (HTTP answers, product API calls).
pub const HEADER: &str = "x-correlation-id";
/// The DirectoryTable attribute holding the id of the change that wrote
/// the item.
pub const ATTRIBUTE_ID: &str = "correlationId";
/// The DirectoryTable attribute holding when that change was made (Unix
/// milliseconds).
pub const ATTRIBUTE_AT: &str = "originMs";
/// Longest correlation id taken from outside (a request id); longer ones are
/// replaced by a fresh id.
const MAX_LEN: usize = 128;

/// Where a change began: its id and when (Unix milliseconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub correlation_id: String,
    pub at_ms: u64,
}

tokio::task_local! {
    static ORIGIN: Origin;
    static ADMIN: AdminActor;
}

/// Who makes an admin change: the caller's name (the entries' actor) and,
/// for a person, their subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminActor {
    pub name: String,
    pub subject: Option<String>,
}

/// Runs `f` as an admin's change: the activity entries written within it
/// carry the change's correlation id, and, when their actor is the
/// person's name, the person's subject (see [`stamp_entry`]).
pub async fn admin_change<F: Future>(actor: AdminActor, f: F) -> F::Output {
    ADMIN.scope(actor, f).await
}

/// An activity entry about to be written within an admin's change, with
/// the change's correlation id and the person's subject, unless it carries
/// its own. Entries written elsewhere (the sync's) are left as they are.
pub fn stamp_entry(entry: &ActivityEntry) -> std::borrow::Cow<'_, ActivityEntry> {
    let Ok(actor) = ADMIN.try_with(Clone::clone) else {
        return std::borrow::Cow::Borrowed(entry);
    };
    let mut stamped = entry.clone();
    if stamped.correlation_id.is_none() {
        stamped.correlation_id = current().map(|o| o.correlation_id);
    }
    if stamped.actor_subject.is_none() && stamped.actor == actor.name {
        stamped.actor_subject = actor.subject;
    }
    std::borrow::Cow::Owned(stamped)
}

/// The time now, in Unix milliseconds.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl Origin {
    /// A change made now, named `id` when it is a usable id (API Gateway's
    /// request id: printable ASCII, short), else by a fresh random id.
    pub fn born(id: Option<&str>) -> Self {
        let given = id.filter(|i| {
            !i.is_empty() && i.len() <= MAX_LEN && i.bytes().all(|b| b.is_ascii_graphic())
        });
        let correlation_id = match given {
            Some(i) => i.to_owned(),
            // no randomness is no reason to refuse a change: the time names it
            None => RandomIds
                .new_id()
                .unwrap_or_else(|_| format!("t{}", now_ms())),
        };
        Self {
            correlation_id,
            at_ms: now_ms(),
        }
    }

    /// The origin a DirectoryTable image carries, if it was written within
    /// a change.
    pub fn of_image(image: &HashMap<String, serde_dynamo::AttributeValue>) -> Option<Self> {
        let id = match image.get(ATTRIBUTE_ID)? {
            serde_dynamo::AttributeValue::S(s) => s.clone(),
            _ => return None,
        };
        let at_ms = match image.get(ATTRIBUTE_AT)? {
            serde_dynamo::AttributeValue::N(n) => n.parse().ok()?,
            _ => return None,
        };
        Some(Self {
            correlation_id: id,
            at_ms,
        })
    }

    /// The origin a job carries, if any.
    pub fn of_job(job: &EntitlementJob) -> Option<Self> {
        Some(Self {
            correlation_id: job.correlation_id.clone()?,
            at_ms: job.origin_ms?,
        })
    }
}

/// Runs `f` as part of the change `origin`.
pub async fn within<F: Future>(origin: Origin, f: F) -> F::Output {
    ORIGIN.scope(origin, f).await
}

/// Answers one HTTP request (SCIM or admin) as a change of its own: the
/// change is named by API Gateway's request id (`request_id`) or a fresh
/// id, every log line of `answer` carries it (span `request`, field
/// `correlation_id`), and the answer echoes it in `X-Correlation-Id`.
pub async fn http_request<F>(request_id: Option<&str>, answer: F) -> ApiGatewayV2httpResponse
where
    F: Future<Output = ApiGatewayV2httpResponse>,
{
    let origin = Origin::born(request_id);
    let id = origin.correlation_id.clone();
    let span = tracing::info_span!("request", correlation_id = %id);
    let mut response = within(origin, answer.instrument(span)).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers.insert(HEADER, value);
    }
    response
}

/// The change the current task is part of, if any.
pub fn current() -> Option<Origin> {
    ORIGIN.try_with(Clone::clone).ok()
}

/// Adds the current change's attributes to a DirectoryTable item about to
/// be written (an item written outside a change keeps none).
pub fn stamp(item: &mut HashMap<String, AttributeValue>) {
    if let Some(o) = current() {
        item.insert(ATTRIBUTE_ID.to_owned(), AttributeValue::S(o.correlation_id));
        item.insert(
            ATTRIBUTE_AT.to_owned(),
            AttributeValue::N(o.at_ms.to_string()),
        );
    }
}

/// A job about to be sent, with the current change's origin unless it
/// carries its own.
pub fn stamp_job(job: &EntitlementJob) -> std::borrow::Cow<'_, EntitlementJob> {
    match current() {
        Some(o) if job.correlation_id.is_none() => std::borrow::Cow::Owned(EntitlementJob {
            correlation_id: Some(o.correlation_id),
            origin_ms: Some(o.at_ms),
            ..job.clone()
        }),
        _ => std::borrow::Cow::Borrowed(job),
    }
}

/// A mail job about to be sent, with the current change's id unless it
/// carries its own.
pub fn stamp_mail(job: &MailJob) -> std::borrow::Cow<'_, MailJob> {
    match current() {
        Some(o) if job.correlation_id.is_none() => std::borrow::Cow::Owned(MailJob {
            correlation_id: Some(o.correlation_id),
            ..job.clone()
        }),
        _ => std::borrow::Cow::Borrowed(job),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use user_sync_core::ids::{OrgId, UserId};

    fn job() -> EntitlementJob {
        EntitlementJob::new(
            &OrgId::parse("o1").unwrap(),
            &UserId::parse("u1").unwrap(),
            1,
        )
    }

    #[test]
    fn a_request_id_names_the_change_unless_unusable() {
        assert_eq!(Origin::born(Some("abc-123=")).correlation_id, "abc-123=");
        for bad in [None, Some(""), Some("has space"), Some(&*"x".repeat(200))] {
            let o = Origin::born(bad);
            assert!(!o.correlation_id.is_empty() && o.correlation_id.len() <= MAX_LEN);
            assert_ne!(Some(o.correlation_id.as_str()), bad);
        }
    }

    #[tokio::test]
    async fn jobs_and_items_take_the_scope_s_origin_but_keep_their_own() {
        let mut item = HashMap::new();
        stamp(&mut item);
        assert!(item.is_empty(), "outside a change nothing is stamped");
        let origin = Origin {
            correlation_id: "c1".into(),
            at_ms: 42,
        };
        within(origin.clone(), async {
            stamp(&mut item);
            let stamped = stamp_job(&job()).into_owned();
            assert_eq!(Origin::of_job(&stamped), Some(origin.clone()));
            let own = EntitlementJob {
                correlation_id: Some("c0".into()),
                origin_ms: Some(1),
                ..job()
            };
            assert_eq!(*stamp_job(&own), own);
        })
        .await;
        let image: HashMap<String, serde_dynamo::AttributeValue> = item
            .into_iter()
            .map(|(k, v)| {
                let v = match v {
                    AttributeValue::S(s) => serde_dynamo::AttributeValue::S(s),
                    AttributeValue::N(n) => serde_dynamo::AttributeValue::N(n),
                    other => panic!("not stamped: {other:?}"),
                };
                (k, v)
            })
            .collect();
        assert_eq!(Origin::of_image(&image), Some(origin));
        assert_eq!(current(), None);
    }

    #[tokio::test]
    async fn entries_of_an_admin_change_carry_its_id_and_the_person() {
        use user_sync_core::activity::{Action, Subject, SubjectKind};
        use user_sync_core::state::Outcome;
        let entry = |actor: &str| {
            ActivityEntry::new(
                "2026-01-01T00:00:00.000Z".into(),
                "x",
                actor,
                Action::SyncEnabled,
                Subject {
                    kind: SubjectKind::Sync,
                    id: "sync".into(),
                },
                Outcome::Success,
            )
        };
        // outside an admin change: as it is
        assert_eq!(stamp_entry(&entry("Ada")).into_owned(), entry("Ada"));
        let ada = AdminActor {
            name: "Ada".into(),
            subject: Some("ada-sub".into()),
        };
        let origin = Origin::born(Some("req-1"));
        let (mine, other) = within(
            origin,
            admin_change(ada, async {
                (
                    stamp_entry(&entry("Ada")).into_owned(),
                    stamp_entry(&entry("someone")).into_owned(),
                )
            }),
        )
        .await;
        assert_eq!(mine.correlation_id.as_deref(), Some("req-1"));
        assert_eq!(mine.actor_subject.as_deref(), Some("ada-sub"));
        assert_eq!(other.correlation_id.as_deref(), Some("req-1"));
        assert_eq!(other.actor_subject, None);
    }
}
