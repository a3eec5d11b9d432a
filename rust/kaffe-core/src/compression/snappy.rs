//! snappy (Kafka codec 2).
//!
//! The Java client writes snappy through xerial's `SnappyOutputStream`, which frames the data:
//!
//! ```text
//! magic   0x82 'S' 'N' 'A' 'P' 'P' 'Y' 0x00      (8 bytes)
//! version i32 big-endian = 1
//! compat  i32 big-endian = 1
//! then, repeated until the end of the input:
//!   length i32 big-endian, followed by `length` bytes of one raw snappy block
//! ```
//!
//! Each block holds at most 32 KiB of uncompressed input. Some producers (librdkafka, old
//! clients) write one raw snappy block without framing; the decoder accepts both, like xerial's
//! `SnappyInputStream` does.

use super::limit_exceeded;
use crate::error::{Error, Result};

/// xerial's stream magic.
const XERIAL_MAGIC: [u8; 8] = [0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0];
/// Magic + version + compatible version.
const XERIAL_HEADER_LEN: usize = 16;
/// xerial's stream format version and minimum compatible version, as written.
const XERIAL_VERSION: i32 = 1;
const XERIAL_COMPAT_VERSION: i32 = 1;
/// Uncompressed bytes per xerial block (xerial's default block size).
const XERIAL_BLOCK_SIZE: usize = 32 * 1024;

fn snap_error(e: snap::Error) -> Error {
    Error::Compression(format!("snappy: {e}"))
}

/// Compress `data` with xerial framing, exactly like the Java client's snappy output.
pub(super) fn compress_xerial(data: &[u8]) -> Result<Vec<u8>> {
    let blocks = data.len().div_ceil(XERIAL_BLOCK_SIZE);
    let estimate = XERIAL_HEADER_LEN
        .saturating_add(blocks.saturating_mul(4))
        .saturating_add(data.len() / 2);
    let mut out = Vec::with_capacity(estimate);
    out.extend_from_slice(&XERIAL_MAGIC);
    out.extend_from_slice(&XERIAL_VERSION.to_be_bytes());
    out.extend_from_slice(&XERIAL_COMPAT_VERSION.to_be_bytes());
    let mut encoder = snap::raw::Encoder::new();
    let mut scratch = vec![0u8; snap::raw::max_compress_len(XERIAL_BLOCK_SIZE.min(data.len()))];
    for chunk in data.chunks(XERIAL_BLOCK_SIZE) {
        let n = encoder.compress(chunk, &mut scratch).map_err(snap_error)?;
        let block = scratch
            .get(..n)
            .ok_or_else(|| Error::Compression("snappy: encoder overran its buffer".into()))?;
        let len =
            i32::try_from(n).map_err(|_| Error::Compression("snappy: block too large".into()))?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(block);
    }
    Ok(out)
}

/// Compress `data` as one raw snappy block (no framing).
pub(super) fn compress_raw(data: &[u8]) -> Result<Vec<u8>> {
    snap::raw::Encoder::new()
        .compress_vec(data)
        .map_err(snap_error)
}

/// Decompress xerial-framed or raw snappy data, producing at most `limit` bytes.
pub(super) fn decompress(data: &[u8], limit: usize) -> Result<Vec<u8>> {
    if data.starts_with(&XERIAL_MAGIC) {
        decompress_xerial(data, limit)
    } else {
        let mut out = Vec::new();
        decompress_block_into(data, limit, &mut out)?;
        Ok(out)
    }
}

/// Decode the xerial stream in `data` (which starts with the magic).
fn decompress_xerial(data: &[u8], limit: usize) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = data;
    loop {
        // A stream may be several xerial streams concatenated (xerial's reader accepts a
        // header where a block length is expected; a header's first byte 0x82 would be a
        // negative length, so this is unambiguous).
        if rest.starts_with(&XERIAL_MAGIC) {
            rest = rest
                .get(XERIAL_HEADER_LEN..)
                .ok_or_else(|| Error::Compression("snappy: truncated xerial header".into()))?;
            continue;
        }
        let Some((len_bytes, after_len)) = rest.split_first_chunk::<4>() else {
            if rest.is_empty() {
                return Ok(out);
            }
            return Err(Error::Compression(
                "snappy: truncated xerial block length".into(),
            ));
        };
        let len = i32::from_be_bytes(*len_bytes);
        let len = usize::try_from(len).map_err(|_| {
            Error::Compression(format!("snappy: negative xerial block length {len}"))
        })?;
        let block = after_len.get(..len).ok_or_else(|| {
            Error::Compression(format!(
                "snappy: xerial block length {len} exceeds the {} remaining bytes",
                after_len.len()
            ))
        })?;
        decompress_block_into(block, limit, &mut out)?;
        rest = after_len.get(len..).unwrap_or_default();
    }
}

