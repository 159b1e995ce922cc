//! Finds out whether the Spark trainer's end-to-end test can run here: it needs Java (Spark runs on
//! the JVM; PySpark itself the test installs from PyPI). With `java` on `PATH` the test is compiled
//! in (`cfg(spark_tests)`); without it, it is compiled as ignored, so `cargo test` lists it as
//! ignored with the reason instead of passing it unrun. `SOCIAL_LIVE_REQUIRE_SPARK=1` (CI) makes a
//! missing Java a build error instead.
//!
//! The probe runs again when `PATH` or `SOCIAL_LIVE_REQUIRE_SPARK` changes.

use std::process::{Command, Stdio};

fn main() {
    println!("cargo::rustc-check-cfg=cfg(spark_tests)");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=PATH");
    println!("cargo::rerun-if-env-changed=SOCIAL_LIVE_REQUIRE_SPARK");
    let java = Command::new("java")
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if java {
        println!("cargo::rustc-cfg=spark_tests");
    } else if std::env::var("SOCIAL_LIVE_REQUIRE_SPARK").is_ok_and(|v| v == "1") {
        panic!("SOCIAL_LIVE_REQUIRE_SPARK=1 but `java -version` does not run: Spark needs Java 17");
    }
}
