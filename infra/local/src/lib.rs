//! The local runner: the whole User Sync system on one machine, with no AWS
//! account.
//!
//! [`Stack::start`] starts an AWS emulator (moto in server mode, through
//! `infra/moto_server.py`), creates the tables and queues declared in
//! `template.yaml` (the only list of resources), verifies the SES sender,
//! starts the product API simulator, and runs the functions' handler
//! code in-process the way Lambda runs it:
//!
//! - the HTTP functions behind one local server that routes by the
//!   template's `HttpApi` paths and passes API Gateway payload 2.0 events
//!   ([`http`]);
//! - the evaluator on the DynamoDB stream, with the mapping's filters,
//!   batching, partial batch failures, bisection, bounded retries and
//!   on-failure destination ([`stream`], [`filter`]);
//! - the worker and the mailer on their queues, with partial batch failures;
//!   visibility timeouts, receive counts and dead-letter queues come from
//!   the emulator's SQS ([`sqs`]).
//!
//! Each function gets its configuration from the template's environment
//! variables, resolved locally ([`resolve`]); nothing is read from or
//! written to this process's environment.
//!
//! The `local-stack` binary runs a stack with a demo organization; the
//! end-to-end tests start one inside the test process.

pub mod emf;
#[cfg(test)]
mod emulated_tests;
pub mod emulator;
pub mod error;
pub mod filter;
mod flex;
pub mod functions;
pub mod http;
pub mod info;
pub mod permissions;
pub mod resolve;
pub mod resources;
pub mod schedule;
pub mod shutdown;
pub mod sqs;
pub mod stack;
pub mod stream;
pub mod template;

pub use error::{StackError, error_chain};
pub use functions::InvocationStats;
pub use info::LocalInfo;
pub use stack::{MAIL_FROM_ADDRESS, NewOrganization, PRODUCT_API_KEY, Stack, StackOptions};
