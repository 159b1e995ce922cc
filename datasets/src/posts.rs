//! Post metadata files: what a post is about, the input of the content encoder.
//!
//! A posts file is CSV with a header naming its columns, in any order, extra columns ignored:
//!
//! | column | required | content |
//! |---|---|---|
//! | `id` (or `post_id`) | yes | the post id, as in the interaction log's item column |
//! | `author` (or `author_id`) | no | the author's user id; empty for none |
//! | `created_at` | no | Unix seconds; empty for none |
//! | `topics` | no | topic labels separated by `\|`, each trimmed; empty for none |
//! | `text` | no | free text (quote it when it holds commas or line breaks) |
//!
//! The synthetic generator's `posts.csv` has these columns under the `post_id` and `author_id`
//! names, but separates its topics with spaces (topic names have none): read it with
//! [`TopicSeparator::Whitespace`].

use std::path::Path;

use crate::error::{Error, Result, RowProblem};

/// One post's metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostRecord {
    /// The post id (the interaction log's item id).
    pub id: String,
    /// The author's user id, when known.
    pub author: Option<String>,
    /// Creation time (Unix seconds), when known.
    pub created_at: Option<i64>,
    /// Topic labels, trimmed, empty ones dropped.
    pub topics: Vec<String>,
    /// The text (empty when there is none).
    pub text: String,
}

/// How the `topics` field separates its labels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TopicSeparator {
    /// `|`, the documented format (labels may contain spaces). The default.
    #[default]
    Pipe,
    /// Runs of whitespace, as in the synthetic generator's `posts.csv`.
    Whitespace,
}

