//! Exports for outside scoring: the split and the model's recommendations as TSV files with raw ids.
//!
//! - `train.tsv`, `test.tsv`: header `user\titem\ttimestamp`, one interaction per line, in canonical
//!   order (user index, timestamp, item index);
//! - `recs.tsv`: header `user\titem\trank`, the top K of every evaluated user the model can score, rank 1
//!   best, users in index order.
//!
//! With these three files and the catalog (every item in train or test) anyone can recompute the
//! metrics of `docs/EVALUATION.md` independently.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::evaluate::Rankings;
use crate::index_map::IdMap;
use crate::interactions::Interactions;

/// The train split's file name.
pub const TRAIN_FILE: &str = "train.tsv";
/// The test split's file name.
pub const TEST_FILE: &str = "test.tsv";
/// The recommendations' file name.
pub const RECS_FILE: &str = "recs.tsv";

/// Fails with [`Error::UnexportableId`] when an id would break the TSV layout.
fn check_ids(map: &IdMap, kind: &'static str) -> Result<()> {
    match map.ids().iter().find(|id| id.contains(['\t', '\n', '\r'])) {
        Some(id) => Err(Error::UnexportableId {
            kind,
            id: id.clone(),
        }),
        None => Ok(()),
    }
}

/// Creates `path` and runs `write` on a buffered writer, mapping I/O errors to [`Error::Io`].
fn write_file(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> Result<()> {
    let file = File::create(path).map_err(Error::io(path))?;
    let mut out = BufWriter::new(file);
    write(&mut out)
        .and_then(|()| out.flush())
        .map_err(Error::io(path))
}

/// Writes `interactions` as `user\titem\ttimestamp` with raw ids.
///
/// # Errors
///
/// [`Error::Io`] if the file cannot be written.
pub fn write_interactions(
    path: &Path,
    interactions: &Interactions,
    users: &IdMap,
    items: &IdMap,
) -> Result<()> {
    write_file(path, |out| {
        writeln!(out, "user\titem\ttimestamp")?;
        for i in 0..interactions.len() {
            writeln!(
                out,
                "{}\t{}\t{}",
                users.id(interactions.user[i]),
                items.id(interactions.item[i]),
                interactions.timestamp[i]
            )?;
        }
        Ok(())
    })
}

/// Writes the first `k` entries of every ranking as `user\titem\trank` with raw ids.
///
/// # Errors
///
/// [`Error::Io`] if the file cannot be written.
pub fn write_recs(
    path: &Path,
    rankings: &Rankings,
    users: &IdMap,
    items: &IdMap,
    k: usize,
) -> Result<()> {
    write_file(path, |out| {
        writeln!(out, "user\titem\trank")?;
        for (u, ranking) in rankings.iter().enumerate() {
            let Some(ranking) = ranking else { continue };
            let user = users.id(u as u32);
            for (r, &item) in ranking.iter().take(k).enumerate() {
                writeln!(out, "{user}\t{}\t{}", items.id(item), r + 1)?;
            }
        }
        Ok(())
    })
}

/// What to export.
#[derive(Debug, Clone, Copy)]
pub struct ExportInput<'a> {
    /// User ids.
    pub users: &'a IdMap,
    /// Item ids.
    pub items: &'a IdMap,
    /// The train split.
    pub train: &'a Interactions,
    /// The test split.
    pub test: &'a Interactions,
    /// The model's rankings of the evaluated users.
    pub rankings: &'a Rankings,
    /// How many recommendations per user.
    pub k: usize,
}

/// Writes `train.tsv`, `test.tsv` and `recs.tsv` into `dir` (created if needed) and returns their paths.
///
/// # Errors
///
/// [`Error::UnexportableId`] if a raw id contains a tab or a line break (checked before anything is
/// written); [`Error::Io`] if a file cannot be written.
pub fn export(dir: &Path, input: &ExportInput<'_>) -> Result<Vec<PathBuf>> {
    check_ids(input.users, "user")?;
    check_ids(input.items, "item")?;
    std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
    let train = dir.join(TRAIN_FILE);
    write_interactions(&train, input.train, input.users, input.items)?;
    let test = dir.join(TEST_FILE);
    write_interactions(&test, input.test, input.users, input.items)?;
    let recs = dir.join(RECS_FILE);
    write_recs(&recs, input.rankings, input.users, input.items, input.k)?;
    Ok(vec![train, test, recs])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_the_three_files_with_raw_ids() {
        let dir = tempfile::tempdir().unwrap();
        let users = IdMap::from_ids(["10", "2"]);
        let items = IdMap::from_ids(["a", "b", "c"]);
        let train = Interactions::from_columns(vec![0, 1], vec![0, 2], vec![5, 6], vec![1.0, 1.0]);
        let test = Interactions::from_columns(vec![0], vec![1], vec![7], vec![1.0]);
        let rankings: Rankings = vec![Some(vec![1, 2, 0]), None];
        let input = ExportInput {
            users: &users,
            items: &items,
            train: &train,
            test: &test,
            rankings: &rankings,
            k: 2,
        };
        let files = export(&dir.path().join("out"), &input).unwrap();
        assert_eq!(files.len(), 3);
        let read = |name| std::fs::read_to_string(dir.path().join("out").join(name)).unwrap();
        assert_eq!(
            read(TRAIN_FILE),
            "user\titem\ttimestamp\n2\ta\t5\n10\tc\t6\n"
        );
        assert_eq!(read(TEST_FILE), "user\titem\ttimestamp\n2\tb\t7\n");
        assert_eq!(read(RECS_FILE), "user\titem\trank\n2\tb\t1\n2\tc\t2\n");
    }

    #[test]
    fn id_with_a_tab_is_rejected_before_writing() {
        let dir = tempfile::tempdir().unwrap();
        let users = IdMap::from_ids(["u\t1"]);
        let items = IdMap::from_ids(["a"]);
        let empty = Interactions::default();
        let input = ExportInput {
            users: &users,
            items: &items,
            train: &empty,
            test: &empty,
            rankings: &vec![],
            k: 10,
        };
        let err = export(&dir.path().join("out"), &input);
        assert!(
            matches!(&err, Err(Error::UnexportableId { kind: "user", id }) if id == "u\t1"),
            "{err:?}"
        );
        assert!(!dir.path().join("out").exists());
    }
}
