//! The read-only connections behind the request path's reads, and the one way those reads run.
//!
//! sqlx runs each SQLite connection on a thread of its own: a query is handed to that thread, its
//! rows are handed back, and its pool pings the thread again each time a connection comes back.
//! Each hand-over wakes another thread, and on a page read the wake-ups cost more than the read.
//! So these reads run through rusqlite, on connections the store holds itself, on the thread of
//! the request that asks. What runs there is bounded: a page is a range read of an index that
//! stops after the page's rows, a twoot by id one B-tree descent, tens of microseconds either way,
//! less than handing them to another thread would cost. A read whose size grows with the data
//! (the statistics, one row per year and tag) goes to tokio's blocking threads instead.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use sqlx::sqlite::SqlitePool;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::read_error::ReadError;

/// How long a read waits for a lock before failing as busy. A reader of a WAL database waits only
/// while another connection recovers or resets the WAL, which takes milliseconds; since the read
/// waits on the request's thread, it does not wait long.
const BUSY_TIMEOUT: Duration = Duration::from_millis(100);

/// Read-only connections to one database file, at most `max` open, opened as reads need them.
pub(super) struct Readers {
    source: Source,
    permits: Arc<Semaphore>,
    acquire_timeout: Duration,
}

enum Source {
    /// A file: connections of our own.
    File {
        path: PathBuf,
        idle: Mutex<Vec<Connection>>,
        open: AtomicU32,
        max: u32,
    },
    /// An in-memory database exists only on the writer's one connection, so reads borrow it.
    Shared(SqlitePool),
}

impl std::fmt::Debug for Readers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Readers")
            .field("size", &self.size())
            .field("idle", &self.idle())
            .finish_non_exhaustive()
    }
}

impl Readers {
    /// Up to `max` read-only connections to the file at `path`; the first is opened now, so that
    /// a file that cannot be read fails at start-up rather than on the first request.
    pub(super) fn open(
        path: PathBuf,
        max: u32,
        acquire_timeout: Duration,
    ) -> Result<Self, sqlx::Error> {
        let first = connect(&path).map_err(ReadError::into_sqlx)?;
        Ok(Self {
            source: Source::File {
                path,
                idle: Mutex::new(vec![first]),
                open: AtomicU32::new(1),
                max,
            },
            permits: Arc::new(Semaphore::new(max as usize)),
            acquire_timeout,
        })
    }

    /// Reads through `writer`'s pool (an in-memory database).
    pub(super) fn shared(writer: SqlitePool, acquire_timeout: Duration) -> Self {
        Self {
            source: Source::Shared(writer),
            // The pool has its own limit; this one only has to be at least as large.
            permits: Arc::new(Semaphore::new(Semaphore::MAX_PERMITS)),
            acquire_timeout,
        }
    }

