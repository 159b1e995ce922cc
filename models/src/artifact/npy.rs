//! A minimal `.npy` writer and reader (NumPy format 1.0, little-endian, C order), so Python can
//! `np.load` the factor matrices and the loader needs no extra dependency.
//!
//! The writer reproduces `np.save`'s header byte for byte (key order, the spare spaces numpy
//! leaves for growing the first axis, padding to 64 bytes). The reader accepts format versions
//! 1 to 3 and checks type, order, shape and length.

use std::path::Path;

use ndarray::{Array1, Array2, ArrayView2};

use crate::error::{Error, Result};

const MAGIC: &[u8] = b"\x93NUMPY";
/// numpy's `ARRAY_ALIGN`.
const ALIGN: usize = 64;
/// numpy's `GROWTH_AXIS_MAX_DIGITS`.
const GROWTH_DIGITS: usize = 21;

/// An element type this module reads and writes.
trait Element: Copy {
    /// numpy's `descr` for it.
    const DESCR: &'static str;
    fn to_le(self) -> [u8; 4];
    fn from_le(bytes: [u8; 4]) -> Self;
}

impl Element for f32 {
    const DESCR: &'static str = "<f4";
    fn to_le(self) -> [u8; 4] {
        self.to_le_bytes()
    }
    fn from_le(bytes: [u8; 4]) -> Self {
        f32::from_le_bytes(bytes)
    }
}

impl Element for u32 {
    const DESCR: &'static str = "<u4";
    fn to_le(self) -> [u8; 4] {
        self.to_le_bytes()
    }
    fn from_le(bytes: [u8; 4]) -> Self {
        u32::from_le_bytes(bytes)
    }
}

