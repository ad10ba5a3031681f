//! `RATE_LIMITS`: how many requests of each route family a client may make per window.
//!
//! The text is `off`, or a comma-separated list of `family=count/window` where the family is
//! `read` or `write` and the window `s`, `min`, `h` or a duration such as `10s`. A family left
//! out keeps its default; `read=off` lifts the limit of one family.

use std::time::Duration;

use super::Family;

/// The limits when `RATE_LIMITS` is unset.
pub const DEFAULT: &str = "read=600/min,write=60/min,keys=60/min";

/// `count` requests per `window`, with the whole count available at once (the burst).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub count: u32,
    pub window: Duration,
}

impl Quota {
    /// The time one request uses up: the window spread evenly over the count, in microseconds.
    pub fn interval_us(&self) -> u64 {
        (self.window.as_micros() as u64 / u64::from(self.count)).max(1)
    }

    /// The window in microseconds.
    pub fn window_us(&self) -> u64 {
        self.window.as_micros() as u64
    }
}

/// The quota of each family; `None` is unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub read: Option<Quota>,
    pub write: Option<Quota>,
    pub keys: Option<Quota>,
}

impl Policy {
    /// No limits at all.
    pub const OFF: Self = Self {
        read: None,
        write: None,
        keys: None,
    };

    /// The quota of `family`.
    pub fn quota(&self, family: Family) -> Option<Quota> {
        match family {
            Family::Read => self.read,
            Family::Write => self.write,
            Family::Keys => self.keys,
        }
    }

    /// What [`DEFAULT`] says.
    pub const DEFAULT: Self = Self {
        read: Some(Quota {
            count: 600,
            window: Duration::from_secs(60),
        }),
        write: Some(Quota {
            count: 60,
            window: Duration::from_secs(60),
        }),
        keys: Some(Quota {
            count: 60,
            window: Duration::from_secs(60),
        }),
    };

    /// Whether any family is limited.
    pub fn is_on(&self) -> bool {
        self.read.is_some() || self.write.is_some() || self.keys.is_some()
    }

    /// Reads `RATE_LIMITS`' text; the error says what is wrong, for a line naming the variable.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("off") {
            return Ok(Self::OFF);
        }
        let mut policy = Self::DEFAULT;
        let mut seen = Vec::new();
        for item in text.split(',') {
            let (family, quota) = item.trim().split_once('=').ok_or_else(|| {
                format!("expected off or family=count/window items such as {DEFAULT}")
            })?;
            let family = match family.trim() {
                "read" => Family::Read,
                "write" => Family::Write,
                "keys" => Family::Keys,
                other => {
                    return Err(format!(
                        "unknown family {other:?}: expected read, write or keys"
                    ))
                }
            };
            if seen.contains(&family) {
                return Err(format!("{} is given twice", family.name()));
            }
            seen.push(family);
            let quota = match quota.trim() {
                "off" => None,
                quota => Some(parse_quota(quota)?),
            };
            match family {
                Family::Read => policy.read = quota,
                Family::Write => policy.write = quota,
                Family::Keys => policy.keys = quota,
            }
        }
        Ok(policy)
    }
}

fn parse_quota(text: &str) -> Result<Quota, String> {
    let (count, window) = text
        .split_once('/')
        .ok_or_else(|| format!("{text:?}: expected count/window such as 60/min"))?;
    let count: u32 = count
        .trim()
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("{text:?}: the count must be a whole number above 0"))?;
    let window = match window.trim() {
        "s" | "sec" | "second" => Duration::from_secs(1),
        "min" | "minute" => Duration::from_secs(60),
        "h" | "hour" => Duration::from_secs(3600),
        other => humantime::parse_duration(other)
            .ok()
            .filter(|d| *d >= Duration::from_secs(1) && *d <= Duration::from_secs(86_400))
            .ok_or_else(|| {
                format!("{text:?}: the window must be s, min, h or a duration from 1s to 24h")
            })?,
    };
    Ok(Quota { count, window })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quota(count: u32, seconds: u64) -> Option<Quota> {
        Some(Quota {
            count,
            window: Duration::from_secs(seconds),
        })
    }

    #[test]
    fn the_default_is_600_reads_60_writes_and_60_dead_keys_a_minute() {
        let policy = Policy::parse(DEFAULT).unwrap();
        assert_eq!(policy, Policy::DEFAULT);
        assert_eq!(policy.read, quota(600, 60));
        assert_eq!(policy.write, quota(60, 60));
        assert_eq!(policy.keys, quota(60, 60));
        assert_eq!(policy.read.unwrap().interval_us(), 100_000);
    }

    #[test]
    fn off_turns_everything_off_and_a_family_can_be_left_out_or_off() {
        assert_eq!(Policy::parse(" OFF ").unwrap(), Policy::OFF);
        assert!(!Policy::OFF.is_on());
        let policy = Policy::parse("write=5/10s").unwrap();
        assert_eq!(policy.write, quota(5, 10));
        assert_eq!(policy.read, quota(600, 60));
        let policy = Policy::parse("read=off, write=2/h, keys=off").unwrap();
        assert_eq!(policy.read, None);
        assert_eq!(policy.write, quota(2, 3600));
        assert_eq!(policy.keys, None);
        assert!(policy.is_on());
    }

    #[test]
    fn each_bad_value_says_what_is_wrong() {
        for (text, says) in [
            ("", "expected off or family=count/window"),
            ("read", "expected off or family=count/window"),
            ("delete=1/s", "unknown family \"delete\""),
            ("read=1/s,read=2/s", "read is given twice"),
            ("read=10", "expected count/window"),
            ("read=0/min", "above 0"),
            ("read=-1/min", "above 0"),
            ("read=ten/min", "above 0"),
            ("read=10/fortnight", "the window must be"),
            ("read=10/500ms", "the window must be"),
            ("read=10/2d", "the window must be"),
        ] {
            let error = Policy::parse(text).unwrap_err();
            assert!(error.contains(says), "{text:?}: {error}");
        }
    }
}
