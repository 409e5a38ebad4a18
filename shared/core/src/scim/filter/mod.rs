//! SCIM filters (RFC 7644 §3.4.2.2): a tokenizer and a recursive-descent
//! parser for the full grammar (`eq ne co sw ew pr gt ge lt le`, `and or not`,
//! grouping, value paths, schema-qualified attributes), and their evaluation
//! against a JSON resource.
//!
//! Limits are checked before work: the length of the filter and the nesting
//! depth (before recursing), so that hostile input gets `invalidFilter`,
//! never a stack overflow.

use serde_json::Value;

use super::ScimError;

mod eval;
mod hints;
mod parse;

pub use parse::parse_filter;

/// Longest accepted filter, in bytes.
pub const MAX_FILTER_LEN: usize = 2048;
/// Deepest accepted nesting of `( )`, `not` and `[ ]`.
pub const MAX_DEPTH: usize = 16;

/// `[schema:]attr[.sub]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    pub schema: Option<String>,
    pub attr: String,
    pub sub: Option<String>,
}

impl AttrPath {
    fn is(&self, attr: &str) -> bool {
        self.schema.is_none() && self.sub.is_none() && self.attr.eq_ignore_ascii_case(attr)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

/// A comparison value: `false`, `null`, `true`, a number or a string.
#[derive(Debug, Clone, PartialEq)]
pub enum CompValue {
    Bool(bool),
    Null,
    Number(f64),
    String(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Compare {
        path: AttrPath,
        op: CompareOp,
        value: CompValue,
    },
    Present(AttrPath),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    /// `attr[filter]`: some element of the multi-valued `attr` matches.
    ValuePath {
        path: AttrPath,
        filter: Box<Filter>,
    },
}

/// An equality a lookup index answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexHint<'a> {
    UserName(&'a str),
    Id(&'a str),
    ExternalId(&'a str),
    Email(&'a str),
    DisplayName(&'a str),
}
