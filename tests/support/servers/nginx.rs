//! A private nginx on a free loopback port, in a temporary directory, in front of upstreams the
//! test names; stopped by its own process id when dropped.
//!
//! Its configuration is either made here (one `location /` that proxies to the upstreams, with
//! the test's own directives added) or a given configuration, such as the shipped
//! `deploy/nginx.conf`, with its upstream servers, listen address and resolver replaced.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::spawn;

const BINARIES: [&str; 2] = ["/usr/sbin/nginx", "/usr/bin/nginx"];

/// What nginx serves.
pub enum Site<'a> {
    /// A generated configuration: `location /` proxies to the upstream `twooter` with the
    /// request id set; `location` adds directives inside that block, `server` inside the
    /// `server` block (other `location`s), `http` inside the `http` block.
    Proxy {
        location: &'a str,
        server: &'a str,
        http: &'a str,
    },
    /// A whole configuration file's text whose `upstream twooter { ... }` block gets the test's
    /// servers instead of its own, whose `listen` gets the test's port, and whose `resolver` and
    /// `server ... resolve` (Docker's DNS) are dropped.
    Template(&'a str),
}

impl Site<'_> {
    /// The generated configuration with nothing added.
    pub const PLAIN: Site<'static> = Site::Proxy {
        location: "",
        server: "",
        http: "",
    };
}

/// A running nginx of the test's own.
pub struct Nginx {
    pub port: u16,
    child: Child,
    dir: tempfile::TempDir,
}

impl Nginx {
    /// The nginx binary of the system; outside CI a missing one is a visible skip.
    pub fn binary() -> Option<&'static str> {
        match BINARIES.into_iter().find(|p| Path::new(p).exists()) {
            Some(path) => Some(path),
            None => super::unavailable(
                "a private nginx",
                "nginx is not installed (apt-get install nginx-light)",
            ),
        }
    }

    /// Starts nginx in front of `upstreams` (`host:port` each), serving `site`, and waits until
    /// it accepts connections. `None` when nginx is not installed (outside CI).
    pub async fn start(upstreams: &[String], site: &Site<'_>) -> Option<Self> {
        let binary = Self::binary()?;
        let dir = tempfile::Builder::new()
            .prefix("twooter-nginx-")
            .tempdir()
            .expect("a temporary directory");
        let port = spawn::free_port();
        let config = config(dir.path(), upstreams, port, site);
        let path = dir.path().join("nginx.conf");
        std::fs::write(&path, config).expect("the nginx configuration is written");
        let mut command = Command::new(binary);
        command
            .arg("-c")
            .arg(&path)
            .arg("-p")
            .arg(dir.path())
            .args(["-g", "daemon off;"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        let child = spawn::spawn(command).expect("nginx starts");
        let mut nginx = Self { port, child, dir };
        nginx.wait_listening().await;
        Some(nginx)
    }

    async fn wait_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .is_err()
        {
            if let Ok(Some(status)) = self.child.try_wait() {
                let log = std::fs::read_to_string(self.dir.path().join("error.log"));
                panic!("nginx exited with {status}: {}", log.unwrap_or_default());
            }
            assert!(Instant::now() < deadline, "nginx did not start listening");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// What nginx wrote to its error log so far.
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        spawn::kill(&mut self.child);
    }
}

/// Paths nginx would otherwise take from its build (under /var), all in the test's directory.
fn own_paths(dir: &Path) -> (String, String) {
    let dir = dir.display();
    let main = format!("pid {dir}/nginx.pid;\nerror_log {dir}/error.log;\n");
    let http = format!(
        "client_body_temp_path {dir}/body;\nproxy_temp_path {dir}/proxy;\n\
         fastcgi_temp_path {dir}/fastcgi;\nuwsgi_temp_path {dir}/uwsgi;\nscgi_temp_path {dir}/scgi;\n"
    );
    (main, http)
}

fn config(dir: &Path, upstreams: &[String], port: u16, site: &Site<'_>) -> String {
    let (main, own_http) = own_paths(dir);
    match site {
        Site::Proxy {
            location,
            server,
            http,
        } => {
            let servers: String = upstreams.iter().map(|a| format!("server {a};\n")).collect();
            format!(
            "user root;\nworker_processes 1;\n{main}events {{ worker_connections 1024; }}\n\
             http {{\naccess_log off;\n{own_http}{http}\nupstream twooter {{\n{servers}}}\n\
             server {{\nlisten 127.0.0.1:{port};\n{server}\nlocation / {{\nproxy_pass http://twooter;\n\
             proxy_set_header X-Request-Id $request_id;\n{location}\n}}\n}}\n}}\n"
            )
        }
        Site::Template(text) => template(text, upstreams, port, &main, &own_http),
    }
}

/// Rewrites a whole configuration line by line; see [`Site::Template`]. The test's servers
/// keep the parameters of the template's first server (`max_fails=...`), less `resolve`.
pub fn template(text: &str, upstreams: &[String], port: u16, main: &str, own_http: &str) -> String {
    let mut out = format!("user root;\n{main}");
    let mut in_upstream = false;
    let mut parameters: Option<String> = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if in_upstream {
            if let Some(server) = trimmed.strip_prefix("server ") {
                let kept: Vec<&str> = server
                    .trim_end_matches(';')
                    .split_whitespace()
                    .skip(1)
                    .filter(|p| *p != "resolve")
                    .collect();
                parameters.get_or_insert(kept.join(" "));
                continue;
            }
            if trimmed.starts_with('}') {
                let parameters = parameters.take().unwrap_or_default();
                for address in upstreams {
                    out.push_str(&format!("server {address} {parameters};\n"));
                }
                in_upstream = false;
            }
        } else if trimmed.starts_with("upstream twooter") {
            in_upstream = true;
        } else if trimmed.starts_with("listen ") {
            out.push_str(&format!("listen 127.0.0.1:{port};\n"));
            continue;
        } else if trimmed.starts_with("resolver ")
            || trimmed.starts_with("error_log ")
            || trimmed.starts_with("pid ")
            || trimmed.starts_with("user ")
        {
            continue;
        }
        out.push_str(line);
        out.push('\n');
        if trimmed.starts_with("http {") {
            out.push_str(own_http);
        }
    }
    out
}