/// Python's `repr` of a shape tuple.
fn shape_repr(shape: &[usize]) -> String {
    match shape {
        [n] => format!("({n},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn encode<T: Element>(shape: &[usize], values: impl Iterator<Item = T>) -> Vec<u8> {
    let mut header = format!(
        "{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}",
        T::DESCR,
        shape_repr(shape)
    );
    if let Some(first) = shape.first() {
        let digits = first.to_string().len();
        header.push_str(&" ".repeat(GROWTH_DIGITS.saturating_sub(digits)));
    }
    let hlen = header.len() + 1;
    let pad = ALIGN - (MAGIC.len() + 4 + hlen) % ALIGN;
    let header_len =
        u16::try_from(hlen + pad).expect("a header for at most two axes is far below 64 KiB");
    let mut out = Vec::with_capacity(MAGIC.len() + 4 + hlen + pad + 4 * values.size_hint().0);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&header_len.to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend(std::iter::repeat_n(b' ', pad));
    out.push(b'\n');
    for v in values {
        out.extend_from_slice(&v.to_le());
    }
    out
}

/// The `.npy` bytes of an `f32` matrix (written in C order whatever the view's layout).
pub(crate) fn encode_f32_matrix(a: ArrayView2<'_, f32>) -> Vec<u8> {
    let (rows, cols) = a.dim();
    // `iter` visits elements in logical (row-major) order for any layout.
    encode(&[rows, cols], a.iter().copied())
}

/// The `.npy` bytes of an `f32` vector.
pub(crate) fn encode_f32_vector(v: &[f32]) -> Vec<u8> {
    encode(&[v.len()], v.iter().copied())
}

/// The `.npy` bytes of a `u32` vector.
pub(crate) fn encode_u32_vector(v: &[u32]) -> Vec<u8> {
    encode(&[v.len()], v.iter().copied())
}

/// Reads an `f32` matrix.
///
/// # Errors
///
/// [`Error::Npy`] if the bytes are not a C-order `<f4` 2-D array.
pub(crate) fn decode_f32_matrix(bytes: &[u8], path: &Path) -> Result<Array2<f32>> {
    let (shape, values) = decode::<f32>(bytes, path, 2)?;
    Ok(Array2::from_shape_vec((shape[0], shape[1]), values).expect("length checked against shape"))
}

/// Reads an `f32` vector.
///
/// # Errors
///
/// [`Error::Npy`] if the bytes are not a `<f4` 1-D array.
pub(crate) fn decode_f32_vector(bytes: &[u8], path: &Path) -> Result<Array1<f32>> {
    let (_, values) = decode::<f32>(bytes, path, 1)?;
    Ok(Array1::from(values))
}

/// Reads a `u32` vector.
///
/// # Errors
///
/// [`Error::Npy`] if the bytes are not a `<u4` 1-D array.
pub(crate) fn decode_u32_vector(bytes: &[u8], path: &Path) -> Result<Array1<u32>> {
    let (_, values) = decode::<u32>(bytes, path, 1)?;
    Ok(Array1::from(values))
}

fn decode<T: Element>(bytes: &[u8], path: &Path, ndim: usize) -> Result<(Vec<usize>, Vec<T>)> {
    let bad = |reason: String| Error::Npy {
        path: path.to_path_buf(),
        reason,
    };
    let rest = bytes
        .strip_prefix(MAGIC)
        .ok_or_else(|| bad("not an npy file (bad magic)".into()))?;
    let (version, rest) = rest
        .split_at_checked(2)
        .ok_or_else(|| bad("truncated header".into()))?;
    let (header_len, rest) = match version[0] {
        1 => rest
            .split_at_checked(2)
            .map(|(l, r)| (usize::from(u16::from_le_bytes([l[0], l[1]])), r)),
        2 | 3 => rest.split_at_checked(4).map(|(l, r)| {
            let len = u32::from_le_bytes([l[0], l[1], l[2], l[3]]);
            (usize::try_from(len).unwrap_or(usize::MAX), r)
        }),
        v => return Err(bad(format!("unsupported format version {v}"))),
    }
    .ok_or_else(|| bad("truncated header".into()))?;
    let (header, data) = rest
        .split_at_checked(header_len)
        .ok_or_else(|| bad("truncated header".into()))?;
    let header = std::str::from_utf8(header).map_err(|_| bad("header is not text".into()))?;
    let header = parse_header(header).map_err(|e| bad(format!("header: {e}")))?;

    if header.descr != T::DESCR {
        return Err(bad(format!(
            "dtype {:?}, expected {:?}",
            header.descr,
            T::DESCR
        )));
    }
    if header.fortran_order {
        return Err(bad("Fortran order is not supported".into()));
    }
    if header.shape.len() != ndim {
        return Err(bad(format!(
            "{} dimensions, expected {ndim}",
            header.shape.len()
        )));
    }
    let count = header
        .shape
        .iter()
        .try_fold(1usize, |acc, &n| acc.checked_mul(n))
        .ok_or_else(|| bad("shape overflows".into()))?;
    if Some(data.len()) != count.checked_mul(4) {
        return Err(bad(format!(
            "{} data bytes for shape {:?}",
            data.len(),
            header.shape
        )));
    }
    let values = data
        .chunks_exact(4)
        .map(|c| T::from_le([c[0], c[1], c[2], c[3]]))
        .collect();
    Ok((header.shape, values))
}

#[derive(Debug, Default)]
struct Header {
    descr: String,
    fortran_order: bool,
    shape: Vec<usize>,
}

/// Parses the Python dict literal of an npy header:
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`.
fn parse_header(text: &str) -> std::result::Result<Header, String> {
    let mut p = Parser {
        s: text.trim_end().as_bytes(),
        i: 0,
    };
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    p.expect(b'{')?;
    loop {
        p.skip_ws();
        if p.eat(b'}') {
            break;
        }
        let key = p.string()?;
        p.skip_ws();
        p.expect(b':')?;
        p.skip_ws();
        match key.as_str() {
            "descr" => descr = Some(p.string()?),
            "fortran_order" => fortran = Some(p.boolean()?),
            "shape" => shape = Some(p.tuple()?),
            other => return Err(format!("unexpected key {other:?}")),
        }
        p.skip_ws();
        if !p.eat(b',') {
            p.skip_ws();
            p.expect(b'}')?;
            break;
        }
    }
    p.skip_ws();
    if p.i != p.s.len() {
        return Err("text after the dictionary".into());
    }
    Ok(Header {
        descr: descr.ok_or("missing 'descr'")?,
        fortran_order: fortran.ok_or("missing 'fortran_order'")?,
        shape: shape.ok_or("missing 'shape'")?,
    })
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        let hit = self.peek() == Some(c);
        if hit {
            self.i += 1;
        }
        hit
    }

    fn expect(&mut self, c: u8) -> std::result::Result<(), String> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(format!("expected {:?} at {}", c as char, self.i))
        }
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            self.i += 1;
        }
    }

    fn string(&mut self) -> std::result::Result<String, String> {
        let quote = self
            .peek()
            .filter(|&c| c == b'\'' || c == b'"')
            .ok_or_else(|| format!("expected a string at {}", self.i))?;
        self.i += 1;
        let start = self.i;
        while self.peek().is_some_and(|c| c != quote) {
            self.i += 1;
        }
        let value = String::from_utf8_lossy(&self.s[start..self.i]).into_owned();
        self.expect(quote)?;
        Ok(value)
    }

    fn boolean(&mut self) -> std::result::Result<bool, String> {
        for (word, value) in [("True", true), ("False", false)] {
            if self.s[self.i..].starts_with(word.as_bytes()) {
                self.i += word.len();
                return Ok(value);
            }
        }
        Err(format!("expected True or False at {}", self.i))
    }

    fn tuple(&mut self) -> std::result::Result<Vec<usize>, String> {
        self.expect(b'(')?;
        let mut items = Vec::new();
        loop {
            self.skip_ws();
            if self.eat(b')') {
                return Ok(items);
            }
            let start = self.i;
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.i += 1;
            }
            let digits = std::str::from_utf8(&self.s[start..self.i]).expect("ASCII digits");
            items.push(
                digits
                    .parse()
                    .map_err(|_| format!("expected a dimension at {start}"))?,
            );
            self.skip_ws();
            if !self.eat(b',') {
                self.skip_ws();
                self.expect(b')')?;
                return Ok(items);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    /// `np.save` of `np.arange(6, dtype='<f4').reshape(2, 3)`, header part (numpy 2.4).
    const NUMPY_F32_2X3_HEADER: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }                                                          \n";
    /// `np.save` of `np.array([3, 1, 2], dtype='<u4')`, header part.
    const NUMPY_U32_3_HEADER: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '<u4', 'fortran_order': False, 'shape': (3,), }                                                            \n";

    #[test]
    fn writes_numpy_identical_headers() {
        let a = array![[0.0f32, 1.0, 2.0], [3.0, 4.0, 5.0]];
        let bytes = encode_f32_matrix(a.view());
        assert_eq!(&bytes[..128], NUMPY_F32_2X3_HEADER);
        assert_eq!(bytes.len(), 128 + 24);
        assert_eq!(&bytes[128..132], &0.0f32.to_le_bytes());
        assert_eq!(&bytes[132..136], &1.0f32.to_le_bytes());
        let v = encode_u32_vector(&[3, 1, 2]);
        assert_eq!(&v[..128], NUMPY_U32_3_HEADER);
        assert_eq!(&v[128..], &[3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0]);
    }

    #[test]
    fn headers_are_aligned_for_every_shape() {
        for rows in [0, 1, 9, 10, 99_999, 12_345_678_901] {
            let bytes = encode::<f32>(&[rows, 64], std::iter::empty());
            let header_len = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
            assert_eq!((10 + header_len) % ALIGN, 0, "rows={rows}");
            assert_eq!(bytes[9 + header_len], b'\n');
        }
    }

    #[test]
    fn roundtrips_matrices_and_vectors() {
        let path = Path::new("x.npy");
        let a = array![[1.5f32, -2.0], [f32::MAX, 0.0], [1e-30, 7.0]];
        assert_eq!(
            decode_f32_matrix(&encode_f32_matrix(a.view()), path).unwrap(),
            a
        );
        // A transposed view is written in logical C order.
        let t = a.t();
        assert_eq!(
            decode_f32_matrix(&encode_f32_matrix(t), path).unwrap(),
            t.to_owned()
        );
        let empty = Array2::<f32>::zeros((0, 4));
        assert_eq!(
            decode_f32_matrix(&encode_f32_matrix(empty.view()), path).unwrap(),
            empty
        );
        let f = vec![0.5f32, -1.0, f32::MIN_POSITIVE];
        assert_eq!(
            decode_f32_vector(&encode_f32_vector(&f), path)
                .unwrap()
                .to_vec(),
            f
        );
        let v = vec![0u32, 7, u32::MAX];
        assert_eq!(
            decode_u32_vector(&encode_u32_vector(&v), path)
                .unwrap()
                .to_vec(),
            v
        );
    }

    #[test]
    fn reads_numpy_variants_of_the_header() {
        // Version 2 (4-byte header length), double quotes, no trailing comma, extra spaces.
        let text = b"{\"descr\": '<f4', 'shape': ( 1 , 2 ),'fortran_order':False}\n";
        let mut bytes = b"\x93NUMPY\x02\x00".to_vec();
        bytes.extend_from_slice(&(text.len() as u32).to_le_bytes());
        bytes.extend_from_slice(text);
        bytes.extend_from_slice(&1.0f32.to_le_bytes());
        bytes.extend_from_slice(&2.0f32.to_le_bytes());
        let a = decode_f32_matrix(&bytes, Path::new("v2.npy")).unwrap();
        assert_eq!(a, array![[1.0f32, 2.0]]);
    }

    fn npy_error(bytes: &[u8]) -> String {
        match decode_f32_matrix(bytes, Path::new("bad.npy")) {
            Err(Error::Npy { reason, .. }) => reason,
            other => panic!("expected an npy error, got {other:?}"),
        }
    }

    #[test]
    fn rejects_malformed_files() {
        let good = encode_f32_matrix(array![[1.0f32, 2.0]].view());
        assert!(npy_error(b"PK\x03\x04").contains("magic"));
        assert!(npy_error(&good[..9]).contains("truncated"));
        assert!(npy_error(&good[..good.len() - 1]).contains("data bytes"));
        let mut extra = good.clone();
        extra.push(0);
        assert!(npy_error(&extra).contains("data bytes"));
        let mut version = good.clone();
        version[6] = 9;
        assert!(npy_error(&version).contains("version"));

        let u = encode_u32_vector(&[1, 2]);
        assert!(npy_error(&u).contains("dtype"));
        let one_d = encode::<f32>(&[2], [1.0f32, 2.0].into_iter());
        assert!(npy_error(&one_d).contains("dimensions"));
        let mut fortran = good.clone();
        let at = fortran.windows(5).position(|w| w == b"False").unwrap();
        fortran[at..at + 5].copy_from_slice(b"True ");
        assert!(npy_error(&fortran).contains("Fortran"));
        let mut garbled = good;
        garbled[20] = b'!';
        assert!(npy_error(&garbled).contains("header"));
    }
}
