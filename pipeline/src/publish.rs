//! The publish stage: name the version, fingerprint the data and write it into the models
//! directory with [`models::artifact::keep_with`] ([`keep`]). Whether it then becomes current is
//! the promotion gate's decision ([`crate::gate`]), taken by [`crate::run()`]: a rejected version
//! stays beside the others, with its `gate.json`, for inspection.
//!
//! **Data fingerprint.** The SHA-256 (hex) of this text, UTF-8, every line ending in `\n`:
//!
//! ```text
//! social-live train data v1
//! users<TAB><n_users>
//! <raw user id, one a line, in index order>
//! items<TAB><n_items>
//! <raw item id, one a line, in index order (the whole catalog, test-only items included)>
//! interactions<TAB><n_train>
//! <raw user><TAB><raw item><TAB><timestamp><TAB><training weight> for every train interaction,
//!   in canonical order (user index, timestamp, item index); the weight is the f32 the model is trained
//!   with, printed in Rust's shortest round-trip form
//! ```
//!
//! so it changes exactly when what the model is trained on (or the catalog it ranks) changes.
//!
//! **Version name.** `<UTC time as YYYYMMDDTHHMMSSmmmZ, to the millisecond>-<first 8 hex digits of
//! SHA-256 of "<fingerprint>\n<model params JSON>\n<ANN config JSON>">`; if that directory already
//! exists (two runs within one millisecond), `-2`, `-3`, … is appended. Name order is time order, so
//! the newest kept version is the greatest name, even for runs within one second. The wall clock only reaches the version name and
//! `created_at`, neither of which is in a checksummed file.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use models::als::{AlsModel, AlsParams};
use models::ann::{AnnConfig, AnnIndex};
use models::artifact::{ArtifactContents, Counts, Manifest, OptionalContents, SCHEMA_VERSION};
use models::content::ContentEncoder;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

use crate::config::Weighting;
use crate::error::Result;
use crate::index_map::IdMap;
use crate::interactions::Interactions;

/// The SHA-256 hex of the canonical training data (see the module docs for the exact text).
pub fn data_fingerprint(
    users: &IdMap,
    items: &IdMap,
    train: &Interactions,
    weighting: Weighting,
) -> String {
    /// Hashes `line` plus a newline and clears it for the next line.
    fn put(hasher: &mut Sha256, line: &mut String) {
        line.push('\n');
        hasher.update(line.as_bytes());
        line.clear();
    }
    let mut hasher = Sha256::new();
    // Writing into a String cannot fail, so the results of `write!` are ignored.
    let mut line = String::from("social-live train data v1");
    put(&mut hasher, &mut line);
    for (label, map) in [("users", users), ("items", items)] {
        let _ = write!(line, "{label}\t{}", map.len());
        put(&mut hasher, &mut line);
        for id in map.ids() {
            line.push_str(id);
            put(&mut hasher, &mut line);
        }
    }
    let _ = write!(line, "interactions\t{}", train.len());
    put(&mut hasher, &mut line);
    for i in 0..train.len() {
        let _ = write!(
            line,
            "{}\t{}\t{}\t{}",
            users.id(train.user[i]),
            items.id(train.item[i]),
            train.timestamp[i],
            train.training_weight(i, weighting)
        );
        put(&mut hasher, &mut line);
    }
    hex::encode(hasher.finalize())
}

/// The version name for a run at `now` (see the module docs).
///
/// # Errors
///
/// [`crate::Error::Json`] or [`crate::Error::Time`] if the parameters or the time cannot be
/// formatted.
pub fn version_name(
    now: OffsetDateTime,
    fingerprint: &str,
    params: &AlsParams,
    ann: &AnnConfig,
) -> Result<String> {
    let stamp = now
        .to_offset(time::UtcOffset::UTC)
        .format(format_description!(
            "[year][month][day]T[hour][minute][second][subsecond digits:3]Z"
        ))?;
    let mut hasher = Sha256::new();
    hasher.update(fingerprint.as_bytes());
    hasher.update(b"\n");
    hasher.update(serde_json::to_vec(params)?);
    hasher.update(b"\n");
    hasher.update(serde_json::to_vec(ann)?);
    let digest = hex::encode(hasher.finalize());
    Ok(format!("{stamp}-{}", &digest[..8]))
}

/// `version`, or `version-2`, `version-3`, … if a directory of that name exists in `models_dir`.
pub fn unique_version(models_dir: &Path, version: String) -> String {
    if !models_dir.join(&version).exists() {
        return version;
    }
    (2..)
        .map(|n| format!("{version}-{n}"))
        .find(|v| !models_dir.join(v).exists())
        .unwrap_or(version)
}

/// `now` in RFC 3339, whole seconds, UTC.
///
/// # Errors
///
/// [`crate::Error::Time`] if formatting fails.
pub fn rfc3339(now: OffsetDateTime) -> Result<String> {
    let now = now.to_offset(time::UtcOffset::UTC);
    let now = now.replace_nanosecond(0).unwrap_or(now);
    Ok(now.format(&Rfc3339)?)
}

