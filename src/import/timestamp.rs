//! Times as the prototype wrote them.

use chrono::{DateTime, NaiveDateTime, Utc};

/// Reads a time as the prototype wrote it: RFC 3339, or without a zone (taken as UTC), with a `T`
/// or a space. Kept to the millisecond, the precision of ids.
pub fn parse_timestamp(raw: &str) -> Result<DateTime<Utc>, &'static str> {
    let raw = raw.trim();
    let parsed = DateTime::parse_from_rfc3339(raw)
        .or_else(|_| DateTime::parse_from_str(raw, "%Y-%m-%d %H:%M:%S%.f%:z"))
        .map(|at| at.with_timezone(&Utc))
        .or_else(|_| {
            NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%.f")
                .or_else(|_| NaiveDateTime::parse_from_str(raw, "%Y-%m-%d %H:%M:%S%.f"))
                .map(|naive| naive.and_utc())
        })
        .map_err(|_| "must be an RFC 3339 time such as 2023-04-02T09:25:00Z")?;
    let ms = parsed.timestamp_millis();
    if !(0..=crate::domain::MAX_TIMESTAMP_MS).contains(&ms) {
        return Err("must be between 1970 and 2109");
    }
    DateTime::from_timestamp_millis(ms).ok_or("must be between 1970 and 2109")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_prototypes_time_formats() {
        let expected = "2023-04-02T09:25:00Z".parse::<DateTime<Utc>>().unwrap();
        for raw in [
            "2023-04-02T09:25:00Z",
            "2023-04-02T11:25:00+02:00",
            "2023-04-02 09:25:00",
            "2023-04-02T09:25:00",
            "2023-04-02 09:25:00+00:00",
            "2023-04-02T09:25:00.000000Z",
        ] {
            assert_eq!(parse_timestamp(raw), Ok(expected), "{raw}");
        }
        assert_eq!(
            parse_timestamp("2023-04-02T09:25:00.123456Z")
                .unwrap()
                .timestamp_subsec_micros(),
            123_000
        );
        for bad in [
            "",
            "yesterday",
            "2023-13-01T00:00:00Z",
            "1969-12-31T23:59:59Z",
            "2200-01-01T00:00:00Z",
        ] {
            assert!(parse_timestamp(bad).is_err(), "{bad}");
        }
    }
}
