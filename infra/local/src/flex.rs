//! Template values that CloudFormation accepts as numbers or strings (a
//! resolved `!Ref` is always a string): deserializers taking either.

use serde::{Deserialize, Deserializer, de::Error};
use serde_json::Value;

fn int_of<E: Error>(v: &Value) -> Result<i64, E> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .ok_or_else(|| E::custom(format!("{n} is not an integer"))),
        Value::String(s) => s
            .trim()
            .parse()
            .map_err(|_| E::custom(format!("{s:?} is not an integer"))),
        other => Err(E::custom(format!("{other} is not an integer"))),
    }
}

fn bool_of<E: Error>(v: &Value) -> Result<bool, E> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        other => Err(E::custom(format!("{other} is not a boolean"))),
    }
}

pub fn int<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    int_of(&Value::deserialize(d)?)
}

pub fn opt_int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(v) => int_of(&v).map(Some),
    }
}

pub fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(v) => bool_of(&v).map(Some),
    }
}

/// A scalar as the string SQS attributes take.
pub fn scalar_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}
