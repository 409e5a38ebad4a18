//! The evaluator: reacts to DirectoryTable stream records, decides which users
//! a change affects, computes their effective assignment, stores the desired
//! state with a new generation, and enqueues a job only when the desired
//! state changed.
//!
//! Records are processed in order; at the first failure the handler reports
//! that record and stops, and Lambda retries from it.

mod drift;
pub mod kept_rules;
pub mod languages;
mod reconcile;
mod tally;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use aws_lambda_events::dynamodb::{Event, EventRecord};
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use lambda_runtime::LambdaEvent;
use tracing::{Instrument, info, info_span, warn};
use user_sync_aws::config::{Tables, activity_retention_days};
use user_sync_aws::correlation::{self, Origin};
use user_sync_aws::dynamo::items::DirectoryRecord;
use user_sync_aws::dynamo::{BothTables, DirectoryTable, StateTable};
use user_sync_aws::env::{ConfigError, required};
use user_sync_aws::sqs::SqsJobQueue;
use user_sync_core::clock::SystemClock;

use crate::kept_rules::KeptRules;
use crate::languages::DefaultLanguages;
use user_sync_core::fanout::FanOutTask;
use user_sync_core::ids::{GroupId, OrgId, RuleId, UserId};
use user_sync_core::ports::{
    Configuration, Directory, FanOuts, JobQueue, Organizations, ReconcileReads, SyncState,
};

pub use reconcile::{Context, Reconciler};
pub use tally::Tally;

#[derive(Debug, Clone)]
pub struct Config {
    pub tables: Tables,
    /// Days the drift check's summary entries are kept (the organization's
    /// own retention wins).
    pub activity_retention_days: u32,
    pub jobs_queue_url: String,
    pub jobs_dlq_url: String,
}

impl Config {
    pub fn from_lookup(get: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Ok(Self {
            tables: Tables::from_lookup(get)?,
            activity_retention_days: activity_retention_days(get)?,
            jobs_queue_url: required(get, "JOBS_QUEUE_URL")?,
            jobs_dlq_url: required(get, "JOBS_DLQ_URL")?,
        })
    }
}

#[derive(Debug, Clone)]
pub struct Deps {
    pub directory: DirectoryTable,
    pub state: StateTable,
    /// Both tables, for what reconciling reads of a user.
    pub reads: BothTables,
    pub jobs: SqsJobQueue,
    /// The organizations' default languages, kept while the instance is warm.
    pub languages: Arc<DefaultLanguages>,
    /// The organizations' rules, kept while the instance is warm and
    /// their configuration's version does not move.
    pub rules: Arc<KeptRules>,
}

impl Deps {
    pub fn new(sdk: &aws_config::SdkConfig, config: Config) -> Self {
        let ddb = aws_sdk_dynamodb::Client::new(sdk);
        // the one activity entry the evaluator writes: a drift check's summary
        let (directory, state) = config.tables.open(&ddb, config.activity_retention_days);
        Self {
            reads: BothTables::new(&directory, &state),
            directory,
            state,
            jobs: SqsJobQueue::new(
                aws_sdk_sqs::Client::new(sdk),
                config.jobs_queue_url,
                config.jobs_dlq_url,
            ),
            languages: Arc::default(),
            rules: Arc::default(),
        }
    }
}

/// What one stream record asks of the evaluator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Affected {
    Nobody,
    Users(OrgId, BTreeSet<UserId>),
    /// Members of these groups (a rule change): started as a fan-out task.
    Groups(OrgId, BTreeSet<GroupId>),
    /// Rules whose order relative to the others changed (old and new order):
    /// the members of their groups, as a fan-out task.
    Reordered(OrgId, Vec<RuleId>, Vec<RuleId>),
    /// Every directory user of the organization (sync turned on), as a
    /// fan-out task.
    Everyone(OrgId),
    /// The next chunk of a fan-out task.
    Chunk(OrgId, Box<FanOutTask>),
    /// The sync switch changed without turning on (turned off): nobody to
    /// reconcile, but what this batch read of the configuration is stale.
    Switched(OrgId),
}

impl Affected {
    pub fn org(&self) -> Option<&OrgId> {
        match self {
            Affected::Nobody => None,
            Affected::Users(org, _)
            | Affected::Groups(org, _)
            | Affected::Reordered(org, _, _)
            | Affected::Everyone(org)
            | Affected::Chunk(org, _)
            | Affected::Switched(org) => Some(org),
        }
    }
}

fn parse(image: &serde_dynamo::Item) -> Result<DirectoryRecord, serde_dynamo::Error> {
    if image.is_empty() {
        return Ok(DirectoryRecord::Other);
    }
    DirectoryRecord::parse(image.clone())
}

