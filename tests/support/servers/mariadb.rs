//! A private `mariadbd` on a free port, in a temporary directory, started and killed by the test.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sqlx::mysql::MySqlPoolOptions;
use sqlx::{Connection, MySqlConnection, MySqlPool};

use super::spawn;

const MARIADBD: &str = "/usr/sbin/mariadbd";
const INSTALL_DB: &str = "mariadb-install-db";

/// Settings that keep a test server small and quick to start.
const SMALL: &[&str] = &[
    "--innodb-buffer-pool-size=32M",
    "--innodb-log-file-size=8M",
    "--skip-name-resolve",
    "--bind-address=127.0.0.1",
    "--max-connections=200",
];

/// A MariaDB server of the test's own.
pub struct MariaDb {
    pub port: u16,
    dir: tempfile::TempDir,
    args: Vec<String>,
    child: Option<Child>,
    /// Files the server creates are readable and writable by every user: a Galera node's data
    /// directory is read and written by rsync's daemon, which does not run as the server's user.
    pub(super) shared_files: bool,
}

impl MariaDb {
    /// Whether a server can be started here; outside CI a missing one is a visible skip.
    pub fn available() -> bool {
        if Path::new(MARIADBD).exists() && which(INSTALL_DB) {
            return true;
        }
        super::unavailable::<()>("a private MariaDB server", "mariadbd is not installed");
        false
    }

    /// A new server with an initialised data directory and `args` added to its command line.
    pub async fn start(args: &[String]) -> Self {
        let server = Self::prepare(args, true);
        server.launch().await
    }

