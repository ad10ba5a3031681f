//! A Twooter instance in the test process: the real router and middleware served on a loopback
//! port, configured through the same environment variables as the binary, holding a real lease.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use twooter::config::Config;
use twooter::domain::{IdGenerator, NodeId};
use twooter::lease::IdSource;
use twooter::store::Store;

/// A serving instance; it stops when dropped.
pub struct Instance {
    pub address: SocketAddr,
    pub store: Arc<dyn Store>,
    ids: Option<IdSource>,
    server: JoinHandle<()>,
}

impl Instance {
    /// Starts an instance on `database_url`, migrated, with `settings` as its environment.
    pub async fn start(database_url: &str, settings: &[(&str, &str)]) -> Self {
        Self::try_start(database_url, settings)
            .await
            .unwrap_or_else(|error| panic!("the instance does not start: {error:#}"))
    }

    /// As [`Self::start`], returning the start-up error instead of failing.
    pub async fn try_start(database_url: &str, settings: &[(&str, &str)]) -> anyhow::Result<Self> {
        let config = config(database_url, settings);
        let store = twooter::app::open_store(&config).await?;
        store.migrate().await?;
        twooter::app::check_clock(&config, store.as_ref()).await?;
        let ids = twooter::app::id_source(&config, store.clone()).await?;
        let router = twooter::app::build_router(&config, store.clone(), ids.ids());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let server = tokio::spawn(async move {
            let _ = axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await;
        });
        Ok(Self {
            address,
            store,
            ids: Some(ids),
            server,
        })
    }

    /// `http://ADDRESS/PATH`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// The generator this instance mints with.
    pub fn ids(&self) -> Arc<IdGenerator> {
        self.ids.as_ref().expect("running").ids()
    }

    /// The node number this instance holds now.
    pub fn node(&self) -> Option<NodeId> {
        self.ids.as_ref().and_then(IdSource::node)
    }

    /// Stops serving and releases the lease, as a SIGTERM would.
    pub async fn stop(mut self) {
        self.server.abort();
        if let Some(ids) = self.ids.take() {
            ids.release().await;
        }
        self.store.close().await;
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// The configuration the binary would read from these variables.
pub fn config(database_url: &str, settings: &[(&str, &str)]) -> Config {
    let database_url = database_url.to_owned();
    let settings: Vec<(String, String)> = settings
        .iter()
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect();
    Config::from_lookup(|name| {
        if name == "DATABASE_URL" {
            return Some(database_url.clone());
        }
        settings
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
            // The tests of the limits set them; the others must never meet a 429.
            .or_else(|| (name == "RATE_LIMITS").then(|| "off".to_owned()))
    })
    .expect("a valid test configuration")
}

/// A client that gives up on a request after `timeout`, as an impatient user would.
pub fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .pool_max_idle_per_host(16)
        .build()
        .expect("an HTTP client")
}