/// Decompress one raw snappy block and append it to `out`, keeping `out.len() <= limit`. The
/// block's declared length is checked against the remaining limit before anything is allocated.
fn decompress_block_into(block: &[u8], limit: usize, out: &mut Vec<u8>) -> Result<()> {
    let n = snap::raw::decompress_len(block).map_err(snap_error)?;
    let start = out.len();
    let remaining = limit.saturating_sub(start);
    if n > remaining {
        return Err(limit_exceeded(limit));
    }
    let end = start.checked_add(n).ok_or_else(|| limit_exceeded(limit))?;
    out.resize(end, 0);
    let dst = out
        .get_mut(start..)
        .ok_or_else(|| Error::Compression("snappy: output buffer error".into()))?;
    let written = snap::raw::Decoder::new()
        .decompress(block, dst)
        .map_err(snap_error)?;
    out.truncate(start.saturating_add(written));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xerial_header_layout() {
        let out = compress_xerial(b"hello hello hello hello").unwrap();
        assert_eq!(&out[..8], &[0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0]);
        assert_eq!(&out[8..12], &[0, 0, 0, 1]);
        assert_eq!(&out[12..16], &[0, 0, 0, 1]);
        let len = i32::from_be_bytes(out[16..20].try_into().unwrap()) as usize;
        assert_eq!(out.len(), 20 + len);
        assert_eq!(
            snap::raw::Decoder::new()
                .decompress_vec(&out[20..])
                .unwrap(),
            b"hello hello hello hello"
        );
    }

    #[test]
    fn xerial_blocks_hold_32k_each() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let out = compress_xerial(&data).unwrap();
        let mut rest = &out[16..];
        let mut sizes = Vec::new();
        while !rest.is_empty() {
            let len = i32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
            sizes.push(snap::raw::decompress_len(&rest[4..4 + len]).unwrap());
            rest = &rest[4 + len..];
        }
        assert_eq!(sizes, vec![32768, 32768, 32768, 100_000 - 3 * 32768]);
    }

    #[test]
    fn empty_input_is_header_only() {
        let out = compress_xerial(b"").unwrap();
        assert_eq!(out.len(), 16);
        assert_eq!(decompress(&out, 0).unwrap(), b"");
    }

    #[test]
    fn raw_block_accepted() {
        let raw = compress_raw(b"raw snappy raw snappy raw snappy").unwrap();
        assert_eq!(
            decompress(&raw, 1024).unwrap(),
            b"raw snappy raw snappy raw snappy"
        );
    }

    #[test]
    fn concatenated_xerial_streams() {
        let mut data = compress_xerial(b"first ").unwrap();
        data.extend(compress_xerial(b"second").unwrap());
        assert_eq!(decompress(&data, 1024).unwrap(), b"first second");
    }

    #[test]
    fn block_length_beyond_input_is_error() {
        let mut out = compress_xerial(b"some data some data").unwrap();
        out[16..20].copy_from_slice(&1000i32.to_be_bytes());
        assert!(matches!(
            decompress(&out, 1 << 20),
            Err(Error::Compression(_))
        ));
        let mut neg = compress_xerial(b"x").unwrap();
        neg[16..20].copy_from_slice(&(-5i32).to_be_bytes());
        assert!(matches!(
            decompress(&neg, 1 << 20),
            Err(Error::Compression(_))
        ));
        let truncated = &XERIAL_MAGIC[..];
        assert!(matches!(
            decompress(truncated, 10),
            Err(Error::Compression(_))
        ));
        let mut partial_len = compress_xerial(b"").unwrap();
        partial_len.extend_from_slice(&[0, 0]);
        assert!(matches!(
            decompress(&partial_len, 10),
            Err(Error::Compression(_))
        ));
    }

    #[test]
    fn declared_length_checked_before_allocating() {
        // A raw block whose varint header claims 2^32-1 bytes, with no data behind it.
        let bomb = [0xff, 0xff, 0xff, 0xff, 0x0f];
        assert!(matches!(
            decompress(&bomb, 1 << 20),
            Err(Error::Compression(_))
        ));
    }
}
