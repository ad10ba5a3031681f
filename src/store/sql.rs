//! The statements on the request path. Both backends take `?` placeholders, so the reads are
//! shared; they are public so that the query-plan tests `EXPLAIN` exactly what the service runs.

/// One twoot by primary key.
pub const GET_MESSAGE: &str = "SELECT id, tag, text, created_at FROM messages WHERE id = ?";

/// Defines a page statement: the columns of a twoot, then `$rest`.
macro_rules! page_statement {
    ($(#[$doc:meta])* $name:ident, $rest:literal) => {
        $(#[$doc])*
        pub const $name: &str = concat!("SELECT id, tag, text, created_at FROM messages ", $rest);
    };
}

page_statement!(
    /// A tag's twoots in an id range, newest first: a range read of the `(tag, id)` index.
    PAGE_BY_TAG_NEWEST,
    "WHERE tag = ? AND id > ? AND id < ? ORDER BY id DESC LIMIT ?"
);

page_statement!(
    /// A tag's twoots in an id range, oldest first (for `after` cursors).
    PAGE_BY_TAG_OLDEST,
    "WHERE tag = ? AND id > ? AND id < ? ORDER BY id ASC LIMIT ?"
);

page_statement!(
    /// All twoots in an id range, newest first: a range read of the primary key.
    PAGE_NEWEST,
    "WHERE id > ? AND id < ? ORDER BY id DESC LIMIT ?"
);

page_statement!(
    /// All twoots in an id range, oldest first (for `after` cursors).
    PAGE_OLDEST,
    "WHERE id > ? AND id < ? ORDER BY id ASC LIMIT ?"
);

/// Counts per (year, tag) in a year range, on SQLite: a range read of the counters' primary key.
pub const SQLITE_STATS: &str = "SELECT year, tag, count FROM message_counts \
     WHERE year BETWEEN ? AND ? AND count > 0 ORDER BY year, tag";

/// Counts per (year, tag) in a year range, on MySQL (summing the pair's slot rows).
pub const MYSQL_STATS: &str = "SELECT year, tag, CAST(SUM(count) AS SIGNED) AS count \
     FROM message_counts WHERE year BETWEEN ? AND ? \
     GROUP BY year, tag HAVING SUM(count) > 0 ORDER BY year, tag";

/// A tag's page on MySQL. The index is named because MariaDB, costing the row lookups of a
/// non-covering index, picks `ref` access on the tag alone and walks the tag from its newest twoot
/// down to the cursor: 3 s for a page 90% deep into a tag of 1.5 million twoots, against 1 ms for
/// the `(tag, id)` range read it takes when told which index to use. Vitess passes the hint on.
pub const MYSQL_PAGE_BY_TAG_NEWEST: &str = "SELECT id, tag, text, created_at \
     FROM messages FORCE INDEX (messages_tag_id) \
     WHERE tag = ? AND id > ? AND id < ? ORDER BY id DESC LIMIT ?";

/// A tag's page on MySQL, oldest first (for `after` cursors); see [`MYSQL_PAGE_BY_TAG_NEWEST`].
pub const MYSQL_PAGE_BY_TAG_OLDEST: &str = "SELECT id, tag, text, created_at \
     FROM messages FORCE INDEX (messages_tag_id) \
     WHERE tag = ? AND id > ? AND id < ? ORDER BY id ASC LIMIT ?";

/// The MySQL page statement for a query with or without a tag, read downwards or upwards.
pub fn mysql_page(tagged: bool, ascending: bool) -> &'static str {
    match (tagged, ascending) {
        (true, false) => MYSQL_PAGE_BY_TAG_NEWEST,
        (true, true) => MYSQL_PAGE_BY_TAG_OLDEST,
        (false, _) => page(false, ascending),
    }
}

/// The page statement for a query with or without a tag, read downwards or upwards.
pub fn page(tagged: bool, ascending: bool) -> &'static str {
    match (tagged, ascending) {
        (true, false) => PAGE_BY_TAG_NEWEST,
        (true, true) => PAGE_BY_TAG_OLDEST,
        (false, false) => PAGE_NEWEST,
        (false, true) => PAGE_OLDEST,
    }
}

/// The statements on `node_leases` for a backend whose current time, in milliseconds since 1970,
/// the SQL expression `now` gives: leases run on the database's clock, the one every instance
/// shares.
pub struct LeaseStatements {
    /// The leases free to claim.
    pub expired: &'static str,
    /// Claims a lease if it is unchanged since it was read (compare-and-set).
    pub claim: &'static str,
    /// Extends a lease its holder still holds.
    pub renew: &'static str,
    /// Ends a lease at once, recording the last millisecond its holder used.
    pub release: &'static str,
}

