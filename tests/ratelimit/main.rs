//! Rate limits on the real binary: the 429 problem and the headers, who counts as the client,
//! one budget shared by three instances behind nginx through the real Redis, and a private
//! Redis killed and started again under the instances.

#[path = "../support/mod.rs"]
mod support;

mod in_process;
mod outage;
mod shared;

use std::path::Path;

use reqwest::Response;

use crate::support::process::{metric_at, twooter, Server};

/// The binary on a fresh SQLite database in `dir`, with `settings` added.
fn server(dir: &Path, settings: &[(&str, &str)]) -> Server {
    let mut command = twooter(dir);
    command.env(
        "DATABASE_URL",
        format!("sqlite:{}/twooter.db", dir.display()),
    );
    for (name, value) in settings {
        command.env(name, value);
    }
    Server::start(command)
}

/// An address of the documentation range no other test uses, for a client of its own in the
/// shared Redis.
fn fresh_address() -> String {
    let [a, b, c, d]: [u16; 4] = rand::random();
    format!("2001:db8:{a:x}:{b:x}:{c:x}:{d:x}::1")
}

/// A decision on each of `servers` for a client no test counts, so that the first one the test
/// counts finds Redis connected and the script loaded.
async fn warm_up(servers: &[&Server]) {
    for server in servers {
        let warm = [("x-forwarded-for", "2001:db8::1")];
        get(&server.url("/messages?limit=1"), &warm).await;
    }
}

async fn get(url: &str, headers: &[(&str, &str)]) -> Response {
    let mut request = reqwest::Client::new().get(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

async fn post(url: &str, headers: &[(&str, &str)]) -> Response {
    let mut request = reqwest::Client::new()
        .post(url)
        .json(&serde_json::json!({"text": "hello", "tag": "limits"}));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

fn header<'a>(response: &'a Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).map(|v| v.to_str().unwrap())
}

/// The value of the metric line that starts with `series` (name and labels), or 0.
async fn metric(server: &Server, series: &str) -> f64 {
    metric_at(&server.url(""), series).await
}
