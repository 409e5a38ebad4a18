//! DynamoDB adapters for the two tables of `docs/data-model.md`.

mod batch_get;
mod directory;
mod domains;
mod errors;
pub mod items;
mod state;
mod templates;

pub use directory::DirectoryTable;
pub use errors::map_sdk_error;
pub use state::StateTable;
