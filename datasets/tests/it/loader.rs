//! The loader on every known layout and every rejected row.

use std::path::{Path, PathBuf};

use datasets::Error;
use datasets::error::RowProblem;
use datasets::loader::{ColumnNames, FileFormat, LoadOptions, Loaded, load_interactions};
use polars::prelude::*;

type Row = (String, String, i64, f32);

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn rows(loaded: &Loaded) -> Vec<Row> {
    let df = &loaded.frame;
    let user = df.column("user").unwrap().str().unwrap();
    let item = df.column("item").unwrap().str().unwrap();
    let ts = df.column("timestamp").unwrap().i64().unwrap();
    let w = df.column("weight").unwrap().f32().unwrap();
    (0..df.height())
        .map(|r| {
            (
                user.get(r).unwrap().to_owned(),
                item.get(r).unwrap().to_owned(),
                ts.get(r).unwrap(),
                w.get(r).unwrap(),
            )
        })
        .collect()
}

fn own(v: &[(&str, &str, i64, f32)]) -> Vec<Row> {
    v.iter()
        .map(|&(u, i, t, w)| (u.to_owned(), i.to_owned(), t, w))
        .collect()
}

fn load(path: &Path) -> Loaded {
    load_interactions(path, &LoadOptions::default()).unwrap()
}

/// The malformed-row error of loading `bytes` as `name`: (line, column, problem); checks the file.
fn malformed(name: &str, bytes: &[u8]) -> (u64, String, RowProblem) {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), name, bytes);
    match load_interactions(&path, &LoadOptions::default()).unwrap_err() {
        Error::MalformedRow {
            file,
            line,
            column,
            problem,
        } => {
            assert_eq!(file, path);
            (line, column, problem)
        }
        other => panic!("unexpected {other:?}"),
    }
}

const RECBOLE: &str = "user_id:token\titem_id:token\trating:float\ttimestamp:float\n\
                       196\t242\t3\t881250949.0\n186\t302\t3.5\t891717742\n";

#[test]
fn recbole_inter_with_float_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    let loaded = load(&write(dir.path(), "ml-100k.inter", RECBOLE.as_bytes()));
    assert_eq!(
        rows(&loaded),
        own(&[
            ("196", "242", 881_250_949, 3.0),
            ("186", "302", 891_717_742, 3.5)
        ])
    );
    assert_eq!(loaded.format, FileFormat::Tsv);
    assert_eq!(loaded.columns.user, "user_id:token");
    assert_eq!(loaded.columns.weight.as_deref(), Some("rating:float"));
    assert_eq!(loaded.skipped_rows, 0);
    let schema = loaded.frame.schema();
    assert_eq!(schema.get("timestamp"), Some(&DataType::Int64));
    assert_eq!(schema.get("weight"), Some(&DataType::Float32));
}

#[test]
fn grouplens_u_data_without_header() {
    let dir = tempfile::tempdir().unwrap();
    let loaded = load(&write(
        dir.path(),
        "u.data",
        b"196\t242\t3\t881250949\r\n186\t302\t3\t891717742\r\n",
    ));
    assert_eq!(
        rows(&loaded),
        own(&[
            ("196", "242", 881_250_949, 3.0),
            ("186", "302", 891_717_742, 3.0)
        ])
    );
    assert_eq!(loaded.columns.timestamp, "timestamp");
}

#[test]
fn movielens_ratings_csv_and_dat() {
    let dir = tempfile::tempdir().unwrap();
    let csv = load(&write(
        dir.path(),
        "ratings.csv",
        b"userId,movieId,rating,timestamp\n1,17,4.0,944249077\n1,25,1.0,944250228\n",
    ));
    assert_eq!(
        rows(&csv),
        own(&[("1", "17", 944_249_077, 4.0), ("1", "25", 944_250_228, 1.0)])
    );
    assert_eq!(csv.format, FileFormat::Csv);
    let dat = load(&write(
        dir.path(),
        "ratings.dat",
        b"1::1193::5::978300760\n1::661::3::978302109\n",
    ));
    assert_eq!(
        rows(&dat),
        own(&[
            ("1", "1193", 978_300_760, 5.0),
            ("1", "661", 978_302_109, 3.0)
        ])
    );
    assert_eq!(dat.format, FileFormat::Dat);
}

#[test]
fn any_header_with_user_item_and_time_columns() {
    let dir = tempfile::tempdir().unwrap();
    let text = b"event_time,viewer_user,post_item,extra\n100,\"u,1\",p1,x\n200,u2,p2,y\n";
    let loaded = load(&write(dir.path(), "log.csv", text));
    // Quoted CSV fields may hold commas; no weight column gives weight 1.
    assert_eq!(
        rows(&loaded),
        own(&[("u,1", "p1", 100, 1.0), ("u2", "p2", 200, 1.0)])
    );
    assert_eq!(loaded.columns.weight, None);
}

