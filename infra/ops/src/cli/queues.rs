//! `ops dlq`: queue status and the dead-letter redrive.

use std::time::Duration;

use serde_json::{Value, json};
use user_sync_aws::backlog::{QueueStatus, queue_status};
use user_sync_aws::redrive::{QueuePair, SqsDeadLetters};
use user_sync_core::ports::{RedriveReport, RedriveSelection};

use super::{Ctx, Failure, Out, Report, columns, line};

pub(super) async fn dlq_status(ctx: &Ctx<'_>) -> Result<Report, Failure> {
    let [jobs, jobs_dlq, mail, mail_dlq] = ctx.queues()?;
    let mut queues = vec![
        (jobs, false),
        (jobs_dlq, true),
        (mail, false),
        (mail_dlq, true),
    ];
    if let Some(url) = &ctx.settings.evaluator_failure_queue_url {
        queues.push((("EvaluatorFailureQueue", url.clone()), true));
    }
    let sqs = ctx.sqs();
    let mut statuses: Vec<QueueStatus> = Vec::new();
    for ((name, url), peek) in queues {
        statuses.push(
            queue_status(&sqs, name, &url, peek)
                .await
                .map_err(|e| Failure::Failed(format!("could not read {name}: {e}")))?,
        );
    }
    let text = columns(
        &[
            "QUEUE",
            "WAITING",
            "IN FLIGHT",
            "DELAYED",
            "OLDEST (SAMPLE)",
        ],
        statuses
            .iter()
            .map(|q| {
                vec![
                    q.name.clone(),
                    q.waiting.to_string(),
                    q.in_flight.to_string(),
                    q.delayed.to_string(),
                    oldest_text(q),
                ]
            })
            .collect(),
    );
    Ok(Report::new(text, json!({ "queues": statuses })).note(
        "Counts are SQS's approximations. The oldest message is the oldest of a sample of up \
         to 30 peeked from each dead-letter queue (never from the jobs and mail queues); an \
         older one may exist.",
    ))
}

/// The oldest-message column of `dlq status`.
fn oldest_text(q: &QueueStatus) -> String {
    match &q.oldest_sampled {
        Some(o) => format!(
            "{} ({} of {} sampled)",
            age(o.age_seconds),
            o.messages_sampled,
            q.waiting.max(o.messages_sampled as u64)
        ),
        None => "-".into(),
    }
}

/// `90` → `1m30s`.
fn age(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        3600..86_400 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d{:02}h", s / 86_400, (s % 86_400) / 3600),
    }
}

/// Longest a redrive runs (it stops early when the queues are empty).
const REDRIVE_BUDGET: Duration = Duration::from_secs(24 * 3600);

pub(super) async fn dlq_redrive(
    ctx: &Ctx<'_>,
    selection: &RedriveSelection,
    rate: u32,
    err: Out<'_>,
) -> Result<Report, Failure> {
    let [(_, jobs), (_, jobs_dlq), (_, mail), (_, mail_dlq)] = ctx.queues()?;
    let dead_letters = SqsDeadLetters::new(
        ctx.sqs(),
        QueuePair {
            dead_letter_url: jobs_dlq,
            source_url: jobs,
        },
        QueuePair {
            dead_letter_url: mail_dlq,
            source_url: mail,
        },
        rate,
    );
    let mut last = 0;
    let mut progress = |r: &RedriveReport| {
        if r.examined >= last + 100 {
            last = r.examined;
            line(
                err,
                format!(
                    "... {} jobs and {} emails moved ({} dead-lettered messages examined)",
                    r.jobs, r.emails, r.examined
                ),
            );
        }
    };
    let r = dead_letters
        .redrive_with_progress(selection, REDRIVE_BUDGET, &mut progress)
        .await
        .map_err(|e| {
            Failure::Failed(format!(
                "the redrive stopped: {e} (run it again: what moved stays moved)"
            ))
        })?;
    let newer = if r.newer == 0 {
        String::new()
    } else {
        format!(
            "; {} dead-lettered after the run started (or moments before), left for the next run",
            r.newer
        )
    };
    let text = vec![format!(
        "moved {} jobs and {} welcome emails back to their queues ({} dead-lettered messages examined{newer}{})",
        r.jobs,
        r.emails,
        r.examined,
        if r.complete {
            ""
        } else {
            "; stopped early, run again for the rest"
        }
    )];
    Ok(Report::new(
        text,
        serde_json::to_value(r).unwrap_or(Value::Null),
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_at_a_glance() {
        assert_eq!(age(-3), "0s");
        assert_eq!(age(42), "42s");
        assert_eq!(age(90), "1m30s");
        assert_eq!(age(3 * 3600 + 5 * 60), "3h05m");
        assert_eq!(age(2 * 86_400 + 7 * 3600), "2d07h");
    }
}
