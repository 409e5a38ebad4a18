//! Creates the template's tables and queues in the emulator, verifies the
//! mail sender identity in SES, and keeps the product API key in a Secrets
//! Manager secret (what the stack's `ProductApiKeySecretArn` names on AWS). Names are the logical ids
//! (`DirectoryTable`, `JobsQueue`); a resource that exists already (an
//! emulator shared between runs) is reused.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
    LocalSecondaryIndex, Projection, ProjectionType, ProvisionedThroughput, ScalarAttributeType,
    StreamSpecification, StreamViewType, TableStatus, TimeToLiveSpecification,
};
use aws_sdk_sqs::types::QueueAttributeName;
use serde::Deserialize;
use serde_json::Value;

use crate::error::StackError;
use crate::flex;

/// A table in the emulator.
#[derive(Debug, Clone)]
pub struct CreatedTable {
    pub name: String,
    pub arn: String,
    pub stream_arn: Option<String>,
    /// Created now (not found existing).
    pub fresh: bool,
}

/// A queue in the emulator.
#[derive(Debug, Clone)]
pub struct CreatedQueue {
    pub name: String,
    pub url: String,
    pub arn: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TableProperties {
    key_schema: Vec<KeyElement>,
    attribute_definitions: Vec<AttributeDef>,
    #[serde(default)]
    global_secondary_indexes: Vec<Index>,
    #[serde(default)]
    local_secondary_indexes: Vec<Index>,
    billing_mode: Option<String>,
    provisioned_throughput: Option<Throughput>,
    stream_specification: Option<StreamSpec>,
    time_to_live_specification: Option<TtlSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct KeyElement {
    attribute_name: String,
    key_type: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AttributeDef {
    attribute_name: String,
    attribute_type: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Index {
    index_name: String,
    key_schema: Vec<KeyElement>,
    projection: IndexProjection,
    provisioned_throughput: Option<Throughput>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct IndexProjection {
    projection_type: Option<String>,
    #[serde(default)]
    non_key_attributes: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Throughput {
    #[serde(deserialize_with = "flex::int")]
    read_capacity_units: i64,
    #[serde(deserialize_with = "flex::int")]
    write_capacity_units: i64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StreamSpec {
    stream_view_type: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TtlSpec {
    attribute_name: String,
    #[serde(default, deserialize_with = "flex::opt_bool")]
    enabled: Option<bool>,
}

fn shape_error(logical_id: &str, e: impl std::fmt::Display) -> StackError {
    StackError::Template(format!("{logical_id}: {e}"))
}

fn key_schema(id: &str, keys: &[KeyElement]) -> Result<Vec<KeySchemaElement>, StackError> {
    keys.iter()
        .map(|k| {
            KeySchemaElement::builder()
                .attribute_name(&k.attribute_name)
                .key_type(KeyType::from(k.key_type.as_str()))
                .build()
                .map_err(|e| shape_error(id, e))
        })
        .collect()
}

fn throughput(
    id: &str,
    t: Option<&Throughput>,
) -> Result<Option<ProvisionedThroughput>, StackError> {
    t.map(|t| {
        ProvisionedThroughput::builder()
            .read_capacity_units(t.read_capacity_units)
            .write_capacity_units(t.write_capacity_units)
            .build()
            .map_err(|e| shape_error(id, e))
    })
    .transpose()
}

fn projection(p: &IndexProjection) -> Projection {
    Projection::builder()
        .set_projection_type(p.projection_type.as_deref().map(ProjectionType::from))
        .set_non_key_attributes(
            (!p.non_key_attributes.is_empty()).then(|| p.non_key_attributes.clone()),
        )
        .build()
}

/// Creates (or finds) the table `logical_id` from its resolved `Properties`,
/// and waits until it is active.
pub async fn create_table(
    client: &aws_sdk_dynamodb::Client,
    logical_id: &str,
    properties: &Value,
) -> Result<CreatedTable, StackError> {
    let props: TableProperties =
        serde_json::from_value(properties.clone()).map_err(|e| shape_error(logical_id, e))?;
    let id = logical_id;

    let attribute_definitions = props
        .attribute_definitions
        .iter()
        .map(|a| {
            AttributeDefinition::builder()
                .attribute_name(&a.attribute_name)
                .attribute_type(ScalarAttributeType::from(a.attribute_type.as_str()))
                .build()
                .map_err(|e| shape_error(id, e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let gsis = props
        .global_secondary_indexes
        .iter()
        .map(|i| {
            GlobalSecondaryIndex::builder()
                .index_name(&i.index_name)
                .set_key_schema(Some(key_schema(id, &i.key_schema)?))
                .projection(projection(&i.projection))
                .set_provisioned_throughput(throughput(id, i.provisioned_throughput.as_ref())?)
                .build()
                .map_err(|e| shape_error(id, e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let lsis = props
        .local_secondary_indexes
        .iter()
        .map(|i| {
            LocalSecondaryIndex::builder()
                .index_name(&i.index_name)
                .set_key_schema(Some(key_schema(id, &i.key_schema)?))
                .projection(projection(&i.projection))
                .build()
                .map_err(|e| shape_error(id, e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let stream = props
        .stream_specification
        .as_ref()
        .map(|s| {
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::from(s.stream_view_type.as_str()))
                .build()
                .map_err(|e| shape_error(id, e))
        })
        .transpose()?;
    let billing_mode = props.billing_mode.as_deref().unwrap_or("PROVISIONED");
    let mut provisioned = throughput(id, props.provisioned_throughput.as_ref())?;
    if billing_mode == "PROVISIONED" && provisioned.is_none() {
        provisioned = throughput(
            id,
            Some(&Throughput {
                read_capacity_units: 5,
                write_capacity_units: 5,
            }),
        )?;
    }

    let created = client
        .create_table()
        .table_name(logical_id)
        .set_key_schema(Some(key_schema(id, &props.key_schema)?))
        .set_attribute_definitions(Some(attribute_definitions))
        .set_global_secondary_indexes((!gsis.is_empty()).then_some(gsis))
        .set_local_secondary_indexes((!lsis.is_empty()).then_some(lsis))
        .billing_mode(BillingMode::from(billing_mode))
        .set_provisioned_throughput(provisioned)
        .set_stream_specification(stream)
        .send()
        .await;
    let fresh = match created {
        Ok(_) => true,
        Err(e) => {
            let e = e.into_service_error();
            if e.is_resource_in_use_exception() {
                tracing::info!(table = logical_id, "table exists; reusing it");
                false
            } else {
                return Err(StackError::aws(format!("creating table {logical_id}"), e));
            }
        }
    };

    let table = wait_active(client, logical_id).await?;
    if fresh
        && let Some(ttl) = &props.time_to_live_specification
        && ttl.enabled.unwrap_or(false)
    {
        let spec = TimeToLiveSpecification::builder()
            .attribute_name(&ttl.attribute_name)
            .enabled(true)
            .build()
            .map_err(|e| shape_error(id, e))?;
        client
            .update_time_to_live()
            .table_name(logical_id)
            .time_to_live_specification(spec)
            .send()
            .await
            .map_err(|e| {
                StackError::aws(
                    format!("enabling TTL on table {logical_id}"),
                    e.into_service_error(),
                )
            })?;
    }

    if props.stream_specification.is_some() && table.stream_arn.is_none() {
        return Err(StackError::Template(format!(
            "table {logical_id} exists in the emulator without a stream; use a fresh emulator"
        )));
    }
    Ok(CreatedTable { fresh, ..table })
}

async fn wait_active(
    client: &aws_sdk_dynamodb::Client,
    name: &str,
) -> Result<CreatedTable, StackError> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let described = client
            .describe_table()
            .table_name(name)
            .send()
            .await
            .map_err(|e| {
                StackError::aws(format!("describing table {name}"), e.into_service_error())
            })?;
        let table = described.table.ok_or_else(|| {
            StackError::aws(format!("describing table {name}"), "no table description")
        })?;
        if table.table_status == Some(TableStatus::Active) {
            return Ok(CreatedTable {
                name: name.to_owned(),
                arn: table.table_arn.unwrap_or_default(),
                stream_arn: table.latest_stream_arn,
                fresh: true,
            });
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(StackError::aws(
                format!("waiting for table {name}"),
                "the table did not become ACTIVE within 30 s",
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Queue properties passed as SQS attributes (all but the redrive policies,
/// which [`set_redrive_policy`] sets once every queue exists).
const QUEUE_ATTRIBUTES: [&str; 9] = [
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "DelaySeconds",
    "FifoQueue",
    "FifoThroughputLimit",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
];

/// Creates (or finds) the queue `logical_id` with its resolved `Properties`
/// (without `RedrivePolicy`).
pub async fn create_queue(
    client: &aws_sdk_sqs::Client,
    logical_id: &str,
    properties: &Value,
) -> Result<CreatedQueue, StackError> {
    let mut attributes = HashMap::new();
    for name in QUEUE_ATTRIBUTES {
        if let Some(value) = properties.get(name) {
            let value = flex::scalar_string(value).ok_or_else(|| {
                StackError::Template(format!("{logical_id}.Properties.{name} is not a scalar"))
            })?;
            attributes.insert(QueueAttributeName::from(name), value);
        }
    }
    let fifo = attributes
        .get(&QueueAttributeName::FifoQueue)
        .is_some_and(|v| v == "true");
    let name = if fifo {
        format!("{logical_id}.fifo")
    } else {
        logical_id.to_owned()
    };

    let created = client
        .create_queue()
        .queue_name(&name)
        .set_attributes(Some(attributes.clone()))
        .send()
        .await;
    let url = match created {
        Ok(out) => out.queue_url.unwrap_or_default(),
        Err(e) => {
            let e = e.into_service_error();
            if !e.is_queue_name_exists() {
                return Err(StackError::aws(format!("creating queue {name}"), e));
            }
            tracing::info!(queue = %name, "queue exists with other attributes; updating them");
            let url = client
                .get_queue_url()
                .queue_name(&name)
                .send()
                .await
                .map_err(|e| {
                    StackError::aws(format!("finding queue {name}"), e.into_service_error())
                })?
                .queue_url
                .unwrap_or_default();
            attributes.remove(&QueueAttributeName::FifoQueue);
            client
                .set_queue_attributes()
                .queue_url(&url)
                .set_attributes(Some(attributes))
                .send()
                .await
                .map_err(|e| {
                    StackError::aws(format!("updating queue {name}"), e.into_service_error())
                })?;
            url
        }
    };
    let arn = client
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| {
            StackError::aws(
                format!("reading the ARN of queue {name}"),
                e.into_service_error(),
            )
        })?
        .attributes
        .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
        .ok_or_else(|| {
            StackError::aws(format!("reading the ARN of queue {name}"), "no QueueArn")
        })?;
    Ok(CreatedQueue { name, url, arn })
}

/// Sets `RedrivePolicy` / `RedriveAllowPolicy` (resolved `Properties`, so
/// the dead-letter queue's real ARN) as JSON attributes.
pub async fn set_redrive_policy(
    client: &aws_sdk_sqs::Client,
    queue: &CreatedQueue,
    properties: &Value,
) -> Result<(), StackError> {
    let mut attributes = HashMap::new();
    for name in ["RedrivePolicy", "RedriveAllowPolicy"] {
        match properties.get(name) {
            None | Some(Value::Null) => {}
            Some(Value::String(json)) => {
                attributes.insert(QueueAttributeName::from(name), json.clone());
            }
            Some(policy) => {
                attributes.insert(QueueAttributeName::from(name), policy.to_string());
            }
        }
    }
    if attributes.is_empty() {
        return Ok(());
    }
    client
        .set_queue_attributes()
        .queue_url(&queue.url)
        .set_attributes(Some(attributes))
        .send()
        .await
        .map_err(|e| {
            StackError::aws(
                format!("setting the redrive policy of queue {}", queue.name),
                e.into_service_error(),
            )
        })?;
    Ok(())
}

/// Makes `address` a verified SES email identity, so the mailer may send
/// from it (the emulator verifies identities at once).
pub async fn verify_sender(
    client: &aws_sdk_sesv2::Client,
    address: &str,
) -> Result<(), StackError> {
    match client
        .create_email_identity()
        .email_identity(address)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) => {
            let e = e.into_service_error();
            if e.is_already_exists_exception() {
                Ok(())
            } else {
                Err(StackError::aws(
                    format!("verifying the SES identity {address}"),
                    e,
                ))
            }
        }
    }
}

/// The name of the local stack's product API key secret.
pub const PRODUCT_API_KEY_SECRET: &str = "user-sync/local/product-api-key";

/// Keeps `api_key` in the secret [`PRODUCT_API_KEY_SECRET`] as its
/// `SecretString` `{"apiKey": "…"}` (created, or given a new value when it
/// exists: an emulator shared between runs), and answers the secret's ARN.
pub async fn put_product_api_key(
    client: &aws_sdk_secretsmanager::Client,
    api_key: &str,
) -> Result<String, StackError> {
    let value = serde_json::json!({ user_sync_aws::secrets::API_KEY_FIELD: api_key }).to_string();
    let what = || format!("keeping the product API key in the secret {PRODUCT_API_KEY_SECRET}");
    let arn = match client
        .create_secret()
        .name(PRODUCT_API_KEY_SECRET)
        .secret_string(&value)
        .send()
        .await
    {
        Ok(out) => out.arn().map(str::to_owned),
        Err(e) => {
            let e = e.into_service_error();
            if !e.is_resource_exists_exception() {
                return Err(StackError::aws(what(), e));
            }
            client
                .put_secret_value()
                .secret_id(PRODUCT_API_KEY_SECRET)
                .secret_string(&value)
                .send()
                .await
                .map_err(|e| StackError::aws(what(), e.into_service_error()))?
                .arn()
                .map(str::to_owned)
        }
    };
    arn.ok_or_else(|| StackError::Template(format!("{}: the emulator gave no ARN", what())))
}
