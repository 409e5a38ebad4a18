//! The permissions a recorded AWS call needs.

use std::collections::BTreeMap;

use super::Pairs;
use super::table::SES_IDENTITY;

/// The IAM permissions one recorded call needs, as (action, resource), given
/// the physical names of the tables and queues (name or URL → logical id);
/// an error for a call this table does not know how to read.
pub fn needed(
    service: &str,
    action: &str,
    resources: &[String],
    logical: &BTreeMap<String, String>,
) -> Result<Pairs, String> {
    let name = |physical: &str| {
        logical.get(physical).cloned().ok_or_else(|| {
            format!("{service}:{action} on {physical}, which the stack did not create")
        })
    };
    let mut out = Pairs::new();
    match service {
        "dynamodb" => {
            for r in resources {
                let (op, target) = match r.split_once('@') {
                    Some((op, target)) => (Some(op), target),
                    None => (None, r.as_str()),
                };
                let permission = match (action, op) {
                    ("TransactWriteItems", Some("Put")) => "PutItem",
                    ("TransactWriteItems", Some("Update")) => "UpdateItem",
                    ("TransactWriteItems", Some("Delete")) => "DeleteItem",
                    ("TransactWriteItems", Some("ConditionCheck")) => "ConditionCheckItem",
                    ("TransactGetItems", _) => "GetItem",
                    (a, _) => a,
                };
                let resource = if let Some(t) = target.strip_prefix("table:") {
                    format!("arn:{}", name(t)?)
                } else if let Some(i) = target.strip_prefix("index:") {
                    let table = i.split('/').next().unwrap_or_default();
                    format!("arn:{}/index/*", name(table)?)
                } else {
                    return Err(format!("dynamodb:{action}: unreadable resource {r}"));
                };
                out.insert((format!("dynamodb:{permission}"), resource));
            }
            if resources.is_empty() {
                return Err(format!("dynamodb:{action} named no table"));
            }
        }
        // a table's stream read back (GetShardIterator, GetRecords)
        "dynamodbstreams" => {
            for r in resources {
                let Some(table) = r.strip_prefix("stream:") else {
                    return Err(format!("dynamodbstreams:{action}: unreadable resource {r}"));
                };
                out.insert((
                    format!("dynamodb:{action}"),
                    format!("stream:{}", name(table)?),
                ));
            }
            if resources.is_empty() {
                return Err(format!("dynamodbstreams:{action} named no stream"));
            }
        }
        "sqs" => {
            let permission = action.strip_suffix("Batch").unwrap_or(action);
            for r in resources {
                let url = r.strip_prefix("queue:").unwrap_or(r);
                out.insert((format!("sqs:{permission}"), format!("arn:{}", name(url)?)));
            }
            if resources.is_empty() {
                return Err(format!("sqs:{action} named no queue"));
            }
        }
        "sesv2" | "ses" if action == "SendEmail" || action == "send_email" => {
            out.insert(("ses:SendEmail".to_owned(), SES_IDENTITY.to_owned()));
        }
        // the secret by the ARN or name the call gave; `logical` maps it to
        // the parameter that names it (`ProductApiKeySecretArn`)
        "secretsmanager" => {
            for r in resources {
                let id = r.strip_prefix("secret:").unwrap_or(r);
                out.insert((
                    format!("secretsmanager:{action}"),
                    format!("${{{}}}", name(id)?),
                ));
            }
            if resources.is_empty() {
                return Err(format!("secretsmanager:{action} named no secret"));
            }
        }
        _ => {
            return Err(format!(
                "{service}:{action} is a call the table does not cover"
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::permissions::PRODUCT_API_KEY_SECRET;
    use crate::permissions::table::{DIRECTORY, DIRECTORY_INDEXES};

    #[test]
    fn recorded_calls_map_to_permissions() {
        let logical = BTreeMap::from([
            ("dir-table".to_owned(), "DirectoryTable".to_owned()),
            ("http://q/123/jobs".to_owned(), "JobsQueue".to_owned()),
        ]);
        let n = needed(
            "dynamodb",
            "TransactWriteItems",
            &[
                "Put@table:dir-table".into(),
                "ConditionCheck@table:dir-table".into(),
            ],
            &logical,
        )
        .unwrap();
        assert!(n.contains(&("dynamodb:PutItem".into(), DIRECTORY.into())));
        assert!(n.contains(&("dynamodb:ConditionCheckItem".into(), DIRECTORY.into())));
        let n = needed(
            "dynamodb",
            "Query",
            &["index:dir-table/gsi1".into()],
            &logical,
        )
        .unwrap();
        assert!(n.contains(&("dynamodb:Query".into(), DIRECTORY_INDEXES.into())));
        let n = needed(
            "sqs",
            "SendMessageBatch",
            &["queue:http://q/123/jobs".into()],
            &logical,
        )
        .unwrap();
        assert!(n.contains(&("sqs:SendMessage".into(), "arn:JobsQueue".into())));
        let n = needed(
            "dynamodbstreams",
            "GetRecords",
            &["stream:dir-table".into()],
            &logical,
        )
        .unwrap();
        assert!(n.contains(&("dynamodb:GetRecords".into(), "stream:DirectoryTable".into())));
        assert!(needed("dynamodbstreams", "GetRecords", &[], &logical).is_err());
        assert!(needed("dynamodb", "Scan", &["table:other".into()], &logical).is_err());
        assert!(needed("s3", "PutObject", &[], &logical).is_err());
        let secret = "arn:aws:secretsmanager:us-east-1:123456789012:secret:k-AbCdEf";
        let logical = BTreeMap::from([(secret.to_owned(), "ProductApiKeySecretArn".to_owned())]);
        let n = needed(
            "secretsmanager",
            "GetSecretValue",
            &[format!("secret:{secret}")],
            &logical,
        )
        .unwrap();
        assert_eq!(
            n,
            Pairs::from([(
                "secretsmanager:GetSecretValue".to_owned(),
                PRODUCT_API_KEY_SECRET.to_owned()
            )])
        );
        assert!(
            needed(
                "secretsmanager",
                "GetSecretValue",
                &["secret:another".into()],
                &logical
            )
            .is_err()
        );
    }
}
