//! The exports, read back by an independent reader: the split follows the protocol and the metrics
//! recomputed from the files equal the reported ones.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use datasets::loader::LoadOptions;
use pipeline::DatasetSource;

use crate::data::{config, rating_rows, write_csv};

/// Reads a TSV with the given header into rows of fields.
fn read_tsv(path: &Path, header: &str) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some(header), "{}", path.display());
    lines
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect()
}

/// user → set of items.
type Sets = BTreeMap<String, BTreeSet<String>>;

fn sets(rows: &[Vec<String>]) -> Sets {
    let mut out = Sets::new();
    for r in rows {
        out.entry(r[0].clone()).or_default().insert(r[1].clone());
    }
    out
}

#[test]
fn exported_split_follows_the_protocol_and_metrics_recompute() {
    let dir = tempfile::tempdir().unwrap();
    let rows = rating_rows();
    let path = write_csv(dir.path(), &rows, &[]);
    let export_dir = dir.path().join("export");
    let mut c = config(
        DatasetSource::File {
            path,
            options: LoadOptions::default(),
        },
        dir.path(),
    );
    c.export = Some(export_dir.clone());
    let outcome = pipeline::run(&c).unwrap();
    let k = c.k;

    let train = read_tsv(&export_dir.join("train.tsv"), "user\titem\ttimestamp");
    let test = read_tsv(&export_dir.join("test.tsv"), "user\titem\ttimestamp");
    let recs = read_tsv(&export_dir.join("recs.tsv"), "user\titem\trank");

    // The split, recomputed from the raw rows: per user sort by (timestamp, item numerically), the
    // last floor(n / 5) go to test when n >= 5.
    let mut by_user: BTreeMap<u32, Vec<(i64, u32)>> = BTreeMap::new();
    for r in &rows {
        by_user
            .entry(r.user)
            .or_default()
            .push((r.timestamp, r.item));
    }
    let mut expected_train = BTreeSet::new();
    let mut expected_test = BTreeSet::new();
    for (user, mut list) in by_user {
        list.sort();
        let n = list.len();
        let n_test = if n < 5 { 0 } else { n / 5 };
        for (i, (ts, item)) in list.into_iter().enumerate() {
            let row = (user.to_string(), item.to_string(), ts.to_string());
            if i >= n - n_test {
                expected_test.insert(row);
            } else {
                expected_train.insert(row);
            }
        }
    }
    let as_set = |rows: &[Vec<String>]| -> BTreeSet<(String, String, String)> {
        rows.iter()
            .map(|r| (r[0].clone(), r[1].clone(), r[2].clone()))
            .collect()
    };
    assert_eq!(as_set(&train), expected_train);
    assert_eq!(as_set(&test), expected_test);
    assert_eq!(train.len() + test.len(), rows.len());

    // The metrics, recomputed from the three files alone.
    let train_sets = sets(&train);
    let test_sets = sets(&test);
    let catalog: BTreeSet<&String> = train.iter().chain(&test).map(|r| &r[1]).collect();
    let mut ranked: BTreeMap<String, Vec<(usize, String)>> = BTreeMap::new();
    for r in &recs {
        ranked
            .entry(r[0].clone())
            .or_default()
            .push((r[2].parse().unwrap(), r[1].clone()));
    }
    let (mut recall, mut precision, mut hit, mut ndcg) = (0.0, 0.0, 0.0, 0.0);
    let mut shown = BTreeSet::new();
    for (user, relevant) in &test_sets {
        let mut list = ranked.get(user).cloned().unwrap_or_default();
        list.sort();
        let ranks: Vec<usize> = list.iter().map(|(r, _)| *r).collect();
        assert_eq!(
            ranks,
            (1..=list.len()).collect::<Vec<_>>(),
            "ranks of {user}"
        );
        assert_eq!(list.len(), k, "every evaluated user gets K recommendations");
        let mut hits = 0usize;
        let mut dcg = 0.0;
        for (rank, item) in &list {
            assert!(
                !train_sets[user].contains(item),
                "{user} was recommended a train item"
            );
            shown.insert(item.clone());
            if relevant.contains(item) {
                hits += 1;
                dcg += 1.0 / ((rank + 1) as f64).log2();
            }
        }
        let idcg: f64 = (1..=relevant.len().min(k))
            .map(|r| 1.0 / ((r + 1) as f64).log2())
            .sum();
        recall += hits as f64 / relevant.len() as f64;
        precision += hits as f64 / k as f64;
        hit += if hits > 0 { 1.0 } else { 0.0 };
        ndcg += dcg / idcg;
    }
    let n = test_sets.len() as f64;
    let m = &outcome.report.evaluation.model.metrics;
    assert_eq!(m.users, test_sets.len());
    assert_eq!(m.catalog_size, catalog.len());
    let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
    assert!(
        close(m.recall, recall / n),
        "{} vs {}",
        m.recall,
        recall / n
    );
    assert!(close(m.precision, precision / n));
    assert!(close(m.hit_rate, hit / n));
    assert!(close(m.ndcg, ndcg / n), "{} vs {}", m.ndcg, ndcg / n);
    assert!(close(m.coverage, shown.len() as f64 / catalog.len() as f64));

    // The report lists the exported files.
    let export = outcome.report.export.as_ref().unwrap();
    assert_eq!(export.dir, export_dir);
    assert_eq!(export.files.len(), 3);
}