impl TopicSeparator {
    fn split(self, field: &str) -> Vec<String> {
        let parts: Vec<&str> = match self {
            Self::Pipe => field.split('|').collect(),
            Self::Whitespace => field.split_whitespace().collect(),
        };
        parts
            .into_iter()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

/// Finds a column by any of its names.
fn column(header: &csv::StringRecord, names: &[&str]) -> Option<usize> {
    header.iter().position(|h| names.contains(&h.trim()))
}

/// Reads a posts file (see the module docs).
///
/// # Errors
///
/// [`Error::Io`] / [`Error::Csv`] if the file cannot be read or is not CSV;
/// [`Error::MissingColumn`] without an `id` column; [`Error::MalformedRow`] (naming the line
/// and column) for a row with the wrong number of fields, an empty id, a `created_at` that is
/// not an integer, or bytes that are not UTF-8.
pub fn load_posts(path: &Path, separator: TopicSeparator) -> Result<Vec<PostRecord>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(std::io::BufReader::with_capacity(1 << 16, file));
    let csv_error = |source| Error::Csv {
        path: path.to_path_buf(),
        source,
    };
    let header = rdr.headers().map_err(csv_error)?.clone();
    let id = column(&header, &["id", "post_id"]).ok_or_else(|| Error::MissingColumn {
        file: path.to_path_buf(),
        column: "id".to_owned(),
        available: header.iter().collect::<Vec<_>>().join(", "),
    })?;
    let author = column(&header, &["author", "author_id"]);
    let created_at = column(&header, &["created_at"]);
    let topics = column(&header, &["topics"]);
    let text = column(&header, &["text"]);

    let mut posts = Vec::new();
    let mut record = csv::ByteRecord::new();
    while rdr.read_byte_record(&mut record).map_err(csv_error)? {
        let line = record.position().map_or(0, csv::Position::line);
        let malformed = |col: usize, problem| Error::MalformedRow {
            file: path.to_path_buf(),
            line,
            column: header.get(col).unwrap_or("(extra field)").to_owned(),
            problem,
        };
        if record.len() != header.len() {
            return Err(malformed(
                record.len().min(header.len()),
                RowProblem::FieldCount {
                    expected: header.len(),
                    got: record.len(),
                },
            ));
        }
        let field = |col: usize| {
            std::str::from_utf8(&record[col]).map_err(|_| malformed(col, RowProblem::InvalidUtf8))
        };
        let optional = |col: Option<usize>| -> Result<Option<&str>> {
            col.map(|c| field(c).map(str::trim))
                .transpose()
                .map(|v| v.filter(|s| !s.is_empty()))
        };
        let post_id = field(id)?.trim();
        if post_id.is_empty() {
            return Err(malformed(id, RowProblem::Empty));
        }
        let created = match optional(created_at)? {
            Some(v) => Some(v.parse::<i64>().map_err(|_| {
                malformed(
                    created_at.unwrap_or_default(),
                    RowProblem::NotAnInteger {
                        value: v.to_owned(),
                    },
                )
            })?),
            None => None,
        };
        posts.push(PostRecord {
            id: post_id.to_owned(),
            author: optional(author)?.map(str::to_owned),
            created_at: created,
            topics: optional(topics)?.map_or_else(Vec::new, |t| separator.split(t)),
            text: match text {
                Some(c) => field(c)?.to_owned(),
                None => String::new(),
            },
        });
    }
    tracing::debug!(path = %path.display(), posts = posts.len(), "read posts file");
    Ok(posts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: impl AsRef<[u8]>) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("posts.csv");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn reads_every_column_in_any_order() {
        let (_dir, path) = write(
            "text,topics,extra,id,created_at,author\n\
             \"Jazz, live\",music| Sci Fi ||,x,p1,1700000000,u7\n\
             ,,,p2,,\n\
             \"two\nlines\",music,,p3,5,u1\n",
        );
        let posts = load_posts(&path, TopicSeparator::Pipe).unwrap();
        assert_eq!(
            posts,
            vec![
                PostRecord {
                    id: "p1".into(),
                    author: Some("u7".into()),
                    created_at: Some(1_700_000_000),
                    topics: vec!["music".into(), "Sci Fi".into()],
                    text: "Jazz, live".into(),
                },
                PostRecord {
                    id: "p2".into(),
                    author: None,
                    created_at: None,
                    topics: vec![],
                    text: String::new(),
                },
                PostRecord {
                    id: "p3".into(),
                    author: Some("u1".into()),
                    created_at: Some(5),
                    topics: vec!["music".into()],
                    text: "two\nlines".into(),
                },
            ]
        );
    }

    #[test]
    fn reads_the_synthetic_layout_with_whitespace_topics() {
        let (_dir, path) =
            write("post_id,author_id,created_at,topics,text\n0,3,100,music travel,Hello. #music\n");
        let posts = load_posts(&path, TopicSeparator::Whitespace).unwrap();
        assert_eq!(posts[0].id, "0");
        assert_eq!(posts[0].author.as_deref(), Some("3"));
        assert_eq!(posts[0].topics, vec!["music", "travel"]);
        // Read as `|`-separated, the two labels are one.
        let posts = load_posts(&path, TopicSeparator::Pipe).unwrap();
        assert_eq!(posts[0].topics, vec!["music travel"]);
    }

    #[test]
    fn only_the_id_column_is_required() {
        let (_dir, path) = write("id\np1\n");
        let posts = load_posts(&path, TopicSeparator::Pipe).unwrap();
        assert_eq!(posts.len(), 1);
        assert!(posts[0].topics.is_empty() && posts[0].text.is_empty());
        let (_dir, path) = write("post,text\np1,hi\n");
        assert!(matches!(
            load_posts(&path, TopicSeparator::Pipe),
            Err(Error::MissingColumn { column, available, .. })
                if column == "id" && available == "post, text"
        ));
    }

    #[test]
    fn malformed_rows_name_line_and_column() {
        let (_dir, path) = write("id,created_at,text\np1,1,a\np2,soon,b\n");
        assert!(matches!(
            load_posts(&path, TopicSeparator::Pipe),
            Err(Error::MalformedRow { line: 3, column, problem: RowProblem::NotAnInteger { .. }, .. })
                if column == "created_at"
        ));
        let (_dir, path) = write("id,text\np1,a\n,b\n");
        assert!(matches!(
            load_posts(&path, TopicSeparator::Pipe),
            Err(Error::MalformedRow { line: 3, column, problem: RowProblem::Empty, .. })
                if column == "id"
        ));
        let (_dir, path) = write("id,text\np1,a,extra\n");
        assert!(matches!(
            load_posts(&path, TopicSeparator::Pipe),
            Err(Error::MalformedRow {
                line: 2,
                problem: RowProblem::FieldCount {
                    expected: 2,
                    got: 3
                },
                ..
            })
        ));
        let (_dir, path) = write(b"id,text\np1,\xff\n");
        assert!(matches!(
            load_posts(&path, TopicSeparator::Pipe),
            Err(Error::MalformedRow {
                problem: RowProblem::InvalidUtf8,
                ..
            })
        ));
    }
}
