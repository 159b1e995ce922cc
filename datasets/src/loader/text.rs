//! CSV, TSV and `::` files, read record by record with exact line numbers.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use super::layout::{looks_like_header, resolve};
use super::{FileFormat, LoadOptions, Loaded, Row, Sink, parse_id, parse_timestamp, parse_weight};
use crate::error::{Error, Result, RowProblem};

/// Reads a text file of the given format (`Csv`, `Tsv` or `Dat`).
pub(super) fn load(path: &Path, format: FileFormat, options: &LoadOptions) -> Result<Loaded> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let reader = BufReader::with_capacity(1 << 16, file);
    let mut state = Text {
        path,
        options,
        sink: None,
    };
    if format == FileFormat::Dat {
        read_double_colon(path, reader, &mut state)?;
    } else {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(if format == FileFormat::Csv {
                b','
            } else {
                b'\t'
            })
            .quoting(format == FileFormat::Csv)
            .from_reader(LineTracker::new(reader));
        let mut record = csv::ByteRecord::new();
        loop {
            let more = rdr
                .read_byte_record(&mut record)
                .map_err(|source| Error::Csv {
                    path: path.to_path_buf(),
                    source,
                })?;
            if !more {
                break;
            }
            // The csv crate does not count the blank lines it skips; count newlines ourselves.
            let byte = record.position().map_or(0, csv::Position::byte);
            let line = rdr.get_mut().line_at(byte);
            let fields: Vec<&[u8]> = record.iter().collect();
            state.record(line, &fields)?;
        }
    }
    match state.sink {
        Some(sink) => sink.finish(format),
        None => Err(Error::EmptyFile {
            file: path.to_path_buf(),
        }),
    }
}

/// Remembers where the newlines are in what passes through it, so that a record's byte offset can
/// be turned into its 1-based line number. Offsets must be asked in increasing order; only the
/// newlines not yet passed are kept (at most one read buffer's worth).
struct LineTracker<R> {
    inner: R,
    offset: u64,
    /// Position of each newline not yet passed, and whether the line it ends is blank.
    newlines: VecDeque<(u64, bool)>,
    /// Whether the current line has a byte other than `\r` so far.
    line_has_text: bool,
    passed: u64,
}

impl<R> LineTracker<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            offset: 0,
            newlines: VecDeque::new(),
            line_has_text: false,
            passed: 0,
        }
    }

    /// The line of the record whose reading started at `byte`. The csv reader starts a record where
    /// the previous one ended, before the blank lines it skips, so those are passed too.
    fn line_at(&mut self, byte: u64) -> u64 {
        while let Some(&(nl, blank)) = self.newlines.front() {
            if nl < byte || blank {
                self.newlines.pop_front();
                self.passed += 1;
            } else {
                break;
            }
        }
        self.passed + 1
    }
}

impl<R: Read> Read for LineTracker<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        for (i, &b) in buf[..n].iter().enumerate() {
            if b == b'\n' {
                self.newlines
                    .push_back((self.offset + i as u64, !self.line_has_text));
                self.line_has_text = false;
            } else if b != b'\r' {
                self.line_has_text = true;
            }
        }
        self.offset += n as u64;
        Ok(n)
    }
}

/// MovieLens `::` files: the `csv` crate only splits on single bytes, so lines are split by hand.
fn read_double_colon(path: &Path, mut reader: impl BufRead, state: &mut Text<'_>) -> Result<()> {
    let mut buf = Vec::new();
    let mut line = 0u64;
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| Error::io(path, e))?;
        if n == 0 {
            return Ok(());
        }
        line += 1;
        let text = buf.strip_suffix(b"\n").unwrap_or(&buf);
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        let mut fields = Vec::new();
        let mut start = 0;
        let mut i = 0;
        while i + 1 < text.len() {
            if text[i] == b':' && text[i + 1] == b':' {
                fields.push(&text[start..i]);
                i += 2;
                start = i;
            } else {
                i += 1;
            }
        }
        fields.push(&text[start..]);
        state.record(line, &fields)?;
    }
}

/// Decides the layout on the first non-blank record, then validates every data row.
struct Text<'a> {
    path: &'a Path,
    options: &'a LoadOptions,
    sink: Option<Sink<'a>>,
}

impl<'a> Text<'a> {
    fn record(&mut self, line: u64, fields: &[&[u8]]) -> Result<()> {
        // A whitespace-only line is no row; a row of empty fields is (and is malformed).
        if let [only] = fields
            && only.trim_ascii().is_empty()
        {
            return Ok(());
        }
        if let Some(sink) = &mut self.sink {
            let row = parse_row(&sink.layout, fields);
            return sink.accept(line, row);
        }
        let first: Vec<String> = fields
            .iter()
            .map(|f| String::from_utf8_lossy(f).trim().to_owned())
            .collect();
        let columns = self.options.columns.as_ref();
        let has_header = self
            .options
            .has_header
            .unwrap_or_else(|| looks_like_header(&first, columns));
        let layout = resolve(self.path, &first, has_header, columns)?;
        let mut sink = Sink::new(self.path, layout, self.options)?;
        if !has_header {
            let row = parse_row(&sink.layout, fields);
            sink.accept(line, row)?;
        }
        self.sink = Some(sink);
        Ok(())
    }
}

/// Validates one record against the layout; the error carries the offending column's index.
fn parse_row<'r>(
    layout: &super::layout::Resolved,
    fields: &[&'r [u8]],
) -> std::result::Result<Row<'r>, (usize, RowProblem)> {
    let expected = layout.names.len();
    if fields.len() != expected {
        // Name the first missing column, or the first extra one.
        return Err((
            fields.len().min(expected),
            RowProblem::FieldCount {
                expected,
                got: fields.len(),
            },
        ));
    }
    let text = |i: usize| std::str::from_utf8(fields[i]).map_err(|_| (i, RowProblem::InvalidUtf8));
    let user = parse_id(text(layout.user)?).map_err(|p| (layout.user, p))?;
    let item = parse_id(text(layout.item)?).map_err(|p| (layout.item, p))?;
    let timestamp = parse_timestamp(text(layout.timestamp)?).map_err(|p| (layout.timestamp, p))?;
    let weight = match layout.weight {
        Some(w) => parse_weight(text(w)?).map_err(|p| (w, p))?,
        None => 1.0,
    };
    Ok(Row {
        user,
        item,
        timestamp,
        weight,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_tracker_counts_every_newline() {
        // Records start at bytes 0 ("a"), 2 (blank lines, then "b" on line 4) and 7 ("c", line 5).
        let mut t = LineTracker::new(&b"a\n\r\n\nb\nc"[..]);
        let mut sink = Vec::new();
        t.read_to_end(&mut sink).unwrap();
        assert_eq!(t.line_at(0), 1);
        assert_eq!(t.line_at(2), 4);
        assert_eq!(t.line_at(7), 5);
    }
}
