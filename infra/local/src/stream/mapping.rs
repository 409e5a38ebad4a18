//! A stream event source mapping's settings, as template.yaml states them.

use std::time::Duration;

use serde::Deserialize;

use crate::filter::Filters;
use crate::flex;
use crate::functions::StreamFunction;

/// A `DynamoDB` event's `Properties` in template.yaml.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamEventProperties {
    pub stream: String,
    pub starting_position: String,
    #[serde(flatten)]
    pub source: SourceProperties,
    #[serde(default, deserialize_with = "flex::opt_bool")]
    pub bisect_batch_on_function_error: Option<bool>,
    #[serde(default, deserialize_with = "flex::opt_int")]
    pub maximum_retry_attempts: Option<i64>,
    #[serde(default, deserialize_with = "flex::opt_int")]
    pub maximum_record_age_in_seconds: Option<i64>,
    pub destination_config: Option<DestinationConfig>,
}

/// The `Properties` every event source mapping has (streams and queues).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SourceProperties {
    #[serde(default, deserialize_with = "flex::opt_int")]
    pub batch_size: Option<i64>,
    #[serde(default, deserialize_with = "flex::opt_int")]
    pub maximum_batching_window_in_seconds: Option<i64>,
    #[serde(default)]
    pub function_response_types: Vec<String>,
    pub filter_criteria: Option<FilterCriteria>,
    #[serde(default, deserialize_with = "flex::opt_bool")]
    pub enabled: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DestinationConfig {
    pub on_failure: Option<OnFailure>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OnFailure {
    pub destination: String,
}

/// `FilterCriteria` of an event source mapping (streams and queues).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FilterCriteria {
    #[serde(default)]
    pub filters: Vec<FilterSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FilterSpec {
    pub pattern: String,
}

/// Where a shard reader starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartingPosition {
    TrimHorizon,
    Latest,
}

/// A stream mapping, ready to run.
pub struct StreamMapping {
    pub function: StreamFunction,
    pub stream_arn: String,
    /// Where readers of the shards found first start; shards found later
    /// start at their beginning.
    pub starting_position: StartingPosition,
    pub batch_size: usize,
    pub batching_window: Duration,
    pub report_batch_item_failures: bool,
    pub retry: RetryPolicy,
    pub max_record_age: Option<Duration>,
    /// The on-failure destination queue's URL.
    pub on_failure_queue_url: Option<String>,
    pub filters: Filters,
}

/// What to do with failing batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub bisect_on_error: bool,
    /// `None`: retry until the records expire.
    pub max_retry_attempts: Option<u32>,
}

/// The clients a stream mapping uses.
#[derive(Clone)]
pub struct StreamClients {
    pub streams: aws_sdk_dynamodbstreams::Client,
    pub sqs: aws_sdk_sqs::Client,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::sqs::QueueEventProperties;

    #[test]
    fn the_common_properties_are_read_for_streams_and_queues() {
        let stream: StreamEventProperties = serde_json::from_value(json!({
            "Stream": "arn:s", "StartingPosition": "LATEST", "BatchSize": "25",
            "MaximumBatchingWindowInSeconds": 2, "Enabled": "false",
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "MaximumRetryAttempts": "3",
            "FilterCriteria": {"Filters": [{"Pattern": "{}"}]}
        }))
        .unwrap();
        assert_eq!(stream.source.batch_size, Some(25));
        assert_eq!(stream.source.maximum_batching_window_in_seconds, Some(2));
        assert_eq!(stream.source.enabled, Some(false));
        assert_eq!(stream.source.function_response_types.len(), 1);
        assert!(stream.source.filter_criteria.is_some());
        assert_eq!(stream.maximum_retry_attempts, Some(3));

        let queue: QueueEventProperties =
            serde_json::from_value(json!({"Queue": "arn:q", "BatchSize": 10})).unwrap();
        assert_eq!(queue.source.batch_size, Some(10));
        assert_eq!(queue.source.enabled, None);
        assert!(queue.source.function_response_types.is_empty());
        assert!(queue.source.filter_criteria.is_none());
        assert!(queue.scaling_config.is_none());
    }
}