macro_rules! lease_statements {
    ($now:literal) => {
        LeaseStatements {
            expired: concat!(
                "SELECT node, holder, expires_at, fence_ms FROM node_leases WHERE expires_at < ",
                $now
            ),
            claim: concat!(
                "UPDATE node_leases SET holder = ?, expires_at = ",
                $now,
                " + ?, fence_ms = ? WHERE node = ? AND holder = ? AND expires_at = ?"
            ),
            renew: concat!(
                "UPDATE node_leases SET expires_at = ",
                $now,
                " + ?, fence_ms = ? WHERE node = ? AND holder = ?"
            ),
            release: "UPDATE node_leases SET expires_at = 0, fence_ms = ? \
                      WHERE node = ? AND holder = ?",
        }
    };
}

/// The lease statements on SQLite.
pub const SQLITE_LEASES: LeaseStatements =
    lease_statements!("CAST(unixepoch('subsec') * 1000 AS INTEGER)");

/// The lease statements on MySQL.
pub const MYSQL_LEASES: LeaseStatements =
    lease_statements!("CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED)");

/// The newest message: the last entry of the primary key.
pub const NEWEST_ID: &str = "SELECT MAX(id) FROM messages";

/// One tag's counts per year in a year range, on SQLite.
pub const SQLITE_TAG_STATS: &str = "SELECT year, count FROM message_counts \
     WHERE tag = ? AND year BETWEEN ? AND ? AND count > 0 ORDER BY year";

/// One tag's counts per year in a year range, on MySQL (summing the pair's slot rows).
pub const MYSQL_TAG_STATS: &str = "SELECT year, CAST(SUM(count) AS SIGNED) AS count \
     FROM message_counts FORCE INDEX (message_counts_tag_year) \
     WHERE tag = ? AND year BETWEEN ? AND ? GROUP BY year HAVING SUM(count) > 0 ORDER BY year";

/// The statements that check the counters against `messages` (`twooter recount`).
pub struct CountStatements {
    /// Starts a repair's transaction.
    pub begin_repair: &'static str,
    /// The years that have counters.
    pub counted_years: &'static str,
    /// A year's counters per tag.
    pub year_counters: &'static str,
    /// A year's messages per tag, by the year's id range (ids carry their time).
    pub year_messages: &'static str,
    /// One (year, tag)'s counter total, locked against concurrent posts until the repair commits.
    pub lock_counter: &'static str,
    /// One tag's messages in a year's id range, read through the `(tag, id)` index.
    pub tag_messages: &'static str,
    /// Removes one (year, tag)'s counter rows.
    pub clear_counter: &'static str,
    /// Writes one (year, tag)'s total.
    pub set_counter: &'static str,
    /// The oldest message: the first entry of the primary key.
    pub oldest_id: &'static str,
}

/// The recount's statements on SQLite, whose write transactions hold the one write lock, so the
/// counter needs no row lock.
pub const SQLITE_COUNTS: CountStatements = CountStatements {
    // The write lock from the start: another process (the server) may write in between.
    begin_repair: "BEGIN IMMEDIATE",
    counted_years: "SELECT DISTINCT year FROM message_counts ORDER BY year",
    year_counters: "SELECT tag, count FROM message_counts WHERE year = ? AND count > 0",
    year_messages: "SELECT tag, COUNT(*) FROM messages WHERE id >= ? AND id < ? GROUP BY tag",
    lock_counter: "SELECT COALESCE(SUM(count), 0) FROM message_counts WHERE year = ? AND tag = ?",
    tag_messages: "SELECT COUNT(*) FROM messages WHERE tag = ? AND id >= ? AND id < ?",
    clear_counter: "DELETE FROM message_counts WHERE year = ? AND tag = ?",
    set_counter: "INSERT INTO message_counts (year, tag, count) VALUES (?, ?, ?)",
    oldest_id: "SELECT MIN(id) FROM messages",
};

/// The recount's statements on MySQL (a pair's counter is the sum of its slot rows).
pub const MYSQL_COUNTS: CountStatements = CountStatements {
    begin_repair: "BEGIN",
    counted_years: "SELECT DISTINCT year FROM message_counts ORDER BY year",
    year_counters: "SELECT tag, CAST(SUM(count) AS SIGNED) AS count FROM message_counts \
         WHERE year = ? GROUP BY tag HAVING SUM(count) > 0",
    year_messages: "SELECT tag, COUNT(*) FROM messages WHERE id >= ? AND id < ? GROUP BY tag",
    lock_counter: "SELECT CAST(COALESCE(SUM(count), 0) AS SIGNED) FROM message_counts \
         WHERE year = ? AND tag = ? FOR UPDATE",
    tag_messages: "SELECT COUNT(*) FROM messages FORCE INDEX (messages_tag_id) \
         WHERE tag = ? AND id >= ? AND id < ?",
    clear_counter: "DELETE FROM message_counts WHERE year = ? AND tag = ?",
    set_counter: "INSERT INTO message_counts (year, tag, slot, count) VALUES (?, ?, 0, ?)",
    oldest_id: "SELECT MIN(id) FROM messages",
};

/// The twoots already stored under some ids, for an import to tell its own earlier rows from
/// another twoot's: followed by the ids, `?, ?, …)`.
pub const STORED_BY_ID: &str = "SELECT id, tag, text FROM messages WHERE id IN (";
