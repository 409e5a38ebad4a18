//! The retry logic of a failing batch: a pure state machine.

use std::collections::VecDeque;
use std::time::Duration;

use aws_lambda_events::streams::DynamoDbEventResponse;

use super::{MAX_BACKOFF, RetryPolicy};

/// How an invocation went, for the retry logic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every record is done.
    Success,
    /// The records before this index are done; the rest failed.
    FailedFrom(usize),
    /// The handler failed (error, timeout, invalid failure report): the
    /// whole batch failed.
    Error,
}

/// What to do after an invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// Records at the head now done.
    pub processed: usize,
    /// Records after those given up on (to the on-failure destination).
    pub discarded: usize,
    /// Invocations of the discarded batch, for the on-failure record.
    pub invocations: u32,
    /// Whether the next invocation is a retry (pause first).
    pub retry: bool,
}

/// Retry bookkeeping of one shard, Lambda-style.
#[derive(Debug, Default, Clone)]
pub struct RetryState {
    /// Sizes of the next batches, from bisection (front first).
    plan: VecDeque<usize>,
    /// Failed invocations of the record at the head.
    attempts: u32,
}

impl RetryState {
    /// The size of the next batch.
    pub fn next_batch_size(&self, available: usize, batch_size: usize) -> usize {
        available
            .min(self.plan.front().copied().unwrap_or(batch_size))
            .max(1)
    }

    /// Whether the next batch is a fresh one (not a retry or a split).
    pub fn is_fresh(&self) -> bool {
        self.plan.is_empty() && self.attempts == 0
    }

    pub fn reset(&mut self) {
        self.plan.clear();
        self.attempts = 0;
    }

    /// Updates the state after a batch of `n` records had `outcome`.
    pub fn after(&mut self, n: usize, outcome: Outcome, policy: RetryPolicy) -> Step {
        let mut step = Step {
            processed: 0,
            discarded: 0,
            invocations: 0,
            retry: false,
        };
        let failed = match outcome {
            Outcome::Success => {
                step.processed = n;
                self.plan.pop_front();
                self.attempts = 0;
                return step;
            }
            Outcome::FailedFrom(index) if index > 0 && index < n => {
                step.processed = index;
                self.attempts = 0;
                self.plan.pop_front();
                if policy.bisect_on_error {
                    // Bisected at the reported record: retry only the rest.
                    self.plan.push_front(n - index);
                }
                n - index
            }
            Outcome::FailedFrom(_) => n,
            Outcome::Error if policy.bisect_on_error && n > 1 => {
                self.plan.pop_front();
                self.plan.push_front(n - n / 2);
                self.plan.push_front(n / 2);
                step.retry = true;
                return step;
            }
            Outcome::Error => n,
        };
        self.attempts += 1;
        if policy
            .max_retry_attempts
            .is_some_and(|max| self.attempts > max)
        {
            step.discarded = failed;
            step.invocations = self.attempts;
            self.plan.pop_front();
            self.attempts = 0;
        } else {
            step.retry = true;
        }
        step
    }

    pub(super) fn backoff(&self) -> Duration {
        let exp = self.attempts.min(5);
        (Duration::from_millis(100) * 2u32.pow(exp)).min(MAX_BACKOFF)
    }
}

