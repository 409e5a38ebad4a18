//! Resolves CloudFormation intrinsics in template values, locally: `!Ref`,
//! `!GetAtt`, `!Sub` and `!Join` (short tags or `Ref:` / `Fn::…:` mappings)
//! against the values of the parameters, pseudo parameters and the resources
//! the local stack created.

use std::collections::BTreeMap;

use serde_yaml::Value;

/// The account id the emulator uses by default.
pub const ACCOUNT_ID: &str = "123456789012";
/// The region the local stack runs in.
pub const REGION: &str = "us-east-1";
/// `AWS::StackName` locally.
pub const STACK_NAME: &str = "user-sync-local";

/// A value the resolver cannot produce locally.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error("!Ref {0}: no parameter or resource of that name has a local value")]
    UnknownRef(String),
    #[error("!GetAtt {0}: no resource attribute of that name")]
    UnknownAttribute(String),
    #[error("{0:?} is a dynamic reference, which cannot be resolved locally")]
    DynamicReference(String),
    #[error("the intrinsic {0} is not supported locally")]
    Unsupported(String),
    #[error("malformed {intrinsic}: {reason}")]
    Malformed {
        intrinsic: &'static str,
        reason: String,
    },
}

fn malformed(intrinsic: &'static str, reason: impl Into<String>) -> ResolveError {
    ResolveError::Malformed {
        intrinsic,
        reason: reason.into(),
    }
}

/// Values for `!Ref NAME` and `!GetAtt NAME.ATTRIBUTE`.
#[derive(Debug, Clone)]
pub struct Resolver {
    refs: BTreeMap<String, String>,
    attributes: BTreeMap<String, String>,
}

impl Default for Resolver {
    fn default() -> Self {
        Self::new()
    }
}

impl Resolver {
    /// A resolver knowing only the pseudo parameters.
    pub fn new() -> Self {
        let refs = [
            ("AWS::Region", REGION),
            ("AWS::AccountId", ACCOUNT_ID),
            ("AWS::Partition", "aws"),
            ("AWS::StackName", STACK_NAME),
            ("AWS::URLSuffix", "amazonaws.com"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        Self {
            refs,
            attributes: BTreeMap::new(),
        }
    }

    /// Sets what `!Ref name` gives: a parameter's value or a resource's name.
    pub fn set_ref(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.refs.insert(name.into(), value.into());
    }

    /// Sets what `!GetAtt resource.attribute` gives.
    pub fn set_attribute(&mut self, resource: &str, attribute: &str, value: impl Into<String>) {
        self.attributes
            .insert(format!("{resource}.{attribute}"), value.into());
    }

    /// Resolves a scalar template value (a string, number or boolean, or an
    /// intrinsic) to a string.
    pub fn resolve_string(&self, value: &Value) -> Result<String, ResolveError> {
        let s = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Tagged(tagged) => {
                let tag = tagged.tag.to_string();
                self.intrinsic(tag.trim_start_matches('!'), &tagged.value)?
            }
            Value::Mapping(m) => match single_intrinsic(m) {
                Some((name, arg)) => self.intrinsic(name, arg)?,
                None => return Err(malformed("value", "a mapping where a string was expected")),
            },
            Value::Null | Value::Sequence(_) => {
                return Err(malformed("value", "not a string, number or boolean"));
            }
        };
        check_no_dynamic_reference(s)
    }

    /// Resolves every intrinsic in a tree, giving JSON (numbers and booleans
    /// stay as they are; resolved intrinsics are strings).
    pub fn resolve_tree(&self, value: &Value) -> Result<serde_json::Value, ResolveError> {
        Ok(match value {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    serde_json::Value::from(i)
                } else if let Some(u) = n.as_u64() {
                    serde_json::Value::from(u)
                } else {
                    n.as_f64()
                        .and_then(serde_json::Number::from_f64)
                        .map_or(serde_json::Value::Null, serde_json::Value::Number)
                }
            }
            Value::String(_) | Value::Tagged(_) => {
                serde_json::Value::String(self.resolve_string(value)?)
            }
            Value::Sequence(items) => serde_json::Value::Array(
                items
                    .iter()
                    .map(|v| self.resolve_tree(v))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Mapping(m) => {
                if single_intrinsic(m).is_some() {
                    serde_json::Value::String(self.resolve_string(value)?)
                } else {
                    let mut object = serde_json::Map::new();
                    for (k, v) in m {
                        let k = match k {
                            Value::String(s) => s.clone(),
                            other => self.resolve_string(other)?,
                        };
                        object.insert(k, self.resolve_tree(v)?);
                    }
                    serde_json::Value::Object(object)
                }
            }
        })
    }