/// Decides what one stream record asks for, from its images alone.
pub fn affected(record: &EventRecord) -> Result<Affected, serde_dynamo::Error> {
    let old = parse(&record.change.old_image)?;
    let new = parse(&record.change.new_image)?;
    Ok(match (old, new) {
        (DirectoryRecord::User(o), DirectoryRecord::User(n)) => {
            // only what the desired state depends on counts
            if o.user().facts() == n.user().facts() {
                Affected::Nobody
            } else {
                Affected::Users(n.org_id, BTreeSet::from([n.user_id]))
            }
        }
        (_, DirectoryRecord::User(u)) | (DirectoryRecord::User(u), _) => {
            Affected::Users(u.org_id, BTreeSet::from([u.user_id]))
        }
        (_, DirectoryRecord::Member(m)) | (DirectoryRecord::Member(m), _) => {
            Affected::Users(m.org_id, BTreeSet::from([m.user_id]))
        }
        (old, DirectoryRecord::Rule(n)) => {
            let mut groups = BTreeSet::from([n.group_id.clone()]);
            if let DirectoryRecord::Rule(o) = old {
                // the stored priority is stale by design: the order item holds it
                if let (Ok(a), Ok(b)) = (o.rule(), n.rule())
                    && a.same_settings(&b)
                {
                    return Ok(Affected::Nobody);
                }
                groups.insert(o.group_id);
            }
            Affected::Groups(n.org_id, groups)
        }
        (DirectoryRecord::Rule(o), _) => Affected::Groups(o.org_id, BTreeSet::from([o.group_id])),
        (old, DirectoryRecord::Order(n)) => {
            let before = match old {
                DirectoryRecord::Order(o) => o.rule_ids,
                _ => Vec::new(),
            };
            // rules added or removed are their own records; only a change of
            // the relative order of the rules in both lists matters here
            let kept_old: Vec<&RuleId> =
                before.iter().filter(|id| n.rule_ids.contains(id)).collect();
            let kept_new: Vec<&RuleId> =
                n.rule_ids.iter().filter(|id| before.contains(id)).collect();
            if kept_old == kept_new {
                Affected::Nobody
            } else {
                Affected::Reordered(n.org_id, before.clone(), n.rule_ids.clone())
            }
        }
        (old, DirectoryRecord::Sync(n)) => {
            let was = matches!(old, DirectoryRecord::Sync(ref o) if o.enabled);
            if n.enabled && !was {
                Affected::Everyone(n.org_id)
            } else {
                Affected::Switched(n.org_id)
            }
        }
        (_, DirectoryRecord::FanOut(n)) if !n.done => match n.task() {
            Ok(task) => Affected::Chunk(n.org_id, Box::new(task)),
            Err(e) => {
                warn!(error = %e, "unreadable fan-out task skipped");
                Affected::Nobody
            }
        },
        _ => Affected::Nobody,
    })
}

/// The change a record belongs to: the origin its new image carries (the
/// SCIM or admin request that wrote it, or the fan-out it continues); else
/// (a removal, an item written outside a request, a fan-out ops started) a
/// change born here, named by the stream record's id, at the record's time.
fn origin(record: &EventRecord) -> Origin {
    Origin::of_image(&record.change.new_image).unwrap_or_else(|| Origin {
        correlation_id: record.event_id.clone(),
        at_ms: u64::try_from(
            record
                .change
                .approximate_creation_date_time
                .timestamp_millis(),
        )
        .unwrap_or(0),
    })
}

/// The Lambda handler.
pub async fn handle(
    deps: &Deps,
    event: LambdaEvent<Event>,
) -> Result<DynamoDbEventResponse, lambda_runtime::Error> {
    // boxed: the fan-out future is large
    Ok(Box::pin(process(
        &deps.directory,
        &deps.state,
        &deps.reads,
        &deps.jobs,
        &deps.languages,
        &deps.rules,
        event.payload.records,
    ))
    .await)
}

/// A user that several records of a batch name (its item and its
/// membership, when a user is created and added to a group) is evaluated
/// once, at the last of them: what that evaluation reads includes what the
/// earlier records wrote, and the job it may send carries the last change's
/// origin. The earlier records leave the user out. Should the batch stop at
/// a failure in between, it resumes there, the user still ahead.
fn evaluate_each_user_once(asked: &mut [Result<Affected, serde_dynamo::Error>]) {
    let mut last: HashMap<OrgId, HashMap<UserId, usize>> = HashMap::new();
    for (i, a) in asked.iter().enumerate() {
        if let Ok(Affected::Users(org, users)) = a {
            let of_org = last.entry(org.clone()).or_default();
            for user in users {
                of_org.insert(user.clone(), i);
            }
        }
    }
    for (i, a) in asked.iter_mut().enumerate() {
        if let Ok(Affected::Users(org, users)) = a {
            let of_org = last.get(org);
            users.retain(|u| of_org.and_then(|m| m.get(u)) == Some(&i));
            if users.is_empty() {
                *a = Ok(Affected::Nobody);
            }
        }
    }
}