/// Everything a publication needs.
#[derive(Debug)]
pub struct PublishInput<'a> {
    /// The version name.
    pub version: &'a str,
    /// When the run started (RFC 3339).
    pub created_at: &'a str,
    /// The data fingerprint.
    pub fingerprint: &'a str,
    /// User ids in index order.
    pub users: &'a IdMap,
    /// Item ids in index order.
    pub items: &'a IdMap,
    /// Train interactions (counted in the manifest).
    pub train_interactions: usize,
    /// The trained model.
    pub model: &'a AlsModel,
    /// Train counts per item.
    pub popularity: &'a [u32],
    /// The ANN index.
    pub index: &'a AnnIndex,
    /// Its parameters.
    pub ann: &'a AnnConfig,
    /// The content encoder, when one was fitted.
    pub content_encoder: Option<&'a ContentEncoder>,
    /// The reproducible metrics for the manifest (no timings).
    pub metrics: serde_json::Value,
    /// Unchecksummed files (report, plots, the gate's decision).
    pub extra_files: &'a [(String, Vec<u8>)],
}

/// Writes the version into `models_dir` **without** making it current (see
/// [`models::artifact::keep_with`]) and returns its directory.
///
/// # Errors
///
/// [`crate::Error::Model`] if writing, syncing or renaming fails.
pub fn keep(models_dir: &Path, input: PublishInput<'_>) -> Result<PathBuf> {
    let manifest = Manifest {
        schema_version: SCHEMA_VERSION,
        version: input.version.to_owned(),
        created_at: input.created_at.to_owned(),
        model: input.model.params.clone(),
        ann: input.ann.clone(),
        data_fingerprint: input.fingerprint.to_owned(),
        counts: Counts {
            users: input.users.len(),
            items: input.items.len(),
            interactions: input.train_interactions,
        },
        factors: input.model.params.factors,
        metrics: input.metrics,
        files: Default::default(),
    };
    let contents = ArtifactContents {
        user_ids: input.users.ids(),
        item_ids: input.items.ids(),
        user_factors: input.model.user_factors.view(),
        item_factors: input.model.item_factors.view(),
        popularity: input.popularity,
        index: input.index,
    };
    let optional = OptionalContents {
        content_encoder: input.content_encoder,
    };
    Ok(models::artifact::keep_with(
        models_dir,
        manifest,
        &contents,
        optional,
        input.extra_files,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn data() -> (IdMap, IdMap, Interactions) {
        let users = IdMap::from_ids(["1", "2"]);
        let items = IdMap::from_ids(["10", "20", "30"]);
        let train =
            Interactions::from_columns(vec![0, 1], vec![0, 1], vec![100, 200], vec![4.0, 2.5]);
        (users, items, train)
    }

    #[test]
    fn fingerprint_is_sha256_of_the_documented_text() {
        let (users, items, train) = data();
        let text = "social-live train data v1\nusers\t2\n1\n2\nitems\t3\n10\n20\n30\n\
                    interactions\t2\n1\t10\t100\t4\n2\t20\t200\t2.5\n";
        let expected = hex::encode(Sha256::digest(text.as_bytes()));
        assert_eq!(
            data_fingerprint(&users, &items, &train, Weighting::Raw),
            expected
        );
        // Binary weighting changes the trained-on data, hence the fingerprint.
        assert_ne!(
            data_fingerprint(&users, &items, &train, Weighting::Binary),
            expected
        );
    }

    #[test]
    fn fingerprint_covers_the_catalog() {
        let (users, _, train) = data();
        let a = data_fingerprint(
            &users,
            &IdMap::from_ids(["10", "20"]),
            &train,
            Weighting::Binary,
        );
        let b = data_fingerprint(
            &users,
            &IdMap::from_ids(["10", "20", "30"]),
            &train,
            Weighting::Binary,
        );
        assert_ne!(a, b);
    }

    #[test]
    fn version_name_has_the_documented_shape() {
        let now = datetime!(2026-11-25 17:30:00.123 UTC);
        let params = AlsParams::default();
        let ann = AnnConfig::default();
        let v = version_name(now, "abc", &params, &ann).unwrap();
        assert!(v.starts_with("20261125T173000123Z-"), "{v}");
        assert_eq!(v.len(), "20261125T173000123Z-".len() + 8);
        assert!(v[20..].chars().all(|c| c.is_ascii_hexdigit()));
        // The hash part depends on the fingerprint and the parameters only.
        let later = datetime!(2027-01-01 00:00:00 UTC);
        assert_eq!(
            version_name(later, "abc", &params, &ann).unwrap()[20..],
            v[20..]
        );
        // Within one second, name order is still time order, whatever the hashes.
        let next = datetime!(2026-11-25 17:30:00.124 UTC);
        let (a, b) = (
            version_name(now, "zzz", &params, &ann).unwrap(),
            version_name(next, "aaa", &params, &ann).unwrap(),
        );
        assert!(a < b, "{a} {b}");
        assert_ne!(version_name(now, "abd", &params, &ann).unwrap(), v);
        let other = AlsParams {
            factors: params.factors + 1,
            ..params
        };
        assert_ne!(version_name(now, "abc", &other, &ann).unwrap(), v);
    }

    #[test]
    fn created_at_is_whole_second_utc() {
        let now = datetime!(2026-11-25 18:30:00.5 +01:00);
        assert_eq!(rfc3339(now).unwrap(), "2026-11-25T17:30:00Z");
    }

    #[test]
    fn unique_version_appends_a_counter() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(unique_version(dir.path(), "v".into()), "v");
        std::fs::create_dir(dir.path().join("v")).unwrap();
        std::fs::create_dir(dir.path().join("v-2")).unwrap();
        assert_eq!(unique_version(dir.path(), "v".into()), "v-3");
    }
}
