//! Lambda event filtering (`FilterCriteria.Filters[].Pattern`): a record is
//! passed to the function when it matches any pattern. Patterns are matched
//! against the record's Lambda JSON form (e.g. `dynamodb.Keys.sk.S`).
//!
//! Supported: nested objects, arrays of exact values (strings, numbers,
//! booleans, null), and the operators `prefix`, `suffix`,
//! `equals-ignore-case`, `exists`, `anything-but` (values or `{"prefix"}`)
//! and `numeric`. A pattern using anything else is refused when the stack
//! starts, not silently ignored.

use serde_json::Value;

/// A pattern the local runner cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid filter pattern {pattern:?}: {reason}")]
pub struct FilterError {
    pub pattern: String,
    pub reason: String,
}

/// The filters of one event source mapping: none passes everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filters(Vec<FilterPattern>);

impl Filters {
    /// Parses each pattern (JSON text).
    pub fn parse<'a>(patterns: impl IntoIterator<Item = &'a str>) -> Result<Self, FilterError> {
        patterns
            .into_iter()
            .map(FilterPattern::parse)
            .collect::<Result<_, _>>()
            .map(Self)
    }

    /// Whether the record passes: there are no patterns, or one matches.
    pub fn passes(&self, record: &Value) -> bool {
        self.0.is_empty() || self.0.iter().any(|p| p.matches(record))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// One parsed pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterPattern(Vec<(String, Node)>);

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Object(Vec<(String, Node)>),
    /// The field matches when any of these does.
    Leaf(Vec<Matcher>),
}

