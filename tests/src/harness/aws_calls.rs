//! The AWS calls the local stack records (one JSON line a call), as the
//! permission checks read them.

use std::collections::BTreeMap;

use serde_json::Value;

/// The resources a recorded call names (table names, queue URLs, ARNs).
pub fn call_resources(call: &Value) -> Vec<String> {
    call["resources"]
        .as_array()
        .expect("a call names its resources")
        .iter()
        .map(|r| r.as_str().expect("a resource is a string").to_owned())
        .collect()
}

/// The template's logical id of each resource of a stack, by the name a
/// call gives it: the tables, the product API key's secret and the queues
/// (`queues`: logical id, URL).
pub fn logical_ids<'a>(
    directory_table: &str,
    state_table: &str,
    product_api_key_secret: &str,
    queues: impl IntoIterator<Item = (&'a String, &'a String)>,
) -> BTreeMap<String, String> {
    let mut logical: BTreeMap<String, String> = queues
        .into_iter()
        .map(|(id, url)| (url.clone(), id.clone()))
        .collect();
    logical.insert(directory_table.to_owned(), "DirectoryTable".into());
    logical.insert(state_table.to_owned(), "StateTable".into());
    logical.insert(
        product_api_key_secret.to_owned(),
        "ProductApiKeySecretArn".into(),
    );
    logical
}