/// The outcome the function's response means for a batch of `sequence_numbers`.
pub fn outcome_of(
    response: &DynamoDbEventResponse,
    sequence_numbers: &[&str],
    report_failures: bool,
) -> Outcome {
    if !report_failures || response.batch_item_failures.is_empty() {
        return Outcome::Success;
    }
    let mut lowest: Option<usize> = None;
    for failure in &response.batch_item_failures {
        let position = failure
            .item_identifier
            .as_deref()
            .filter(|id| !id.is_empty())
            .and_then(|id| sequence_numbers.iter().position(|s| *s == id));
        match position {
            // An empty or unknown identifier fails the whole batch.
            None => return Outcome::FailedFrom(0),
            Some(p) => lowest = Some(lowest.map_or(p, |l| l.min(p))),
        }
    }
    lowest.map_or(Outcome::Success, Outcome::FailedFrom)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use aws_lambda_events::streams::DynamoDbBatchItemFailure;

    use super::*;
    use crate::stream::RetryPolicy;
    const BISECT: RetryPolicy = RetryPolicy {
        bisect_on_error: true,
        max_retry_attempts: Some(2),
    };
    const PLAIN: RetryPolicy = RetryPolicy {
        bisect_on_error: false,
        max_retry_attempts: Some(1),
    };

    #[test]
    fn success_moves_on() {
        let mut r = RetryState::default();
        assert_eq!(r.next_batch_size(7, 100), 7);
        let step = r.after(7, Outcome::Success, BISECT);
        assert_eq!((step.processed, step.discarded, step.retry), (7, 0, false));
        assert!(r.is_fresh());
    }

    #[test]
    fn partial_failure_checkpoints_then_retries_the_rest() {
        let mut r = RetryState::default();
        let step = r.after(10, Outcome::FailedFrom(4), BISECT);
        assert_eq!((step.processed, step.discarded, step.retry), (4, 0, true));
        assert_eq!(r.next_batch_size(6, 100), 6);
        // Fails again at its first record: two retries, then given up.
        let step = r.after(6, Outcome::FailedFrom(0), BISECT);
        assert_eq!((step.processed, step.retry), (0, true));
        let step = r.after(6, Outcome::FailedFrom(0), BISECT);
        assert_eq!(
            (step.processed, step.discarded, step.invocations, step.retry),
            (0, 6, 3, false)
        );
        assert!(r.is_fresh());
    }

    #[test]
    fn errors_bisect_down_to_the_bad_record_without_counting_splits() {
        let mut r = RetryState::default();
        assert!(r.after(4, Outcome::Error, BISECT).retry);
        assert_eq!(r.next_batch_size(4, 100), 2);
        assert!(r.after(2, Outcome::Error, BISECT).retry);
        assert_eq!(r.next_batch_size(4, 100), 1);
        // The first record is fine.
        assert_eq!(r.after(1, Outcome::Success, BISECT).processed, 1);
        // The second fails every time: 1 + 2 retries, then given up alone.
        assert_eq!(r.next_batch_size(3, 100), 1);
        assert!(r.after(1, Outcome::Error, BISECT).retry);
        assert!(r.after(1, Outcome::Error, BISECT).retry);
        let step = r.after(1, Outcome::Error, BISECT);
        assert_eq!((step.discarded, step.retry), (1, false));
        // Then the other half of the first split.
        assert_eq!(r.next_batch_size(2, 100), 2);
        assert_eq!(r.after(2, Outcome::Success, BISECT).processed, 2);
        assert!(r.is_fresh());
    }

    #[test]
    fn without_bisection_the_whole_batch_is_retried_then_dropped() {
        let mut r = RetryState::default();
        assert!(r.after(5, Outcome::Error, PLAIN).retry);
        assert_eq!(r.next_batch_size(5, 100), 5);
        let step = r.after(5, Outcome::Error, PLAIN);
        assert_eq!((step.discarded, step.invocations), (5, 2));
        let forever = RetryPolicy {
            bisect_on_error: false,
            max_retry_attempts: None,
        };
        for _ in 0..50 {
            assert!(r.after(5, Outcome::Error, forever).retry);
        }
    }

    fn failures(ids: &[Option<&str>]) -> DynamoDbEventResponse {
        let mut response = DynamoDbEventResponse::default();
        for id in ids {
            let mut f = DynamoDbBatchItemFailure::default();
            f.item_identifier = id.map(str::to_owned);
            response.batch_item_failures.push(f);
        }
        response
    }

    #[test]
    fn reported_failures_resume_from_the_lowest_sequence_number() {
        let seqs = ["10", "11", "12"];
        assert_eq!(outcome_of(&failures(&[]), &seqs, true), Outcome::Success);
        assert_eq!(
            outcome_of(&failures(&[Some("12"), Some("11")]), &seqs, true),
            Outcome::FailedFrom(1)
        );
        assert_eq!(
            outcome_of(&failures(&[Some("99")]), &seqs, true),
            Outcome::FailedFrom(0)
        );
        assert_eq!(
            outcome_of(&failures(&[None]), &seqs, true),
            Outcome::FailedFrom(0)
        );
        assert_eq!(
            outcome_of(&failures(&[Some("")]), &seqs, true),
            Outcome::FailedFrom(0)
        );
        // Without ReportBatchItemFailures the response is ignored.
        assert_eq!(
            outcome_of(&failures(&[Some("11")]), &seqs, false),
            Outcome::Success
        );
    }
}
