//! The real `twooter` binary as a process: a command with a clean environment, and a server
//! started on a free port and stopped when dropped.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The binary under test: `TWOOTER_BIN` (scripts/check points it at the release build), else the
/// one cargo built for these tests.
fn binary() -> String {
    std::env::var("TWOOTER_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_twooter").to_owned())
}

/// A `twooter` command in `dir` with a clean environment: nothing from the developer's shell or
/// a `.env` file leaks in. Rate limits are off; the tests of the limits set `RATE_LIMITS`.
pub fn twooter(dir: &Path) -> Command {
    let mut command = Command::new(binary());
    command
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("LOG_FORMAT", "json")
        .env("RATE_LIMITS", "off")
        .stdin(Stdio::null());
    command
}

/// Runs `twooter <args>` in `dir` on the database at `database_url` to its end, asserts that it
/// exits with `code`, and returns what it wrote to stderr.
pub fn run(dir: &Path, database_url: &str, args: &[&str], code: i32) -> String {
    let output = twooter(dir)
        .env("DATABASE_URL", database_url)
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(
        output.status.code(),
        Some(code),
        "twooter {args:?}: {stderr}"
    );
    stderr
}

/// Makes an API key with `role` through `twooter keys create` in `dir`, on `database_url` (the
/// embedded database of `dir` when `None`), and returns the key it printed.
pub fn create_key(dir: &Path, database_url: Option<&str>, role: &str) -> String {
    let mut command = twooter(dir);
    if let Some(url) = database_url {
        command.env("DATABASE_URL", url);
    }
    let output = command
        .args(["keys", "create", "--name", "tests", "--role", role])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "twooter keys create: {stderr}");
    // Log lines share stdout with the key; the key is the one line that is not JSON.
    let stdout = String::from_utf8(output.stdout).unwrap();
    let keys: Vec<&str> = stdout.lines().filter(|l| l.starts_with("twt_")).collect();
    assert_eq!(keys.len(), 1, "{stdout}");
    keys[0].to_owned()
}

/// `GET url` with `key` as the bearer, read as JSON.
pub async fn get_json_as(url: &str, key: &str) -> Value {
    let response = reqwest::Client::new()
        .get(url)
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "GET {url}: {}",
        response.status()
    );
    response.json().await.unwrap()
}

/// A running server and the address it listens on.
pub struct Server {
    pub child: Child,
    pub address: SocketAddr,
    /// How long it took to say it was ready.
    pub startup: Duration,
    /// Every line the server has written to stdout so far.
    pub log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Starts the server on a free port.
    pub fn start(command: Command) -> Self {
        Self::start_on(command, 0)
    }

    /// Starts the server on `port` (0: a free one), as a restarted instance takes its old port.
    pub fn start_on(mut command: Command, port: u16) -> Self {
        let started = Instant::now();
        let mut child = command
            .env("PORT", port.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut lines = stdout.lines();
        let address = loop {
            let line = lines
                .next()
                .unwrap_or_else(|| {
                    panic!(
                        "the server exited before it was ready: {:?}",
                        child.try_wait()
                    )
                })
                .unwrap();
            let entry: Value = serde_json::from_str(&line)
                .unwrap_or_else(|_| panic!("not a JSON log line: {line}"));
            if entry["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("ready"))
            {
                break entry["address"].as_str().unwrap().parse().unwrap();
            }
        };
        let startup = started.elapsed();
        // Keep draining the log so the server never blocks on a full pipe.
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        Self {
            child,
            address,
            startup,
            log,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// Sends SIGTERM.
    pub fn terminate(&mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the server to exit, at most `limit`.
    pub fn wait(&mut self, limit: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the server did not exit within {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn get_json(url: &str) -> Value {
    reqwest::get(url).await.unwrap().json().await.unwrap()
}

/// The sample of `series` (a name, with its labels where it has any) in the metrics a server at
/// `base` serves now, or 0 when there is none yet.
pub async fn metric_at(base: &str, series: &str) -> f64 {
    let text = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    super::metric_value(&text, series)
}
