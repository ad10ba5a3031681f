//! A TCP proxy on loopback that a test can cut and restore, to make a real database "go away"
//! for one server without stopping the database everybody else uses.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::{TcpSocket, TcpStream};
use tokio::task::JoinHandle;

pub struct Proxy {
    pub address: SocketAddr,
    upstream: SocketAddr,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Proxy {
    /// Starts forwarding a free loopback port to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Self {
        let mut proxy = Self {
            address: "127.0.0.1:0".parse().unwrap(),
            upstream,
            tasks: Arc::default(),
        };
        proxy.listen().await;
        proxy
    }

    async fn listen(&mut self) {
        let socket = TcpSocket::new_v4().unwrap();
        // The same port again after a cut, so clients configured with it reconnect.
        socket.set_reuseaddr(true).unwrap();
        socket.bind(self.address).unwrap();
        let listener = socket.listen(128).unwrap();
        self.address = listener.local_addr().unwrap();
        let (upstream, tasks) = (self.upstream, self.tasks.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let connection = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                tasks.lock().unwrap().push(connection);
            }
        });
        self.tasks.lock().unwrap().push(accept);
    }

    /// Closes every connection and the listening port: the database is gone.
    pub fn cut(&self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    /// Listens again on the same port: the database is back.
    pub async fn restore(&mut self) {
        self.listen().await;
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
    }
}
