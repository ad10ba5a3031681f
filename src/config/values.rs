//! Turning one variable's text into a setting, or into one line naming what is wrong with it.

use std::str::FromStr;
use std::time::Duration;

use super::ConfigError;

pub(super) fn error(variable: &'static str, value: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        value: value.to_owned(),
        reason: reason.into(),
    }
}

pub(super) fn parse<T: FromStr>(
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

pub(super) fn positive(
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

pub(super) fn at_most(
    value: u32,
    maximum: u32,
    variable: &'static str,
) -> Result<u32, ConfigError> {
    if value > maximum {
        return Err(error(
            variable,
            &value.to_string(),
            format!("expected a whole number from 1 to {maximum}"),
        ));
    }
    Ok(value)
}

pub(super) fn duration(
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

/// A duration that may be zero, for a wait that a laptop does not need.
pub(super) fn duration_or_zero(
    get: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    default: &str,
) -> Result<Duration, ConfigError> {
    let raw = get(variable).unwrap_or_else(|| default.to_owned());
    humantime::parse_duration(raw.trim()).map_err(|_| {
        error(
            variable,
            &raw,
            "expected a duration such as 0s, 500ms or 5s",
        )
    })
}

pub(super) fn at_least(
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

pub(super) fn check_database_url(variable: &'static str, url: &str) -> Result<(), ConfigError> {
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

pub(super) fn check_redis_url(url: &str) -> Result<(), ConfigError> {
    match url::Url::parse(url) {
        Ok(parsed) if matches!(parsed.scheme(), "redis" | "rediss") && parsed.has_host() => {
            // The client's own reading, which start-up relies on; it does not connect.
            crate::ratelimit::shared::check_url(url)
                .map_err(|reason| error("REDIS_URL", &redact(url), reason))
        }
        _ => Err(error(
            "REDIS_URL",
            &redact(url),
            "expected a redis:// or rediss:// URL with a host",
        )),
    }
}

pub(super) fn check_log_filter(filter: String) -> Result<String, ConfigError> {
    tracing_subscriber::EnvFilter::try_new(&filter)
        .map(|_| filter.clone())
        .map_err(|e| error("RUST_LOG", &filter, e.to_string()))
}

pub(super) fn check_origins(origins: &str) -> Result<Vec<String>, ConfigError> {
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
pub(super) fn redact(url: &str) -> String {
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
