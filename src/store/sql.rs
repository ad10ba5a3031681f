//! The statements on the request path. Both backends take `?` placeholders, so the reads are
//! shared; they are public so that the query-plan tests `EXPLAIN` exactly what the service runs.

/// One twoot by primary key.
pub const GET_MESSAGE: &str = "SELECT id, tag, text, created_at FROM messages WHERE id = ?";

/// A tag's twoots in an id range, newest first: a range read of the `(tag, id)` index.
pub const PAGE_BY_TAG_NEWEST: &str = "SELECT id, tag, text, created_at FROM messages \
     WHERE tag = ? AND id > ? AND id < ? ORDER BY id DESC LIMIT ?";

/// A tag's twoots in an id range, oldest first (for `after` cursors).
pub const PAGE_BY_TAG_OLDEST: &str = "SELECT id, tag, text, created_at FROM messages \
     WHERE tag = ? AND id > ? AND id < ? ORDER BY id ASC LIMIT ?";

/// All twoots in an id range, newest first: a range read of the primary key.
pub const PAGE_NEWEST: &str = "SELECT id, tag, text, created_at FROM messages \
     WHERE id > ? AND id < ? ORDER BY id DESC LIMIT ?";

/// All twoots in an id range, oldest first (for `after` cursors).
pub const PAGE_OLDEST: &str = "SELECT id, tag, text, created_at FROM messages \
     WHERE id > ? AND id < ? ORDER BY id ASC LIMIT ?";

/// Counts per (year, tag) in a year range, on SQLite (one row per pair).
pub const SQLITE_STATS: &str = "SELECT year, tag, count FROM message_counts \
     WHERE year BETWEEN ? AND ? AND count > 0 ORDER BY year, tag";

/// Counts per (year, tag) in a year range, on MySQL (summing the pair's slot rows).
pub const MYSQL_STATS: &str = "SELECT year, tag, CAST(SUM(count) AS SIGNED) AS count \
     FROM message_counts WHERE year BETWEEN ? AND ? \
     GROUP BY year, tag HAVING SUM(count) > 0 ORDER BY year, tag";

/// The page statement for a query with or without a tag, read downwards or upwards.
pub fn page(tagged: bool, ascending: bool) -> &'static str {
    match (tagged, ascending) {
        (true, false) => PAGE_BY_TAG_NEWEST,
        (true, true) => PAGE_BY_TAG_OLDEST,
        (false, false) => PAGE_NEWEST,
        (false, true) => PAGE_OLDEST,
    }
}
