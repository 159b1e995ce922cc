//! Which columns hold user, item, timestamp and rating: given by name, recognised from a header, or
//! positional for headerless files.

use std::path::Path;

use super::ColumnNames;
use crate::error::{Error, Result};

/// Resolved column positions, with the names used in error messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Resolved {
    /// Column names as written in the header, or role names (`user`, `item`, `rating`, `timestamp`,
    /// else `column_N`) without one. Its length is the expected number of fields.
    pub(crate) names: Vec<String>,
    pub(crate) user: usize,
    pub(crate) item: usize,
    pub(crate) timestamp: usize,
    pub(crate) weight: Option<usize>,
}

impl Resolved {
    /// The resolved columns, named as in the file.
    pub(crate) fn column_names(&self) -> ColumnNames {
        ColumnNames {
            user: self.names[self.user].clone(),
            item: self.names[self.item].clone(),
            timestamp: self.names[self.timestamp].clone(),
            weight: self.weight.map(|w| self.names[w].clone()),
        }
    }
}

// Header names are compared after `normalise`: the recbole `:type` suffix dropped, lowercase, and
// `_`, `-`, ` ` removed (so `user_id:token`, `userId` and `User ID` all read `userid`).
const USER_NAMES: &[&str] = &[
    "user",
    "userid",
    "uid",
    "users",
    "customerid",
    "visitorid",
    "viewerid",
    "accountid",
    "memberid",
    "reviewerid",
];
const ITEM_NAMES: &[&str] = &[
    "item",
    "itemid",
    "iid",
    "movie",
    "movieid",
    "post",
    "postid",
    "product",
    "productid",
    "asin",
    "track",
    "trackid",
    "song",
    "songid",
    "artistid",
    "book",
    "bookid",
    "isbn",
    "video",
    "videoid",
    "article",
    "articleid",
    "contentid",
];
const TIMESTAMP_NAMES: &[&str] = &[
    "timestamp",
    "ts",
    "time",
    "unixtime",
    "unixtimestamp",
    "epoch",
    "eventtime",
    "createdat",
];
const WEIGHT_NAMES: &[&str] = &[
    "rating",
    "ratings",
    "weight",
    "score",
    "value",
    "count",
    "playcount",
    "plays",
    "confidence",
    "stars",
];

