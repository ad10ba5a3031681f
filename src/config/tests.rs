use super::*;
use std::collections::HashMap;

fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::from_lookup(|name| vars.get(name).cloned())
}

#[test]
fn variables_lists_exactly_what_is_read() {
    let asked = std::cell::RefCell::new(std::collections::BTreeSet::new());
    Config::from_lookup(|name| {
        asked.borrow_mut().insert(name.to_owned());
        None
    })
    .unwrap();
    let listed: std::collections::BTreeSet<String> =
        VARIABLES.iter().map(|name| name.to_string()).collect();
    assert_eq!(asked.into_inner(), listed);
    assert_eq!(listed.len(), VARIABLES.len(), "a variable is listed twice");
}

#[test]
fn defaults_suit_a_laptop() {
    let config = config(&[]).unwrap();
    assert_eq!(config.port, 8000);
    assert_eq!(config.host.to_string(), "127.0.0.1");
    assert!(config.is_embedded());
    assert_eq!(config.database_url(), EMBEDDED_DATABASE_URL);
    assert_eq!(config.pool.max_connections, 10);
    assert_eq!(config.request_timeout, Duration::from_secs(10));
    assert_eq!(config.body_limit, 64 * 1024);
    assert!(config.migrate_on_start);
    assert_eq!(config.posting, Posting::Open);
    assert_eq!(
        config.stream,
        StreamConfig {
            max_subscribers: 10_000,
            max_per_client: 16,
            heartbeat: Duration::from_secs(15),
            buffer: 1024,
        }
    );
    assert_eq!((config.post_batch_max, config.post_queue_max), (128, 1024));
    assert_eq!(config.shutdown_delay, Duration::ZERO);
}

#[test]
fn group_commit_turns_off_with_a_batch_of_one() {
    let config = config(&[("POST_BATCH_MAX", "1"), ("POST_QUEUE_MAX", "8")]).unwrap();
    assert_eq!((config.post_batch_max, config.post_queue_max), (1, 8));
}

#[test]
fn accepts_the_prototypes_db_url() {
    let config = config(&[("DB_URL", "mysql://u:p@db:3306/twooter")]).unwrap();
    assert_eq!(config.database_url(), "mysql://u:p@db:3306/twooter");
    assert!(!config.is_embedded());
}

#[test]
fn names_the_variable_that_is_wrong() {
    let cases = [
        ("PORT", "eighty", "PORT"),
        ("PORT", "70000", "PORT"),
        ("HOST", "localhost:80", "HOST"),
        ("DATABASE_URL", "postgresql://x", "DATABASE_URL"),
        ("DB_URL", "oracle://x", "DB_URL"),
        ("REDIS_URL", "http://x", "REDIS_URL"),
        ("DATABASE_MAX_CONNECTIONS", "0", "DATABASE_MAX_CONNECTIONS"),
        (
            "DATABASE_ACQUIRE_TIMEOUT",
            "soon",
            "DATABASE_ACQUIRE_TIMEOUT",
        ),
        ("REQUEST_TIMEOUT", "0s", "REQUEST_TIMEOUT"),
        ("BODY_LIMIT_BYTES", "64k", "BODY_LIMIT_BYTES"),
        ("SHUTDOWN_GRACE_PERIOD", "-1", "SHUTDOWN_GRACE_PERIOD"),
        ("LOG_FORMAT", "xml", "LOG_FORMAT"),
        ("RUST_LOG", "info,[", "RUST_LOG"),
        (
            "CORS_ALLOWED_ORIGINS",
            "example.com",
            "CORS_ALLOWED_ORIGINS",
        ),
        ("NODE_ID", "1024", "NODE_ID"),
        ("NODE_LEASE_TTL", "1s", "NODE_LEASE_TTL"),
        ("MAX_CLOCK_SKEW", "never", "MAX_CLOCK_SKEW"),
        ("POST_COMMIT_DEADLINE", "soon", "POST_COMMIT_DEADLINE"),
        ("POST_COMMIT_DEADLINE", "50ms", "POST_COMMIT_DEADLINE"),
        (
            "DATABASE_URL",
            "mysql://u@db/t?ssl-mode=sometimes",
            "DATABASE_URL",
        ),
        (
            "DATABASE_URL",
            "mysql://u@db/t?ssl-ca=/no/such/ca.pem",
            "DATABASE_URL",
        ),
        ("POST_BATCH_MAX", "0", "POST_BATCH_MAX"),
        ("POST_BATCH_MAX", "501", "POST_BATCH_MAX"),
        ("POST_BATCH_MAX", "many", "POST_BATCH_MAX"),
        ("POST_QUEUE_MAX", "0", "POST_QUEUE_MAX"),
        ("POST_QUEUE_MAX", "-5", "POST_QUEUE_MAX"),
        ("MIGRATE_ON_START", "yes please", "MIGRATE_ON_START"),
        ("POSTING", "closed", "POSTING"),
        ("HEADER_TIMEOUT", "0s", "HEADER_TIMEOUT"),
        ("SHUTDOWN_DELAY", "-5s", "SHUTDOWN_DELAY"),
        ("SHUTDOWN_DELAY", "a while", "SHUTDOWN_DELAY"),
        ("MAX_CONNECTIONS", "0", "MAX_CONNECTIONS"),
        ("STREAM_MAX_SUBSCRIBERS", "0", "STREAM_MAX_SUBSCRIBERS"),
        ("STREAM_MAX_PER_CLIENT", "many", "STREAM_MAX_PER_CLIENT"),
        ("STREAM_HEARTBEAT", "10ms", "STREAM_HEARTBEAT"),
        ("STREAM_HEARTBEAT", "often", "STREAM_HEARTBEAT"),
        ("STREAM_BUFFER", "-5", "STREAM_BUFFER"),
        (
            "DATABASE_READ_YOUR_WRITES",
            "sometimes",
            "DATABASE_READ_YOUR_WRITES",
        ),
    ];
    for (variable, value, named) in cases {
        let err = config(&[(variable, value)]).unwrap_err();
        assert_eq!(err.variable, named, "{variable}={value}");
        assert!(err.to_string().starts_with(&format!("invalid {named}=")));
        assert!(!err.to_string().contains('\n'));
    }
}

