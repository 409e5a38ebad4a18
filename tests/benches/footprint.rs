//! Each function's footprint as Lambda runs it: the release binary (as
//! shipped, built for this machine) started as its own process against a
//! Lambda Runtime API served here, with the AWS emulator and the product API
//! simulator behind it:
//!
//! - **init**: from the process's start to its first request for an event
//!   (`GET /runtime/invocation/next`): building the configuration, the SDK
//!   clients and the runtime, without any network call; the median of 10
//!   starts;
//! - **peak resident memory** (`VmHWM`) while handling 100 records, in the
//!   batches the template gives each function: the evaluator one batch of
//!   100 membership records, the worker and the mailer 10 batches of 10
//!   messages, the SCIM function 100 `POST /Users`, the admin API 100 reads
//!   (rules, sync progress, users, activity), the repair function 100
//!   stream-lag alarm notifications (the organization reconciled once,
//!   covered by that reconcile 99 times: the stack is stopped by then, so it
//!   never ends).
//!
//! The data is real: an organization on a local stack with a rule, sync on
//! and 100 users who joined its group, whose jobs wait in the jobs queue
//! (the stack's own worker and mailer are paused); the stack's functions are
//! stopped before the binaries run, so nothing else takes their records.
//!
//! `scripts/bench --only stack` builds the six binaries (`cargo build
//! --release -p scim -p api -p evaluator -p worker -p mailer -p repair`, as shipped)
//! and runs this bench (`cargo bench -p user-sync-core -p scim -p evaluator
//! -p user-sync-tests --bench footprint`), which prints one table.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use local_stack::{Stack, StackOptions};
use serde_json::{Value, json};
use tokio::sync::{Notify, mpsc};
use user_sync_core::ids::{GroupId, OrgId, UserId};
use user_sync_core::ports::{Memberships, Users};
use user_sync_tests::http_event::http_event;
use user_sync_tests::{Client, UserBuilder, repo_root, services_outside_a_stack, target_dir};

const FUNCTIONS: [&str; 6] = ["scim", "api", "evaluator", "worker", "mailer", "repair"];
const RECORDS: usize = 100;
const INIT_RUNS: usize = 10;

/// What the Runtime API has seen of one process.
#[derive(Default)]
struct RuntimeState {
    events: Mutex<VecDeque<(String, Value)>>,
    pushed: Notify,
    first_next: Mutex<Option<Instant>>,
}

struct RuntimeApi {
    state: Arc<RuntimeState>,
    results: mpsc::UnboundedReceiver<Result<Value, String>>,
    address: String,
}

type Shared = (
    Arc<RuntimeState>,
    mpsc::UnboundedSender<Result<Value, String>>,
);

async fn next(State((state, _)): State<Shared>) -> impl IntoResponse {
    state
        .first_next
        .lock()
        .unwrap()
        .get_or_insert_with(Instant::now);
    loop {
        let notified = state.pushed.notified();
        if let Some((id, event)) = state.events.lock().unwrap().pop_front() {
            let mut headers = HeaderMap::new();
            let deadline = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis()
                + 30_000;
            headers.insert(
                "lambda-runtime-aws-request-id",
                HeaderValue::from_str(&id).unwrap(),
            );
            headers.insert(
                "lambda-runtime-deadline-ms",
                HeaderValue::from_str(&deadline.to_string()).unwrap(),
            );
            headers.insert(
                "lambda-runtime-invoked-function-arn",
                HeaderValue::from_static("arn:aws:lambda:us-east-1:123456789012:function:bench"),
            );
            headers.insert(
                "lambda-runtime-trace-id",
                HeaderValue::from_static("Root=1-00000000-000000000000000000000000"),
            );
            return (StatusCode::OK, headers, event.to_string());
        }
        notified.await;
    }
}

async fn response(
    State((_, results)): State<Shared>,
    UrlPath(_id): UrlPath<String>,
    body: Bytes,
) -> StatusCode {
    let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let _ = results.send(Ok(value));
    StatusCode::ACCEPTED
}

async fn error(State((_, results)): State<Shared>, body: Bytes) -> StatusCode {
    let _ = results.send(Err(String::from_utf8_lossy(&body).into_owned()));
    StatusCode::ACCEPTED
}

async fn invocation_error(
    state: State<Shared>,
    UrlPath(_id): UrlPath<String>,
    body: Bytes,
) -> StatusCode {
    error(state, body).await
}

