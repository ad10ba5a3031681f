//! A TCP proxy in front of MySQL that writes down every statement a client sends: the text of
//! each `COM_QUERY` and `COM_STMT_PREPARE` in the client's stream (plaintext, so the client must
//! connect with `ssl-mode=disabled`).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const COM_QUERY: u8 = 0x03;
const COM_STMT_PREPARE: u8 = 0x16;

/// A listening proxy and what it has seen.
pub struct Capture {
    pub address: SocketAddr,
    statements: Arc<Mutex<Vec<String>>>,
}

impl Capture {
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let statements = Arc::new(Mutex::new(Vec::new()));
        let seen = statements.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let seen = seen.clone();
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(upstream).await {
                        relay(client, server, seen).await;
                    }
                });
            }
        });
        Self {
            address,
            statements,
        }
    }

    /// Every statement sent so far, in order.
    pub fn statements(&self) -> Vec<String> {
        self.statements.lock().unwrap().clone()
    }
}

async fn relay(client: TcpStream, server: TcpStream, seen: Arc<Mutex<Vec<String>>>) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let answers = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
    });
    let mut pending = Vec::new();
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let n = match client_read.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if server_write.write_all(&buffer[..n]).await.is_err() {
            break;
        }
        pending.extend_from_slice(&buffer[..n]);
        for statement in take_commands(&mut pending) {
            seen.lock().unwrap().push(statement);
        }
    }
    answers.abort();
}

/// Removes the whole packets at the front of `pending` and returns the statement texts among them.
/// A command is a packet with sequence number 0; the handshake and authentication packets a
/// client sends have higher ones.
fn take_commands(pending: &mut Vec<u8>) -> Vec<String> {
    let mut statements = Vec::new();
    let mut at = 0;
    while pending.len() >= at + 4 {
        let length = usize::from(pending[at])
            | usize::from(pending[at + 1]) << 8
            | usize::from(pending[at + 2]) << 16;
        let sequence = pending[at + 3];
        if pending.len() < at + 4 + length {
            break;
        }
        let payload = &pending[at + 4..at + 4 + length];
        if sequence == 0 && matches!(payload.first(), Some(&COM_QUERY | &COM_STMT_PREPARE)) {
            statements.push(String::from_utf8_lossy(&payload[1..]).into_owned());
        }
        at += 4 + length;
    }
    pending.drain(..at);
    statements
}
