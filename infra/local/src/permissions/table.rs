//! The table: what each function's role grants, grant by grant.

use super::{FunctionGrants, Grant};

pub(super) const DIRECTORY: &str = "arn:DirectoryTable";
pub(super) const DIRECTORY_INDEXES: &str = "arn:DirectoryTable/index/*";
const STATE: &str = "arn:StateTable";
const STATE_INDEXES: &str = "arn:StateTable/index/*";
pub(super) const SES_IDENTITY: &str = "ses-identity";
/// The secret holding the product API key: `!Ref ProductApiKeySecretArn`.
pub const PRODUCT_API_KEY_SECRET: &str = "${ProductApiKeySecretArn}";

/// `actions` on `resources`.
const fn allow(actions: &'static [&'static str], resources: &'static [&'static str]) -> Grant {
    Grant { actions, resources }
}

/// The product API key, read once when the function starts: that secret
/// only.
const PRODUCT_API_KEY: Grant = allow(
    &["secretsmanager:GetSecretValue"],
    &[PRODUCT_API_KEY_SECRET],
);

/// What an SQS event source mapping does with the function's role.
const QUEUE_SOURCE: &[&str] = &[
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
];

/// What a DynamoDB stream event source mapping does with the function's role.
const STREAM_SOURCE: &[&str] = &[
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
    "dynamodb:ListStreams",
];