/// Processes records in order and stops at the first failure.
pub async fn process<D, S, R, Q>(
    directory: &D,
    state: &S,
    reads: &R,
    jobs: &Q,
    languages: &DefaultLanguages,
    rules: &KeptRules,
    records: Vec<EventRecord>,
) -> DynamoDbEventResponse
where
    D: Directory + Configuration + FanOuts + Organizations,
    S: SyncState,
    R: ReconcileReads,
    Q: JobQueue,
{
    let reconciler = Reconciler {
        directory,
        state,
        reads,
        jobs,
        languages,
        rules,
        clock: &SystemClock,
        tally: Tally::default(),
    };
    let mut contexts: HashMap<OrgId, Context> = HashMap::new();
    let mut response = DynamoDbEventResponse::default();
    let mut asked: Vec<_> = records.iter().map(affected).collect();
    evaluate_each_user_once(&mut asked);
    for (record, asked) in records.into_iter().zip(asked) {
        let seq = record.change.sequence_number.clone().unwrap_or_default();
        let origin = origin(&record);
        let correlation_id = origin.correlation_id.clone();
        let span = info_span!(
            "record",
            seq = %seq,
            event = %record.event_name,
            correlation_id = %correlation_id
        );
        let mut org = None;
        let result = async {
            let affected = match asked {
                Ok(a) => a,
                Err(e) => {
                    // an image we cannot read will not become readable: skip it
                    warn!(error = %e, "unreadable stream image skipped");
                    return Ok(());
                }
            };
            org = affected.org().cloned();
            reconciler.apply(&mut contexts, affected, &seq).await
        }
        .instrument(span);
        // what the record writes and sends carries its change's origin
        // (boxed: the record's future is large)
        let result = correlation::within(origin, Box::pin(result)).await;
        reconciler.tally.emit(org.as_ref(), &correlation_id);
        if let Err(e) = result {
            warn!(error = %e, seq = %seq, "record failed; the batch resumes from it");
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = Some(seq);
            response.batch_item_failures.push(failure);
            return response;
        }
    }
    info!("batch done");
    response
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn membership_insert() -> EventRecord {
        let text = include_str!("../../../events/evaluator/membership-insert.json");
        let event: Event = serde_json::from_str(text).unwrap();
        event.records.into_iter().next().unwrap()
    }

    #[test]
    fn a_record_s_origin_is_the_one_its_new_image_carries() {
        let mut record = membership_insert();
        record.change.new_image.insert(
            correlation::ATTRIBUTE_ID.into(),
            serde_dynamo::AttributeValue::S("req-1".into()),
        );
        record.change.new_image.insert(
            correlation::ATTRIBUTE_AT.into(),
            serde_dynamo::AttributeValue::N("1763795402500".into()),
        );
        assert_eq!(
            origin(&record),
            Origin {
                correlation_id: "req-1".into(),
                at_ms: 1_763_795_402_500,
            }
        );
    }

    #[test]
    fn a_user_several_records_name_is_evaluated_once_at_the_last() {
        let (a, b) = (
            OrgId::parse("org-a").unwrap(),
            OrgId::parse("org-b").unwrap(),
        );
        let (ada, grace) = (
            UserId::parse("u-ada").unwrap(),
            UserId::parse("u-grace").unwrap(),
        );
        let users = |org: &OrgId, ids: &[&UserId]| {
            Ok(Affected::Users(
                org.clone(),
                ids.iter().map(|u| (*u).clone()).collect(),
            ))
        };
        let mut asked = vec![
            // ada created, then grace, then both added to a group
            users(&a, &[&ada]),
            users(&a, &[&grace]),
            // a rule change in between stays as it is
            Ok(Affected::Groups(a.clone(), BTreeSet::new())),
            users(&a, &[&ada, &grace]),
            // the same id in another organization is another user
            users(&b, &[&ada]),
            // grace changed again
            users(&a, &[&grace]),
            Ok(Affected::Nobody),
        ];
        evaluate_each_user_once(&mut asked);
        let seen: Vec<Option<(OrgId, Vec<UserId>)>> = asked
            .iter()
            .map(|x| match x {
                Ok(Affected::Users(org, ids)) => Some((org.clone(), ids.iter().cloned().collect())),
                Ok(Affected::Groups(..)) => Some((a.clone(), Vec::new())),
                _ => None,
            })
            .collect();
        assert_eq!(
            seen,
            [
                None,
                None,
                Some((a.clone(), Vec::new())),
                Some((a.clone(), vec![ada.clone()])),
                Some((b, vec![ada])),
                Some((a, vec![grace])),
                None,
            ]
        );
    }

    #[test]
    fn a_record_without_one_is_a_change_born_at_the_record() {
        let record = membership_insert();
        assert_eq!(
            origin(&record),
            Origin {
                correlation_id: "7de3041dd709b024af6f29e4fa13d34c".into(),
                at_ms: 1_763_795_403_000,
            }
        );
    }
}
