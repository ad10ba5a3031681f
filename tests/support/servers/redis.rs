//! A private `redis-server` on a free port, in a temporary directory, started and killed by the
//! test: the broker the live stream's fault tests stop and start again.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::spawn;

const REDIS_SERVER: &str = "redis-server";

/// A Redis server of the test's own.
pub struct Redis {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl Redis {
    /// Whether a server can be started here; outside CI a missing one is a visible skip.
    pub fn available() -> bool {
        let found = std::env::var_os("PATH").is_some_and(|paths| {
            std::env::split_paths(&paths).any(|dir| dir.join(REDIS_SERVER).is_file())
        }) || Path::new("/usr/bin/redis-server").is_file();
        if !found {
            super::unavailable::<()>("a private Redis server", "redis-server is not installed");
        }
        found
    }

    /// A new server, answering before this returns.
    pub fn start() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("twooter-redis-")
            .tempdir()
            .expect("a temporary directory");
        let mut redis = Self {
            port: spawn::free_port(),
            dir,
            child: None,
        };
        redis.launch();
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts the server again on the same port after [`Redis::kill`].
    pub fn launch(&mut self) {
        let mut command = Command::new(REDIS_SERVER);
        command
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        self.child = Some(spawn::spawn(command).expect("redis-server starts"));
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not answer");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the server at once, as in a crash.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            spawn::kill(&mut child);
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}
