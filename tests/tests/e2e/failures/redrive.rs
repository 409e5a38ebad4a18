//! Redrive from the admin's side: only the selected messages move, the
//! others are released; the queue helpers the ops CLI's tests share.

use super::*;

/// Fresh queues in the stack's emulator, for the redrive adapter alone.
pub(crate) async fn fresh_queue(sqs: &aws_sdk_sqs::Client, name: &str) -> String {
    sqs.create_queue()
        .queue_name(name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap()
}

pub(crate) async fn send_tagged(
    sqs: &aws_sdk_sqs::Client,
    queue: &str,
    body: &str,
    class: Option<&str>,
) {
    let mut m = sqs.send_message().queue_url(queue).message_body(body);
    if let Some(c) = class {
        m = m.message_attributes(
            "failureClass",
            aws_sdk_sqs::types::MessageAttributeValue::builder()
                .data_type("String")
                .string_value(c)
                .build()
                .unwrap(),
        );
    }
    m.send().await.unwrap();
}

/// Every message now in `queue` (received and deleted), as bodies.
pub(crate) async fn drain(sqs: &aws_sdk_sqs::Client, queue: &str) -> Vec<Value> {
    let mut bodies = Vec::new();
    loop {
        let out = sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        let messages = out.messages.unwrap_or_default();
        if messages.is_empty() {
            return bodies;
        }
        for m in messages {
            bodies.push(serde_json::from_str(m.body().unwrap()).unwrap_or(Value::Null));
            sqs.delete_message()
                .queue_url(queue)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redrive_moves_only_the_selected_messages_and_releases_the_others() {
    use user_sync_aws::redrive::{CLOCK_SKEW_MARGIN, QueuePair, SqsDeadLetters};
    use user_sync_core::ports::{DeadLetters, RedriveSelection};
    use user_sync_core::state::FailureClass;

    let sqs = aws_sdk_sqs::Client::new(&sdk_config().await);
    let tag = format!("{:x}", std::process::id() ^ 0x5eed);
    let q = |n: &str| format!("redrive-{tag}-{n}");
    let jobs = fresh_queue(&sqs, &q("jobs")).await;
    let jobs_dlq = fresh_queue(&sqs, &q("jobs-dlq")).await;
    let mail = fresh_queue(&sqs, &q("mail")).await;
    let mail_dlq = fresh_queue(&sqs, &q("mail-dlq")).await;
    let job =
        |org: &str, user: &str| json!({"orgId": org, "userId": user, "generation": 1}).to_string();
    for u in ["u1", "u2", "u3"] {
        send_tagged(&sqs, &jobs_dlq, &job("a", u), Some("out_of_licenses")).await;
    }
    send_tagged(&sqs, &jobs_dlq, &job("a", "u4"), Some("existing_account")).await;
    // moved by the redrive policy: no class attribute (product_api_unavailable)
    send_tagged(&sqs, &jobs_dlq, &job("a", "u5"), None).await;
    send_tagged(&sqs, &jobs_dlq, &job("b", "u1"), Some("out_of_licenses")).await;
    send_tagged(&sqs, &jobs_dlq, "not a job", None).await;
    let mail_job =
        |org: &str, user: &str| json!({"orgId": org, "userId": user, "event": "1"}).to_string();
    send_tagged(&sqs, &mail_dlq, &mail_job("a", "u6"), Some("email_failed")).await;
    send_tagged(&sqs, &mail_dlq, &mail_job("b", "u7"), None).await;

    // a run moves what was dead-lettered before it started
    tokio::time::sleep(CLOCK_SKEW_MARGIN + Duration::from_secs(1)).await;
    let dl = SqsDeadLetters::new(
        sqs.clone(),
        QueuePair {
            dead_letter_url: jobs_dlq.clone(),
            source_url: jobs.clone(),
        },
        QueuePair {
            dead_letter_url: mail_dlq.clone(),
            source_url: mail.clone(),
        },
        1_000,
    );
    let budget = Duration::from_secs(30);
    let org_a = Some(user_sync_core::ids::OrgId::parse("a").unwrap());
    // everything of organization a
    let all_of_a = RedriveSelection {
        org: org_a.clone(),
        ..RedriveSelection::default()
    };

    // one organization, one class
    let r = dl
        .redrive(
            &RedriveSelection {
                org: org_a.clone(),
                class: Some(FailureClass::OutOfLicenses),
                user: None,
            },
            budget,
        )
        .await
        .unwrap();
    assert_eq!((r.jobs, r.emails, r.examined, r.complete), (3, 0, 7, true));
    let moved = drain(&sqs, &jobs).await;
    let users: BTreeSet<&str> = moved
        .iter()
        .map(|m| m["userId"].as_str().unwrap())
        .collect();
    assert_eq!(users, BTreeSet::from(["u1", "u2", "u3"]));
    assert!(moved.iter().all(|m| m["orgId"] == "a"));

    // the others were released at once: a second pass sees them all again
    let r = dl
        .redrive(
            &RedriveSelection {
                org: org_a.clone(),
                class: Some(FailureClass::ProductApiUnavailable),
                user: None,
            },
            budget,
        )
        .await
        .unwrap();
    assert_eq!((r.jobs, r.examined), (1, 4));
    assert_eq!(drain(&sqs, &jobs).await[0]["userId"], "u5");

    // everything of organization a: its last job and its email
    let r = dl.redrive(&all_of_a, budget).await.unwrap();
    assert_eq!((r.jobs, r.emails), (1, 1));
    assert_eq!(drain(&sqs, &jobs).await[0]["userId"], "u4");
    assert_eq!(drain(&sqs, &mail).await[0]["userId"], "u6");

    // a message dead-lettered as the run starts (a job that failed again)
    // is left for the next run
    send_tagged(&sqs, &jobs_dlq, &job("a", "u8"), Some("out_of_licenses")).await;
    let r = dl.redrive(&all_of_a, budget).await.unwrap();
    assert_eq!((r.jobs, r.newer, r.complete), (0, 1, true));
    assert!(drain(&sqs, &jobs).await.is_empty());
    tokio::time::sleep(CLOCK_SKEW_MARGIN + Duration::from_secs(1)).await;

    // idempotent: nothing of a is left once the next run took u8
    let r = dl.redrive(&all_of_a, budget).await.unwrap();
    assert_eq!((r.jobs, r.newer), (1, 0));
    assert_eq!(drain(&sqs, &jobs).await[0]["userId"], "u8");
    let r = dl
        .redrive(
            &RedriveSelection {
                org: org_a,
                ..RedriveSelection::default()
            },
            budget,
        )
        .await
        .unwrap();
    assert_eq!((r.jobs, r.emails, r.complete), (0, 0, true));

    // ops' redrive of everything also moves what no organization owns
    let r = dl
        .redrive(&RedriveSelection::default(), budget)
        .await
        .unwrap();
    assert_eq!((r.jobs, r.emails), (2, 1));
    assert_eq!(drain(&sqs, &jobs).await.len(), 2);
    assert_eq!(drain(&sqs, &mail).await.len(), 1);
    assert!(drain(&sqs, &jobs_dlq).await.is_empty());
    assert!(drain(&sqs, &mail_dlq).await.is_empty());
}
