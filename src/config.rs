//! Settings, read from the environment (and a `.env` file, loaded by the command line first).
//!
//! Every setting has a default that suits a laptop. A value that cannot be used stops start-up
//! with one line naming the variable and what is wrong with it.

use std::net::IpAddr;
use std::str::FromStr;
use std::time::Duration;

use crate::domain::NodeId;
use crate::store::PoolConfig;

/// The database used when none is configured: a SQLite file in the working directory.
pub const EMBEDDED_DATABASE_URL: &str = "sqlite:twooter.db";

/// Every environment variable the service reads, so that deployment files can be checked against
/// it. A unit test keeps it equal to what [`Config::from_lookup`] asks for.
pub const VARIABLES: &[&str] = &[
    "HOST",
    "PORT",
    "DATABASE_URL",
    "DB_URL",
    "REDIS_URL",
    "DATABASE_MAX_CONNECTIONS",
    "DATABASE_ACQUIRE_TIMEOUT",
    "DATABASE_READ_YOUR_WRITES",
    "BODY_LIMIT_BYTES",
    "REQUEST_TIMEOUT",
    "READINESS_TIMEOUT",
    "SHUTDOWN_GRACE_PERIOD",
    "LOG_FORMAT",
    "RUST_LOG",
    "CORS_ALLOWED_ORIGINS",
    "NODE_ID",
    "NODE_LEASE_TTL",
    "MAX_CLOCK_SKEW",
    "POST_COMMIT_DEADLINE",
    "MIGRATE_ON_START",
    "POSTING",
    "HEADER_TIMEOUT",
    "MAX_CONNECTIONS",
];

/// A setting that cannot be used, with the variable that holds it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {variable}={value:?}: {reason}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub value: String,
    pub reason: String,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// JSON on stdout when it is not a terminal, readable text when it is.
    Auto,
    Json,
    Pretty,
}

/// Every setting of the service.
#[derive(Debug, Clone)]
pub struct Config {
    /// `HOST`: the address to listen on.
    pub host: IpAddr,
    /// `PORT`: the port to listen on.
    pub port: u16,
    /// `DATABASE_URL` (or `DB_URL`); `None` means the embedded SQLite file with demo data.
    pub database_url: Option<String>,
    /// Whether the URL came from the prototype's `DB_URL` rather than `DATABASE_URL`.
    pub database_url_from_db_url: bool,
    /// `REDIS_URL`: checked at start-up so that a deployment can set it now; the shared rate
    /// limits and the live stream's fan-out are what will use it.
    pub redis_url: Option<String>,
    /// `DATABASE_MAX_CONNECTIONS` and `DATABASE_ACQUIRE_TIMEOUT`.
    pub pool: PoolConfig,
    /// `BODY_LIMIT_BYTES`: largest request body; larger ones are answered 413.
    pub body_limit: usize,
    /// `REQUEST_TIMEOUT`: longest a request may take before it is answered 503.
    pub request_timeout: Duration,
    /// `READINESS_TIMEOUT`: longest `/readyz` waits for the database.
    pub readiness_timeout: Duration,
    /// `SHUTDOWN_GRACE_PERIOD`: how long in-flight requests may finish after SIGTERM.
    pub shutdown_grace: Duration,
    /// `LOG_FORMAT`: `auto`, `json` or `pretty`.
    pub log_format: LogFormat,
    /// `RUST_LOG`: which log lines to keep, as a tracing filter.
    pub log_filter: String,
    /// `CORS_ALLOWED_ORIGINS`: comma-separated origins allowed to call from a browser, or `*`.
    pub cors_origins: Vec<String>,
    /// `NODE_ID`: this instance's number in message ids (0–1023), for a fleet that numbers its
    /// instances itself; leased from the database if unset.
    pub node_id: Option<NodeId>,
    /// `NODE_LEASE_TTL`: how long a leased node number stays this instance's without renewal.
    pub node_lease_ttl: Duration,
    /// `MAX_CLOCK_SKEW`: how far behind the newest stored id the clock may be at start-up.
    pub max_clock_skew: Duration,
    /// `POST_COMMIT_DEADLINE`: longest a post may take from its id to its commit; a later one is
    /// rolled back and answered 503, so that clients catching up by id never miss it.
    pub post_commit_deadline: Duration,
    /// `MIGRATE_ON_START`: apply migrations before serving.
    pub migrate_on_start: bool,
    /// `POSTING`: who may post.
    pub posting: Posting,
    /// `HEADER_TIMEOUT`: longest a client may take to send a request's headers.
    pub header_timeout: Duration,
    /// `MAX_CONNECTIONS`: most connections open at once; more wait to be accepted.
    pub max_connections: u32,
}

/// Who may post twoots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Posting {
    /// Anyone, as in the prototype.
    Open,
    /// Only callers with an API key (poster or admin).
    Keys,
}

