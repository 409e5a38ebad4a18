//! DynamoDB adapters for the two tables of `docs/data-model.md`.

mod batch;
mod directory;
mod domains;
mod errors;
pub mod items;
mod joint_reads;
mod query;
mod sso;
mod state;
mod templates;
mod transact;
mod values;

pub use directory::DirectoryTable;
pub use errors::map_sdk_error;
pub use joint_reads::BothTables;
pub use state::StateTable;
