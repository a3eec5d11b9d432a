//! gzip (Kafka codec 1): a standard gzip stream, like Java's `GZIPOutputStream` writes.

use std::io::Write;

use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;

use super::read_limited;
use crate::error::{Error, Result};

/// Java's `Deflater.DEFAULT_COMPRESSION` maps to zlib level 6.
const DEFAULT_LEVEL: u32 = 6;

/// Compress `data` as one gzip member. `level` is 1..=9, or -1 (Java's `Deflater.DEFAULT_COMPRESSION`) or None for 6.
pub(super) fn compress(data: &[u8], level: Option<i32>) -> Result<Vec<u8>> {
    let level = match level {
        None => DEFAULT_LEVEL,
        Some(-1) => DEFAULT_LEVEL,
        Some(l @ 1..=9) => l.unsigned_abs(),
        Some(l) => {
            return Err(Error::InvalidArgument(format!(
                "gzip compression level must be 1-9 (or -1 for the default), got {l}"
            )))
        }
    };
    let mut enc = GzEncoder::new(
        Vec::with_capacity(data.len() / 2 + 64),
        flate2::Compression::new(level),
    );
    enc.write_all(data)
        .map_err(|e| Error::Compression(format!("gzip: {e}")))?;
    enc.finish()
        .map_err(|e| Error::Compression(format!("gzip: {e}")))
}

/// Decompress a gzip stream (one or more concatenated members), producing at most `limit` bytes.
pub(super) fn decompress(data: &[u8], limit: usize) -> Result<Vec<u8>> {
    read_limited(MultiGzDecoder::new(data), limit, "gzip")
}
