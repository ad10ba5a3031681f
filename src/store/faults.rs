//! Which database failures are outages (answered 503, retried later by the client) rather than
//! bugs (500): the database is busy, full, read-only, restarting, out of its cluster's primary
//! component, out of connections, or the connection to it broke.

use sqlx::error::DatabaseError;

/// Whether `error` means the database cannot serve right now.
pub(super) fn is_outage(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => is_mysql_outage(db.as_ref()) || is_sqlite_outage(db.as_ref()),
        _ => false,
    }
}

/// MySQL and MariaDB server errors that a later attempt, on this node or another, can get past.
const MYSQL_OUTAGES: &[u16] = &[
    1040, // too many connections
    1047, // Galera: this node is not part of the primary component ("WSREP has not yet prepared node")
    1053, // server shutdown in progress
    1158, // network read error
    1159, // network read timeout
    1160, // network write error
    1161, // network write timeout
    1203, // too many connections for this user
    1205, // lock wait timeout (after the store's own retries)
    1213, // deadlock or, on Galera, a certification conflict (after the store's own retries)
    1290, // read-only: the server runs with --read-only, as a failover leaves a demoted primary
    1317, // query interrupted (shutdown or KILL QUERY)
    1792, // read-only transaction
    1836, // read-only mode
    1927, // connection killed
    1969, // statement ran past max_statement_time
    4031, // disconnected for inactivity
];

fn is_mysql_outage(db: &dyn DatabaseError) -> bool {
    db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
        .is_some_and(|error| MYSQL_OUTAGES.contains(&error.number()))
}

/// SQLite primary result codes of a database that is locked, read-only, full or unreadable now.
const SQLITE_OUTAGES: &[i64] = &[
    5,  // SQLITE_BUSY: another connection holds the write lock past busy_timeout
    6,  // SQLITE_LOCKED
    8,  // SQLITE_READONLY
    10, // SQLITE_IOERR
    13, // SQLITE_FULL
    14, // SQLITE_CANTOPEN
];

fn is_sqlite_outage(db: &dyn DatabaseError) -> bool {
    let code = match db.try_downcast_ref::<sqlx::sqlite::SqliteError>() {
        Some(error) => error.code().and_then(|code| code.parse::<i64>().ok()),
        None => db
            .try_downcast_ref::<super::sqlite::ReadError>()
            .and_then(super::sqlite::ReadError::extended_code),
    };
    code
        // Extended result codes carry the primary code in their low byte.
        .is_some_and(|code| SQLITE_OUTAGES.contains(&(code & 0xff)))
}

#[cfg(test)]
mod tests {
    use super::is_outage;
    use crate::store::sqlite::ReadError;

    fn read_failure(code: i32) -> sqlx::Error {
        ReadError::into_sqlx(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(code),
            None,
        ))
    }

    #[test]
    fn a_read_that_finds_the_file_busy_locked_or_unreadable_is_an_outage() {
        for code in [
            rusqlite::ffi::SQLITE_BUSY,
            rusqlite::ffi::SQLITE_BUSY_RECOVERY,
            rusqlite::ffi::SQLITE_LOCKED,
            rusqlite::ffi::SQLITE_IOERR_READ,
            rusqlite::ffi::SQLITE_CANTOPEN,
        ] {
            assert!(is_outage(&read_failure(code)), "code {code}");
        }
    }

    #[test]
    fn a_read_that_is_a_bug_is_not_an_outage() {
        assert!(!is_outage(&read_failure(rusqlite::ffi::SQLITE_ERROR)));
        assert!(!is_outage(&read_failure(rusqlite::ffi::SQLITE_CORRUPT)));
        let conversion = ReadError::into_sqlx(rusqlite::Error::IntegralValueOutOfRange(3, -1));
        assert!(!is_outage(&conversion));
    }
}