    fn intrinsic(&self, name: &str, arg: &Value) -> Result<String, ResolveError> {
        match name {
            "Ref" => {
                let target = arg
                    .as_str()
                    .ok_or_else(|| malformed("!Ref", "its argument is not a name"))?;
                self.refs
                    .get(target)
                    .cloned()
                    .ok_or_else(|| ResolveError::UnknownRef(target.to_owned()))
            }
            "GetAtt" | "Fn::GetAtt" => {
                let path = match arg {
                    Value::String(s) => s.clone(),
                    Value::Sequence(parts) => parts
                        .iter()
                        .map(|p| self.resolve_string(p))
                        .collect::<Result<Vec<_>, _>>()?
                        .join("."),
                    _ => return Err(malformed("!GetAtt", "expected RESOURCE.ATTRIBUTE")),
                };
                self.attribute(&path)
            }
            "Sub" | "Fn::Sub" => match arg {
                Value::String(template) => self.substitute(template, &BTreeMap::new()),
                Value::Sequence(parts) => {
                    let (Some(Value::String(template)), Some(vars)) = (parts.first(), parts.get(1))
                    else {
                        return Err(malformed("!Sub", "expected [template, {variables}]"));
                    };
                    let vars = vars
                        .as_mapping()
                        .ok_or_else(|| malformed("!Sub", "its variables are not a mapping"))?
                        .iter()
                        .map(|(k, v)| Ok((self.resolve_string(k)?, self.resolve_string(v)?)))
                        .collect::<Result<BTreeMap<_, _>, ResolveError>>()?;
                    self.substitute(template, &vars)
                }
                _ => Err(malformed("!Sub", "expected a string")),
            },
            "Join" | "Fn::Join" => {
                let (Some(delimiter), Some(Value::Sequence(items))) = (
                    arg.as_sequence()
                        .and_then(|s| s.first())
                        .and_then(Value::as_str),
                    arg.as_sequence().and_then(|s| s.get(1)),
                ) else {
                    return Err(malformed("!Join", "expected [delimiter, [values]]"));
                };
                Ok(items
                    .iter()
                    .map(|v| self.resolve_string(v))
                    .collect::<Result<Vec<_>, _>>()?
                    .join(delimiter))
            }
            other => Err(ResolveError::Unsupported(other.to_owned())),
        }
    }

    fn attribute(&self, path: &str) -> Result<String, ResolveError> {
        self.attributes
            .get(path)
            .cloned()
            .ok_or_else(|| ResolveError::UnknownAttribute(path.to_owned()))
    }

