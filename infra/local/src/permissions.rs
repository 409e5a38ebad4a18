//! Every AWS call each function makes, as IAM permissions: the table
//! `template.yaml`'s roles must grant exactly (a test here fails when a role
//! grants more or less), and the check the end-to-end tests run on the calls
//! the functions made on the local stack (every one must be in the table).
//! docs/permissions.md shows the same table.
//!
//! Resources are named as the template names them: `arn:X` for
//! `!GetAtt X.Arn`, `stream:X` for `!GetAtt X.StreamArn`, `arn:X/index/*`
//! for the table's indexes, `ses-identity` for the sender's SES identity,
//! `${Parameter}` for a parameter's value (the product API key's secret),
//! `*` where a service has no resource-level permissions (X-Ray only).

use std::collections::{BTreeMap, BTreeSet};

use serde_yaml::Value;

use crate::resolve::Resolver;

/// Actions on resources.
#[derive(Debug, Clone, Copy)]
pub struct Grant {
    pub actions: &'static [&'static str],
    pub resources: &'static [&'static str],
}

/// What one function may call.
#[derive(Debug, Clone, Copy)]
pub struct FunctionGrants {
    /// The template's logical id of the function.
    pub function: &'static str,
    /// Its role's logical id.
    pub role: &'static str,
    /// Its binary (the access key id it calls the local stack's emulator with).
    pub binary: &'static str,
    pub grants: &'static [Grant],
}

const DIRECTORY: &str = "arn:DirectoryTable";
const DIRECTORY_INDEXES: &str = "arn:DirectoryTable/index/*";
const STATE: &str = "arn:StateTable";
const STATE_INDEXES: &str = "arn:StateTable/index/*";
const SES_IDENTITY: &str = "ses-identity";
/// The secret holding the product API key: `!Ref ProductApiKeySecretArn`.
pub const PRODUCT_API_KEY_SECRET: &str = "${ProductApiKeySecretArn}";

/// The product API key, read once when the function starts: that secret
/// only.
const PRODUCT_API_KEY: Grant = Grant {
    actions: &["secretsmanager:GetSecretValue"],
    resources: &[PRODUCT_API_KEY_SECRET],
};