    /// The server, not started yet, with an empty data directory (a Galera joiner fills it).
    pub(super) fn prepare(args: &[String], initialised: bool) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("twooter-mariadb-")
            .tempdir()
            .expect("a temporary directory");
        let data = dir.path().join("data");
        if initialised {
            copy_dir(&template(), &data);
        } else {
            std::fs::create_dir(&data).expect("an empty data directory");
        }
        Self {
            port: spawn::free_port(),
            dir,
            args: args.to_vec(),
            child: None,
            shared_files: false,
        }
    }

    /// Starts the process and waits until it accepts connections.
    pub(super) async fn launch(mut self) -> Self {
        self.spawn(&[]);
        self.wait_until_up().await;
        self
    }

    /// Starts the process with `once` added for this start only, without waiting.
    pub(super) fn spawn(&mut self, once: &[String]) {
        assert!(self.child.is_none(), "the server is already running");
        let mut command = Command::new(MARIADBD);
        command
            .arg("--no-defaults")
            .arg(format!("--datadir={}", self.datadir().display()))
            .arg(format!(
                "--socket={}",
                self.dir.path().join("sock").display()
            ))
            .arg(format!(
                "--pid-file={}",
                self.dir.path().join("pid").display()
            ))
            .arg(format!("--log-error={}", self.error_log().display()))
            .arg(format!("--port={}", self.port))
            .args(SMALL)
            .args(&self.args)
            .args(once)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if unsafe { libc::geteuid() } == 0 {
            command.arg("--user=root");
        }
        if self.shared_files {
            command.env("UMASK", "0666").env("UMASK_DIR", "0777");
            share(self.dir.path());
        }
        self.child = Some(spawn::spawn(command).expect("mariadbd starts"));
    }

    /// The data directory.
    pub fn datadir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The temporary directory holding everything of this server's.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn error_log(&self) -> PathBuf {
        self.dir.path().join("error.log")
    }

    /// The end of the server's error log, for failure messages.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.error_log()).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// `mysql://root@127.0.0.1:PORT/DATABASE`.
    pub fn url(&self, database: &str) -> String {
        format!("mysql://root@127.0.0.1:{}/{database}", self.port)
    }

    /// The server's address.
    pub fn address(&self) -> std::net::SocketAddr {
        std::net::SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// A small pool of root connections with no default database.
    pub async fn admin(&self) -> MySqlPool {
        MySqlPoolOptions::new()
            .max_connections(4)
            .connect(&format!("mysql://root@127.0.0.1:{}", self.port))
            .await
            .unwrap_or_else(|e| panic!("root connects: {e}\n{}", self.log_tail()))
    }

    /// Runs `sql` as root, e.g. `SET GLOBAL read_only = 1`.
    pub async fn execute(&self, sql: &'static str) {
        let mut connection = self.connect().await.expect("root connects");
        sqlx::query(sql)
            .execute(&mut connection)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        let _ = connection.close().await;
    }

    async fn connect(&self) -> Result<MySqlConnection, sqlx::Error> {
        MySqlConnection::connect(&format!("mysql://root@127.0.0.1:{}", self.port)).await
    }

    /// Whether the process is running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|child| child.try_wait().ok().flatten().is_none())
    }

    /// SIGKILL: the server stops at once, as in a crash, its data directory intact.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            spawn::kill(&mut child);
        }
    }

    /// Starts the server again on the same port and data directory.
    pub async fn restart(&mut self) {
        self.spawn(&[]);
        self.wait_until_up().await;
    }

    /// Waits until root can connect, or fails with the error log.
    pub(super) async fn wait_until_up(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(connection) = self.connect().await {
                let _ = connection.close().await;
                return;
            }
            assert!(
                self.is_running(),
                "mariadbd on port {} exited:\n{}",
                self.port,
                self.log_tail()
            );
            assert!(
                Instant::now() < deadline,
                "mariadbd on port {} did not accept connections within 60 s:\n{}",
                self.port,
                self.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for MariaDb {
    fn drop(&mut self) {
        self.kill();
    }
}

fn which(program: &str) -> bool {
    Command::new(program)
        .arg("--help")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// An initialised data directory to copy, made once per machine and server version: initialising
/// one takes seconds, copying it a few milliseconds.
fn template() -> PathBuf {
    let version = Command::new(MARIADBD)
        .arg("--version")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
        .unwrap_or_default();
    let tag = version
        .split_whitespace()
        .find(|word| word.chars().next().is_some_and(|c| c.is_ascii_digit()))
        .unwrap_or("unknown")
        .to_owned();
    let template = std::env::temp_dir().join(format!("twooter-mariadb-template-{tag}"));
    if template.join("mysql").is_dir() {
        return template;
    }
    // Made beside its final place and renamed into it, so that a test running at the same time
    // sees either no template or a whole one.
    let building = tempfile::Builder::new()
        .prefix("twooter-mariadb-template-")
        .tempdir()
        .expect("a temporary directory");
    let data = building.path().join("data");
    let mut install = Command::new(INSTALL_DB);
    install
        .arg("--no-defaults")
        .arg(format!("--datadir={}", data.display()))
        .arg("--auth-root-authentication-method=normal")
        .arg("--skip-test-db")
        .args(SMALL.iter().filter(|arg| arg.starts_with("--innodb")));
    if unsafe { libc::geteuid() } == 0 {
        install.arg("--user=root");
    }
    let output = install.output().expect("mariadb-install-db runs");
    assert!(
        output.status.success(),
        "mariadb-install-db failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if std::fs::rename(&data, &template).is_err() {
        assert!(template.join("mysql").is_dir(), "cannot place {template:?}");
    }
    template
}

/// Makes everything under `dir` readable and writable by every user.
fn share(dir: &Path) {
    let status = Command::new("chmod")
        .arg("-R")
        .arg("a+rwX")
        .arg(dir)
        .status()
        .expect("chmod runs");
    assert!(status.success(), "cannot open up {dir:?}");
}

/// Copies a directory tree, keeping modes; readable by all, as Galera's rsync transfer needs.
fn copy_dir(from: &Path, to: &Path) {
    let status = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .expect("cp runs");
    assert!(status.success(), "cannot copy {from:?} to {to:?}");
}