#[test]
fn never_prints_a_password() {
    let err = config(&[("REDIS_URL", "http://user:hunter2@cache:6379")]).unwrap_err();
    assert!(!err.to_string().contains("hunter2"), "{err}");
    for (variable, url) in [
        ("DATABASE_URL", "mysql://u:hunter2@db:notaport/x"),
        ("DATABASE_URL", "mysql://u:hun@ter2@[::1/x"),
        ("DB_URL", "postgres://u:hunter2@db/x"),
        ("REDIS_URL", "redis://u:hunter2@cache:port"),
        ("DATABASE_URL", "mysql://u:hunter2@db/x?ssl-mode=sometimes"),
    ] {
        let err = config(&[(variable, url)]).unwrap_err();
        let shown = err.to_string();
        assert!(
            !shown.contains("hunter2") && !shown.contains("ter2"),
            "{shown}"
        );
        assert!(shown.contains(variable), "{shown}");
    }
}

#[test]
fn reads_durations_and_origins() {
    let config = config(&[
        ("REQUEST_TIMEOUT", "1500ms"),
        ("SHUTDOWN_DELAY", "5s"),
        (
            "CORS_ALLOWED_ORIGINS",
            "https://a.example, http://localhost:3000",
        ),
    ])
    .unwrap();
    assert_eq!(config.request_timeout, Duration::from_millis(1500));
    assert_eq!(config.shutdown_delay, Duration::from_secs(5));
    assert_eq!(
        config.cors_origins,
        ["https://a.example", "http://localhost:3000"]
    );
}

#[test]
fn rate_limits_default_and_bad_values_name_the_variable() {
    let defaults = config(&[]).unwrap();
    assert_eq!(defaults.rate_limits, crate::ratelimit::Policy::DEFAULT);
    assert_eq!(
        defaults.trusted_proxies,
        crate::ratelimit::TrustedProxies::default()
    );
    let off = config(&[("RATE_LIMITS", "off")]).unwrap();
    assert!(!off.rate_limits.is_on());
    for (variable, value) in [
        ("RATE_LIMITS", "read=0/min"),
        ("RATE_LIMITS", "read=10/fortnight"),
        ("RATE_LIMITS", "delete=1/s"),
        ("RATE_LIMITS", "on"),
        ("TRUSTED_PROXIES", "localhost"),
        ("TRUSTED_PROXIES", "10.0.0.0/33"),
    ] {
        let error = config(&[(variable, value)]).unwrap_err();
        assert_eq!(error.variable, variable);
        let line = error.to_string();
        assert!(line.starts_with(&format!("invalid {variable}=")), "{line}");
        assert!(!line.contains('\n'), "{line}");
    }
}