#[test]
fn named_columns_and_explicit_format() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "events.txt", b"a\tb\tc\td\nx\tu1\ti1\t5\n");
    let options = LoadOptions {
        format: FileFormat::Tsv,
        columns: Some(ColumnNames {
            user: "b".into(),
            item: "c".into(),
            timestamp: "d".into(),
            weight: None,
        }),
        ..LoadOptions::default()
    };
    let loaded = load_interactions(&path, &options).unwrap();
    assert_eq!(rows(&loaded), own(&[("u1", "i1", 5, 1.0)]));
    // Without a header, positions.
    let path = write(dir.path(), "raw.tsv", b"i1\tu1\t5\n");
    let options = LoadOptions {
        columns: Some(ColumnNames {
            user: "2".into(),
            item: "column_1".into(),
            timestamp: "3".into(),
            weight: None,
        }),
        has_header: Some(false),
        ..LoadOptions::default()
    };
    assert_eq!(
        rows(&load_interactions(&path, &options).unwrap()),
        own(&[("u1", "i1", 5, 1.0)])
    );
    let options = LoadOptions {
        columns: Some(ColumnNames {
            user: "b".into(),
            item: "c".into(),
            timestamp: "when".into(),
            weight: None,
        }),
        ..LoadOptions::default()
    };
    let path = write(dir.path(), "x.tsv", b"a\tb\tc\td\nx\tu1\ti1\t5\n");
    let err = load_interactions(&path, &options).unwrap_err();
    assert!(matches!(err, Error::MissingColumn { ref column, .. } if column == "when"));
}

#[test]
fn wrong_field_counts_name_the_line_and_column() {
    let (line, column, problem) = malformed("a.inter", format!("{RECBOLE}1\t2\t3\n").as_bytes());
    assert_eq!((line, column.as_str()), (4, "timestamp:float"));
    assert_eq!(
        problem,
        RowProblem::FieldCount {
            expected: 4,
            got: 3
        }
    );
    let (line, column, problem) = malformed("u.data", b"1\t2\t3\t4\n1\t2\t3\t4\t5\n");
    assert_eq!((line, column.as_str()), (2, "column_5"));
    assert_eq!(
        problem,
        RowProblem::FieldCount {
            expected: 4,
            got: 5
        }
    );
}

#[test]
fn bad_values_name_the_line_and_column() {
    // A blank line still counts in line numbers.
    let (line, column, problem) =
        malformed("a.inter", format!("{RECBOLE}\n1\t2\tgood\t4\n").as_bytes());
    assert_eq!((line, column.as_str()), (5, "rating:float"));
    assert_eq!(
        problem,
        RowProblem::NotANumber {
            value: "good".into()
        }
    );
    let (line, column, problem) =
        malformed("a.inter", format!("{RECBOLE}1\t2\t3\t17.5\n").as_bytes());
    assert_eq!((line, column.as_str()), (4, "timestamp:float"));
    assert_eq!(
        problem,
        RowProblem::NotAnInteger {
            value: "17.5".into()
        }
    );
    let (line, column, problem) = malformed(
        "a.inter",
        format!("{RECBOLE}1\t2\t3\tyesterday\n").as_bytes(),
    );
    assert_eq!((line, column.as_str()), (4, "timestamp:float"));
    assert_eq!(
        problem,
        RowProblem::NotANumber {
            value: "yesterday".into()
        }
    );
    let (line, column, problem) = malformed("a.inter", format!("{RECBOLE} \t2\t3\t4\n").as_bytes());
    assert_eq!(
        (line, column.as_str(), problem),
        (4, "user_id:token", RowProblem::Empty)
    );
    let (line, column, problem) =
        malformed("ratings.csv", b"userId,movieId,rating,timestamp\n1,,4,5\n");
    assert_eq!(
        (line, column.as_str(), problem),
        (2, "movieId", RowProblem::Empty)
    );
    let (line, column, problem) = malformed(
        "ratings.csv",
        b"userId,movieId,rating,timestamp\n1,2,NaN,5\n",
    );
    assert_eq!((line, column.as_str()), (2, "rating"));
    assert_eq!(
        problem,
        RowProblem::NotFinite {
            value: "NaN".into()
        }
    );
    let (line, column, problem) = malformed("u.data", b"1\t2\t3\t4\n\xff\t2\t3\t4\n");
    assert_eq!(
        (line, column.as_str(), problem),
        (2, "user", RowProblem::InvalidUtf8)
    );
}

#[test]
fn bad_rows_are_skipped_and_counted_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!("{RECBOLE}1\t2\t3\n\t5\t3\t4\n7\t8\tx\t9\n10\t11\t4\t12.0\n");
    let path = write(dir.path(), "a.inter", text.as_bytes());
    let options = LoadOptions {
        skip_bad_rows: true,
        ..LoadOptions::default()
    };
    let loaded = load_interactions(&path, &options).unwrap();
    assert_eq!(loaded.skipped_rows, 3);
    assert_eq!(loaded.frame.height(), 3);
    assert_eq!(
        rows(&loaded)[2],
        ("10".to_owned(), "11".to_owned(), 12, 4.0)
    );
    assert_eq!(loaded.source, path);
}

