//! SDK errors → [`StoreError`].

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use user_sync_core::StoreError;

/// Maps any DynamoDB SDK error: a failed condition (or a cancelled
/// transaction because of one) is `Conflict`; throttling, timeouts and
/// service errors are `Transient`; everything else is `Permanent`.
pub fn map_sdk_error<E, R>(err: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match &err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            StoreError::transient(err)
        }
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or_default();
            let message = service.err().message().unwrap_or_default();
            match code {
                "ConditionalCheckFailedException" => {
                    StoreError::Conflict("condition failed".into())
                }
                "TransactionCanceledException" if message.contains("ConditionalCheckFailed") => {
                    StoreError::Conflict("condition failed".into())
                }
                "TransactionCanceledException"
                | "TransactionConflictException"
                | "ProvisionedThroughputExceededException"
                | "ThrottlingException"
                | "RequestLimitExceeded"
                | "InternalServerError"
                | "ServiceUnavailable" => StoreError::transient(err),
                "ValidationException" => StoreError::Invalid(message.to_owned()),
                _ => StoreError::permanent(err),
            }
        }
        _ => StoreError::permanent(err),
    }
}

/// Maps a serde_dynamo error (an item that does not have the expected shape).
pub(crate) fn shape(err: serde_dynamo::Error) -> StoreError {
    StoreError::permanent(err)
}

/// Maps a JSON error in a stored document.
pub(crate) fn json(err: serde_json::Error) -> StoreError {
    StoreError::permanent(err)
}