/// Logging and tracing, which every function does.
const fn observability(log_group: &'static [&'static str]) -> [Grant; 2] {
    [
        Grant {
            actions: &["logs:CreateLogStream", "logs:PutLogEvents"],
            resources: log_group,
        },
        // X-Ray's actions have no resource-level permissions
        Grant {
            actions: &["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
            resources: &["*"],
        },
    ]
}

const SCIM: [Grant; 5] = {
    let [logs, tracing] = observability(&["arn:ScimLogGroup"]);
    [
        logs,
        tracing,
        // users, groups, memberships, userName claims: conditional writes,
        // transactions (Put, Delete), batched membership writes; batched
        // reads of users (group members, deleted users found by name)
        Grant {
            actions: &[
                "dynamodb:GetItem",
                "dynamodb:BatchGetItem",
                "dynamodb:PutItem",
                "dynamodb:DeleteItem",
                "dynamodb:Query",
                "dynamodb:BatchWriteItem",
            ],
            resources: &[DIRECTORY],
        },
        // filters by externalId, displayName, email; listings
        Grant {
            actions: &["dynamodb:Query"],
            resources: &[DIRECTORY_INDEXES],
        },
        // the organizations' request counts (rate limit)
        Grant {
            actions: &["dynamodb:UpdateItem"],
            resources: &[STATE],
        },
    ]
};

const API: [Grant; 8] = {
    let [logs, tracing] = observability(&["arn:ApiLogGroup"]);
    [
        logs,
        tracing,
        // rules, the order, sync, templates, catalogue, settings; reads of
        // users, groups, tokens
        Grant {
            actions: &[
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
                "dynamodb:ConditionCheckItem",
                "dynamodb:Query",
                "dynamodb:BatchGetItem",
            ],
            resources: &[DIRECTORY],
        },
        Grant {
            actions: &["dynamodb:Query"],
            resources: &[DIRECTORY_INDEXES],
        },
        // activity entries; users' states and statuses; the failures index;
        // the organizations' request counts (rate limit)
        Grant {
            actions: &[
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:Query",
                "dynamodb:BatchGetItem",
            ],
            resources: &[STATE],
        },
        Grant {
            actions: &["dynamodb:Query"],
            resources: &[STATE_INDEXES],
        },
        // Retry sync: the organization's failed jobs and welcome emails sent
        // again (it reads no dead-letter queue)
        Grant {
            actions: &["sqs:SendMessage"],
            resources: &["arn:JobsQueue", "arn:MailQueue"],
        },
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
        Grant {
            actions: &[
                "dynamodb:DescribeStream",
                "dynamodb:GetRecords",
                "dynamodb:GetShardIterator",
                "dynamodb:ListStreams",
            ],
            resources: &["stream:DirectoryTable"],
        },
        // users, memberships, rules, sync; fan-out tasks' progress
        Grant {
            actions: &[
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:Query",
                "dynamodb:BatchGetItem",
            ],
            resources: &[DIRECTORY],
        },
        Grant {
            actions: &["dynamodb:Query"],
            resources: &[DIRECTORY_INDEXES],
        },
        // desired states
        Grant {
            actions: &["dynamodb:PutItem", "dynamodb:BatchGetItem"],
            resources: &[STATE],
        },
        Grant {
            actions: &["sqs:SendMessage"],
            resources: &["arn:JobsQueue"],
        },
        // the stream mapping's on-failure destination, written with this role
        Grant {
            actions: &["sqs:SendMessage"],
            resources: &["arn:EvaluatorFailureQueue"],
        },
    ]
};

const WORKER: [Grant; 8] = {
    let [logs, tracing] = observability(&["arn:WorkerLogGroup"]);
    [
        logs,
        tracing,
        // the queue event source mapping (receive, delete, attributes), the
        // worker's own delays (visibility) and a rate-limited job sent back
        // to wait out Retry-After
        Grant {
            actions: &[
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "sqs:ChangeMessageVisibility",
                "sqs:SendMessage",
            ],
            resources: &["arn:JobsQueue"],
        },
        // a job that failed for good, or on its last delivery
        Grant {
            actions: &["sqs:SendMessage"],
            resources: &["arn:JobsDeadLetterQueue"],
        },
        // the welcome email of a created account
        Grant {
            actions: &["sqs:SendMessage"],
            resources: &["arn:MailQueue"],
        },
        // the organization's settings, and its domains (an address outside
        // its verified ones gets no account)
        Grant {
            actions: &["dynamodb:GetItem", "dynamodb:Query"],
            resources: &[DIRECTORY],
        },
        // the desired state; status and activity (one transaction)
        Grant {
            actions: &["dynamodb:PutItem", "dynamodb:Query"],
            resources: &[STATE],
        },
        PRODUCT_API_KEY,
    ]
};

const MAILER: [Grant; 7] = {
    let [logs, tracing] = observability(&["arn:MailerLogGroup"]);
    [
        logs,
        tracing,
        Grant {
            actions: &[
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
            ],
            resources: &["arn:MailQueue"],
        },
        Grant {
            actions: &["sqs:SendMessage"],
            resources: &["arn:MailDeadLetterQueue"],
        },
        Grant {
            actions: &["dynamodb:GetItem"],
            resources: &[DIRECTORY],
        },
        // the once-per-user claim (put, read when taken, record sent,
        // release), the email's failure status
        Grant {
            actions: &[
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
                "dynamodb:Query",
            ],
            resources: &[STATE],
        },
        // as the verified sender only
        Grant {
            actions: &["ses:SendEmail"],
            resources: &[SES_IDENTITY],
        },
    ]
};

/// Every function's permissions.
pub const PERMISSIONS: [FunctionGrants; 5] = [
    FunctionGrants {
        function: "ScimFunction",
        role: "ScimRole",
        binary: "scim",
        grants: &SCIM,
    },
    FunctionGrants {
        function: "ApiFunction",
        role: "ApiRole",
        binary: "api",
        grants: &API,
    },
    FunctionGrants {
        function: "EvaluatorFunction",
        role: "EvaluatorRole",
        binary: "evaluator",
        grants: &EVALUATOR,
    },
    FunctionGrants {
        function: "WorkerFunction",
        role: "WorkerRole",
        binary: "worker",
        grants: &WORKER,
    },
    FunctionGrants {
        function: "MailerFunction",
        role: "MailerRole",
        binary: "mailer",
        grants: &MAILER,
    },
];

/// (action, resource) pairs.
pub type Pairs = BTreeSet<(String, String)>;

fn pairs(grants: &[Grant]) -> Pairs {
    grants
        .iter()
        .flat_map(|g| {
            g.actions.iter().flat_map(move |a| {
                g.resources
                    .iter()
                    .map(move |r| ((*a).to_owned(), (*r).to_owned()))
            })
        })
        .collect()
}

/// What the table grants a role.
pub fn table_pairs(role: &str) -> Pairs {
    PERMISSIONS
        .iter()
        .filter(|f| f.role == role)
        .flat_map(|f| pairs(f.grants))
        .collect()
}

/// A resolver giving the symbolic names above.
fn symbolic(root: &Value) -> Resolver {
    let mut r = Resolver::new();
    if let Some(resources) = root.get("Resources").and_then(Value::as_mapping) {
        for id in resources.keys().filter_map(Value::as_str) {
            r.set_attribute(id, "Arn", format!("arn:{id}"));
            r.set_attribute(id, "StreamArn", format!("stream:{id}"));
            r.set_ref(id, format!("ref:{id}"));
        }
    }
    if let Some(parameters) = root.get("Parameters").and_then(Value::as_mapping) {
        for name in parameters.keys().filter_map(Value::as_str) {
            r.set_ref(name, format!("${{{name}}}"));
        }
    }
    r
}

/// Whether a resolved resource is the sender's SES identity (in this
/// account and region).
fn is_sender_identity(resource: &str) -> bool {
    resource.starts_with("arn:aws:ses:") && resource.ends_with(":identity/${MailFromAddress}")
}

/// What each role of the template grants, by role logical id; an error names
/// what could not be read.
pub fn template_pairs(text: &str) -> Result<BTreeMap<String, Pairs>, String> {
    let root: Value = serde_yaml::from_str(text).map_err(|e| e.to_string())?;
    let resolver = symbolic(&root);
    let resources = root
        .get("Resources")
        .and_then(Value::as_mapping)
        .ok_or("no Resources")?;
    let mut out = BTreeMap::new();
    for (id, resource) in resources {
        if resource.get("Type").and_then(Value::as_str) != Some("AWS::IAM::Role") {
            continue;
        }
        let id = id.as_str().ok_or("a resource id is not a string")?;
        let mut granted = Pairs::new();
        let policies = resource
            .get("Properties")
            .and_then(|p| p.get("Policies"))
            .and_then(Value::as_sequence)
            .ok_or_else(|| format!("{id} has no Policies"))?;
        for policy in policies {
            let statements = policy
                .get("PolicyDocument")
                .and_then(|d| d.get("Statement"))
                .and_then(Value::as_sequence)
                .ok_or_else(|| format!("{id}: a policy has no Statement list"))?;
            for s in statements {
                if s.get("Effect").and_then(Value::as_str) != Some("Allow") {
                    return Err(format!("{id}: only Allow statements are expected"));
                }
                let list = |key: &str| -> Result<Vec<String>, String> {
                    let v = s.get(key).ok_or_else(|| format!("{id}: no {key}"))?;
                    let items: Vec<&Value> = match v.as_sequence() {
                        Some(seq) => seq.iter().collect(),
                        None => vec![v],
                    };
                    items
                        .into_iter()
                        .map(|i| {
                            resolver
                                .resolve_string(i)
                                .map_err(|e| format!("{id}: {key}: {e}"))
                        })
                        .collect()
                };
                for action in list("Action")? {
                    for resource in list("Resource")? {
                        let resource = if is_sender_identity(&resource) {
                            SES_IDENTITY.to_owned()
                        } else {
                            resource
                        };
                        granted.insert((action.clone(), resource));
                    }
                }
            }
        }
        out.insert(id.to_owned(), granted);
    }
    Ok(out)
}

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

    fn template() -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml");
        std::fs::read_to_string(path).unwrap()
    }

    #[test]
    fn every_role_grants_exactly_what_the_table_lists() {
        let roles = template_pairs(&template()).unwrap();
        let listed: BTreeSet<&str> = PERMISSIONS.iter().map(|f| f.role).collect();
        let found: BTreeSet<&str> = roles.keys().map(String::as_str).collect();
        assert_eq!(found, listed, "the template's roles and the table's");
        let mut problems = Vec::new();
        for (role, granted) in &roles {
            let wanted = table_pairs(role);
            for (a, r) in granted.difference(&wanted) {
                problems.push(format!(
                    "{role} grants {a} on {r}, which the table does not list"
                ));
            }
            for (a, r) in wanted.difference(granted) {
                problems.push(format!("{role} lacks {a} on {r}, which the table lists"));
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

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

    #[test]
    fn each_function_uses_its_own_role() {
        let root: Value = serde_yaml::from_str(&template()).unwrap();
        for f in PERMISSIONS {
            let role = &root["Resources"][f.function]["Properties"]["Role"];
            let resolved = symbolic(&root).resolve_string(role).unwrap();
            assert_eq!(resolved, format!("arn:{}", f.role), "{}", f.function);
            assert_eq!(
                root["Resources"][f.function]["Metadata"]["BuildProperties"]["Binary"]
                    .as_str()
                    .unwrap(),
                f.binary
            );
        }
    }

    #[test]
    fn a_role_granting_more_than_the_table_is_caught() {
        let broader = template().replacen(
            "                  - dynamodb:BatchWriteItem\n",
            "                  - dynamodb:BatchWriteItem\n                  - dynamodb:Scan\n",
            1,
        );
        let roles = template_pairs(&broader).unwrap();
        let scim = &roles["ScimRole"];
        assert!(scim.contains(&("dynamodb:Scan".to_owned(), DIRECTORY.to_owned())));
        assert_ne!(scim, &table_pairs("ScimRole"));
    }

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

    #[test]
    fn only_the_worker_and_the_api_read_the_product_api_key_and_no_other_secret() {
        let roles = template_pairs(&template()).unwrap();
        for (role, granted) in &roles {
            let secrets: Pairs = granted
                .iter()
                .filter(|(a, _)| a.starts_with("secretsmanager:"))
                .cloned()
                .collect();
            let expected = if ["ApiRole", "WorkerRole"].contains(&role.as_str()) {
                Pairs::from([(
                    "secretsmanager:GetSecretValue".to_owned(),
                    PRODUCT_API_KEY_SECRET.to_owned(),
                )])
            } else {
                Pairs::new()
            };
            assert_eq!(secrets, expected, "{role}");
        }
    }

    /// A function's environment is readable by anyone allowed
    /// `lambda:GetFunctionConfiguration`: no secret is resolved into it.
    #[test]
    fn no_function_environment_holds_a_secret() {
        let root: Value = serde_yaml::from_str(&template()).unwrap();
        let mut environments = vec![&root["Globals"]["Function"]["Environment"]["Variables"]];
        for resource in root["Resources"].as_mapping().unwrap().values() {
            if resource["Type"].as_str() == Some("AWS::Serverless::Function") {
                environments.push(&resource["Properties"]["Environment"]["Variables"]);
            }
        }
        for env in environments.into_iter().filter_map(Value::as_mapping) {
            for (name, value) in env {
                let text = serde_yaml::to_string(value).unwrap();
                assert!(
                    !text.contains("{{resolve:"),
                    "{name:?} resolves a dynamic reference into the environment: {text}"
                );
            }
        }
    }
}
