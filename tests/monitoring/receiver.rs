//! The webhook receiver Alertmanager notifies: a small HTTP server in the test that keeps every
//! alert it is sent, with the moment it arrived.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::Value;

/// One alert of one notification: its name, `firing` or `resolved`, and when it came.
#[derive(Debug, Clone)]
pub struct Received {
    pub alertname: String,
    pub status: String,
    pub labels: Value,
    pub at: Instant,
}

type Inbox = Arc<Mutex<Vec<Received>>>;

pub struct Receiver {
    pub address: SocketAddr,
    inbox: Inbox,
}

async fn notify(State(inbox): State<Inbox>, Json(body): Json<Value>) {
    let at = Instant::now();
    let alerts = body["alerts"].as_array().cloned().unwrap_or_default();
    let mut inbox = inbox.lock().unwrap();
    for alert in alerts {
        inbox.push(Received {
            alertname: alert["labels"]["alertname"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            status: alert["status"].as_str().unwrap_or_default().to_owned(),
            labels: alert["labels"].clone(),
            at,
        });
    }
}

impl Receiver {
    pub async fn start() -> Self {
        let inbox = Inbox::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let app = Router::new()
            .route("/alerts", post(notify))
            .with_state(inbox.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { address, inbox }
    }

    pub fn url(&self) -> String {
        format!("http://{}/alerts", self.address)
    }

    /// The first `status` notification of `alertname` that arrived after `since`, waiting for it
    /// at most `limit`.
    pub async fn wait_for(
        &self,
        alertname: &str,
        status: &str,
        since: Instant,
        limit: Duration,
    ) -> Option<Received> {
        let deadline = Instant::now() + limit;
        loop {
            let found = self
                .inbox
                .lock()
                .unwrap()
                .iter()
                .find(|r| r.alertname == alertname && r.status == status && r.at >= since)
                .cloned();
            if found.is_some() || Instant::now() >= deadline {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Everything received so far, for a failure message.
    pub fn all(&self) -> Vec<(String, String)> {
        self.inbox
            .lock()
            .unwrap()
            .iter()
            .map(|r| (r.alertname.clone(), r.status.clone()))
            .collect()
    }
}
