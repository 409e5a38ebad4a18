//! Desired and applied state of a user's product account.
//!
//! The evaluator stores the desired state with a generation that only grows;
//! jobs name the user and generation; the worker applies the *current*
//! desired state and records the generation it applied, so an old or
//! duplicated job can never move a user back.

mod decision;
mod desired;
mod drift;
mod failure;

pub use decision::*;
pub use desired::*;
pub use drift::*;
pub use failure::*;
