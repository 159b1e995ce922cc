//! The MovieLens-100K movie metadata: recbole's `ml-100k.item` and its conversion from GroupLens' `u.item`.

use std::path::Path;

use crate::error::{Error, Result, RowProblem};

/// One movie of `ml-100k.item`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MovieItem {
    /// The raw item id, as in the interactions file (`"1"` … `"1682"`).
    pub id: String,
    /// The title without the trailing year (`"Toy Story"`).
    pub title: String,
    /// The release year; `None` when the file has none or a non-numeric one (item 267 says `unkonwn`).
    pub year: Option<u16>,
    /// Genres in file order (`["Animation", "Children's", "Comedy"]`); names may contain `'` and `-`.
    pub genres: Vec<String>,
}

/// The 19 GroupLens genre flags of `u.item`, in column order.
const GROUPLENS_GENRES: [&str; 19] = [
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
];

/// The recbole header of `ml-100k.item`.
pub(crate) const ITEM_HEADER: &str =
    "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq";

/// Reads recbole's `ml-100k.item` (tab-separated, header
/// `item_id:token movie_title:token_seq release_year:token class:token_seq`, genres space-separated).
///
/// Columns are found by their header name (the part before `:`), so reordered or extra columns are fine.
///
/// # Errors
///
/// [`Error::Io`] if the file cannot be read, [`Error::EmptyFile`] without a header,
/// [`Error::MissingColumn`] if `item_id` or `movie_title` is absent, [`Error::MalformedRow`] for a row
/// with the wrong number of fields, an empty item id or bytes that are not UTF-8.
pub fn load_ml100k_items(path: &Path) -> Result<Vec<MovieItem>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse_items(&bytes, path)
}