#[derive(Debug, Clone, PartialEq)]
enum Matcher {
    Exact(Value),
    Prefix(String),
    Suffix(String),
    EqualsIgnoreCase(String),
    Exists(bool),
    AnythingBut(Vec<Value>),
    AnythingButPrefix(String),
    Numeric(Vec<(Comparison, f64)>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Comparison {
    Lt,
    Le,
    Eq,
    Ge,
    Gt,
}

impl FilterPattern {
    /// Parses a pattern's JSON text.
    pub fn parse(text: &str) -> Result<Self, FilterError> {
        let fail = |reason: String| FilterError {
            pattern: text.to_owned(),
            reason,
        };
        let value: Value =
            serde_json::from_str(text).map_err(|e| fail(format!("not JSON: {e}")))?;
        match parse_node(&value).map_err(fail)? {
            Node::Object(fields) => Ok(Self(fields)),
            Node::Leaf(_) => Err(fail("a pattern must be a JSON object".into())),
        }
    }

    /// Whether `record` (Lambda JSON form) matches.
    pub fn matches(&self, record: &Value) -> bool {
        match_fields(&self.0, Some(record))
    }
}

fn parse_node(value: &Value) -> Result<Node, String> {
    match value {
        Value::Object(fields) => Ok(Node::Object(
            fields
                .iter()
                .map(|(k, v)| Ok((k.clone(), parse_node(v)?)))
                .collect::<Result<_, String>>()?,
        )),
        Value::Array(items) => Ok(Node::Leaf(
            items.iter().map(parse_matcher).collect::<Result<_, _>>()?,
        )),
        other => Err(format!("{other} must be in an array or be an object")),
    }
}

fn parse_matcher(value: &Value) -> Result<Matcher, String> {
    let Value::Object(op) = value else {
        return Ok(Matcher::Exact(value.clone()));
    };
    let mut entries = op.iter();
    let (Some((name, arg)), None) = (entries.next(), entries.next()) else {
        return Err(format!("{value} must have exactly one operator"));
    };
    let string = || {
        arg.as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("{name} needs a string"))
    };
    match name.as_str() {
        "prefix" => Ok(Matcher::Prefix(string()?)),
        "suffix" => Ok(Matcher::Suffix(string()?)),
        "equals-ignore-case" => Ok(Matcher::EqualsIgnoreCase(string()?)),
        "exists" => arg
            .as_bool()
            .map(Matcher::Exists)
            .ok_or_else(|| "exists needs true or false".into()),
        "anything-but" => match arg {
            Value::Array(items) => Ok(Matcher::AnythingBut(items.clone())),
            Value::Object(inner) => match inner.get("prefix").and_then(Value::as_str) {
                Some(prefix) if inner.len() == 1 => {
                    Ok(Matcher::AnythingButPrefix(prefix.to_owned()))
                }
                _ => Err("anything-but supports only values or {\"prefix\"}".into()),
            },
            scalar => Ok(Matcher::AnythingBut(vec![scalar.clone()])),
        },
        "numeric" => parse_numeric(arg).map(Matcher::Numeric),
        other => Err(format!("the operator {other:?} is not supported locally")),
    }
}

fn parse_numeric(arg: &Value) -> Result<Vec<(Comparison, f64)>, String> {
    let items = arg.as_array().ok_or("numeric needs an array")?;
    if items.is_empty() || items.len() % 2 != 0 {
        return Err("numeric needs operator/number pairs".into());
    }
    items
        .chunks(2)
        .map(|pair| {
            let op = match pair[0].as_str() {
                Some("<") => Comparison::Lt,
                Some("<=") => Comparison::Le,
                Some("=") => Comparison::Eq,
                Some(">=") => Comparison::Ge,
                Some(">") => Comparison::Gt,
                _ => return Err(format!("numeric: unknown operator {}", pair[0])),
            };
            let n = pair[1]
                .as_f64()
                .ok_or_else(|| format!("numeric: {} is not a number", pair[1]))?;
            Ok((op, n))
        })
        .collect()
}

fn match_fields(fields: &[(String, Node)], value: Option<&Value>) -> bool {
    let object = value.and_then(Value::as_object);
    fields
        .iter()
        .all(|(key, node)| match_node(node, object.and_then(|o| o.get(key))))
}

fn match_node(node: &Node, value: Option<&Value>) -> bool {
    match node {
        Node::Object(fields) => match_fields(fields, value),
        Node::Leaf(matchers) => matchers.iter().any(|m| match_leaf(m, value)),
    }
}

fn match_leaf(matcher: &Matcher, value: Option<&Value>) -> bool {
    match (matcher, value) {
        (Matcher::Exists(expected), v) => *expected == v.is_some(),
        (_, None) => false,
        (m, Some(Value::Array(items))) => items.iter().any(|item| match_scalar(m, item)),
        (m, Some(v)) => match_scalar(m, v),
    }
}

fn match_scalar(matcher: &Matcher, value: &Value) -> bool {
    match matcher {
        Matcher::Exact(expected) => values_equal(expected, value),
        Matcher::Prefix(p) => value.as_str().is_some_and(|s| s.starts_with(p.as_str())),
        Matcher::Suffix(p) => value.as_str().is_some_and(|s| s.ends_with(p.as_str())),
        Matcher::EqualsIgnoreCase(p) => value.as_str().is_some_and(|s| s.eq_ignore_ascii_case(p)),
        Matcher::Exists(expected) => *expected,
        Matcher::AnythingBut(excluded) => {
            !value.is_object() && !excluded.iter().any(|e| values_equal(e, value))
        }
        Matcher::AnythingButPrefix(p) => value.as_str().is_some_and(|s| !s.starts_with(p.as_str())),
        Matcher::Numeric(conditions) => value.as_f64().is_some_and(|n| {
            conditions.iter().all(|(op, bound)| match op {
                Comparison::Lt => n < *bound,
                Comparison::Le => n <= *bound,
                Comparison::Eq => n == *bound,
                Comparison::Ge => n >= *bound,
                Comparison::Gt => n > *bound,
            })
        }),
    }
}

fn values_equal(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The evaluator's filters, as in template.yaml.
    fn evaluator_filters() -> Filters {
        Filters::parse([
            r#"{"dynamodb":{"Keys":{"sk":{"S":["USER","SYNC"]}}}}"#,
            r#"{"dynamodb":{"Keys":{"sk":{"S":[{"prefix":"MEMBER#"}]}}}}"#,
            r#"{"dynamodb":{"Keys":{"sk":{"S":[{"prefix":"RULE#"}]}}}}"#,
        ])
        .unwrap()
    }

    fn record(event_name: &str, sk: &str) -> Value {
        let keys = json!({"pk": {"S": "acme#X"}, "sk": {"S": sk}});
        let mut dynamodb = json!({"Keys": keys, "SequenceNumber": "1", "SizeBytes": 10});
        if event_name == "REMOVE" {
            dynamodb["OldImage"] = json!({"pk": {"S": "acme#X"}, "sk": {"S": sk}});
        } else {
            dynamodb["NewImage"] = json!({"pk": {"S": "acme#X"}, "sk": {"S": sk}});
        }
        json!({"eventName": event_name, "eventSource": "aws:dynamodb", "dynamodb": dynamodb})
    }

    #[test]
    fn prefix_matches() {
        let f = evaluator_filters();
        assert!(f.passes(&record("INSERT", "MEMBER#u1")));
        assert!(f.passes(&record("MODIFY", "RULE#r1")));
        // The user side of a membership is not the group side.
        assert!(!f.passes(&record("INSERT", "MEMBEROF#g1")));
    }

    #[test]
    fn exact_list_matches_any_listed_value() {
        let f = evaluator_filters();
        assert!(f.passes(&record("INSERT", "USER")));
        assert!(f.passes(&record("MODIFY", "SYNC")));
        assert!(!f.passes(&record("INSERT", "USERNAME")));
    }

    #[test]
    fn records_matching_no_pattern_are_dropped() {
        let f = evaluator_filters();
        for sk in ["TOKEN", "ORG", "GROUP", "USERNAME", "user", "XRULE#1"] {
            assert!(!f.passes(&record("INSERT", sk)), "{sk}");
        }
        assert!(!f.passes(&json!({"eventName": "INSERT"})));
        assert!(!f.passes(&json!({"dynamodb": {"Keys": {"sk": {"N": "1"}}}})));
    }

    #[test]
    fn remove_records_match_by_keys() {
        let f = evaluator_filters();
        assert!(f.passes(&record("REMOVE", "MEMBER#u1")));
        assert!(!f.passes(&record("REMOVE", "TOKEN")));
        // A pattern on NewImage would not see deletions, which is why the
        // template matches on Keys.
        let on_image =
            Filters::parse([r#"{"dynamodb":{"NewImage":{"sk":{"S":[{"prefix":"MEMBER#"}]}}}}"#])
                .unwrap();
        assert!(!on_image.passes(&record("REMOVE", "MEMBER#u1")));
        assert!(on_image.passes(&record("INSERT", "MEMBER#u1")));
    }

    #[test]
    fn no_filters_pass_everything() {
        assert!(Filters::default().passes(&json!({})));
    }

    #[test]
    fn other_operators() {
        let f = |p: &str| FilterPattern::parse(p).unwrap();
        let v = json!({"a": "Hello", "n": 5, "list": ["x", "y"], "o": {"k": 1}});
        assert!(f(r#"{"a":[{"suffix":"llo"}]}"#).matches(&v));
        assert!(f(r#"{"a":[{"equals-ignore-case":"hello"}]}"#).matches(&v));
        assert!(f(r#"{"missing":[{"exists":false}]}"#).matches(&v));
        assert!(!f(r#"{"a":[{"exists":false}]}"#).matches(&v));
        assert!(f(r#"{"o":[{"exists":true}]}"#).matches(&v));
        assert!(f(r#"{"a":[{"anything-but":["Bye"]}]}"#).matches(&v));
        assert!(!f(r#"{"a":[{"anything-but":{"prefix":"He"}}]}"#).matches(&v));
        assert!(f(r#"{"n":[{"numeric":[">",1,"<=",5]}]}"#).matches(&v));
        assert!(f(r#"{"n":[5.0]}"#).matches(&v));
        assert!(f(r#"{"list":["y"]}"#).matches(&v));
        assert!(!f(r#"{"list":["z"]}"#).matches(&v));
    }

    #[test]
    fn unsupported_or_malformed_patterns_are_refused() {
        assert!(FilterPattern::parse(r#"{"a":[{"wildcard":"*x"}]}"#).is_err());
        assert!(FilterPattern::parse(r#"{"a":"x"}"#).is_err());
        assert!(FilterPattern::parse(r#"["x"]"#).is_err());
        assert!(FilterPattern::parse("not json").is_err());
    }
}
