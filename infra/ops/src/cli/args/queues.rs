//! `dlq`: the queues' backlog and dead-lettered messages.

use clap::Subcommand;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use user_sync_core::ids::{OrgId, UserId};
use user_sync_core::state::FailureClass;

use super::{org_id, user_id};

#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// Per queue: messages waiting, in flight and delayed, and for the
    /// dead-letter queues the oldest message of a sample.
    ///
    /// SQS has no call for the age of a queue's oldest message (CloudWatch's
    /// ApproximateAgeOfOldestMessage is the metric on AWS). For the
    /// dead-letter queues and the evaluator's failure queue this command
    /// peeks: it receives up to 30 messages with a visibility timeout of 0
    /// (nothing is consumed or hidden; their receive count grows by one) and
    /// reports the oldest SentTimestamp among them. It is a sample: with
    /// more messages than that, an older one may exist. The jobs and mail
    /// queues are never peeked (a receive there counts towards their
    /// redrive policy). The counts are SQS's approximations.
    Status,
    /// Moves dead-lettered jobs and welcome emails back to their queues, of
    /// every organization or the ones selected, showing progress.
    ///
    /// A message moves only once it is sent to its queue; running it again
    /// is harmless. A run moves only messages that were in the dead-letter
    /// queue when it started (their SentTimestamp, less a clock-skew margin
    /// of 5 seconds): a job that fails again during the run is left for
    /// the next run, never moved in a loop.
    Redrive {
        /// Only this organization's messages.
        #[arg(long, value_parser = org_id)]
        org: Option<OrgId>,
        /// Only this failure class (email_failed: welcome emails; any other: jobs).
        #[arg(long, value_parser = failure_class())]
        class: Option<FailureClass>,
        /// Only this user's messages.
        #[arg(long, value_parser = user_id)]
        user: Option<UserId>,
        /// Most messages moved per second.
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..))]
        rate: u32,
    },
}

/// A failure class, as the admin API names it (its possible values listed
/// in the help).
fn failure_class() -> impl TypedValueParser<Value = FailureClass> {
    PossibleValuesParser::new(FailureClass::ALL.map(FailureClass::as_str))
        .try_map(|name| name.parse::<FailureClass>())
}
