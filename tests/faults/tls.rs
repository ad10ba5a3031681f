//! TLS to MySQL: a private MariaDB with a certificate made for this test, and a user that must
//! use TLS. The right CA and host connect; a wrong CA, a wrong host name and plaintext are each
//! refused with one line that names `DATABASE_URL` and the `ssl-mode`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::servers::mariadb::MariaDb;

/// A certificate authority and a server certificate for `localhost` (and no IP address).
struct Certificates {
    dir: tempfile::TempDir,
}

impl Certificates {
    fn make() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let certs = Self { dir };
        certs.authority("ca");
        certs.authority("other-ca");
        certs.openssl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ]);
        std::fs::write(
            certs.path("server.ext"),
            "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n\
             keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        certs.openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ]);
        certs
    }

    fn authority(&self, name: &str) {
        let key = format!("{name}.key");
        let pem = format!("{name}.pem");
        let subject = format!("/CN=Twooter test {name}");
        self.openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &pem,
            "-days",
            "2",
            "-subj",
            &subject,
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
    }

    fn openssl(&self, args: &[&str]) {
        let output = Command::new("openssl")
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .expect("openssl runs");
        assert!(
            output.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// `twooter migrate` against `url`: the exit status and what it wrote to stderr.
fn migrate(url: &str, dir: &Path) -> (bool, String) {
    let binary =
        std::env::var("TWOOTER_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_twooter").to_owned());
    let output = Command::new(binary)
        .arg("migrate")
        .current_dir(dir)
        .env_clear()
        .env("DATABASE_URL", url)
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "off")
        .output()
        .expect("twooter runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).trim().to_owned(),
    )
}

#[tokio::test]
async fn the_database_connection_is_verified_and_never_falls_back_to_plaintext() {
    if !MariaDb::available() {
        return;
    }
    let certs = Certificates::make();
    let server = MariaDb::start(&[
        format!("--ssl-ca={}", certs.path("ca.pem").display()),
        format!("--ssl-cert={}", certs.path("server.pem").display()),
        format!("--ssl-key={}", certs.path("server.key").display()),
    ])
    .await;
    for sql in [
        "CREATE DATABASE twooter",
        "CREATE USER 'app'@'%' IDENTIFIED BY 'secret' REQUIRE SSL",
        "GRANT ALL ON twooter.* TO 'app'@'%'",
    ] {
        server.execute(sql).await;
    }
    let url = |host: &str, query: &str| {
        format!("mysql://app:secret@{host}:{}/twooter?{query}", server.port)
    };
    let ca = certs.path("ca.pem").display().to_string();
    let other_ca = certs.path("other-ca.pem").display().to_string();
    let work = tempfile::tempdir().unwrap();

    let (ok, stderr) = migrate(
        &url(
            "localhost",
            &format!("ssl-mode=verify_identity&ssl-ca={ca}"),
        ),
        work.path(),
    );
    assert!(
        ok,
        "verify_identity with the right CA must connect: {stderr}"
    );

    let refusals = [
        (
            "a certificate from another authority",
            url(
                "localhost",
                &format!("ssl-mode=verify_identity&ssl-ca={other_ca}"),
            ),
            "ssl-mode=verify_identity",
        ),
        (
            "a certificate for another host name",
            url(
                "127.0.0.1",
                &format!("ssl-mode=verify_identity&ssl-ca={ca}"),
            ),
            "ssl-mode=verify_identity",
        ),
        (
            "a certificate from another authority, host not checked",
            url(
                "127.0.0.1",
                &format!("ssl-mode=verify_ca&ssl-ca={other_ca}"),
            ),
            "ssl-mode=verify_ca",
        ),
        (
            "plaintext to a user that must use TLS",
            url("localhost", "ssl-mode=disabled"),
            "ssl-mode=disabled",
        ),
    ];
    for (case, url, mode) in refusals {
        let (ok, stderr) = migrate(&url, work.path());
        assert!(!ok, "{case}: must be refused");
        assert_eq!(
            stderr.lines().count(),
            1,
            "{case}: one line, got:\n{stderr}"
        );
        assert!(
            stderr.contains("DATABASE_URL") && stderr.contains(mode),
            "{case}: the line names DATABASE_URL and {mode}: {stderr}"
        );
        assert!(
            !stderr.contains("secret"),
            "{case}: the password leaked: {stderr}"
        );
    }

    // verify_ca checks the chain and not the name; required encrypts without checking either.
    let (ok, stderr) = migrate(
        &url("127.0.0.1", &format!("ssl-mode=verify_ca&ssl-ca={ca}")),
        work.path(),
    );
    assert!(ok, "verify_ca with the right CA, any host name: {stderr}");
    let (ok, stderr) = migrate(&url("localhost", "ssl-mode=required"), work.path());
    assert!(ok, "required encrypts without verifying: {stderr}");
}
