//! The real `twooter` binary as a process: start-up, configuration errors, the commands, and a
//! graceful shutdown with requests in flight.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::process::{create_key, get_json, get_json_as, run, twooter, Server};
use crate::support::stats_total;

#[tokio::test]
async fn with_no_database_configured_it_serves_demo_data_from_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(twooter(dir.path()));
    assert!(server.startup < Duration::from_secs(10));
    let messages = get_json(&server.url("/messages")).await;
    assert_eq!(messages.as_array().unwrap().len(), 100);
    let admin = create_key(dir.path(), None, "admin");
    let stats = get_json_as(&server.url("/management/message-stats"), &admin).await;
    assert!(
        stats.as_object().unwrap().len() >= 5,
        "demo data spans years: {stats}"
    );
    assert!(dir.path().join("twooter.db").exists());
    server.terminate();
    assert!(server.wait(Duration::from_secs(10)).success());

    // A second start finds the data and does not seed again; a migrated start is fast.
    let server = Server::start(twooter(dir.path()));
    let stats = get_json_as(&server.url("/management/message-stats"), &admin).await;
    let total = stats_total(&stats);
    assert_eq!(total, 400);
}

#[tokio::test]
async fn a_configured_database_is_never_seeded() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = twooter(dir.path());
    command.env("DATABASE_URL", "sqlite:configured.db");
    let server = Server::start(command);
    assert_eq!(
        get_json(&server.url("/messages")).await,
        serde_json::json!([])
    );
}

#[test]
fn invalid_configuration_stops_start_up_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    for (variable, value) in [
        ("PORT", "http"),
        ("DATABASE_URL", "postgres://x"),
        ("REQUEST_TIMEOUT", "fast"),
    ] {
        let output = twooter(dir.path()).env(variable, value).output().unwrap();
        assert_eq!(output.status.code(), Some(1));
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.starts_with(&format!("error: invalid {variable}=")),
            "{stderr}"
        );
    }
}

#[test]
fn every_numeric_argument_is_checked_with_a_line_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("twooter.db").display());
    for (args, named) in [
        (&["seed", "--count", "5", "--years", "100"][..], "--years"),
        (&["seed", "--count", "5", "--years", "0"], "--years"),
        (&["seed", "--count", "5", "--years=-3"], "--years"),
        (&["seed", "--count", "0"], "--count"),
        (&["seed", "--count", "many"], "--count"),
        (&["seed", "--count", "99999999999999999999999"], "--count"),
        (&["seed", "--count", "5", "--seed=-1"], "--seed"),
        (&["import", "rows.csv", "--batch-size", "0"], "--batch-size"),
        (
            &["import", "rows.csv", "--batch-size", "2000000"],
            "--batch-size",
        ),
    ] {
        let stderr = run(dir.path(), &url, args, 2);
        let first = stderr.lines().next().unwrap_or_default();
        assert!(
            first.starts_with("error: ") && first.contains(named),
            "twooter {args:?}: {stderr}"
        );
    }
    // The widest accepted range still seeds, back to 1970.
    let most = chrono::Datelike::year(&chrono::Utc::now()) - 1970;
    run(
        dir.path(),
        &url,
        &["seed", "--count", "50", "--years", &most.to_string()],
        0,
    );
}

#[test]
fn import_exits_2_when_rows_were_rejected_and_0_when_none() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("good.csv"),
        "message,tag,timestamp\nhello,coffee,2023-01-01T00:00:00Z\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("mixed.csv"),
        "message,tag,timestamp\nhello,coffee,2023-01-01T00:00:00Z\nbad,a b,2023-01-01T00:00:00Z\n",
    )
    .unwrap();
    let import =
        |file: &str, code: i32| run(dir.path(), "sqlite:imported.db", &["import", file], code);
    let good = import("good.csv", 0);
    assert!(
        good.contains("imported 1 twoots, skipped 0 already stored, rejected 0 rows"),
        "{good}"
    );
    let mixed = import("mixed.csv", 2);
    assert!(mixed.contains("line 3: tag: may contain only"), "{mixed}");
    // The good row is already there from good.csv: same time, text, tag and place in the file.
    assert!(
        mixed.contains("imported 0 twoots, skipped 1 already stored, rejected 1 rows"),
        "{mixed}"
    );
    import("missing.csv", 1);
}