    /// `${Name}`, `${Resource.Attribute}` and `${!Literal}` in a `!Sub` template.
    fn substitute(
        &self,
        template: &str,
        vars: &BTreeMap<String, String>,
    ) -> Result<String, ResolveError> {
        let mut out = String::with_capacity(template.len());
        let mut rest = template;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| malformed("!Sub", format!("unterminated ${{ in {template:?}")))?;
            let name = &after[..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else if let Some(v) = vars.get(name).or_else(|| self.refs.get(name)) {
                out.push_str(v);
            } else if name.contains('.') {
                out.push_str(&self.attribute(name)?);
            } else {
                return Err(ResolveError::UnknownRef(name.to_owned()));
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// `{Ref: x}` or `{Fn::Something: x}`: a mapping holding exactly one intrinsic.
fn single_intrinsic(m: &serde_yaml::Mapping) -> Option<(&str, &Value)> {
    if m.len() != 1 {
        return None;
    }
    let (k, v) = m.iter().next()?;
    let k = k.as_str()?;
    (k == "Ref" || k.starts_with("Fn::")).then_some((k, v))
}

fn check_no_dynamic_reference(s: String) -> Result<String, ResolveError> {
    if s.contains("{{resolve:") {
        Err(ResolveError::DynamicReference(s))
    } else {
        Ok(s)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn resolver() -> Resolver {
        let mut r = Resolver::new();
        r.set_ref("Table", "DirectoryTable");
        r.set_ref("Days", "365");
        r.set_ref("Queue", "http://127.0.0.1:5000/123456789012/Queue");
        r.set_attribute("Queue", "Arn", "arn:aws:sqs:us-east-1:123456789012:Queue");
        r.set_attribute(
            "Table",
            "StreamArn",
            "arn:aws:dynamodb:us-east-1:123456789012:table/T/stream/1",
        );
        r
    }

    fn yaml(s: &str) -> Value {
        serde_yaml::from_str(s).unwrap()
    }

    #[test]
    fn short_and_long_forms() {
        let r = resolver();
        assert_eq!(
            r.resolve_string(&yaml("!Ref Table")).unwrap(),
            "DirectoryTable"
        );
        assert_eq!(r.resolve_string(&yaml("{Ref: Days}")).unwrap(), "365");
        assert_eq!(
            r.resolve_string(&yaml("!GetAtt Queue.Arn")).unwrap(),
            "arn:aws:sqs:us-east-1:123456789012:Queue"
        );
        assert_eq!(
            r.resolve_string(&yaml("{'Fn::GetAtt': [Table, StreamArn]}"))
                .unwrap(),
            "arn:aws:dynamodb:us-east-1:123456789012:table/T/stream/1"
        );
        assert_eq!(r.resolve_string(&yaml("42")).unwrap(), "42");
        assert_eq!(r.resolve_string(&yaml("'10000'")).unwrap(), "10000");
        assert_eq!(
            r.resolve_string(&yaml("!Join ['-', [a, !Ref Days]]"))
                .unwrap(),
            "a-365"
        );
    }

    #[test]
    fn sub_substitutes_refs_attributes_pseudo_parameters_and_literals() {
        let r = resolver();
        assert_eq!(
            r.resolve_string(&yaml(
                "!Sub 'arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:${Table}/${Queue.Arn}/${!Keep}'"
            ))
            .unwrap(),
            "arn:aws:ses:us-east-1:123456789012:DirectoryTable/arn:aws:sqs:us-east-1:123456789012:Queue/${Keep}"
        );
        assert_eq!(
            r.resolve_string(&yaml("!Sub ['${X}-${Days}', {X: !Ref Table}]"))
                .unwrap(),
            "DirectoryTable-365"
        );
    }

    #[test]
    fn unresolvable_values_are_errors() {
        let r = resolver();
        assert_eq!(
            r.resolve_string(&yaml("!Ref Missing")).unwrap_err(),
            ResolveError::UnknownRef("Missing".into())
        );
        assert_eq!(
            r.resolve_string(&yaml("!GetAtt Queue.QueueName"))
                .unwrap_err(),
            ResolveError::UnknownAttribute("Queue.QueueName".into())
        );
        assert!(matches!(
            r.resolve_string(&yaml(
                "!Sub '{{resolve:secretsmanager:${Table}:SecretString:apiKey}}'"
            ))
            .unwrap_err(),
            ResolveError::DynamicReference(_)
        ));
        assert_eq!(
            r.resolve_string(&yaml("!Sub '${Nope}'")).unwrap_err(),
            ResolveError::UnknownRef("Nope".into())
        );
        assert!(matches!(
            r.resolve_string(&yaml("!FindInMap [a, b, c]")).unwrap_err(),
            ResolveError::Unsupported(_)
        ));
        assert!(matches!(
            r.resolve_string(&yaml("!Sub '${Table'")).unwrap_err(),
            ResolveError::Malformed { .. }
        ));
    }

    #[test]
    fn trees_keep_numbers_and_resolve_nested_intrinsics() {
        let r = resolver();
        let tree = r
            .resolve_tree(&yaml(
                "{deadLetterTargetArn: !GetAtt Queue.Arn, maxReceiveCount: 5, Enabled: true, Filters: [{Pattern: '{}'}]}",
            ))
            .unwrap();
        assert_eq!(
            tree,
            serde_json::json!({
                "deadLetterTargetArn": "arn:aws:sqs:us-east-1:123456789012:Queue",
                "maxReceiveCount": 5,
                "Enabled": true,
                "Filters": [{"Pattern": "{}"}]
            })
        );
    }
}