impl Config {
    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `lookup`, which returns a variable's value if it is set.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let database_url = get("DATABASE_URL").or_else(|| get("DB_URL"));
        let database_url_from_db_url = database_url.is_some() && get("DATABASE_URL").is_none();
        if let Some(url) = &database_url {
            let variable = if database_url_from_db_url {
                "DB_URL"
            } else {
                "DATABASE_URL"
            };
            check_database_url(variable, url)?;
        }
        let redis_url = get("REDIS_URL");
        if let Some(url) = &redis_url {
            check_redis_url(url)?;
        }
        Ok(Self {
            host: parse(
                &get,
                "HOST",
                "127.0.0.1",
                "expected an IP address such as 0.0.0.0",
            )?,
            port: parse(
                &get,
                "PORT",
                "8000",
                "expected a port number from 0 to 65535",
            )?,
            database_url,
            database_url_from_db_url,
            redis_url,
            pool: PoolConfig {
                max_connections: positive(&get, "DATABASE_MAX_CONNECTIONS", "10")?,
                acquire_timeout: duration(&get, "DATABASE_ACQUIRE_TIMEOUT", "3s")?,
                bulk_load: false,
                read_your_writes: parse(
                    &get,
                    "DATABASE_READ_YOUR_WRITES",
                    "true",
                    "expected true or false",
                )?,
            },
            body_limit: positive(&get, "BODY_LIMIT_BYTES", "65536")? as usize,
            request_timeout: duration(&get, "REQUEST_TIMEOUT", "10s")?,
            readiness_timeout: duration(&get, "READINESS_TIMEOUT", "1s")?,
            shutdown_grace: duration(&get, "SHUTDOWN_GRACE_PERIOD", "20s")?,
            log_format: match get("LOG_FORMAT").as_deref().unwrap_or("auto") {
                "auto" => LogFormat::Auto,
                "json" => LogFormat::Json,
                "pretty" => LogFormat::Pretty,
                other => return Err(error("LOG_FORMAT", other, "expected auto, json or pretty")),
            },
            log_filter: check_log_filter(get("RUST_LOG").unwrap_or_else(|| "info".to_owned()))?,
            cors_origins: get("CORS_ALLOWED_ORIGINS")
                .map(|origins| check_origins(&origins))
                .transpose()?
                .unwrap_or_default(),
            node_id: get("NODE_ID")
                .map(|raw| {
                    raw.trim()
                        .parse()
                        .ok()
                        .and_then(NodeId::new)
                        .ok_or_else(|| error("NODE_ID", &raw, "expected an integer from 0 to 1023"))
                })
                .transpose()?,
            node_lease_ttl: at_least(
                duration(&get, "NODE_LEASE_TTL", "30s")?,
                Duration::from_secs(3),
                "NODE_LEASE_TTL",
            )?,
            max_clock_skew: duration(&get, "MAX_CLOCK_SKEW", "10s")?,
            post_commit_deadline: at_least(
                duration(&get, "POST_COMMIT_DEADLINE", "5s")?,
                Duration::from_millis(100),
                "POST_COMMIT_DEADLINE",
            )?,
            migrate_on_start: parse(&get, "MIGRATE_ON_START", "true", "expected true or false")?,
            posting: match get("POSTING").as_deref().map(str::trim).unwrap_or("open") {
                "open" => Posting::Open,
                "keys" => Posting::Keys,
                other => return Err(error("POSTING", other, "expected open or keys")),
            },
            header_timeout: duration(&get, "HEADER_TIMEOUT", "10s")?,
            max_connections: positive(&get, "MAX_CONNECTIONS", "10000")?,
        })
    }

    /// The database URL in use: the configured one, or the embedded SQLite file.
    pub fn database_url(&self) -> &str {
        self.database_url
            .as_deref()
            .unwrap_or(EMBEDDED_DATABASE_URL)
    }

    /// The variable the database URL came from, for messages about it.
    pub fn database_variable(&self) -> &'static str {
        match (&self.database_url, self.database_url_from_db_url) {
            (None, _) => "the embedded default (set DATABASE_URL to change it)",
            (Some(_), true) => "DB_URL",
            (Some(_), false) => "DATABASE_URL",
        }
    }

    /// Whether the embedded database is in use, which alone gets demo data when empty.
    pub fn is_embedded(&self) -> bool {
        self.database_url.is_none()
    }
}

fn error(variable: &'static str, value: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        value: value.to_owned(),
        reason: reason.into(),
    }
}

fn parse<T: FromStr>(
    get: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    default: &str,
    expected: &str,
) -> Result<T, ConfigError> {
    let raw = get(variable).unwrap_or_else(|| default.to_owned());
    raw.trim()
        .parse()
        .map_err(|_| error(variable, &raw, expected))
}

