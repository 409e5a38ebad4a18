//! The directory stream read back: the records of a batch the evaluator
//! gave up on, named by Lambda's on-failure record (shard and sequence
//! numbers). The stream keeps records 24 hours.

use std::cmp::Ordering;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodbstreams::Client;
use aws_sdk_dynamodbstreams::error::SdkError;
use aws_sdk_dynamodbstreams::types::{AttributeValue, ShardIteratorType};
use user_sync_core::ids::OrgId;
use user_sync_core::repair::{LostBatch, LostRecord, StreamHistory, StreamHistoryError};

use crate::dynamo::map_sdk_error;

/// Pages read at most for one batch (a batch is at most the mapping's
/// `BatchSize`, 100 records; a page is up to 1,000).
const MAX_PAGES: usize = 10;

/// The DirectoryTable's stream.
#[derive(Debug, Clone)]
pub struct DirectoryStream {
    client: Client,
}

impl DirectoryStream {
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

/// Compares two sequence numbers (decimal digits of any length).
fn cmp_sequence(a: &str, b: &str) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// The stream no longer has what was asked for (trimmed, or the stream or
/// shard is gone), or another error.
fn history_error<E, R>(err: SdkError<E, R>) -> StreamHistoryError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    if let SdkError::ServiceError(service) = &err {
        let code = service.err().code().unwrap_or_default();
        if matches!(
            code,
            "TrimmedDataAccessException" | "ResourceNotFoundException" | "ExpiredIteratorException"
        ) {
            return StreamHistoryError::Expired(code.to_owned());
        }
    }
    StreamHistoryError::Transient(map_sdk_error(err))
}

/// The organization of a DirectoryTable key (`{org}#…`).
fn org_of(pk: &str) -> Option<OrgId> {
    pk.split('#').next().and_then(|org| OrgId::parse(org).ok())
}

impl StreamHistory for DirectoryStream {
    async fn lost_records(&self, batch: &LostBatch) -> Result<Vec<LostRecord>, StreamHistoryError> {
        let mut iterator = self
            .client
            .get_shard_iterator()
            .stream_arn(&batch.stream_arn)
            .shard_id(&batch.shard_id)
            .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
            .sequence_number(&batch.start_sequence_number)
            .send()
            .await
            .map_err(history_error)?
            .shard_iterator;
        let mut lost = Vec::new();
        for _ in 0..MAX_PAGES {
            let Some(current) = iterator.take() else {
                break;
            };
            let page = self
                .client
                .get_records()
                .shard_iterator(current)
                .send()
                .await
                .map_err(history_error)?;
            let records = page.records.unwrap_or_default();
            if records.is_empty() {
                // the batch's records are in the past: an empty page is the
                // end of what the shard holds
                break;
            }
            for record in records {
                let Some(change) = record.dynamodb else {
                    continue;
                };
                let seq = change.sequence_number.unwrap_or_default();
                if cmp_sequence(&seq, &batch.end_sequence_number) == Ordering::Greater {
                    return Ok(lost);
                }
                let keys = change.keys.unwrap_or_default();
                let key = |name: &str| match keys.get(name) {
                    Some(AttributeValue::S(v)) => Some(v.clone()),
                    _ => None,
                };
                if let (Some(org), Some(sort_key)) =
                    (key("pk").as_deref().and_then(org_of), key("sk"))
                {
                    lost.push(LostRecord { org, sort_key });
                }
                if cmp_sequence(&seq, &batch.end_sequence_number) == Ordering::Equal {
                    return Ok(lost);
                }
            }
            iterator = page.next_shard_iterator;
        }
        Ok(lost)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn sequence_numbers_compare_as_numbers() {
        assert_eq!(cmp_sequence("99", "100"), Ordering::Less);
        assert_eq!(cmp_sequence("100", "100"), Ordering::Equal);
        assert_eq!(cmp_sequence("101", "100"), Ordering::Greater);
    }

    #[test]
    fn the_organization_is_the_key_prefix() {
        assert_eq!(org_of("acme#USER#u1").unwrap().as_str(), "acme");
        assert_eq!(org_of("acme#FANOUT").unwrap().as_str(), "acme");
        assert!(org_of("").is_none());
    }
}
