//! zstd (Kafka codec 4): zstd frames (one or more, concatenated).

use std::io::Write;

use super::read_limited;
use crate::error::{Error, Result};

/// The Java client's default zstd level (zstd's own default).
const DEFAULT_LEVEL: i32 = 3;
/// The largest level zstd accepts (`ZSTD_maxCLevel()`).
const MAX_LEVEL: i32 = 22;
/// The smallest (fastest) level zstd accepts (`ZSTD_minCLevel()`, -(1 << 17)).
const MIN_LEVEL: i32 = -(1 << 17);

/// Compress `data` into one zstd frame. `level` is -131072..=22 (None = 3, 0 = zstd's default).
pub(super) fn compress(data: &[u8], level: Option<i32>) -> Result<Vec<u8>> {
    let level = match level {
        None => DEFAULT_LEVEL,
        Some(l) if (MIN_LEVEL..=MAX_LEVEL).contains(&l) => l,
        Some(l) => {
            return Err(Error::InvalidArgument(format!(
                "zstd compression level must be {MIN_LEVEL}..={MAX_LEVEL}, got {l}"
            )))
        }
    };
    let err = |e: std::io::Error| Error::Compression(format!("zstd: {e}"));
    let mut enc = zstd::stream::write::Encoder::new(Vec::with_capacity(data.len() / 2 + 64), level)
        .map_err(err)?;
    // Record the content size in the frame header, as zstd-jni's one-shot API does.
    let size = u64::try_from(data.len()).unwrap_or(u64::MAX);
    enc.set_pledged_src_size(Some(size)).map_err(err)?;
    enc.write_all(data).map_err(err)?;
    enc.finish().map_err(err)
}

/// Decompress zstd data (concatenated frames allowed), producing at most `limit` bytes.
///
/// The frame header's content size is never used to pre-allocate: output grows only as data is
/// decoded. The window size a frame may request is capped by zstd's default limit (2^27 bytes).
pub(super) fn decompress(data: &[u8], limit: usize) -> Result<Vec<u8>> {
    let decoder = zstd::stream::read::Decoder::with_buffer(data)
        .map_err(|e| Error::Compression(format!("zstd: {e}")))?;
    read_limited(decoder, limit, "zstd")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels() {
        let data = vec![7u8; 10_000];
        for level in [
            None,
            Some(1),
            Some(0),
            Some(-5),
            Some(MIN_LEVEL),
            Some(19),
            Some(22),
        ] {
            let c = compress(&data, level).unwrap();
            assert_eq!(decompress(&c, data.len()).unwrap(), data, "level {level:?}");
        }
        for bad in [23, MIN_LEVEL - 1, i32::MAX, i32::MIN] {
            assert!(matches!(
                compress(&data, Some(bad)),
                Err(Error::InvalidArgument(_))
            ));
        }
    }

    #[test]
    fn frame_magic() {
        let c = compress(b"abc", None).unwrap();
        assert_eq!(&c[..4], &[0x28, 0xb5, 0x2f, 0xfd]);
    }

    #[test]
    fn concatenated_frames() {
        let mut c = compress(b"one ", None).unwrap();
        c.extend(compress(b"two", Some(9)).unwrap());
        assert_eq!(decompress(&c, 100).unwrap(), b"one two");
    }

    #[test]
    fn limit_holds_with_and_without_content_size() {
        let data = vec![0u8; 1 << 20];
        let sized = compress(&data, None).unwrap();
        let mut enc = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
        enc.write_all(&data).unwrap();
        let unsized_frame = enc.finish().unwrap();
        for frame in [&sized, &unsized_frame] {
            assert!(matches!(
                decompress(frame, 1000),
                Err(Error::Compression(_))
            ));
            assert!(matches!(
                decompress(frame, (1 << 20) - 1),
                Err(Error::Compression(_))
            ));
            assert_eq!(decompress(frame, 1 << 20).unwrap().len(), 1 << 20);
        }
    }

    #[test]
    fn lying_content_size_is_an_error_not_an_allocation() {
        let sized = compress(b"tiny payload", None).unwrap();
        // Frame header descriptor: bits 7-6 = content-size field size, bit 5 = single segment.
        let fhd = sized[4];
        assert_eq!(fhd & 0x20, 0x20, "small frames are single-segment");
        assert_eq!(fhd >> 6, 0, "a 12-byte content size fits the 1-byte field");
        // Claim 255 bytes of content although the frame holds 12.
        let mut lying = sized.clone();
        lying[5] = 0xff;
        assert!(matches!(
            decompress(&lying, 1 << 30),
            Err(Error::Compression(_))
        ));
    }

    #[test]
    fn truncated_frame_is_error() {
        let c = compress(&vec![1u8; 5000], None).unwrap();
        for cut in [1, 4, 6, c.len() - 1] {
            assert!(matches!(
                decompress(&c[..cut], 1 << 20),
                Err(Error::Compression(_))
            ));
        }
    }
}
