//! Error answers: the admin API's problem details (`code`) and SCIM errors
//! (`scimType`).

use serde_json::Value;

use super::Answer;

const SCIM_ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// An answer as the tests hold it: an [`Answer`] or a (status, body) pair.
pub trait Reply {
    fn status(&self) -> u16;
    fn body(&self) -> &Value;
}

impl Reply for Answer {
    fn status(&self) -> u16 {
        self.status
    }
    fn body(&self) -> &Value {
        &self.body
    }
}

impl Reply for (u16, Value) {
    fn status(&self) -> u16 {
        self.0
    }
    fn body(&self) -> &Value {
        &self.1
    }
}

/// Checks an error answer: its status, and its code — the `scimType` of a
/// SCIM error, the `code` of the admin API's problem details.
#[track_caller]
pub fn assert_problem(answer: &impl Reply, status: u16, code: &str) {
    let body = answer.body();
    assert_eq!(answer.status(), status, "{body}");
    let scim = body["schemas"]
        .as_array()
        .is_some_and(|s| s.iter().any(|x| x == SCIM_ERROR));
    let field = if scim { "scimType" } else { "code" };
    assert_eq!(body[field], code, "{body}");
}
