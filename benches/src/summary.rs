//! Numbers that are not criterion timings (recall, latency percentiles, one-off build times),
//! written as JSON and a markdown table for BENCHMARKS.md, and vectors dumped for the Python
//! comparison scripts in `benches/compare/`.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use ndarray::ArrayView2;

/// Environment variable naming the directory summaries are written to. Default: criterion's
/// output directory, `<target>/criterion`.
pub const OUT_DIR_ENV: &str = "SOCIAL_LIVE_BENCH_OUT";

/// The directory summaries go to: `$SOCIAL_LIVE_BENCH_OUT`, else `$CARGO_TARGET_DIR/criterion`,
/// else the workspace's `target/criterion`.
pub fn out_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os(OUT_DIR_ENV) {
        return PathBuf::from(dir);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("criterion")
}

/// Writes `<out_dir>/<name>.json` and `<out_dir>/<name>.md` and returns their paths.
///
/// # Errors
/// I/O errors creating the directory or writing the files.
pub fn write(name: &str, json: &serde_json::Value, markdown: &str) -> io::Result<[PathBuf; 2]> {
    let dir = out_dir();
    fs::create_dir_all(&dir)?;
    let json_path = dir.join(format!("{name}.json"));
    let md_path = dir.join(format!("{name}.md"));
    fs::write(&json_path, serde_json::to_string_pretty(json)? + "\n")?;
    fs::write(&md_path, markdown)?;
    Ok([json_path, md_path])
}

/// The `p`-th percentile (0..=100) of `samples` by the nearest-rank rule; zero when empty.
pub fn percentile(samples: &[Duration], p: f64) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Latency statistics of one series of requests, in microseconds.
pub fn latency_json(samples: &[Duration]) -> serde_json::Value {
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let mean = if samples.is_empty() {
        0.0
    } else {
        samples.iter().map(|&d| us(d)).sum::<f64>() / samples.len() as f64
    };
    serde_json::json!({
        "requests": samples.len(),
        "mean_us": mean,
        "p50_us": us(percentile(samples, 50.0)),
        "p90_us": us(percentile(samples, 90.0)),
        "p99_us": us(percentile(samples, 99.0)),
        "max_us": us(percentile(samples, 100.0)),
    })
}

/// Writes `a` as a NumPy `.npy` file (format 1.0, little-endian `f32`, C order), readable with
/// `numpy.load`.
///
/// # Errors
/// I/O errors.
pub fn write_npy_f32(path: &Path, a: ArrayView2<'_, f32>) -> io::Result<()> {
    let mut header = format!(
        "{{'descr': '<f4', 'fortran_order': False, 'shape': ({}, {}), }}",
        a.nrows(),
        a.ncols()
    );
    // Magic (6) + version (2) + header length (2) + header, padded with spaces and ended by a
    // newline to a multiple of 64 bytes.
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    header.push('\n');
    let mut out = io::BufWriter::new(fs::File::create(path)?);
    out.write_all(b"\x93NUMPY\x01\x00")?;
    out.write_all(&(header.len() as u16).to_le_bytes())?;
    out.write_all(header.as_bytes())?;
    for x in a.as_standard_layout().iter() {
        out.write_all(&x.to_le_bytes())?;
    }
    out.flush()
}

/// Reads a 2-d NumPy `.npy` file of little-endian `f32` (`'<f4'`) or `i32` (`'<i4'`, converted
/// to `f32` exactly below 2^24) in C order, as NumPy's `np.save` writes it (format 1.0 or 2.0).
///
/// # Errors
/// I/O errors, and `InvalidData` for any other layout or element type.
pub fn read_npy_f32(path: &Path) -> io::Result<ndarray::Array2<f32>> {
    let bytes = fs::read(path)?;
    let bad = |why: &str| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: {why}", path.display()),
        )
    };
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(bad("not an .npy file"));
    }
    let (len, start) = match bytes[6] {
        1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
        _ if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        _ => return Err(bad("truncated header")),
    };
    let header = std::str::from_utf8(
        bytes
            .get(start..start + len)
            .ok_or_else(|| bad("truncated header"))?,
    )
    .map_err(|_| bad("header is not UTF-8"))?;
    if header.contains("'fortran_order': True") {
        return Err(bad("Fortran order"));
    }
    let int = header.contains("'<i4'");
    if !int && !header.contains("'<f4'") {
        return Err(bad("element type is neither <f4 nor <i4"));
    }
    let shape = header
        .split("'shape': (")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .ok_or_else(|| bad("no shape"))?;
    let dims: Vec<usize> = shape
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|_| bad("bad shape")))
        .collect::<io::Result<_>>()?;
    let [rows, cols] = dims[..] else {
        return Err(bad("not 2-d"));
    };
    let data = &bytes[start + len..];
    if data.len() != rows * cols * 4 {
        return Err(bad("data length differs from the shape"));
    }
    let values = data
        .chunks_exact(4)
        .map(|c| {
            let b = [c[0], c[1], c[2], c[3]];
            if int {
                i32::from_le_bytes(b) as f32
            } else {
                f32::from_le_bytes(b)
            }
        })
        .collect();
    ndarray::Array2::from_shape_vec((rows, cols), values).map_err(|_| bad("bad shape"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let samples: Vec<Duration> = (1..=100).rev().map(Duration::from_micros).collect();
        assert_eq!(percentile(&samples, 50.0), Duration::from_micros(50));
        assert_eq!(percentile(&samples, 99.0), Duration::from_micros(99));
        assert_eq!(percentile(&samples, 100.0), Duration::from_micros(100));
        assert_eq!(percentile(&samples, 0.0), Duration::from_micros(1));
        assert_eq!(percentile(&[], 50.0), Duration::ZERO);
    }

    #[test]
    fn npy_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.npy");
        let a = ndarray::array![[1.0f32, -2.5, 3.0], [0.0, 4.0, 1e-3]];
        write_npy_f32(&path, a.view()).unwrap();
        assert_eq!(read_npy_f32(&path).unwrap(), a);
        std::fs::write(&path, b"not numpy").unwrap();
        assert!(read_npy_f32(&path).is_err());
    }

    #[test]
    fn npy_header_is_aligned() {
        let dir = std::env::temp_dir().join(format!("npy-test-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.npy");
        let a = ndarray::Array2::from_shape_vec((2, 3), vec![1.0f32, 2., 3., 4., 5., 6.]).unwrap();
        write_npy_f32(&path, a.view()).unwrap();
        let bytes = fs::read(&path).unwrap();
        let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        assert_eq!((10 + header_len) % 64, 0);
        assert_eq!(bytes.len(), 10 + header_len + 6 * 4);
        assert_eq!(
            &bytes[10 + header_len..10 + header_len + 4],
            &1.0f32.to_le_bytes()
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
