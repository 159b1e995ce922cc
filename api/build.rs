//! Finds the PostgreSQL server the integration tests run their PostgreSQL cases against:
//! `DATABASE_URL` when set, else this machine's default (`127.0.0.1:5432`) when something
//! listens there. Without one, the cases are compiled as ignored (`cfg(postgres_tests)` unset),
//! so `cargo test` lists them as ignored, with the reason, instead of passing them unrun;
//! `SOCIAL_LIVE_REQUIRE_POSTGRES=1` (CI) makes a missing server a build error instead.
//!
//! The probe runs again when `DATABASE_URL` or `SOCIAL_LIVE_REQUIRE_POSTGRES` changes; after
//! starting or stopping the server without changing them, `touch api/build.rs`.

use std::net::{SocketAddr, TcpStream, ToSocketAddrs as _};
use std::time::Duration;

/// The host and port of a `postgres://` URL (default port 5432).
fn address(url: &str) -> Option<SocketAddr> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let with_port = if host_port.contains(':') {
        host_port.to_owned()
    } else {
        format!("{host_port}:5432")
    };
    with_port.to_socket_addrs().ok()?.next()
}

fn main() {
    println!("cargo::rustc-check-cfg=cfg(postgres_tests)");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=DATABASE_URL");
    println!("cargo::rerun-if-env-changed=SOCIAL_LIVE_REQUIRE_POSTGRES");
    let url = std::env::var("DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("postgres"));
    let addr = address(url.as_deref().unwrap_or("postgres://127.0.0.1:5432"));
    let listening =
        addr.is_some_and(|a| TcpStream::connect_timeout(&a, Duration::from_millis(300)).is_ok());
    if listening {
        println!("cargo::rustc-cfg=postgres_tests");
    } else if std::env::var("SOCIAL_LIVE_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
        panic!(
            "SOCIAL_LIVE_REQUIRE_POSTGRES=1 but no PostgreSQL listens at {}",
            url.as_deref().unwrap_or("127.0.0.1:5432")
        );
    }
}