    /// Runs `read` on a connection, here on the caller's thread: for reads of bounded size. Waits
    /// at most the acquire timeout for a connection to be free (`PoolTimedOut`, an outage) and
    /// fails with `PoolClosed` once [`Self::close`] ran.
    pub(super) async fn read<T>(
        &self,
        read: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, sqlx::Error> {
        let permit = self.permit().await?;
        let result = match &self.source {
            Source::File { .. } => self.on_own_connection(read),
            Source::Shared(pool) => on_shared_connection(pool, read).await,
        };
        drop(permit);
        result
    }

    /// Runs `read` on a connection on one of tokio's blocking threads: for reads whose size grows
    /// with the data, which would hold up the other requests on the caller's thread.
    pub(super) async fn read_apart<T: Send + 'static>(
        self: &Arc<Self>,
        read: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, sqlx::Error> {
        if let Source::Shared(pool) = &self.source {
            // The writer's connection lives on sqlx's thread and is reached from here.
            return on_shared_connection(pool, read).await;
        }
        let permit = self.permit().await?;
        let readers = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            // The permit goes with the read, so a request given up on does not free its place
            // while the connection is still in use.
            let _permit = permit;
            readers.on_own_connection(read)
        })
        .await
        .unwrap_or_else(|failed| match failed.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            // Cancelled: the runtime is shutting down.
            Err(_) => Err(sqlx::Error::PoolClosed),
        })
    }

    async fn permit(&self) -> Result<OwnedSemaphorePermit, sqlx::Error> {
        // The common case, a free connection, needs no timer.
        if let Ok(permit) = Arc::clone(&self.permits).try_acquire_owned() {
            return Ok(permit);
        }
        match tokio::time::timeout(
            self.acquire_timeout,
            Arc::clone(&self.permits).acquire_owned(),
        )
        .await
        {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_closed)) => Err(sqlx::Error::PoolClosed),
            Err(_elapsed) => Err(sqlx::Error::PoolTimedOut),
        }
    }

    /// Runs `read` on an idle connection or a new one; the caller holds a permit.
    fn on_own_connection<T>(
        &self,
        read: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, sqlx::Error> {
        let Source::File {
            path, idle, open, ..
        } = &self.source
        else {
            unreachable!("only a file has connections of its own");
        };
        let conn = match lock(idle).pop() {
            Some(conn) => conn,
            None => {
                let conn = connect(path).map_err(ReadError::into_sqlx)?;
                open.fetch_add(1, Ordering::Relaxed);
                conn
            }
        };
        let mut lease = Lease {
            conn: Some(conn),
            readers: self,
        };
        let result = read(lease.conn.as_ref().expect("a lease holds its connection"));
        // A connection whose read failed is dropped with the lease: whatever broke the read (a
        // file gone, a corrupt page) would fail the reads after it on this connection too.
        if result.is_ok() {
            if let Some(conn) = lease.conn.take() {
                self.give_back(conn);
            }
        }
        result.map_err(ReadError::into_sqlx)
    }

    /// Takes back a connection that served its read.
    fn give_back(&self, conn: Connection) {
        if let Source::File { idle, .. } = &self.source {
            if !self.permits.is_closed() {
                lock(idle).push(conn);
                return;
            }
        }
        self.forget(conn);
    }

    /// Closes a connection.
    fn forget(&self, conn: Connection) {
        if let Source::File { open, .. } = &self.source {
            open.fetch_sub(1, Ordering::Relaxed);
        }
        drop(conn);
    }

    /// Connections open, idle or in use.
    pub(super) fn size(&self) -> u32 {
        match &self.source {
            Source::File { open, .. } => open.load(Ordering::Relaxed),
            Source::Shared(_) => 0,
        }
    }

    /// Connections open and free.
    pub(super) fn idle(&self) -> u32 {
        match &self.source {
            Source::File { idle, .. } => lock(idle).len() as u32,
            Source::Shared(_) => 0,
        }
    }

    /// The most connections open at once.
    pub(super) fn max(&self) -> u32 {
        match &self.source {
            Source::File { max, .. } => *max,
            Source::Shared(_) => 0,
        }
    }

    /// Refuses further reads and closes the free connections, so the file is let go of on return;
    /// those in use close when their read ends.
    pub(super) fn close(&self) {
        self.permits.close();
        if let Source::File { idle, open, .. } = &self.source {
            let free = std::mem::take(&mut *lock(idle));
            open.fetch_sub(free.len() as u32, Ordering::Relaxed);
            drop(free);
        }
    }
}

/// A read-only connection to the file at `path`.
fn connect(path: &std::path::Path) -> rusqlite::Result<Connection> {
    // No mutex: a connection is used by one thread at a time, which the pool ensures.
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    Ok(conn)
}

/// Runs `read` on the writer's connection (an in-memory database), through its raw handle.
async fn on_shared_connection<T>(
    pool: &SqlitePool,
    read: impl FnOnce(&Connection) -> rusqlite::Result<T>,
) -> Result<T, sqlx::Error> {
    let mut pooled = pool.acquire().await?;
    let mut handle = pooled.lock_handle().await?;
    // SAFETY: `handle` holds the lock on sqlx's connection until it is dropped, after the borrowing
    // connection is: nothing else uses the SQLite handle meanwhile, and a borrowing connection
    // (`from_handle`) finalizes only its own statements and never closes the handle.
    let conn = unsafe { Connection::from_handle(handle.as_raw_handle().as_ptr()) }
        .map_err(ReadError::into_sqlx)?;
    let result = read(&conn).map_err(ReadError::into_sqlx);
    drop(conn);
    drop(handle);
    result
}

/// A connection taken for one read; closed when dropped unless given back, so a read that fails or
/// panics leaves the count of open connections right.
struct Lease<'a> {
    conn: Option<Connection>,
    readers: &'a Readers,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.readers.forget(conn);
        }
    }
}

fn lock(idle: &Mutex<Vec<Connection>>) -> MutexGuard<'_, Vec<Connection>> {
    // The vector is consistent at every point a panic could happen, so a poisoned lock is usable.
    idle.lock().unwrap_or_else(PoisonError::into_inner)
}
