//! The read-only connections behind the request path's reads, held in a pool of their own.
//!
//! sqlx runs each SQLite connection on a thread of its own, and its pool pings that thread each
//! time a connection comes back (sqlx 0.9 always does; no option turns it off): a second trip to
//! the thread for every read, which on a by-id read costs as much as the query. The ping is there
//! to flush what a dropped transaction or stream leaves behind. A read-only connection that only
//! runs single SELECTs leaves nothing: a SELECT cut short is finished by its thread before the
//! next command, which the thread takes in order. So these connections go back as they are.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqlitePool};
use sqlx::{ConnectOptions, Connection, Sqlite};
use tokio::sync::{Semaphore, SemaphorePermit};

/// Read-only connections to one database file, at most `max` open, opened as reads need them.
pub(super) struct Readers {
    source: Source,
    permits: Semaphore,
    acquire_timeout: Duration,
}

enum Source {
    /// A file: connections of our own.
    File {
        // Boxed: the options are most of the enum's size, and there is one `Source` per store.
        options: Box<SqliteConnectOptions>,
        idle: Mutex<Vec<SqliteConnection>>,
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
    /// Up to `max` read-only connections opened with `options`; the first is opened now, so that
    /// a file that cannot be read fails at start-up rather than on the first request.
    pub(super) async fn open(
        options: SqliteConnectOptions,
        max: u32,
        acquire_timeout: Duration,
    ) -> Result<Self, sqlx::Error> {
        let first = options.connect().await?;
        Ok(Self {
            source: Source::File {
                options: Box::new(options),
                idle: Mutex::new(vec![first]),
                open: AtomicU32::new(1),
                max,
            },
            permits: Semaphore::new(max as usize),
            acquire_timeout,
        })
    }

    /// Reads through `writer`'s pool (an in-memory database).
    pub(super) fn shared(writer: SqlitePool, acquire_timeout: Duration) -> Self {
        Self {
            source: Source::Shared(writer),
            // The pool has its own limit; this one only has to be at least as large.
            permits: Semaphore::new(Semaphore::MAX_PERMITS),
            acquire_timeout,
        }
    }

    /// A connection, waiting at most the acquire timeout for one to be free
    /// (`PoolTimedOut`, an outage) and failing with `PoolClosed` once [`Self::close`] ran.
    pub(super) async fn acquire(&self) -> Result<Reader<'_>, sqlx::Error> {
        // The common case, a free connection, needs no timer.
        if let Ok(permit) = self.permits.try_acquire() {
            if let Some(conn) = self.take_idle() {
                return Ok(self.reader(Lease::Own(conn), permit));
            }
            return tokio::time::timeout(self.acquire_timeout, self.open_one(permit))
                .await
                .map_err(|_| sqlx::Error::PoolTimedOut)?;
        }
        tokio::time::timeout(self.acquire_timeout, async {
            let permit = self
                .permits
                .acquire()
                .await
                .map_err(|_| sqlx::Error::PoolClosed)?;
            match self.take_idle() {
                Some(conn) => Ok(self.reader(Lease::Own(conn), permit)),
                None => self.open_one(permit).await,
            }
        })
        .await
        .map_err(|_| sqlx::Error::PoolTimedOut)?
    }

    async fn open_one<'a>(
        &'a self,
        permit: SemaphorePermit<'a>,
    ) -> Result<Reader<'a>, sqlx::Error> {
        let lease = match &self.source {
            Source::File { options, open, .. } => {
                let conn = options.connect().await?;
                open.fetch_add(1, Ordering::Relaxed);
                Lease::Own(conn)
            }
            Source::Shared(pool) => Lease::Pooled(pool.acquire().await?),
        };
        Ok(self.reader(lease, permit))
    }

    fn reader<'a>(&'a self, lease: Lease, permit: SemaphorePermit<'a>) -> Reader<'a> {
        Reader {
            lease: Some(lease),
            readers: self,
            _permit: permit,
        }
    }

    fn take_idle(&self) -> Option<SqliteConnection> {
        match &self.source {
            Source::File { idle, .. } => lock(idle).pop(),
            Source::Shared(_) => None,
        }
    }

    /// Takes back a connection that served its read.
    fn give_back(&self, conn: SqliteConnection) {
        if let Source::File { idle, .. } = &self.source {
            if !self.permits.is_closed() {
                lock(idle).push(conn);
                return;
            }
        }
        self.forget(conn);
    }

    /// Drops a connection: its thread closes the database handle and ends.
    fn forget(&self, conn: SqliteConnection) {
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

    /// Refuses further reads and closes the free connections; those in use close when their read
    /// ends.
    pub(super) async fn close(&self) {
        self.permits.close();
        let Source::File { idle, open, .. } = &self.source else {
            return;
        };
        let free = std::mem::take(&mut *lock(idle));
        for conn in free {
            open.fetch_sub(1, Ordering::Relaxed);
            // Closing waits for the thread to close the handle, so the file is let go of on return.
            conn.close().await.ok();
        }
    }
}

fn lock(idle: &Mutex<Vec<SqliteConnection>>) -> MutexGuard<'_, Vec<SqliteConnection>> {
    // The vector is consistent at every point a panic could happen, so a poisoned lock is usable.
    idle.lock().unwrap_or_else(PoisonError::into_inner)
}

enum Lease {
    Own(SqliteConnection),
    Pooled(PoolConnection<Sqlite>),
}

/// One connection, given back when dropped.
pub(super) struct Reader<'a> {
    lease: Option<Lease>,
    readers: &'a Readers,
    // Dropped after `drop` has given the connection back, so whoever gets the permit next finds it.
    _permit: SemaphorePermit<'a>,
}

impl Reader<'_> {
    /// `result`, after dropping the connection if it failed: whatever broke it (a crashed thread,
    /// a file gone) would otherwise fail the reads after it too.
    pub(super) fn check<T>(mut self, result: Result<T, sqlx::Error>) -> Result<T, sqlx::Error> {
        if result.is_err() {
            if let Some(Lease::Own(conn)) = self.lease.take() {
                self.readers.forget(conn);
            }
        }
        result
    }
}

impl Deref for Reader<'_> {
    type Target = SqliteConnection;

    fn deref(&self) -> &SqliteConnection {
        match self
            .lease
            .as_ref()
            .expect("a reader holds its connection until dropped")
        {
            Lease::Own(conn) => conn,
            Lease::Pooled(conn) => conn,
        }
    }
}

impl DerefMut for Reader<'_> {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        match self
            .lease
            .as_mut()
            .expect("a reader holds its connection until dropped")
        {
            Lease::Own(conn) => conn,
            Lease::Pooled(conn) => conn,
        }
    }
}

impl Drop for Reader<'_> {
    fn drop(&mut self) {
        if let Some(Lease::Own(conn)) = self.lease.take() {
            self.readers.give_back(conn);
        }
    }
}
