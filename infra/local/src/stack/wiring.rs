//! The template's functions wired to their routes, streams, queues and schedules.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;

use super::{DEFAULT_TIMEOUT, Provisioned};
use crate::error::StackError;
use crate::filter::Filters;
use crate::functions::{self, AnyFunction, Counters, FunctionSetup};
use crate::http::HttpRoute;
use crate::resolve::{REGION, Resolver, STACK_NAME};
use crate::schedule::{self, ScheduleEventProperties, ScheduleMapping};
use crate::sqs::{self, QueueEventProperties, QueueMapping};
use crate::stream::{
    FilterCriteria, RetryPolicy, SourceProperties, StartingPosition, StreamEventProperties,
    StreamMapping,
};
use crate::template::{EventKind, FunctionSpec, ResourceKind, Template};

/// The functions and their event sources, ready to start.
pub(super) struct Wiring {
    pub(super) routes: Vec<HttpRoute>,
    pub(super) streams: Vec<StreamMapping>,
    pub(super) queues: Vec<QueueMapping>,
    pub(super) schedules: Vec<ScheduleMapping>,
    /// Route base paths by binary (`scim` → `/scim/v2`).
    base_paths: BTreeMap<String, String>,
    pub(super) envs: BTreeMap<String, BTreeMap<String, String>>,
    pub(super) counters: BTreeMap<String, Arc<Counters>>,
}

impl Wiring {
    pub(super) fn base_path(&self, binary: &str) -> Option<&str> {
        self.base_paths.get(binary).map(String::as_str)
    }
}

