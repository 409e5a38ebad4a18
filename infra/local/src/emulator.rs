//! The AWS emulator: moto in server mode, started through
//! `infra/moto_server.py` from the repository's virtualenv.
//!
//! The child gets a pipe on stdin that this process keeps open; the script
//! exits when the pipe closes, so the emulator never outlives this process,
//! however it ends. Dropping an [`Emulator`] also kills the child.

use std::collections::VecDeque;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::error::StackError;

/// How long the emulator may take to answer.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Lines of the emulator's stderr kept for error messages.
const TAIL_LINES: usize = 20;

/// A running emulator child process.
pub struct Emulator {
    child: Child,
    /// Held open: closing it tells the script to exit.
    stdin: Option<ChildStdin>,
    endpoint_url: String,
    log_tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("endpoint_url", &self.endpoint_url)
            .finish_non_exhaustive()
    }
}

type Tail = Arc<Mutex<VecDeque<String>>>;

impl Emulator {
    /// Starts `<repo>/.venv/bin/python infra/moto_server.py --port 0` and
    /// waits until it answers `GET /moto-api/`. With `record_calls`, the
    /// emulator appends every AWS call to that file (`--record-calls`).
    pub async fn start(repo_root: &Path, record_calls: Option<&Path>) -> Result<Self, StackError> {
        let python = repo_root.join(".venv").join("bin").join("python");
        if !python.exists() {
            return Err(StackError::EmulatorMissing(python));
        }
        let script = repo_root.join("infra").join("moto_server.py");
        if !script.exists() {
            return Err(StackError::EmulatorStart(format!(
                "{} does not exist",
                script.display()
            )));
        }

        let mut command = Command::new(&python);
        command
            .arg(&script)
            .args(["--host", "127.0.0.1", "--port", "0"])
            .current_dir(repo_root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(path) = record_calls {
            command.arg("--record-calls").arg(path);
        }
        // Its own process group: a Ctrl-C in the terminal reaches only the
        // runner, which then shuts the emulator down in order.
        #[cfg(unix)]
        command.process_group(0);
        let mut child = command
            .spawn()
            .map_err(|e| StackError::io(format!("starting {}", python.display()), e))?;
        let deadline = Instant::now() + START_TIMEOUT;

        let tail: Tail = Arc::new(Mutex::new(VecDeque::new()));
        let mut log_tasks = Vec::new();
        if let Some(stderr) = child.stderr.take() {
            log_tasks.push(tokio::spawn(forward_lines(stderr, Some(tail.clone()))));
        }
        let stdin = child.stdin.take();
        let Some(stdout) = child.stdout.take() else {
            return Err(StackError::EmulatorStart("no stdout pipe".into()));
        };

        let mut lines = BufReader::new(stdout).lines();
        let port = match tokio::time::timeout_at(deadline, read_port(&mut lines)).await {
            Ok(Some(port)) => port,
            Ok(None) => {
                let status = child.wait().await.ok();
                return Err(start_error(
                    &tail,
                    &format!("it exited ({status:?}) before listening"),
                )
                .await);
            }
            Err(_) => return Err(start_error(&tail, "it did not listen within 30 s").await),
        };
        log_tasks.push(tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                tracing::debug!(target: "local_stack::emulator", "{line}");
            }
        }));

        let endpoint_url = format!("http://127.0.0.1:{port}");
        let mut emulator = Self {
            child,
            stdin,
            endpoint_url,
            log_tasks,
        };
        if let Err(reason) = emulator.wait_ready(deadline).await {
            return Err(start_error(&tail, &reason).await);
        }
        tracing::info!(endpoint = %emulator.endpoint_url, "AWS emulator (moto) started");
        Ok(emulator)
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint_url(&self) -> &str {
        &self.endpoint_url
    }

    async fn wait_ready(&mut self, deadline: Instant) -> Result<(), String> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| e.to_string())?;
        let url = format!("{}/moto-api/", self.endpoint_url);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("it exited ({status})"));
            }
            if let Ok(response) = http.get(&url).send().await
                && response.status().is_success()
            {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!("{url} did not answer within 30 s"));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Closes the emulator's stdin so it exits; kills it if it has not
    /// exited after 5 s.
    pub async fn stop(mut self) {
        drop(self.stdin.take());
        if tokio::time::timeout(Duration::from_secs(5), self.child.wait())
            .await
            .is_err()
        {
            tracing::warn!("the AWS emulator did not exit; killing it");
            if let Err(e) = self.child.kill().await {
                tracing::warn!(error = %e, "killing the AWS emulator failed");
            }
        }
        for task in self.log_tasks.drain(..) {
            task.abort();
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        for task in &self.log_tasks {
            task.abort();
        }
        // `kill_on_drop` ends the child itself.
    }
}

/// Reads stdout until the `MOTO_PORT=<port>` line; `None` at end of file.
async fn read_port<R: AsyncRead + Unpin>(
    lines: &mut tokio::io::Lines<BufReader<R>>,
) -> Option<u16> {
    while let Ok(Some(line)) = lines.next_line().await {
        if let Some(port) = line.trim().strip_prefix("MOTO_PORT=") {
            return port.parse().ok();
        }
        tracing::debug!(target: "local_stack::emulator", "{line}");
    }
    None
}

/// Logs each line at debug, keeping the last lines in `tail`.
async fn forward_lines<R: AsyncRead + Unpin>(reader: R, tail: Option<Tail>) {
    let mut lines = BufReader::new(reader).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        tracing::debug!(target: "local_stack::emulator", "{line}");
        if let Some(tail) = &tail {
            let mut tail = tail.lock().unwrap_or_else(PoisonError::into_inner);
            if tail.len() == TAIL_LINES {
                tail.pop_front();
            }
            tail.push_back(line);
        }
    }
}

async fn start_error(tail: &Tail, reason: &str) -> StackError {
    // Give the stderr reader a moment to collect the last words.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let tail = tail.lock().unwrap_or_else(PoisonError::into_inner);
    let mut message = reason.to_owned();
    if !tail.is_empty() {
        message.push_str("; its last output:\n");
        message.push_str(&tail.iter().cloned().collect::<Vec<_>>().join("\n"));
    }
    StackError::EmulatorStart(message)
}