impl RuntimeApi {
    async fn start() -> Self {
        let state = Arc::new(RuntimeState::default());
        let (tx, results) = mpsc::unbounded_channel();
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route(
                "/2018-06-01/runtime/invocation/{id}/error",
                post(invocation_error),
            )
            .route("/2018-06-01/runtime/init/error", post(error))
            .with_state((state.clone(), tx));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            state,
            results,
            address,
        }
    }

    /// Hands the process one event and waits for its answer.
    async fn invoke(&mut self, n: usize, event: Value) -> Value {
        self.state
            .events
            .lock()
            .unwrap()
            .push_back((format!("request-{n}"), event));
        self.state.pushed.notify_one();
        match tokio::time::timeout(Duration::from_secs(60), self.results.recv()).await {
            Ok(Some(Ok(v))) => v,
            Ok(Some(Err(e))) => panic!("the invocation failed: {e}"),
            Ok(None) | Err(_) => panic!("no answer within 60 s"),
        }
    }
}

/// One function's process.
struct Process {
    child: tokio::process::Child,
    started: Instant,
}

impl Process {
    fn spawn(binary: &Path, env: &BTreeMap<String, String>, runtime: &RuntimeApi) -> Self {
        let started = Instant::now();
        let child = tokio::process::Command::new(binary)
            .env_clear()
            .envs(env)
            .env("AWS_LAMBDA_RUNTIME_API", &runtime.address)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        Self { child, started }
    }

    /// `VmHWM`: the peak resident set, in KiB.
    fn peak_kib(&self) -> u64 {
        let pid = self.child.id().unwrap();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }
}

/// Waits for the process's first request for an event.
async fn ready(runtime: &RuntimeApi, process: &Process) -> Duration {
    loop {
        if let Some(at) = *runtime.state.first_next.lock().unwrap() {
            return at - process.started;
        }
        assert!(
            process.started.elapsed() < Duration::from_secs(30),
            "never ready"
        );
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
}

/// A membership record as the DirectoryTable stream delivers it.
fn membership_record(n: usize, org: &str, group: &str, user: &str) -> Value {
    let s = |v: &str| json!({"S": v});
    let pk = format!("{org}#GROUP#{group}");
    let sk = format!("MEMBER#{user}");
    json!({
        "eventID": format!("{n:032x}"),
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": 1_795_000_000,
            "Keys": {"pk": s(&pk), "sk": s(&sk)},
            "NewImage": {"pk": s(&pk), "sk": s(&sk), "orgId": s(org), "groupId": s(group),
                         "userId": s(user), "version": {"N": "1"}},
            "SequenceNumber": format!("{}", 200_000_000_000_000_000_000_u128 + n as u128),
            "SizeBytes": 78,
            "StreamViewType": "NEW_AND_OLD_IMAGES"
        },
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/directory/stream/2026-11-22T00:00:00.000"
    })
}

/// Up to `n` messages of a queue, as Lambda's SQS event records.
async fn receive(sqs: &aws_sdk_sqs::Client, url: &str, arn: &str, n: usize) -> Vec<Value> {
    let mut records = Vec::new();
    let started = Instant::now();
    while records.len() < n && started.elapsed() < Duration::from_secs(60) {
        let out = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
            .send()
            .await
            .unwrap();
        for m in out.messages() {
            records.push(local_stack::sqs::lambda_message(m, arn));
        }
    }
    assert_eq!(records.len(), n, "messages in {url}");
    records
}

fn assert_no_failures(what: &str, answer: &Value) {
    let failures = answer["batchItemFailures"].as_array().map_or(0, Vec::len);
    assert_eq!(failures, 0, "{what}: {answer}");
}

struct Figures {
    init_ms: Vec<f64>,
    peak_kib: u64,
    handled: Duration,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // 1. the release binaries, as `scripts/bench` builds them first
    let binaries: BTreeMap<&str, PathBuf> = FUNCTIONS
        .iter()
        .map(|f| (*f, target_dir().join("release").join(f)))
        .collect();
    for (f, path) in &binaries {
        let built = std::fs::metadata(path)
            .and_then(|m| m.modified())
            .unwrap_or_else(|_| {
                panic!(
                    "{} is missing: build the functions first with `cargo build --release \
                     --locked -p scim -p api -p evaluator -p worker -p mailer -p repair` \
                     (scripts/bench does)",
                    path.display()
                )
            });
        let age = built.elapsed().unwrap_or_default();
        eprintln!("{f}: {} (built {} s ago)", path.display(), age.as_secs());
    }