pub(super) async fn wire_functions(
    template: &Template,
    resolver: &Resolver,
    sdk: &SdkConfig,
    provisioned: &Provisioned,
    schedule_every: Option<Duration>,
) -> Result<Wiring, StackError> {
    let mut wiring = Wiring {
        routes: Vec::new(),
        streams: Vec::new(),
        queues: Vec::new(),
        schedules: Vec::new(),
        base_paths: BTreeMap::new(),
        envs: BTreeMap::new(),
        counters: BTreeMap::new(),
    };
    for resource in &template.resources {
        let ResourceKind::Function(spec) = &resource.kind else {
            continue;
        };
        let id = resource.logical_id.as_str();
        let env = function_env(template, resolver, id, spec)?;
        let timeout = function_timeout(template, resolver, id, spec)?;
        let counters = wiring
            .counters
            .entry(spec.binary.clone())
            .or_default()
            .clone();
        // each function's own access key id: the emulator's record of calls
        // names the function that made each one
        let function_sdk = sdk
            .to_builder()
            .credentials_provider(SharedCredentialsProvider::new(Credentials::from_keys(
                spec.binary.clone(),
                "local",
                None,
            )))
            .build();
        let setup = || FunctionSetup {
            binary: &spec.binary,
            logical_id: id,
            timeout,
            env: &env,
            sdk: &function_sdk,
            counters: counters.clone(),
        };
        let function = functions::build(setup()).await?;

        for event in &spec.events {
            let where_ = format!("{id}.Events.{}", event.name);
            let mismatch = |event_type: &str| {
                StackError::Template(format!(
                    "{where_} is a {event_type} event, but the {} function takes {} events",
                    spec.binary,
                    function.kind()
                ))
            };
            match (&event.kind, &function) {
                (EventKind::HttpApi { path, method }, AnyFunction::Http(f)) => {
                    let route = HttpRoute::new(method, path, f.clone())
                        .map_err(|e| StackError::Template(format!("{where_}: {e}")))?;
                    if path.starts_with('/') {
                        wiring
                            .base_paths
                            .entry(spec.binary.clone())
                            .or_insert_with(|| base_path(path));
                    }
                    wiring.routes.push(route);
                }
                (EventKind::DynamoDb(properties), AnyFunction::Stream(f)) => {
                    let props: StreamEventProperties = typed(resolver, &where_, properties)?;
                    if disabled(props.source.enabled, &where_) {
                        continue;
                    }
                    wiring
                        .streams
                        .push(stream_mapping(&where_, props, f.clone(), provisioned)?);
                }
                (EventKind::Sqs(properties), AnyFunction::Queue(f)) => {
                    let props: QueueEventProperties = typed(resolver, &where_, properties)?;
                    if disabled(props.source.enabled, &where_) {
                        continue;
                    }
                    wiring
                        .queues
                        .push(queue_mapping(&where_, props, f.clone(), provisioned)?);
                }
                (EventKind::Schedule(properties), _) => {
                    let props: ScheduleEventProperties = typed(resolver, &where_, properties)?;
                    if disabled(props.enabled, &where_) {
                        continue;
                    }
                    let rate = schedule::parse_rate(&props.schedule)
                        .map_err(|e| StackError::Template(format!("{where_}.Schedule: {e}")))?;
                    let period = schedule_every.unwrap_or(rate);
                    tracing::info!(schedule = %where_, ?period, "scheduled");
                    wiring.schedules.push(ScheduleMapping {
                        name: where_.clone(),
                        rule: format!("{STACK_NAME}-{id}{}", event.name),
                        period,
                        function: functions::build_scheduled(setup()).await?,
                    });
                }
                (EventKind::HttpApi { .. }, _) => return Err(mismatch("HttpApi")),
                (EventKind::DynamoDb(_), _) => return Err(mismatch("DynamoDB")),
                (EventKind::Sqs(_), _) => return Err(mismatch("SQS")),
                (EventKind::Other(type_name), _) => {
                    tracing::warn!(event = %where_, r#type = %type_name, "event type not driven locally");
                }
            }
        }
        wiring.envs.insert(spec.binary.clone(), env);
    }
    Ok(wiring)
}

/// Whether the template disables an event source (`Enabled: false`): it is
/// then not started, and the log says so.
fn disabled(enabled: Option<bool>, where_: &str) -> bool {
    let off = enabled == Some(false);
    if off {
        tracing::info!(source = %where_, "disabled in the template; not started");
    }
    off
}

/// `/scim/v2/{proxy+}` → `/scim/v2`.
pub(super) fn base_path(path: &str) -> String {
    match path.rsplit_once('/') {
        Some((base, last)) if last.starts_with('{') && last.ends_with("+}") => base.to_owned(),
        _ => path.to_owned(),
    }
}

/// Globals' variables, then the function's, each resolved; `AWS_REGION`.
/// A value that cannot be resolved locally (a dynamic reference such as
/// `{{resolve:secretsmanager:…}}`, which would put a secret in the
/// environment) stops the stack.
fn function_env(
    template: &Template,
    resolver: &Resolver,
    id: &str,
    spec: &FunctionSpec,
) -> Result<BTreeMap<String, String>, StackError> {
    let mut merged = template.global_env.clone();
    merged.extend(spec.env.iter().map(|(k, v)| (k.clone(), v.clone())));
    let mut env = BTreeMap::new();
    for (name, value) in &merged {
        let resolved = resolver
            .resolve_string(value)
            .map_err(|source| StackError::Resolve {
                what: format!("{id}: environment variable {name}"),
                source,
            })?;
        env.insert(name.clone(), resolved);
    }
    env.insert("AWS_REGION".into(), REGION.into());
    Ok(env)
}

fn function_timeout(
    template: &Template,
    resolver: &Resolver,
    id: &str,
    spec: &FunctionSpec,
) -> Result<Duration, StackError> {
    let Some(value) = spec.timeout.as_ref().or(template.global_timeout.as_ref()) else {
        return Ok(DEFAULT_TIMEOUT);
    };
    let text = resolver
        .resolve_string(value)
        .map_err(|source| StackError::Resolve {
            what: format!("{id}: Timeout"),
            source,
        })?;
    text.parse::<u64>().map(Duration::from_secs).map_err(|_| {
        StackError::Template(format!("{id}: Timeout {text:?} is not a number of seconds"))
    })
}

/// Resolves an event's `Properties` and reads them as `T`.
fn typed<T: serde::de::DeserializeOwned>(
    resolver: &Resolver,
    where_: &str,
    properties: &serde_yaml::Value,
) -> Result<T, StackError> {
    let resolved = resolver
        .resolve_tree(properties)
        .map_err(|source| StackError::Resolve {
            what: format!("{where_}.Properties"),
            source,
        })?;
    serde_json::from_value(resolved)
        .map_err(|e| StackError::Template(format!("{where_}.Properties: {e}")))
}

fn filters(where_: &str, criteria: Option<&FilterCriteria>) -> Result<Filters, StackError> {
    Filters::parse(
        criteria
            .iter()
            .flat_map(|c| c.filters.iter().map(|f| f.pattern.as_str())),
    )
    .map_err(|e| StackError::Template(format!("{where_}.FilterCriteria: {e}")))
}

/// -1 (or absent) means "no limit", as in Lambda.
fn limit(value: Option<i64>) -> Option<u64> {
    value.and_then(|v| u64::try_from(v).ok())
}

/// `MaximumBatchingWindowInSeconds`, at most 300 (Lambda's bound).
fn batching_window(source: &SourceProperties) -> Duration {
    Duration::from_secs(
        limit(source.maximum_batching_window_in_seconds)
            .unwrap_or(0)
            .min(300),
    )
}

/// Whether `FunctionResponseTypes` lists `ReportBatchItemFailures`.
fn reports_batch_item_failures(source: &SourceProperties) -> bool {
    source
        .function_response_types
        .iter()
        .any(|t| t == "ReportBatchItemFailures")
}

fn stream_mapping(
    where_: &str,
    props: StreamEventProperties,
    function: functions::StreamFunction,
    provisioned: &Provisioned,
) -> Result<StreamMapping, StackError> {
    let table = provisioned
        .tables
        .values()
        .find(|t| t.stream_arn.as_deref() == Some(props.stream.as_str()))
        .ok_or_else(|| {
            StackError::Template(format!(
                "{where_}: Stream {} is not a table stream of the template",
                props.stream
            ))
        })?;
    let configured = match props.starting_position.as_str() {
        "TRIM_HORIZON" => StartingPosition::TrimHorizon,
        "LATEST" => StartingPosition::Latest,
        other => {
            return Err(StackError::Template(format!(
                "{where_}: StartingPosition {other} is not supported locally"
            )));
        }
    };
    // A table created just now holds nothing to skip; reading it from the
    // start also keeps the first writes from racing the first iterator.
    let starting_position = if table.fresh {
        StartingPosition::TrimHorizon
    } else {
        configured
    };
    let on_failure_queue_url = match props.destination_config.and_then(|d| d.on_failure) {
        Some(on_failure) => Some(
            provisioned
                .queue_by_arn(&on_failure.destination)
                .map(|q| q.url.clone())
                .ok_or_else(|| {
                    StackError::Template(format!(
                        "{where_}: the on-failure destination {} is not a queue of the template",
                        on_failure.destination
                    ))
                })?,
        ),
        None => None,
    };
    Ok(StreamMapping {
        stream_arn: props.stream.clone(),
        starting_position,
        batch_size: limit(props.source.batch_size).map_or(100, |b| b.clamp(1, 10_000) as usize),
        batching_window: batching_window(&props.source),
        report_batch_item_failures: reports_batch_item_failures(&props.source),
        retry: RetryPolicy {
            bisect_on_error: props.bisect_batch_on_function_error.unwrap_or(false),
            max_retry_attempts: limit(props.maximum_retry_attempts)
                .map(|m| u32::try_from(m).unwrap_or(u32::MAX)),
        },
        max_record_age: limit(props.maximum_record_age_in_seconds).map(Duration::from_secs),
        on_failure_queue_url,
        filters: filters(where_, props.source.filter_criteria.as_ref())?,
        function,
    })
}

fn queue_mapping(
    where_: &str,
    props: QueueEventProperties,
    function: functions::QueueFunction,
    provisioned: &Provisioned,
) -> Result<QueueMapping, StackError> {
    let queue = provisioned.queue_by_arn(&props.queue).ok_or_else(|| {
        StackError::Template(format!(
            "{where_}: Queue {} is not a queue of the template",
            props.queue
        ))
    })?;
    let batch_size = limit(props.source.batch_size).unwrap_or(10).max(1);
    if batch_size > 10 {
        tracing::warn!(mapping = %where_, batch_size, "batches above 10 messages are not gathered locally; using 10");
    }
    let pollers = props
        .scaling_config
        .and_then(|s| limit(s.maximum_concurrency))
        .map_or(sqs::DEFAULT_POLLERS, |m| {
            (m as usize).clamp(1, sqs::MAX_POLLERS)
        });
    Ok(QueueMapping {
        queue_url: queue.url.clone(),
        queue_arn: queue.arn.clone(),
        batch_size: batch_size.min(10) as usize,
        batching_window: batching_window(&props.source),
        report_batch_item_failures: reports_batch_item_failures(&props.source),
        pollers,
        filters: filters(where_, props.source.filter_criteria.as_ref())?,
        function,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn base_paths_drop_the_greedy_parameter() {
        assert_eq!(base_path("/scim/v2/{proxy+}"), "/scim/v2");
        assert_eq!(base_path("/health"), "/health");
    }
}