fn positive(
    get: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    default: &str,
) -> Result<u32, ConfigError> {
    let n: u32 = parse(get, variable, default, "expected a whole number above 0")?;
    if n == 0 {
        return Err(error(variable, "0", "expected a whole number above 0"));
    }
    Ok(n)
}

fn duration(
    get: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    default: &str,
) -> Result<Duration, ConfigError> {
    let raw = get(variable).unwrap_or_else(|| default.to_owned());
    match humantime::parse_duration(raw.trim()) {
        Ok(d) if !d.is_zero() => Ok(d),
        _ => Err(error(
            variable,
            &raw,
            "expected a duration above zero such as 500ms, 3s or 1m",
        )),
    }
}

fn at_least(
    value: Duration,
    minimum: Duration,
    variable: &'static str,
) -> Result<Duration, ConfigError> {
    if value < minimum {
        return Err(error(
            variable,
            &humantime::format_duration(value).to_string(),
            format!("expected at least {}", humantime::format_duration(minimum)),
        ));
    }
    Ok(value)
}

fn check_database_url(variable: &'static str, url: &str) -> Result<(), ConfigError> {
    let scheme = url.split(':').next().unwrap_or_default();
    if !matches!(scheme, "sqlite" | "mysql" | "mariadb") {
        return Err(error(
            variable,
            &redact(url),
            "expected a sqlite:, mysql: or mariadb: URL",
        ));
    }
    if scheme == "sqlite" {
        return Ok(());
    }
    let Ok(parsed) = url::Url::parse(url) else {
        return Err(error(variable, &redact(url), "not a valid URL"));
    };
    for (key, value) in parsed.query_pairs() {
        match &*key {
            "ssl-mode" | "sslmode" => {
                const MODES: [&str; 5] = [
                    "disabled",
                    "preferred",
                    "required",
                    "verify_ca",
                    "verify_identity",
                ];
                if !MODES.iter().any(|mode| mode.eq_ignore_ascii_case(&value)) {
                    return Err(error(
                        variable,
                        &redact(url),
                        format!("ssl-mode must be one of {}", MODES.join(", ")),
                    ));
                }
            }
            "ssl-ca" | "sslca" if !std::path::Path::new(&*value).is_file() => {
                return Err(error(
                    variable,
                    &redact(url),
                    format!("ssl-ca names {value:?}, which is not a readable file"),
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

fn check_redis_url(url: &str) -> Result<(), ConfigError> {
    match url::Url::parse(url) {
        Ok(parsed) if matches!(parsed.scheme(), "redis" | "rediss") && parsed.has_host() => Ok(()),
        _ => Err(error(
            "REDIS_URL",
            &redact(url),
            "expected a redis:// or rediss:// URL with a host",
        )),
    }
}

fn check_log_filter(filter: String) -> Result<String, ConfigError> {
    tracing_subscriber::EnvFilter::try_new(&filter)
        .map(|_| filter.clone())
        .map_err(|e| error("RUST_LOG", &filter, e.to_string()))
}

fn check_origins(origins: &str) -> Result<Vec<String>, ConfigError> {
    let origins: Vec<String> = origins
        .split(',')
        .map(|origin| origin.trim().to_owned())
        .filter(|origin| !origin.is_empty())
        .collect();
    for origin in &origins {
        let valid = origin == "*"
            || url::Url::parse(origin).is_ok_and(|url| {
                matches!(url.scheme(), "http" | "https")
                    && url.path() == "/"
                    && !origin.ends_with('/')
            });
        if !valid {
            return Err(error(
                "CORS_ALLOWED_ORIGINS",
                origin,
                "expected * or origins such as https://example.com, separated by commas",
            ));
        }
    }
    Ok(origins)
}

/// The URL with its password replaced, so that an error line never shows a secret; a URL too
/// broken to parse loses everything between the user name and the last `@`.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(_) => url.to_owned(),
        Err(_) => {
            let Some((scheme, rest)) = url.split_once("://") else {
                return url.to_owned();
            };
            match rest.rsplit_once('@') {
                Some((userinfo, host)) => {
                    let user = userinfo.split(':').next().unwrap_or_default();
                    format!("{scheme}://{user}:***@{host}")
                }
                None => url.to_owned(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
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
            ("MIGRATE_ON_START", "yes please", "MIGRATE_ON_START"),
            ("POSTING", "closed", "POSTING"),
            ("HEADER_TIMEOUT", "0s", "HEADER_TIMEOUT"),
            ("MAX_CONNECTIONS", "0", "MAX_CONNECTIONS"),
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
            (
                "CORS_ALLOWED_ORIGINS",
                "https://a.example, http://localhost:3000",
            ),
        ])
        .unwrap();
        assert_eq!(config.request_timeout, Duration::from_millis(1500));
        assert_eq!(
            config.cors_origins,
            ["https://a.example", "http://localhost:3000"]
        );
    }
}
