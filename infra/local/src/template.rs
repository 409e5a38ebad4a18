//! Reads `template.yaml` (SAM): the parameters, the resources the local stack
//! creates, and the functions with their event sources. Values that may hold
//! intrinsics (`!Ref`, `!GetAtt`, `!Sub`) stay as YAML here; [`crate::resolve`]
//! turns them into strings once the resources exist.

use std::collections::BTreeMap;
use std::path::Path;

use serde_yaml::{Mapping, Value};

use crate::error::StackError;

/// The parts of `template.yaml` the local runner uses.
#[derive(Debug, Clone)]
pub struct Template {
    /// Parameter name → its `Default`, if any.
    pub parameters: BTreeMap<String, Option<Value>>,
    /// `Globals.Function.Environment.Variables`.
    pub global_env: BTreeMap<String, Value>,
    /// `Globals.Function.Timeout`.
    pub global_timeout: Option<Value>,
    /// Resources in file order.
    pub resources: Vec<Resource>,
}

/// One entry of `Resources`.
#[derive(Debug, Clone)]
pub struct Resource {
    pub logical_id: String,
    pub kind: ResourceKind,
}

/// The resource types the local runner handles.
#[derive(Debug, Clone)]
pub enum ResourceKind {
    /// `AWS::DynamoDB::Table` with its `Properties`.
    Table(Value),
    /// `AWS::SQS::Queue` with its `Properties`.
    Queue(Value),
    /// `AWS::Serverless::HttpApi`: only the owner of the functions' routes.
    HttpApi,
    /// `AWS::Serverless::Function`.
    Function(FunctionSpec),
    /// Anything else (its type), ignored locally.
    Other(String),
}

/// An `AWS::Serverless::Function`.
#[derive(Debug, Clone)]
pub struct FunctionSpec {
    /// `Metadata.BuildProperties.Binary`: which function crate runs.
    pub binary: String,
    /// `Environment.Variables` of the function (without the globals).
    pub env: BTreeMap<String, Value>,
    /// `Timeout` of the function (without the globals).
    pub timeout: Option<Value>,
    pub events: Vec<EventSpec>,
}

/// One entry of a function's `Events`.
#[derive(Debug, Clone)]
pub struct EventSpec {
    pub name: String,
    pub kind: EventKind,
}

/// The event source types the local runner drives.
#[derive(Debug, Clone)]
pub enum EventKind {
    /// `HttpApi`: a route on the HTTP API.
    HttpApi { path: String, method: String },
    /// `DynamoDB`: a stream event source mapping, with its `Properties`.
    DynamoDb(Value),
    /// `SQS`: a queue event source mapping, with its `Properties`.
    Sqs(Value),
    /// `Schedule`: an EventBridge rule invoking the function, with its
    /// `Properties` (`Schedule`, `Enabled`).
    Schedule(Value),
    /// Anything else (its type).
    Other(String),
}

impl Template {
    /// Reads and parses the template at `path`.
    pub fn load(path: &Path) -> Result<Self, StackError> {
        let text = std::fs::read_to_string(path).map_err(|e| StackError::TemplateRead {
            path: path.to_owned(),
            source: e.into(),
        })?;
        Self::parse(&text).map_err(|e| match e {
            StackError::Template(msg) => StackError::TemplateRead {
                path: path.to_owned(),
                source: msg.into(),
            },
            other => other,
        })
    }

    /// Parses template text.
    pub fn parse(text: &str) -> Result<Self, StackError> {
        let root: Value = serde_yaml::from_str(text)
            .map_err(|e| StackError::Template(format!("not valid YAML: {e}")))?;

        let mut parameters = BTreeMap::new();
        if let Some(params) = root.get("Parameters") {
            for (name, spec) in mapping(params, "Parameters")? {
                parameters.insert(key(name, "Parameters")?, spec.get("Default").cloned());
            }
        }

        let global_function = root.get("Globals").and_then(|g| g.get("Function"));
        let global_env = match global_function {
            Some(f) => env_variables(f, "Globals.Function")?,
            None => BTreeMap::new(),
        };
        let global_timeout = global_function.and_then(|f| f.get("Timeout")).cloned();

        let resources_value = root
            .get("Resources")
            .ok_or_else(|| StackError::Template("no Resources".into()))?;
        let mut resources = Vec::new();
        for (id, resource) in mapping(resources_value, "Resources")? {
            let logical_id = key(id, "Resources")?;
            let kind = parse_resource(&logical_id, resource)?;
            resources.push(Resource { logical_id, kind });
        }

        Ok(Self {
            parameters,
            global_env,
            global_timeout,
            resources,
        })
    }
}

fn parse_resource(id: &str, resource: &Value) -> Result<ResourceKind, StackError> {
    let type_name = resource
        .get("Type")
        .and_then(Value::as_str)
        .ok_or_else(|| StackError::Template(format!("resource {id} has no Type")))?;
    let properties = resource
        .get("Properties")
        .cloned()
        .unwrap_or(Value::Mapping(Mapping::new()));
    Ok(match type_name {
        "AWS::DynamoDB::Table" => ResourceKind::Table(properties),
        "AWS::SQS::Queue" => ResourceKind::Queue(properties),
        "AWS::Serverless::HttpApi" => ResourceKind::HttpApi,
        "AWS::Serverless::Function" => {
            ResourceKind::Function(parse_function(id, resource, &properties)?)
        }
        other => ResourceKind::Other(other.to_owned()),
    })
}