/// Logging and tracing, which every function does.
const fn observability(log_group: &'static [&'static str]) -> [Grant; 2] {
    [
        allow(&["logs:CreateLogStream", "logs:PutLogEvents"], log_group),
        // X-Ray's actions have no resource-level permissions
        allow(
            &["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
            &["*"],
        ),
    ]
}

const SCIM: [Grant; 5] = {
    let [logs, tracing] = observability(&["arn:ScimLogGroup"]);
    [
        logs,
        tracing,
        // users, groups, memberships, userName claims: conditional writes,
        // transactions (Put, Delete; Update of the deleted users' index),
        // batched membership writes; batched reads of users (group members,
        // deleted users found by name)
        allow(
            &[
                "dynamodb:GetItem",
                "dynamodb:BatchGetItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
                "dynamodb:Query",
                "dynamodb:BatchWriteItem",
            ],
            &[DIRECTORY],
        ),
        // filters by externalId, displayName, email; listings
        allow(&["dynamodb:Query"], &[DIRECTORY_INDEXES]),
        // the organizations' request counts (rate limit)
        allow(&["dynamodb:UpdateItem"], &[STATE]),
    ]
};

const API: [Grant; 9] = {
    let [logs, tracing] = observability(&["arn:ApiLogGroup"]);
    [
        logs,
        tracing,
        // rules, the order, sync, templates, catalogue, settings; reads of
        // users, groups, tokens
        allow(
            &[
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
                "dynamodb:ConditionCheckItem",
                "dynamodb:Query",
                "dynamodb:BatchGetItem",
            ],
            &[DIRECTORY],
        ),
        allow(&["dynamodb:Query"], &[DIRECTORY_INDEXES]),
        // the scheduled domain re-check lists the organizations
        allow(&["dynamodb:Scan"], &[DIRECTORY]),
        // activity entries; users' states and statuses; the failures index;
        // the organizations' request counts (rate limit)
        allow(
            &[
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:Query",
                "dynamodb:BatchGetItem",
            ],
            &[STATE],
        ),
        allow(&["dynamodb:Query"], &[STATE_INDEXES]),
        // Retry sync: the organization's failed jobs and welcome emails sent
        // again (it reads no dead-letter queue)
        allow(&["sqs:SendMessage"], &["arn:JobsQueue", "arn:MailQueue"]),
        // rule previews read seats from the product API
        PRODUCT_API_KEY,
    ]
};

const EVALUATOR: [Grant; 8] = {
    let [logs, tracing] = observability(&["arn:EvaluatorLogGroup"]);
    [
        logs,
        tracing,
        // the stream event source mapping reads with the function's role
        allow(STREAM_SOURCE, &["stream:DirectoryTable"]),
        // users, memberships, rules, sync; fan-out tasks' progress
        allow(
            &[
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:Query",
                "dynamodb:BatchGetItem",
            ],
            &[DIRECTORY],
        ),
        allow(&["dynamodb:Query"], &[DIRECTORY_INDEXES]),
        // desired states
        allow(&["dynamodb:PutItem", "dynamodb:BatchGetItem"], &[STATE]),
        allow(&["sqs:SendMessage"], &["arn:JobsQueue"]),
        // the stream mapping's on-failure destination, written with this role
        allow(&["sqs:SendMessage"], &["arn:EvaluatorFailureQueue"]),
    ]
};

const WORKER: [Grant; 9] = {
    let [logs, tracing] = observability(&["arn:WorkerLogGroup"]);
    [
        logs,
        tracing,
        // the queue event source mapping
        allow(QUEUE_SOURCE, &["arn:JobsQueue"]),
        // the worker's own delays (visibility) and a rate-limited job sent
        // back to wait out Retry-After
        allow(
            &["sqs:ChangeMessageVisibility", "sqs:SendMessage"],
            &["arn:JobsQueue"],
        ),
        // a job that failed for good, or on its last delivery
        allow(&["sqs:SendMessage"], &["arn:JobsDeadLetterQueue"]),
        // the welcome email of a created account
        allow(&["sqs:SendMessage"], &["arn:MailQueue"]),
        // the organization's settings (read with a user's state when not
        // read lately), and its domains (an address outside its verified
        // ones gets no account)
        allow(
            &[
                "dynamodb:GetItem",
                "dynamodb:BatchGetItem",
                "dynamodb:Query",
            ],
            &[DIRECTORY],
        ),
        // the desired state; status and activity (one transaction)
        allow(
            &[
                "dynamodb:PutItem",
                "dynamodb:BatchGetItem",
                "dynamodb:Query",
            ],
            &[STATE],
        ),
        PRODUCT_API_KEY,
    ]
};

const MAILER: [Grant; 7] = {
    let [logs, tracing] = observability(&["arn:MailerLogGroup"]);
    [
        logs,
        tracing,
        // the queue event source mapping
        allow(QUEUE_SOURCE, &["arn:MailQueue"]),
        allow(&["sqs:SendMessage"], &["arn:MailDeadLetterQueue"]),
        // the organization (with the desired state: one BatchGetItem), the
        // template
        allow(&["dynamodb:GetItem", "dynamodb:BatchGetItem"], &[DIRECTORY]),
        // the once-per-user claim (put, read when taken, record sent,
        // release), the email's failure status, the desired state
        allow(
            &[
                "dynamodb:GetItem",
                "dynamodb:BatchGetItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
                "dynamodb:Query",
            ],
            &[STATE],
        ),
        // as the verified sender only
        allow(&["ses:SendEmail"], &[SES_IDENTITY]),
    ]
};

const REPAIR: [Grant; 6] = {
    let [logs, tracing] = observability(&["arn:RepairLogGroup"]);
    [
        logs,
        tracing,
        // the queue event source mapping (the lost batches)
        allow(QUEUE_SOURCE, &["arn:EvaluatorFailureQueue"]),
        // a lost batch read back by shard and sequence number
        allow(
            &["dynamodb:GetShardIterator", "dynamodb:GetRecords"],
            &["stream:DirectoryTable"],
        ),
        // the sync switch and the fan-outs; the reconcile's task; the
        // organizations listed when the stream lags (a Scan)
        allow(
            &[
                "dynamodb:GetItem",
                "dynamodb:Query",
                "dynamodb:PutItem",
                "dynamodb:Scan",
            ],
            &[DIRECTORY],
        ),
        // the reconcile_started activity entry
        allow(&["dynamodb:PutItem"], &[STATE]),
    ]
};

/// Every function's permissions.
pub const PERMISSIONS: [FunctionGrants; 6] = [
    FunctionGrants::new("ScimFunction", "ScimRole", "scim", &SCIM),
    FunctionGrants::new("ApiFunction", "ApiRole", "api", &API),
    FunctionGrants::new(
        "EvaluatorFunction",
        "EvaluatorRole",
        "evaluator",
        &EVALUATOR,
    ),
    FunctionGrants::new("WorkerFunction", "WorkerRole", "worker", &WORKER),
    FunctionGrants::new("MailerFunction", "MailerRole", "mailer", &MAILER),
    FunctionGrants::new("RepairFunction", "RepairRole", "repair", &REPAIR),
];

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::permissions::pairs;

    #[test]
    fn only_xray_is_granted_on_every_resource() {
        for f in PERMISSIONS {
            for (a, r) in pairs(f.grants) {
                assert!(
                    !a.ends_with('*') && !a.contains(":*"),
                    "{}: a wildcard action {a}",
                    f.role
                );
                if r == "*" {
                    assert!(a.starts_with("xray:"), "{}: {a} on *", f.role);
                }
            }
        }
    }
}