#[test]
fn min_rating_keeps_high_ratings_and_needs_a_rating_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "u.data",
        b"1\t1\t5\t10\n1\t2\t3\t11\n1\t3\t4\t12\n",
    );
    let options = LoadOptions {
        min_rating: Some(4.0),
        ..LoadOptions::default()
    };
    let loaded = load_interactions(&path, &options).unwrap();
    assert_eq!(
        rows(&loaded),
        own(&[("1", "1", 10, 5.0), ("1", "3", 12, 4.0)])
    );
    assert_eq!(loaded.below_min_rating, 1);
    let path = write(dir.path(), "three.tsv", b"1\t1\t10\n");
    let err = load_interactions(&path, &options).unwrap_err();
    assert!(matches!(err, Error::NoRatingColumn { ref file } if file == &path));
}

#[test]
fn empty_unknown_and_missing_files_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in [
        ("e.csv", &b""[..]),
        ("h.csv", b"userId,movieId,rating,timestamp\n"),
        ("b.tsv", b"\n\n"),
    ] {
        let err = load_interactions(&write(dir.path(), name, bytes), &LoadOptions::default())
            .unwrap_err();
        assert!(matches!(err, Error::EmptyFile { .. }), "{name}: {err:?}");
    }
    let err = load_interactions(
        &write(dir.path(), "w.tsv", b"1\t2\t3\t4\t5\n"),
        &LoadOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::UnknownLayout { .. }));
    let err = load_interactions(
        &write(dir.path(), "h2.csv", b"user,item,rating\n1,2,3\n"),
        &LoadOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::MissingColumn { ref column, .. } if column == "timestamp"));
    let err = load_interactions(&dir.path().join("nope.csv"), &LoadOptions::default()).unwrap_err();
    assert!(matches!(err, Error::Io { .. }));
}

fn write_parquet(path: &Path, mut df: DataFrame) {
    let file = std::fs::File::create(path).unwrap();
    ParquetWriter::new(file).finish(&mut df).unwrap();
}

#[test]
fn parquet_with_integer_ids_and_float_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.parquet");
    let df = DataFrame::new(
        2,
        vec![
            Column::new("user_id".into(), [7i64, 8]),
            Column::new("item_id".into(), ["a", "b"]),
            Column::new("rating".into(), [4i32, 5]),
            Column::new("timestamp".into(), [100.0f64, 200.0]),
        ],
    )
    .unwrap();
    write_parquet(&path, df);
    let loaded = load(&path);
    assert_eq!(loaded.format, FileFormat::Parquet);
    assert_eq!(
        rows(&loaded),
        own(&[("7", "a", 100, 4.0), ("8", "b", 200, 5.0)])
    );
}

#[test]
fn parquet_nulls_fractions_and_types_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.parquet");
    let df = DataFrame::new(
        3,
        vec![
            Column::new("user".into(), ["u1", "u2", "u3"]),
            Column::new("item".into(), ["i1", "i2", "i3"]),
            Column::new("timestamp".into(), [Some(1i64), None, Some(3)]),
        ],
    )
    .unwrap();
    write_parquet(&path, df);
    match load_interactions(&path, &LoadOptions::default()).unwrap_err() {
        Error::MalformedRow {
            file,
            line,
            column,
            problem,
        } => {
            assert_eq!(
                (file, line, column.as_str(), problem),
                (path.clone(), 2, "timestamp", RowProblem::Null)
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    let options = LoadOptions {
        skip_bad_rows: true,
        ..LoadOptions::default()
    };
    let loaded = load_interactions(&path, &options).unwrap();
    assert_eq!((loaded.skipped_rows, loaded.frame.height()), (1, 2));

    let df = DataFrame::new(
        1,
        vec![
            Column::new("user".into(), ["u1"]),
            Column::new("item".into(), ["i1"]),
            Column::new("timestamp".into(), [1.5f64]),
        ],
    )
    .unwrap();
    write_parquet(&path, df);
    let err = load_interactions(&path, &LoadOptions::default()).unwrap_err();
    assert!(matches!(
        err,
        Error::MalformedRow {
            line: 1,
            problem: RowProblem::NotAnInteger { .. },
            ..
        }
    ));

    let df = DataFrame::new(
        1,
        vec![
            Column::new("user".into(), [1.5f64]),
            Column::new("item".into(), ["i1"]),
            Column::new("timestamp".into(), [1i64]),
        ],
    )
    .unwrap();
    write_parquet(&path, df);
    let err = load_interactions(&path, &LoadOptions::default()).unwrap_err();
    assert!(
        matches!(err, Error::ColumnType { ref column, expected: "string or integer", .. } if column == "user")
    );
}