#[tokio::test]
async fn seed_is_deterministic_and_migrate_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let mut stats = Vec::new();
    for db in ["a.db", "b.db"] {
        let url = format!("sqlite:{db}");
        for _ in 0..2 {
            run(dir.path(), &url, &["migrate"], 0);
        }
        let seed = ["seed", "--count", "3000", "--seed", "42", "--years", "5"];
        run(dir.path(), &url, &seed, 0);
        let mut command = twooter(dir.path());
        command.env("DATABASE_URL", &url);
        let server = Server::start(command);
        let texts: Vec<Value> = get_json(&server.url("/messages?limit=1000&tag=coffee"))
            .await
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["text"].clone())
            .collect();
        stats.push(texts);
    }
    assert!(!stats[0].is_empty());
    assert_eq!(stats[0], stats[1]);
}

#[test]
fn sigterm_lets_in_flight_requests_finish_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = twooter(dir.path());
    command
        .env("DATABASE_URL", "sqlite:drain.db")
        .env("SHUTDOWN_GRACE_PERIOD", "10s");
    let mut server = Server::start(command);

    // Requests whose bodies are still arriving are in flight when the signal comes.
    let body = r#"{"text": "sent slowly", "tag": "drain"}"#;
    let mut streams: Vec<TcpStream> = (0..5)
        .map(|_| {
            let mut stream = TcpStream::connect(server.address).unwrap();
            write!(
                stream,
                "POST /messages HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{}",
                body.len(),
                &body[..10]
            )
            .unwrap();
            stream
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    server.terminate();
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "exited with requests in flight"
    );
    // New connections are refused once it stops accepting.
    assert!(TcpStream::connect_timeout(&server.address, Duration::from_secs(1)).is_err());

    for stream in &mut streams {
        stream.write_all(&body.as_bytes()[10..]).unwrap();
        let mut response = String::new();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let _ = stream.read_to_string(&mut response);
        assert!(response.starts_with("HTTP/1.1 201"), "{response}");
    }
    let status = server.wait(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0));
}