fn parse_function(
    id: &str,
    resource: &Value,
    properties: &Value,
) -> Result<FunctionSpec, StackError> {
    let binary = resource
        .get("Metadata")
        .and_then(|m| m.get("BuildProperties"))
        .and_then(|b| b.get("Binary"))
        .and_then(Value::as_str)
        .ok_or_else(|| {
            StackError::Template(format!(
                "function {id} has no Metadata.BuildProperties.Binary naming its function crate"
            ))
        })?
        .to_owned();
    let env = env_variables(properties, &format!("{id}.Properties"))?;
    let timeout = properties.get("Timeout").cloned();
    let mut events = Vec::new();
    if let Some(events_value) = properties.get("Events") {
        let context = format!("{id}.Properties.Events");
        for (name, event) in mapping(events_value, &context)? {
            let name = key(name, &context)?;
            let kind = parse_event(id, &name, event)?;
            events.push(EventSpec { name, kind });
        }
    }
    Ok(FunctionSpec {
        binary,
        env,
        timeout,
        events,
    })
}

fn parse_event(function: &str, name: &str, event: &Value) -> Result<EventKind, StackError> {
    let where_ = format!("{function}.Properties.Events.{name}");
    let type_name = event
        .get("Type")
        .and_then(Value::as_str)
        .ok_or_else(|| StackError::Template(format!("{where_} has no Type")))?;
    let properties = event
        .get("Properties")
        .cloned()
        .unwrap_or(Value::Mapping(Mapping::new()));
    Ok(match type_name {
        "HttpApi" => {
            let text = |field: &str, default: Option<&str>| {
                properties
                    .get(field)
                    .and_then(Value::as_str)
                    .or(default)
                    .map(str::to_owned)
                    .ok_or_else(|| {
                        StackError::Template(format!("{where_} has no Properties.{field}"))
                    })
            };
            EventKind::HttpApi {
                path: text("Path", None)?,
                method: text("Method", Some("ANY"))?,
            }
        }
        "DynamoDB" => EventKind::DynamoDb(properties),
        "SQS" => EventKind::Sqs(properties),
        "Schedule" => EventKind::Schedule(properties),
        other => EventKind::Other(other.to_owned()),
    })
}

/// `<value>.Environment.Variables`, or nothing.
fn env_variables(value: &Value, context: &str) -> Result<BTreeMap<String, Value>, StackError> {
    let mut out = BTreeMap::new();
    if let Some(vars) = value.get("Environment").and_then(|e| e.get("Variables")) {
        let context = format!("{context}.Environment.Variables");
        for (name, v) in mapping(vars, &context)? {
            out.insert(key(name, &context)?, v.clone());
        }
    }
    Ok(out)
}

fn mapping<'a>(value: &'a Value, context: &str) -> Result<&'a Mapping, StackError> {
    value
        .as_mapping()
        .ok_or_else(|| StackError::Template(format!("{context} is not a mapping")))
}

fn key(value: &Value, context: &str) -> Result<String, StackError> {
    value
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| StackError::Template(format!("{context} has a key that is not a string")))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    const TEMPLATE: &str = r#"
Parameters:
  Url:
    Type: String
  Days:
    Type: Number
    Default: 365
Globals:
  Function:
    Timeout: 30
    Environment:
      Variables:
        TABLE: !Ref Table
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      KeySchema: []
  Queue:
    Type: AWS::SQS::Queue
  Api:
    Type: AWS::Serverless::HttpApi
  Fn:
    Type: AWS::Serverless::Function
    Metadata:
      BuildProperties:
        Binary: scim
    Properties:
      Environment:
        Variables:
          URL: !Ref Url
      Events:
        Http:
          Type: HttpApi
          Properties:
            Path: /scim/v2/{proxy+}
            Method: ANY
        Jobs:
          Type: SQS
          Properties:
            Queue: !GetAtt Queue.Arn
"#;

    #[test]
    fn parses_resources_functions_and_events() {
        let t = Template::parse(TEMPLATE).unwrap();
        assert_eq!(t.parameters.len(), 2);
        assert_eq!(t.parameters["Days"], Some(Value::from(365)));
        assert_eq!(t.parameters["Url"], None);
        assert!(t.global_env.contains_key("TABLE"));
        let ids: Vec<_> = t.resources.iter().map(|r| r.logical_id.as_str()).collect();
        assert_eq!(ids, ["Table", "Queue", "Api", "Fn"]);
        let ResourceKind::Function(f) = &t.resources[3].kind else {
            panic!("not a function")
        };
        assert_eq!(f.binary, "scim");
        assert!(f.env.contains_key("URL"));
        assert!(matches!(
            &f.events[0].kind,
            EventKind::HttpApi { path, method } if path == "/scim/v2/{proxy+}" && method == "ANY"
        ));
        assert!(matches!(&f.events[1].kind, EventKind::Sqs(_)));
    }

    #[test]
    fn a_function_without_a_binary_is_refused() {
        let err =
            Template::parse("Resources:\n  F:\n    Type: AWS::Serverless::Function\n").unwrap_err();
        assert!(err.to_string().contains("Binary"), "{err}");
    }
}
