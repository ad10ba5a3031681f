//! The service's own store, opened as the service opens it.

use std::time::Duration;

use anyhow::bail;
use twooter::store::{MySqlStore, PoolConfig, SqliteStore, Store};

/// The service's default `DATABASE_ACQUIRE_TIMEOUT`, which `scripts/bench` also gives the server.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// The service's own store: reads run its statements on its pools, posts are its `insert`.
#[derive(Clone)]
pub enum Db {
    Sqlite(SqliteStore),
    MySql(MySqlStore),
}

/// A `mysql:` URL for a MySQL or MariaDB one, or `None` for any other database.
pub fn mysql_url(url: &str) -> Option<String> {
    if let Some(rest) = url.strip_prefix("mariadb:") {
        Some(format!("mysql:{rest}"))
    } else if url.starts_with("mysql:") {
        Some(url.to_owned())
    } else {
        None
    }
}

impl Db {
    /// The service's own store, so its pools are set up exactly as the service's are.
    pub async fn connect(url: &str, pool: u32) -> anyhow::Result<Self> {
        let config = PoolConfig {
            max_connections: pool,
            acquire_timeout: ACQUIRE_TIMEOUT,
            bulk_load: false,
            read_your_writes: true,
        };
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite(SqliteStore::connect(url, &config).await?))
        } else if let Some(url) = mysql_url(url) {
            Ok(Self::MySql(MySqlStore::connect(&url, &config).await?))
        } else {
            bail!("unsupported database URL {url:?}: use sqlite:, mysql: or mariadb:")
        }
    }

    pub fn store(&self) -> &dyn Store {
        match self {
            Self::Sqlite(store) => store,
            Self::MySql(store) => store,
        }
    }
}