    // 2. an organization with a rule, sync on, and 100 users in its group
    let (emulator, product_api) = services_outside_a_stack().await;
    let aws = emulator.endpoint_url().to_owned();
    let mut options = StackOptions::new(repo_root());
    options.aws_endpoint_url = Some(aws.clone());
    options.product_api_url = Some(product_api.clone());
    options.paused = ["WorkerFunction", "MailerFunction"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let stack = Stack::start(options).await.expect("the local stack");
    let org_id = OrgId::parse("footprint").unwrap();
    let org = stack
        .create_organization(&org_id, "Footprint Company")
        .await
        .unwrap();
    let on = user_sync_tests::onboard::Onboarding::new(user_sync_tests::TestOrg::from_tokens(
        org.org_id.as_str(),
        &org.scim_token,
        &org.admin_token,
        user_sync_tests::Urls::new(
            &stack.scim_url,
            &stack.api_url,
            &product_api,
            &stack.aws_endpoint_url,
        ),
    ));
    let group = on.group_rule_and_sync().await;
    let users = on.create_users(0..RECORDS, 8).await;
    on.add_members(&group, &users).await;
    let jobs_url = stack.queues["JobsQueue"].clone();
    let jobs_arn = stack.queue_arns["JobsQueue"].clone();
    let mail_url = stack.queues["MailQueue"].clone();
    let mail_arn = stack.queue_arns["MailQueue"].clone();
    let sqs = stack.sqs();
    let directory =
        user_sync_aws::dynamo::DirectoryTable::new(stack.dynamodb(), &stack.directory_table);
    // the evaluator sent a job per user
    let started = Instant::now();
    loop {
        let attrs = sqs
            .get_queue_attributes()
            .queue_url(&jobs_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await
            .unwrap();
        let waiting: usize = attrs
            .attributes()
            .and_then(|a| {
                a.get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
            })
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if waiting >= RECORDS {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "jobs: {waiting}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let envs: BTreeMap<&str, BTreeMap<String, String>> = FUNCTIONS
        .iter()
        .map(|f| {
            let mut env = stack.function_env(f).expect("function env").clone();
            env.extend([
                ("AWS_ENDPOINT_URL".to_owned(), aws.clone()),
                ("AWS_REGION".to_owned(), "us-east-1".to_owned()),
                ("AWS_ACCESS_KEY_ID".to_owned(), (*f).to_owned()),
                ("AWS_SECRET_ACCESS_KEY".to_owned(), "local".to_owned()),
                ("AWS_LAMBDA_FUNCTION_NAME".to_owned(), (*f).to_owned()),
                (
                    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE".to_owned(),
                    "256".to_owned(),
                ),
                (
                    "AWS_LAMBDA_FUNCTION_VERSION".to_owned(),
                    "$LATEST".to_owned(),
                ),
                (
                    "AWS_LAMBDA_LOG_GROUP_NAME".to_owned(),
                    format!("/aws/lambda/{f}"),
                ),
                ("AWS_LAMBDA_LOG_STREAM_NAME".to_owned(), "bench".to_owned()),
            ]);
            (*f, env)
        })
        .collect();
    // nothing else takes the records from here on
    stack.shutdown().await;

    // 3. each function
    let mut figures = BTreeMap::new();
    let client = Client::new();
    for f in FUNCTIONS {
        eprintln!("{f}");
        let mut init_ms = Vec::new();
        for _ in 0..INIT_RUNS {
            let rt = RuntimeApi::start().await;
            let process = Process::spawn(&binaries[f], &envs[f], &rt);
            init_ms.push(ready(&rt, &process).await.as_secs_f64() * 1e3);
        }
        let mut rt = RuntimeApi::start().await;
        let process = Process::spawn(&binaries[f], &envs[f], &rt);
        ready(&rt, &process).await;
        let started = Instant::now();
        match f {
            "scim" => {
                for n in 0..RECORDS {
                    let name = format!("footprint-{n:03}@example.com");
                    let body = UserBuilder::person(&name, "Foot", &format!("Print {n}")).build();
                    let a = rt
                        .invoke(
                            n,
                            http_event(
                                "POST",
                                "/scim/v2/{proxy+}",
                                "/scim/v2/Users",
                                &[],
                                &format!("Bearer {}", org.scim_token),
                                Some(&body),
                            ),
                        )
                        .await;
                    assert_eq!(a["statusCode"], 201, "{a}");
                }
            }
            "api" => {
                let reads = [
                    ("/api/v1/rules", &[][..]),
                    ("/api/v1/sync", &[]),
                    ("/api/v1/users", &[("limit", "50")]),
                    ("/api/v1/activity", &[("limit", "50")]),
                ];
                for n in 0..RECORDS {
                    let (path, query) = reads[n % reads.len()];
                    let a = rt
                        .invoke(
                            n,
                            http_event(
                                "GET",
                                "/api/v1/{proxy+}",
                                path,
                                query,
                                &format!("Bearer {}", org.admin_token),
                                None,
                            ),
                        )
                        .await;
                    assert_eq!(a["statusCode"], 200, "{path}: {a}");
                }
            }
            "evaluator" => {
                // 100 new members of the rule's group: the users the SCIM
                // binary created just now
                let group_id = GroupId::parse(&group).unwrap();
                let (new_users, _) = directory.list_users(&org_id, None, 1_000).await.unwrap();
                let ids: Vec<UserId> = new_users
                    .into_iter()
                    .map(|u| u.user.id)
                    .filter(|id| !users.contains(&id.to_string()))
                    .collect();
                assert_eq!(ids.len(), RECORDS, "users created by the SCIM binary");
                directory
                    .add_members(&org_id, &group_id, &ids)
                    .await
                    .unwrap();
                let records: Vec<Value> = ids
                    .iter()
                    .enumerate()
                    .map(|(n, id)| membership_record(n, org_id.as_str(), &group, id.as_str()))
                    .collect();
                let a = rt.invoke(0, json!({"Records": records})).await;
                assert_no_failures("evaluator", &a);
            }
            "worker" | "mailer" => {
                let (url, arn) = if f == "worker" {
                    (&jobs_url, &jobs_arn)
                } else {
                    (&mail_url, &mail_arn)
                };
                let records = receive(&sqs, url, arn, RECORDS).await;
                for (n, batch) in records.chunks(10).enumerate() {
                    let a = rt.invoke(n, json!({"Records": batch})).await;
                    assert_no_failures(f, &a);
                }
            }
            "repair" => {
                let sample: Value =
                    serde_json::from_str(include_str!("../../events/repair/stream-lag-alarm.json"))
                        .unwrap();
                for n in 0..RECORDS {
                    let a = rt.invoke(n, stream_lag_alarm(&sample, n)).await;
                    let started = a["alarms"][0]["started"].as_u64();
                    let covered = a["alarms"][0]["covered"].as_u64();
                    let want = if n == 0 {
                        (Some(1), Some(0))
                    } else {
                        (Some(0), Some(1))
                    };
                    assert_eq!((started, covered), want, "repair: {a}");
                }
            }
            _ => unreachable!(),
        }
        let handled = started.elapsed();
        let peak_kib = process.peak_kib();
        drop(process);
        figures.insert(
            f,
            Figures {
                init_ms,
                peak_kib,
                handled,
            },
        );
    }
    // the work was done: the accounts and the emails exist
    let accounts = client
        .send(
            "GET",
            &format!("{product_api}/control/accounts?org={org_id}"),
            None,
            None,
        )
        .await
        .1;
    let accounts = accounts["accounts"].as_array().map_or(0, Vec::len);
    assert!(accounts >= RECORDS, "accounts: {accounts}");
    emulator.stop().await;

    println!();
    println!(
        "| function | init, median of {INIT_RUNS} (min–max) | peak resident memory, {RECORDS} records | handling the {RECORDS} records | goal |"
    );
    println!("|---|---|---|---|---|");
    for f in FUNCTIONS {
        let fig = &figures[f];
        let mut init = fig.init_ms.clone();
        init.sort_by(f64::total_cmp);
        println!(
            "| {f} | {:.1} ms ({:.1}–{:.1}) | {:.1} MiB | {:.2} s | init ≤ 50 ms, memory ≤ 40 MiB |",
            init[init.len() / 2],
            init[0],
            init[init.len() - 1],
            fig.peak_kib as f64 / 1024.0,
            fig.handled.as_secs_f64()
        );
    }
    println!("\n{accounts} accounts at the product API simulator");
}

/// The sample stream-lag notification, the alarm going into `ALARM` at the
/// `n`th minute of the day.
fn stream_lag_alarm(sample: &Value, n: usize) -> Value {
    let mut event = sample.clone();
    let message = event["Records"][0]["Sns"]["Message"].as_str().unwrap();
    let mut alarm: Value = serde_json::from_str(message).unwrap();
    alarm["StateChangeTime"] = json!(format!(
        "2026-12-05T{:02}:{:02}:00.000+0000",
        n / 60,
        n % 60
    ));
    event["Records"][0]["Sns"]["Message"] = json!(alarm.to_string());
    event
}
