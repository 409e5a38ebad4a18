//! What the PATCH tests share.

use serde_json::Value;

use super::{apply_ops, parse_patch};

/// `resource` after the PatchOp request `body` (both valid).
pub(super) fn apply(resource: Value, body: Value) -> Value {
    let mut r = resource.as_object().cloned().unwrap();
    apply_ops(&mut r, &parse_patch(&body).unwrap(), &[]).unwrap();
    Value::Object(r)
}