pub(crate) fn normalise(name: &str) -> String {
    let name = name.trim().trim_start_matches('\u{feff}');
    let name = name.split(':').next().unwrap_or(name);
    name.chars()
        .filter(|c| !matches!(c, '_' | '-' | ' ' | '"' | '\''))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Positions of the roles among `names`: known names first, then names that merely contain
/// `user` / `item` / `time` / `rating` or `weight`.
fn detect(names: &[String]) -> Roles {
    let norm: Vec<String> = names.iter().map(|n| normalise(n)).collect();
    let mut taken = vec![false; names.len()];
    let mut pick = |exact: &[&str], contains: &[&str]| {
        let found = norm
            .iter()
            .enumerate()
            .position(|(i, n)| !taken[i] && exact.contains(&n.as_str()))
            .or_else(|| {
                norm.iter()
                    .enumerate()
                    .position(|(i, n)| !taken[i] && contains.iter().any(|c| n.contains(c)))
            });
        if let Some(i) = found {
            taken[i] = true;
        }
        found
    };
    Roles {
        user: pick(USER_NAMES, &["user"]),
        item: pick(ITEM_NAMES, &["item"]),
        timestamp: pick(TIMESTAMP_NAMES, &["time"]),
        weight: pick(WEIGHT_NAMES, &["rating", "weight"]),
    }
}

struct Roles {
    user: Option<usize>,
    item: Option<usize>,
    timestamp: Option<usize>,
    weight: Option<usize>,
}

/// Whether the first record looks like a header (without being told): it names the given user
/// column, or, without given names, it has no numeric field and recognisable user and item columns.
pub(crate) fn looks_like_header(first: &[String], columns: Option<&ColumnNames>) -> bool {
    match columns {
        Some(c) => {
            let user = normalise(&c.user);
            first.iter().any(|f| normalise(f) == user)
        }
        None => {
            let roles = detect(first);
            first.iter().all(|f| f.trim().parse::<f64>().is_err())
                && roles.user.is_some()
                && roles.item.is_some()
        }
    }
}

/// Resolves the layout of a file whose first record is `first` (trimmed fields).
pub(crate) fn resolve(
    file: &Path,
    first: &[String],
    has_header: bool,
    columns: Option<&ColumnNames>,
) -> Result<Resolved> {
    let unknown = || Error::UnknownLayout {
        file: file.to_path_buf(),
        first_line: first.join(","),
    };
    if has_header {
        let names: Vec<String> = first
            .iter()
            .map(|n| n.trim().trim_start_matches('\u{feff}').to_owned())
            .collect();
        return match columns {
            Some(c) => by_name(file, names, c),
            None => {
                let roles = detect(&names);
                let (Some(user), Some(item)) = (roles.user, roles.item) else {
                    return Err(unknown());
                };
                let timestamp = roles.timestamp.ok_or_else(|| Error::MissingColumn {
                    file: file.to_path_buf(),
                    column: "timestamp".to_owned(),
                    available: names.join(", "),
                })?;
                Ok(Resolved {
                    names,
                    user,
                    item,
                    timestamp,
                    weight: roles.weight,
                })
            }
        };
    }
    let width = first.len();
    match columns {
        Some(c) => {
            let names = (1..=width).map(|i| format!("column_{i}")).collect();
            by_name(file, names, c)
        }
        // GroupLens u.data, MovieLens-1M ratings.dat, headerless ratings.csv.
        None if width == 4 => Ok(Resolved {
            names: ["user", "item", "rating", "timestamp"]
                .map(str::to_owned)
                .to_vec(),
            user: 0,
            item: 1,
            timestamp: 3,
            weight: Some(2),
        }),
        None if width == 3 => Ok(Resolved {
            names: ["user", "item", "timestamp"].map(str::to_owned).to_vec(),
            user: 0,
            item: 1,
            timestamp: 2,
            weight: None,
        }),
        None => Err(unknown()),
    }
}

/// Finds the given column names among `names` (exactly, else after [`normalise`]). Without a header,
/// `names` are `column_1` … `column_N` and the given names may also be plain positions `1` … `N`.
fn by_name(file: &Path, names: Vec<String>, columns: &ColumnNames) -> Result<Resolved> {
    let find = |wanted: &str| -> Result<usize> {
        let pos = names.iter().position(|n| n == wanted).or_else(|| {
            let w = normalise(wanted);
            names.iter().position(|n| normalise(n) == w)
        });
        let pos = pos.or_else(|| {
            wanted
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|&p| p >= 1 && p <= names.len())
                .map(|p| p - 1)
        });
        pos.ok_or_else(|| Error::MissingColumn {
            file: file.to_path_buf(),
            column: wanted.to_owned(),
            available: names.join(", "),
        })
    };
    let user = find(&columns.user)?;
    let item = find(&columns.item)?;
    let timestamp = find(&columns.timestamp)?;
    let weight = columns.weight.as_deref().map(find).transpose()?;
    Ok(Resolved {
        names,
        user,
        item,
        timestamp,
        weight,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    fn roles(r: &Resolved) -> (usize, usize, usize, Option<usize>) {
        (r.user, r.item, r.timestamp, r.weight)
    }

    #[test]
    fn recognises_known_headers() {
        let f = Path::new("f");
        let recbole = strings(&[
            "user_id:token",
            "item_id:token",
            "rating:float",
            "timestamp:float",
        ]);
        assert!(looks_like_header(&recbole, None));
        assert_eq!(
            roles(&resolve(f, &recbole, true, None).unwrap()),
            (0, 1, 3, Some(2))
        );
        let ratings = strings(&["userId", "movieId", "rating", "timestamp"]);
        assert_eq!(
            roles(&resolve(f, &ratings, true, None).unwrap()),
            (0, 1, 3, Some(2))
        );
        let custom = strings(&["event_time", "viewer", "the_item", "weight", "extra"]);
        // `viewer` is neither a known nor a containing name: no user column.
        assert!(!looks_like_header(&custom, None));
        let custom = strings(&["event_time", "user_name", "the_item", "weight", "extra"]);
        let r = resolve(f, &custom, true, None).unwrap();
        assert_eq!(roles(&r), (1, 2, 0, Some(3)));
        assert_eq!(r.column_names().timestamp, "event_time");
    }

    #[test]
    fn headerless_files_are_positional() {
        let f = Path::new("f");
        let row = strings(&["196", "242", "3", "881250949"]);
        assert!(!looks_like_header(&row, None));
        // Ids that merely contain "user" and "item" do not make a header when a field is a number.
        assert!(!looks_like_header(
            &strings(&["user_17", "item_5", "1700000000"]),
            None
        ));
        let r = resolve(f, &row, false, None).unwrap();
        assert_eq!(roles(&r), (0, 1, 3, Some(2)));
        assert_eq!(r.names, strings(&["user", "item", "rating", "timestamp"]));
        let r = resolve(f, &strings(&["1", "2", "3"]), false, None).unwrap();
        assert_eq!(roles(&r), (0, 1, 2, None));
        let err = resolve(f, &strings(&["1", "2", "3", "4", "5"]), false, None).unwrap_err();
        assert!(
            matches!(err, Error::UnknownLayout { ref first_line, .. } if first_line == "1,2,3,4,5")
        );
    }

    #[test]
    fn given_names_are_found_or_reported() {
        let f = Path::new("f");
        let header = strings(&["a", "b", "c", "Rating"]);
        let names = ColumnNames {
            user: "b".into(),
            item: "a".into(),
            timestamp: "c".into(),
            weight: Some("rating".into()),
        };
        assert!(looks_like_header(&header, Some(&names)));
        let other_case = ColumnNames {
            user: "B".into(),
            ..names.clone()
        };
        assert!(looks_like_header(&header, Some(&other_case)));
        assert_eq!(
            roles(&resolve(f, &header, true, Some(&names)).unwrap()),
            (1, 0, 2, Some(3))
        );
        let missing = ColumnNames {
            timestamp: "when".into(),
            ..names.clone()
        };
        let err = resolve(f, &header, true, Some(&missing)).unwrap_err();
        assert!(
            matches!(err, Error::MissingColumn { ref column, ref available, .. }
            if column == "when" && available == "a, b, c, Rating")
        );
        let positional = ColumnNames {
            user: "column_2".into(),
            item: "1".into(),
            timestamp: "column_3".into(),
            weight: None,
        };
        let r = resolve(f, &strings(&["x", "y", "7"]), false, Some(&positional)).unwrap();
        assert_eq!(roles(&r), (1, 0, 2, None));
    }

    #[test]
    fn a_header_without_timestamp_is_a_missing_column() {
        let err = resolve(
            Path::new("f"),
            &strings(&["user", "item", "rating"]),
            true,
            None,
        )
        .unwrap_err();
        assert!(matches!(err, Error::MissingColumn { ref column, .. } if column == "timestamp"));
        let err = resolve(Path::new("f"), &strings(&["a", "b", "c"]), true, None).unwrap_err();
        assert!(matches!(err, Error::UnknownLayout { .. }));
    }
}
