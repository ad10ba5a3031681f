//! A private `redis-server` on a free port, in a temporary directory, that the test kills and
//! starts again on the same port; and the shared Redis the other tests use.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::spawn;

const BINARIES: [&str; 2] = ["/usr/bin/redis-server", "/usr/sbin/redis-server"];

/// The shared Redis of the machine, if one answers at `TWOOTER_TEST_REDIS_URL` (default
/// `redis://127.0.0.1:6379`); outside CI a missing one is a visible skip.
pub fn shared_url() -> Option<String> {
    let url = std::env::var("TWOOTER_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let address = url
        .trim_start_matches("redis://")
        .trim_end_matches('/')
        .to_owned();
    let reachable = std::net::ToSocketAddrs::to_socket_addrs(&address)
        .ok()
        .and_then(|mut addresses| addresses.next())
        .is_some_and(|address| {
            std::net::TcpStream::connect_timeout(&address, Duration::from_secs(1)).is_ok()
        });
    if reachable {
        Some(url)
    } else {
        super::unavailable("the shared Redis", &format!("nothing answers at {url}"))
    }
}

/// A Redis server of the test's own.
pub struct Redis {
    pub port: u16,
    binary: &'static str,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl Redis {
    /// Starts a server on a free port; `None` when redis-server is not installed (outside CI).
    pub async fn start() -> Option<Self> {
        let Some(binary) = BINARIES.into_iter().find(|p| Path::new(p).exists()) else {
            return super::unavailable(
                "a private Redis server",
                "redis-server is not installed (apt-get install redis-server)",
            );
        };
        let dir = tempfile::Builder::new()
            .prefix("twooter-redis-")
            .tempdir()
            .expect("a temporary directory");
        let mut redis = Self {
            port: spawn::free_port(),
            binary,
            dir,
            child: None,
        };
        redis.resume().await;
        Some(redis)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server with SIGKILL, as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            spawn::kill(&mut child);
        }
    }

    /// Starts the server again on its port, empty, and waits until it accepts connections.
    pub async fn resume(&mut self) {
        assert!(self.child.is_none(), "the server is running");
        let mut command = Command::new(self.binary);
        command
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        self.child = Some(spawn::spawn(command).expect("redis-server starts"));
        let deadline = Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .is_err()
        {
            assert!(Instant::now() < deadline, "redis-server did not start");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}
