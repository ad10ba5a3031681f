//! Connecting to a MySQL-compatible server: TLS secure by default, and read-your-writes on a
//! Galera cluster.

use std::net::IpAddr;
use std::str::FromStr;

use sqlx::mysql::{MySqlConnectOptions, MySqlSslMode};
use sqlx::{Connection, MySqlConnection, Row};

use crate::store::ConnectError;

/// What the first connection found out about the server.
#[derive(Debug, Clone, Default)]
pub(super) struct ServerTraits {
    /// A Galera node (`wsrep_on`): reads must wait for the cluster's earlier commits.
    pub galera: bool,
    /// The cipher of the first connection, or `None` when it is plaintext.
    pub cipher: Option<String>,
}

/// The options of `url`, with TLS made secure by default: a host that is not loopback gets
/// `verify_identity` (the server's certificate must chain to a trusted root and name the host)
/// unless the URL names an `ssl-mode` itself.
pub(super) fn options(url: &str) -> Result<MySqlConnectOptions, ConnectError> {
    let mut options = MySqlConnectOptions::from_str(url)
        .map_err(ConnectError::Url)?
        .charset("utf8mb4");
    let remote = options.get_socket().is_none() && !is_loopback(options.get_host());
    if remote && !names_ssl_mode(url) {
        options = options.ssl_mode(MySqlSslMode::VerifyIdentity);
    }
    Ok(options)
}

/// Opens one connection, the start-up check that the server takes the URL and its TLS mode, and
/// reads what the pool needs to know about the server.
pub(super) async fn probe(options: &MySqlConnectOptions) -> Result<ServerTraits, ConnectError> {
    let refused = |source| ConnectError::Connect {
        ssl_mode: ssl_mode_name(options.get_ssl_mode()),
        source,
    };
    let mut connection = MySqlConnection::connect_with(options)
        .await
        .map_err(refused)?;
    // An engine that answers these differently (a proxy such as Vitess's vtgate) is taken to be
    // no Galera node, rather than refused.
    let traits = read_traits(&mut connection).await.unwrap_or_default();
    let _ = connection.close().await;
    Ok(traits)
}

async fn read_traits(connection: &mut MySqlConnection) -> Result<ServerTraits, sqlx::Error> {
    // SHOW goes as text: not every server prepares it.
    let cipher = sqlx::raw_sql("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
        .fetch_optional(&mut *connection)
        .await?
        .and_then(|row| row.try_get::<String, _>(1).ok())
        .filter(|cipher| !cipher.is_empty());
    // MySQL proper has no wsrep variables; MariaDB has them with wsrep_on OFF outside a cluster.
    let wsrep = sqlx::raw_sql("SHOW VARIABLES LIKE 'wsrep_on'")
        .fetch_optional(&mut *connection)
        .await?;
    let galera = wsrep
        .and_then(|row| row.try_get::<String, _>(1).ok())
        .is_some_and(|on| on.eq_ignore_ascii_case("ON"));
    Ok(ServerTraits { galera, cipher })
}

/// Whether the URL says how to use TLS.
fn names_ssl_mode(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|url| {
        url.query_pairs()
            .any(|(key, _)| matches!(&*key, "ssl-mode" | "sslmode"))
    })
}

/// Whether `host` is this machine: `localhost` or a loopback address.
pub(super) fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The mode as a URL spells it.
pub(super) fn ssl_mode_name(mode: MySqlSslMode) -> &'static str {
    match mode {
        MySqlSslMode::Disabled => "disabled",
        MySqlSslMode::Preferred => "preferred",
        MySqlSslMode::Required => "required",
        MySqlSslMode::VerifyCa => "verify_ca",
        MySqlSslMode::VerifyIdentity => "verify_identity",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(url: &str) -> &'static str {
        ssl_mode_name(options(url).unwrap().get_ssl_mode())
    }

    #[test]
    fn a_remote_host_is_verified_unless_the_url_says_otherwise() {
        assert_eq!(
            mode("mysql://u:p@db.example.com/twooter"),
            "verify_identity"
        );
        assert_eq!(mode("mysql://u:p@10.0.0.5:3306/twooter"), "verify_identity");
        assert_eq!(
            mode("mysql://u:p@aws.connect.psdb.cloud/twooter?ssl-mode=VERIFY_IDENTITY"),
            "verify_identity"
        );
        assert_eq!(
            mode("mysql://u:p@db.example.com/t?ssl-mode=required"),
            "required"
        );
        assert_eq!(
            mode("mysql://u:p@db.example.com/t?sslmode=disabled"),
            "disabled"
        );
        assert_eq!(
            mode("mysql://u:p@db.example.com/t?ssl-mode=verify_ca"),
            "verify_ca"
        );
    }

    #[test]
    fn loopback_keeps_the_drivers_default() {
        for url in [
            "mysql://root@127.0.0.1:3306/t",
            "mysql://root@localhost/t",
            "mysql://root@[::1]:3306/t",
            "mysql://root@127.0.0.2/t",
        ] {
            assert_eq!(mode(url), "preferred", "{url}");
        }
        assert_eq!(
            mode("mysql://root@db/t?socket=/run/mysqld/mysqld.sock"),
            "preferred"
        );
    }

    #[test]
    fn an_unknown_mode_is_refused() {
        assert!(matches!(
            options("mysql://u@db/t?ssl-mode=sometimes"),
            Err(ConnectError::Url(_))
        ));
    }
}