/// Parses the bytes of an `ml-100k.item` file; `file` is only used in errors.
pub(crate) fn parse_items(bytes: &[u8], file: &Path) -> Result<Vec<MovieItem>> {
    let malformed = |line: usize, column: &str, problem| Error::MalformedRow {
        file: file.to_path_buf(),
        line: line as u64,
        column: column.to_owned(),
        problem,
    };
    let mut lines = bytes.split(|&b| b == b'\n').enumerate();
    let header = loop {
        match lines.next() {
            Some((_, l)) if trim_cr(l).is_empty() => {}
            Some((i, l)) => {
                let text = std::str::from_utf8(trim_cr(l))
                    .map_err(|_| malformed(i + 1, "header", RowProblem::InvalidUtf8))?;
                break text
                    .split('\t')
                    .map(|h| h.trim().to_owned())
                    .collect::<Vec<_>>();
            }
            None => {
                return Err(Error::EmptyFile {
                    file: file.to_path_buf(),
                });
            }
        }
    };
    let find = |name: &str| {
        header
            .iter()
            .position(|h| h.split(':').next() == Some(name))
    };
    let need = |name: &str| {
        find(name).ok_or_else(|| Error::MissingColumn {
            file: file.to_path_buf(),
            column: name.to_owned(),
            available: header.join(", "),
        })
    };
    let (id_col, title_col) = (need("item_id")?, need("movie_title")?);
    let (year_col, class_col) = (find("release_year"), find("class"));

    let mut items = Vec::new();
    for (i, raw) in lines {
        let line = i + 1;
        let raw = trim_cr(raw);
        if raw.is_empty() {
            continue;
        }
        let text = std::str::from_utf8(raw)
            .map_err(|_| malformed(line, &header[id_col], RowProblem::InvalidUtf8))?;
        let fields: Vec<&str> = text.split('\t').collect();
        if fields.len() != header.len() {
            let column = header
                .get(fields.len())
                .map_or("(extra field)", String::as_str);
            return Err(malformed(
                line,
                column,
                RowProblem::FieldCount {
                    expected: header.len(),
                    got: fields.len(),
                },
            ));
        }
        let id = fields[id_col].trim();
        if id.is_empty() {
            return Err(malformed(line, &header[id_col], RowProblem::Empty));
        }
        items.push(MovieItem {
            id: id.to_owned(),
            title: fields[title_col].trim().to_owned(),
            year: year_col.and_then(|c| fields[c].trim().parse().ok()),
            genres: class_col
                .map(|c| fields[c].split_whitespace().map(str::to_owned).collect())
                .unwrap_or_default(),
        });
    }
    Ok(items)
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Converts GroupLens' `u.item` (`|`-separated, ISO-8859-1, `id|Title (Year)|dd-Mon-yyyy|…|19 genre
/// flags`) into recbole's `ml-100k.item` layout (UTF-8, tab-separated, with [`ITEM_HEADER`]).
///
/// The title loses its trailing ` (yyyy)`; the year is that one, else the release date's year. Returns
/// the file bytes and the number of movies.
///
/// # Errors
///
/// [`Error::MalformedRow`] for a line with fewer than 24 fields or a genre flag that is not 0/1.
pub(crate) fn grouplens_items_to_recbole(u_item: &[u8], file: &Path) -> Result<(Vec<u8>, usize)> {
    let mut out = String::with_capacity(u_item.len());
    out.push_str(ITEM_HEADER);
    out.push('\n');
    let mut count = 0;
    for (i, raw) in u_item.split(|&b| b == b'\n').enumerate() {
        let raw = trim_cr(raw);
        if raw.is_empty() {
            continue;
        }
        // ISO-8859-1 maps every byte to the code point of the same value.
        let text: String = raw.iter().map(|&b| char::from(b)).collect();
        let fields: Vec<&str> = text.split('|').collect();
        if fields.len() < 5 + GROUPLENS_GENRES.len() {
            return Err(Error::MalformedRow {
                file: file.to_path_buf(),
                line: i as u64 + 1,
                column: "genres".to_owned(),
                problem: RowProblem::FieldCount {
                    expected: 24,
                    got: fields.len(),
                },
            });
        }
        let (title, title_year) = split_title_year(fields[1].trim());
        let date_year = fields[2]
            .trim()
            .rsplit('-')
            .next()
            .and_then(|y| y.parse::<u16>().ok());
        let year = title_year
            .or(date_year)
            .map(|y| y.to_string())
            .unwrap_or_default();
        let mut genres = Vec::new();
        for (g, flag) in GROUPLENS_GENRES.iter().zip(&fields[5..]) {
            match flag.trim() {
                "1" => genres.push(*g),
                "0" => {}
                other => {
                    return Err(Error::MalformedRow {
                        file: file.to_path_buf(),
                        line: i as u64 + 1,
                        column: (*g).to_owned(),
                        problem: RowProblem::NotANumber {
                            value: other.to_owned(),
                        },
                    });
                }
            }
        }
        out.push_str(&format!(
            "{}\t{title}\t{year}\t{}\n",
            fields[0].trim(),
            genres.join(" ")
        ));
        count += 1;
    }
    Ok((out.into_bytes(), count))
}

/// Splits `"Toy Story (1995)"` into `("Toy Story", Some(1995))`; titles without a year are unchanged.
fn split_title_year(title: &str) -> (&str, Option<u16>) {
    if let Some(open) = title.rfind(" (")
        && let Some(inner) = title[open + 2..].strip_suffix(')')
        && inner.len() == 4
        && let Ok(year) = inner.parse::<u16>()
    {
        return (title[..open].trim_end(), Some(year));
    }
    (title, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n\
        1\tToy Story\t1995\tAnimation Children's Comedy\n\
        267\tunkonwn\tunkonwn\tunknown\n\
        543\tMisérables, Les\t1995\tDrama Musical\n\
        1000\tSomething\t\tFilm-Noir\r\n";

    #[test]
    fn parses_titles_years_and_genres() {
        let items = parse_items(FIXTURE.as_bytes(), Path::new("x.item")).unwrap();
        assert_eq!(items.len(), 4);
        assert_eq!(
            items[0],
            MovieItem {
                id: "1".into(),
                title: "Toy Story".into(),
                year: Some(1995),
                genres: vec!["Animation".into(), "Children's".into(), "Comedy".into()],
            }
        );
        assert_eq!(items[1].year, None);
        assert_eq!(items[1].genres, vec!["unknown".to_owned()]);
        assert_eq!(items[2].title, "Misérables, Les");
        assert_eq!(items[3].year, None);
        assert_eq!(items[3].genres, vec!["Film-Noir".to_owned()]);
    }

    #[test]
    fn rejects_a_row_with_a_missing_field() {
        let text = "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n\
                    1\tToy Story\t1995\tComedy\n2\tGoldenEye\t1995\n";
        let err = parse_items(text.as_bytes(), Path::new("x.item")).unwrap_err();
        match err {
            Error::MalformedRow {
                file,
                line,
                column,
                problem,
            } => {
                assert_eq!(file, Path::new("x.item"));
                assert_eq!(line, 3);
                assert_eq!(column, "class:token_seq");
                assert_eq!(
                    problem,
                    RowProblem::FieldCount {
                        expected: 4,
                        got: 3
                    }
                );
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn rejects_an_empty_id_and_a_missing_title_column() {
        let text = "item_id:token\tmovie_title:token_seq\n \tNo id\n";
        let err = parse_items(text.as_bytes(), Path::new("x.item")).unwrap_err();
        assert!(matches!(
            err,
            Error::MalformedRow {
                line: 2,
                problem: RowProblem::Empty,
                ..
            }
        ));
        let err = parse_items(b"item_id:token\tyear\n1\t1990\n", Path::new("x.item")).unwrap_err();
        assert!(matches!(err, Error::MissingColumn { ref column, .. } if column == "movie_title"));
        let err = parse_items(b"\n\n", Path::new("x.item")).unwrap_err();
        assert!(matches!(err, Error::EmptyFile { .. }));
    }

    #[test]
    fn converts_grouplens_u_item() {
        let mut u_item =
            b"1|Toy Story (1995)|01-Jan-1995||http://x|0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0\n"
                .to_vec();
        // "Misérables" in ISO-8859-1: é is the single byte 0xE9.
        u_item.extend_from_slice(
            b"543|Mis\xe9rables, Les (1995)|01-Jan-1995||u|0|0|0|0|0|0|0|0|1|0|0|0|1|0|0|0|0|0|0\n",
        );
        u_item.extend_from_slice(b"267|unknown||||1|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0\n");
        u_item.extend_from_slice(
            b"9|Dead Man Walking|01-Jan-1996||u|0|0|0|0|0|0|0|0|0|0|1|0|0|0|0|0|0|0|0\n",
        );
        let (bytes, n) = grouplens_items_to_recbole(&u_item, Path::new("u.item")).unwrap();
        assert_eq!(n, 4);
        let expected = format!(
            "{ITEM_HEADER}\n1\tToy Story\t1995\tAnimation Children's Comedy\n\
             543\tMisérables, Les\t1995\tDrama Musical\n267\tunknown\t\tunknown\n\
             9\tDead Man Walking\t1996\tFilm-Noir\n"
        );
        assert_eq!(String::from_utf8(bytes.clone()).unwrap(), expected);
        let items = parse_items(&bytes, Path::new("x")).unwrap();
        assert_eq!(
            items[1].genres,
            vec!["Drama".to_owned(), "Musical".to_owned()]
        );
    }

    #[test]
    fn rejects_a_short_u_item_line() {
        let err =
            grouplens_items_to_recbole(b"1|Toy Story (1995)|01-Jan-1995\n", Path::new("u.item"))
                .unwrap_err();
        assert!(matches!(
            err,
            Error::MalformedRow {
                line: 1,
                problem: RowProblem::FieldCount {
                    expected: 24,
                    got: 3
                },
                ..
            }
        ));
    }
}
