//! The template's tables and queues created on the emulator, with its parameters.

use std::collections::BTreeMap;

use crate::error::StackError;
use crate::resolve::{REGION, Resolver};
use crate::resources::{self, CreatedQueue, CreatedTable};
use crate::template::{ResourceKind, Template};

/// Parameters: the local values, else their `Default`.
pub(super) fn set_parameters(
    template: &Template,
    local: &BTreeMap<&str, String>,
    resolver: &mut Resolver,
) -> Result<(), StackError> {
    for (name, default) in &template.parameters {
        if let Some(value) = local.get(name.as_str()) {
            resolver.set_ref(name, value);
        } else if let Some(default) = default {
            let value = resolver
                .resolve_string(default)
                .map_err(|source| StackError::Resolve {
                    what: format!("the default of parameter {name}"),
                    source,
                })?;
            resolver.set_ref(name, value);
        }
    }
    Ok(())
}

/// The tables and queues created, by logical id.
pub(super) struct Provisioned {
    pub(super) tables: BTreeMap<String, CreatedTable>,
    pub(super) queues: BTreeMap<String, CreatedQueue>,
}

impl Provisioned {
    pub(super) fn queue_by_arn(&self, arn: &str) -> Option<&CreatedQueue> {
        self.queues.values().find(|q| q.arn == arn)
    }
}

/// Creates the tables, then the queues, then sets the redrive policies (all
/// dead-letter queues exist by then), registering each resource's `!Ref`
/// and `!GetAtt` values as it goes.
pub(super) async fn provision(
    template: &Template,
    resolver: &mut Resolver,
    dynamodb: &aws_sdk_dynamodb::Client,
    sqs: &aws_sdk_sqs::Client,
) -> Result<Provisioned, StackError> {
    let resolve_tree = |resolver: &Resolver, id: &str, value: &serde_yaml::Value| {
        resolver
            .resolve_tree(value)
            .map_err(|source| StackError::Resolve {
                what: format!("{id}.Properties"),
                source,
            })
    };

    let mut tables = BTreeMap::new();
    let mut queues = BTreeMap::new();
    for resource in &template.resources {
        let id = resource.logical_id.as_str();
        match &resource.kind {
            ResourceKind::Table(properties) => {
                let table =
                    resources::create_table(dynamodb, id, &resolve_tree(resolver, id, properties)?)
                        .await?;
                resolver.set_ref(id, &table.name);
                resolver.set_attribute(id, "Arn", &table.arn);
                if let Some(stream_arn) = &table.stream_arn {
                    resolver.set_attribute(id, "StreamArn", stream_arn);
                }
                tables.insert(id.to_owned(), table);
            }
            ResourceKind::Queue(properties) => {
                let mut without_redrive = properties.clone();
                if let Some(m) = without_redrive.as_mapping_mut() {
                    m.remove("RedrivePolicy");
                    m.remove("RedriveAllowPolicy");
                }
                let queue = resources::create_queue(
                    sqs,
                    id,
                    &resolve_tree(resolver, id, &without_redrive)?,
                )
                .await?;
                resolver.set_ref(id, &queue.url);
                resolver.set_attribute(id, "Arn", &queue.arn);
                resolver.set_attribute(id, "QueueName", &queue.name);
                resolver.set_attribute(id, "QueueUrl", &queue.url);
                queues.insert(id.to_owned(), queue);
            }
            ResourceKind::HttpApi => resolver.set_ref(id, "local"),
            ResourceKind::Function(_) => {
                let name = format!("{}-{id}", crate::resolve::STACK_NAME);
                resolver.set_attribute(
                    id,
                    "Arn",
                    format!(
                        "arn:aws:lambda:{REGION}:{}:function:{name}",
                        crate::resolve::ACCOUNT_ID
                    ),
                );
                resolver.set_ref(id, name);
            }
            ResourceKind::Other(type_name) => {
                tracing::debug!(resource = id, r#type = %type_name, "not created locally");
            }
        }
    }
    for resource in &template.resources {
        if let (ResourceKind::Queue(properties), Some(queue)) =
            (&resource.kind, queues.get(&resource.logical_id))
        {
            let policies = properties.as_mapping().map(|m| {
                let mut only = serde_yaml::Mapping::new();
                for key in ["RedrivePolicy", "RedriveAllowPolicy"] {
                    if let Some(v) = m.get(key) {
                        only.insert(key.into(), v.clone());
                    }
                }
                serde_yaml::Value::Mapping(only)
            });
            if let Some(policies) = policies {
                let resolved = resolve_tree(resolver, &resource.logical_id, &policies)?;
                resources::set_redrive_policy(sqs, queue, &resolved).await?;
            }
        }
    }
    Ok(Provisioned { tables, queues })
}