#[tokio::test]
async fn each_request_is_one_json_log_line_with_its_request_id() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(twooter(dir.path()));
    let messages = get_json(&server.url("/messages?limit=1")).await;
    let id = messages[0]["id"].as_str().unwrap().to_owned();
    let reply = reqwest::Client::new()
        .get(server.url(&format!("/messages/{id}")))
        .header("x-request-id", "trace-me-123")
        .send()
        .await
        .unwrap();
    assert_eq!(reply.headers()["x-request-id"], "trace-me-123");
    let deadline = Instant::now() + Duration::from_secs(5);
    let line = loop {
        let found = server
            .log
            .lock()
            .unwrap()
            .iter()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .find(|entry| entry["span"]["request_id"] == "trace-me-123");
        if let Some(line) = found {
            break line;
        }
        assert!(Instant::now() < deadline, "no log line for the request");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["method"], "GET");
    assert_eq!(
        line["route"], "/messages/{id}",
        "the route template, never the raw path"
    );
    assert_eq!(line["status"], 200);
    assert!(line["latency_ms"].as_f64().unwrap() >= 0.0);
    assert!(line["remote"].as_str().unwrap().starts_with("127.0.0.1:"));
    assert!(line["timestamp"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn keys_are_made_listed_and_revoked_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let url = "sqlite:keys.db";
    let admin = create_key(dir.path(), Some(url), "admin");
    assert!(admin.starts_with("twt_") && admin.len() == 85, "{admin}");
    let id = &admin[4..20];
    let secret = &admin[21..];

    let list = twooter(dir.path())
        .env("DATABASE_URL", url)
        .args(["keys", "list"])
        .output()
        .unwrap();
    assert!(list.status.success());
    let listed = String::from_utf8(list.stdout).unwrap();
    assert!(listed
        .lines()
        .any(|line| line.starts_with(id) && line.contains("admin")));
    assert!(!listed.contains(secret), "the secret is never shown again");
    // Nor is it stored: the database file holds only its hash.
    let stored = std::fs::read(dir.path().join("keys.db")).unwrap();
    assert!(!stored.windows(secret.len()).any(|w| w == secret.as_bytes()));

    let mut server = twooter(dir.path());
    server.env("DATABASE_URL", url);
    let server = Server::start(server);
    let stats = server.url("/management/message-stats");
    get_json_as(&stats, &admin).await;

    // A key in use is read from the database about once a second, not once a request.
    let key_reads = || async {
        let metrics = reqwest::get(server.url("/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        metrics
            .lines()
            .filter(|line| {
                line.starts_with("twooter_db_query_duration_seconds_count{")
                    && line.contains(r#"query="get_api_key""#)
            })
            .map(|line| line.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
            .sum::<u64>()
    };
    let before = key_reads().await;
    let burst = Instant::now();
    for _ in 0..20 {
        get_json_as(&stats, &admin).await;
    }
    let reads = key_reads().await - before;
    let seconds = burst.elapsed().as_secs() + 1;
    assert!(
        reads <= seconds + 1,
        "{reads} reads of the key in {seconds} s"
    );

    let stderr = run(dir.path(), url, &["keys", "revoke", id], 0);
    let revoked = Instant::now();
    assert!(stderr.contains(id), "{stderr}");
    // Refused once this instance's copy of the key is a second old at most.
    let client = reqwest::Client::new();
    loop {
        let reply = client.get(&stats).bearer_auth(&admin).send().await.unwrap();
        if reply.status() == 401 {
            break;
        }
        assert_eq!(reply.status(), 200);
        assert!(
            revoked.elapsed() < Duration::from_millis(1200),
            "a revoked key still served after {:?}",
            revoked.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    run(dir.path(), url, &["keys", "revoke", id], 1);
    run(
        dir.path(),
        url,
        &["keys", "create", "--name", "x", "--role", "root"],
        2,
    );
    run(
        dir.path(),
        url,
        &["keys", "create", "--name", " ", "--role", "poster"],
        2,
    );
    let log = server.log.lock().unwrap().join("\n");
    assert!(!log.contains(secret), "a key was logged");
}

#[tokio::test]
async fn after_sigterm_readiness_fails_at_once_and_requests_are_served_for_the_delay() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = twooter(dir.path());
    command
        .env("DATABASE_URL", "sqlite:delay.db")
        .env("SHUTDOWN_DELAY", "2s");
    let mut server = Server::start(command);
    let client = reqwest::Client::new();
    let ready = client.get(server.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);

    server.terminate();
    let signalled = Instant::now();
    // Not ready as soon as the signal is handled, long before the delay is over.
    let probe = loop {
        let probe = client.get(server.url("/readyz")).send().await.unwrap();
        if probe.status() != 200 {
            break probe;
        }
        assert!(
            signalled.elapsed() < Duration::from_millis(500),
            "still ready"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(probe.status(), 503);
    assert_eq!(probe.headers()["content-type"], "application/problem+json");
    let problem: Value = probe.json().await.unwrap();
    assert_eq!(problem["status"], 503);
    assert_eq!(
        problem["detail"],
        "This instance is stopping; another one will answer"
    );
    // Everything else is still served until the delay is over, each answer closing its
    // connection so that no kept-alive one is cut later.
    let mut served = 0;
    while signalled.elapsed() < Duration::from_millis(1500) {
        let posted = client
            .post(server.url("/messages"))
            .json(&serde_json::json!({"text": "still here", "tag": "delay"}))
            .send()
            .await
            .unwrap();
        assert_eq!(posted.status(), 201);
        assert_eq!(posted.headers()["connection"], "close");
        let listed = client.get(server.url("/messages")).send().await.unwrap();
        assert_eq!(listed.status(), 200);
        served += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(served > 5, "{served}");
    assert!(server.child.try_wait().unwrap().is_none());
    let status = server.wait(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0));
    assert!(signalled.elapsed() >= Duration::from_secs(2));
}
