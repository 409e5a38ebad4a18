//! What template.yaml's roles grant, read with symbolic resource names.

use std::collections::BTreeMap;

use serde_yaml::Value;

use crate::resolve::Resolver;

use super::Pairs;
use super::table::SES_IDENTITY;

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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    use crate::permissions::table::DIRECTORY;
    use crate::permissions::{PERMISSIONS, PRODUCT_API_KEY_SECRET, table_pairs};

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
