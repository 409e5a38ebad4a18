//! Ports: one trait per capability the functions need. Adapters live in
//! `user-sync-aws`; the business logic is written against these traits.
//!
//! Every method returns domain types and a [`StoreError`] (or the port's own
//! error) whose variants are the contract stated on each method.

mod configuration;
mod directory;
mod fan_outs;
mod joint_reads;
mod mail;
mod organizations;
mod product_api;
mod queues;
mod sync_state;
mod templates;

pub use configuration::*;
pub use directory::*;
pub use fan_outs::*;
pub use joint_reads::*;
pub use mail::*;
pub use organizations::*;
pub use product_api::*;
pub use queues::*;
pub use sync_state::*;
pub use templates::*;
