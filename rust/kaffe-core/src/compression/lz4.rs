//! lz4 (Kafka codec 3): the standard LZ4 frame format.
//!
//! Frame layout (LZ4 frame format spec): magic `04 22 4D 18`, then the frame descriptor
//! `FLG BD [content size: 8 bytes if FLG bit 3] [dictionary id: 4 bytes if FLG bit 0] HC`, where
//! `HC = (xxh32(FLG..=last descriptor byte before HC, seed 0) >> 8) & 0xff`, then data blocks.
//!
//! Kafka clients before KAFKA-3160 (used for magic-0 messages) computed HC over the magic
//! number too; [`decompress_legacy`] repairs that byte before decoding.

use std::io::{Read, Write};

use lz4_flex::frame::{BlockMode, BlockSize, FrameDecoder, FrameEncoder, FrameInfo};

use super::limit_exceeded;
use crate::error::{Error, Result};

/// Kafka's accepted lz4 levels (`compression.lz4.level`). lz4_flex has only the fast compressor,
/// so a valid level is accepted and does not change the output.
const LEVELS: std::ops::RangeInclusive<i32> = 1..=17;

const MAGIC: [u8; 4] = [0x04, 0x22, 0x4d, 0x18];
const FLG_CONTENT_SIZE: u8 = 0x08;
const FLG_DICT_ID: u8 = 0x01;
const SKIPPABLE_MAGIC_BASE: u32 = 0x184d_2a50;
const FLG_BLOCK_CHECKSUM: u8 = 0x10;
const FLG_CONTENT_CHECKSUM: u8 = 0x04;

fn lz4_error(e: impl std::fmt::Display) -> Error {
    Error::Compression(format!("lz4: {e}"))
}

/// Compress `data` into one LZ4 frame the way the Java client frames it: independent blocks of
/// at most 64 KiB, no block or content checksums, no content size.
pub(super) fn compress(data: &[u8], level: Option<i32>) -> Result<Vec<u8>> {
    if let Some(level) = level {
        if !LEVELS.contains(&level) {
            return Err(Error::InvalidArgument(format!(
                "lz4 compression level must be 1-17, got {level}"
            )));
        }
    }
    let info = FrameInfo::new()
        .block_size(BlockSize::Max64KB)
        .block_mode(BlockMode::Independent)
        .block_checksums(false)
        .content_checksum(false);
    let mut enc = FrameEncoder::with_frame_info(info, Vec::with_capacity(data.len() / 2 + 64));
    enc.write_all(data).map_err(lz4_error)?;
    enc.finish().map_err(lz4_error)
}

/// Decompress LZ4 frame data (one or more frames; skippable frames are skipped), producing at
/// most `limit` bytes.
pub(super) fn decompress(data: &[u8], limit: usize) -> Result<Vec<u8>> {
    // lz4_flex treats input that ends before a frame's end mark as a clean end of data and stops
    // after one frame, so find and check the frames first: truncated frames must be errors.
    let frames = frame_ranges(data)?;
    let mut out = Vec::new();
    for range in frames {
        let frame = data
            .get(range)
            .ok_or_else(|| lz4_error("frame outside its input"))?;
        decode_frame(frame, limit, &mut out)?;
    }
    Ok(out)
}

/// Decode one complete, structure-checked frame, appending to `out` and keeping
/// `out.len() <= limit`.
fn decode_frame(frame: &[u8], limit: usize, out: &mut Vec<u8>) -> Result<()> {
    let mut decoder = FrameDecoder::new(frame);
    loop {
        let before = decoder.get_ref().len();
        let remaining = limit.saturating_sub(out.len());
        let cap = u64::try_from(remaining)
            .unwrap_or(u64::MAX)
            .saturating_add(1);
        let n = decoder
            .by_ref()
            .take(cap)
            .read_to_end(out)
            .map_err(lz4_error)?;
        if out.len() > limit {
            return Err(limit_exceeded(limit));
        }
        let after = decoder.get_ref().len();
        if after == 0 {
            return Ok(());
        }
        // lz4_flex's reader reports end-of-data after a block that decodes to nothing; carry on
        // with the rest of the frame, as long as input is being consumed.
        if n == 0 && after == before {
            return Err(lz4_error("decoder stopped before the end of the frame"));
        }
    }
}

/// Decompress an LZ4 frame whose header checksum may have been computed the pre-KAFKA-3160 way
/// (over magic + descriptor). Frames with a correct checksum are accepted too. Only the first
/// frame's checksum is repaired (a legacy wrapper message holds one frame).
pub(super) fn decompress_legacy(data: &[u8], limit: usize) -> Result<Vec<u8>> {
    let hc_pos = header_checksum_pos(data)?;
    let descriptor = data
        .get(MAGIC.len()..hc_pos)
        .ok_or_else(|| lz4_error("truncated frame descriptor"))?;
    let correct = header_checksum(descriptor);
    if data.get(hc_pos) == Some(&correct) {
        return decompress(data, limit);
    }
    let mut patched = data.to_vec();
    let slot = patched
        .get_mut(hc_pos)
        .ok_or_else(|| lz4_error("truncated frame descriptor"))?;
    *slot = correct;
    decompress(&patched, limit)
}

fn read_u32_le(data: &[u8], pos: usize) -> Result<u32> {
    let end = pos
        .checked_add(4)
        .ok_or_else(|| lz4_error("length overflow"))?;
    let bytes = data
        .get(pos..end)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .ok_or_else(|| lz4_error("truncated frame"))?;
    Ok(u32::from_le_bytes(bytes))
}

/// Advance `pos` by `n`, failing if that passes the end of `data`.
fn skip(data: &[u8], pos: usize, n: usize) -> Result<usize> {
    match pos.checked_add(n) {
        Some(end) if end <= data.len() => Ok(end),
        _ => Err(lz4_error("truncated frame")),
    }
}

/// Walk the frames in `data` (without decompressing) and return the byte ranges of its standard
/// frames. Every frame must be complete, ending with its end mark (and content checksum if
/// flagged), and nothing but skippable frames may follow the last frame. Only standard and
/// skippable frames are accepted (Kafka never writes the legacy lz4 format).
fn frame_ranges(data: &[u8]) -> Result<Vec<std::ops::Range<usize>>> {
    if data.is_empty() {
        return Err(lz4_error("empty input"));
    }
    let mut frames = Vec::new();
    let mut pos = 0usize;
    while pos < data.len() {
        let start = pos;
        let magic = read_u32_le(data, pos)?;
        if magic & 0xffff_fff0 == SKIPPABLE_MAGIC_BASE {
            let size = read_u32_le(data, pos + 4)?;
            let size = usize::try_from(size).map_err(|_| lz4_error("truncated frame"))?;
            pos = skip(data, pos + 8, size)?;
            continue;
        }
        if magic != u32::from_le_bytes(MAGIC) {
            return Err(lz4_error("not an lz4 frame (bad magic)"));
        }
        let rest = data.get(pos..).unwrap_or_default();
        let hc_pos = header_checksum_pos(rest)?;
        let flg = rest.get(MAGIC.len()).copied().unwrap_or_default();
        let block_checksum = if flg & FLG_BLOCK_CHECKSUM != 0 { 4 } else { 0 };
        pos = skip(data, pos, hc_pos + 1)?;
        loop {
            let word = read_u32_le(data, pos)?;
            pos += 4;
            if word == 0 {
                if flg & FLG_CONTENT_CHECKSUM != 0 {
                    pos = skip(data, pos, 4)?;
                }
                break;
            }
            let size =
                usize::try_from(word & 0x7fff_ffff).map_err(|_| lz4_error("truncated frame"))?;
            pos = skip(data, pos, size)?;
            pos = skip(data, pos, block_checksum)?;
        }
        frames.push(start..pos);
    }
    Ok(frames)
}

/// Position of the HC byte of the frame starting at `data[0]`, bounds-checked.
fn header_checksum_pos(data: &[u8]) -> Result<usize> {
    if !data.starts_with(&MAGIC) {
        return Err(lz4_error("not an lz4 frame (bad magic)"));
    }
    let flg = *data
        .get(MAGIC.len())
        .ok_or_else(|| lz4_error("truncated frame descriptor"))?;
    let mut pos = MAGIC.len() + 2; // FLG, BD
    if flg & FLG_CONTENT_SIZE != 0 {
        pos += 8;
    }
    if flg & FLG_DICT_ID != 0 {
        pos += 4;
    }
    if pos >= data.len() {
        return Err(lz4_error("truncated frame descriptor"));
    }
    Ok(pos)
}

/// The frame descriptor checksum byte: second byte of xxh32(descriptor, seed 0).
fn header_checksum(descriptor: &[u8]) -> u8 {
    (xxh32(descriptor, 0) >> 8) as u8
}

/// XXH32 (xxHash, 32-bit), written from the xxHash specification.
fn xxh32(input: &[u8], seed: u32) -> u32 {
    const P1: u32 = 0x9E37_79B1;
    const P2: u32 = 0x85EB_CA77;
    const P3: u32 = 0xC2B2_AE3D;
    const P4: u32 = 0x27D4_EB2F;
    const P5: u32 = 0x1656_67B1;

    fn lane(bytes: &[u8; 4]) -> u32 {
        u32::from_le_bytes(*bytes)
    }
    fn round(acc: u32, input: u32) -> u32 {
        acc.wrapping_add(input.wrapping_mul(P2))
            .rotate_left(13)
            .wrapping_mul(P1)
    }

    let mut stripes = input.chunks_exact(16);
    let mut acc = if input.len() >= 16 {
        let mut v = [
            seed.wrapping_add(P1).wrapping_add(P2),
            seed.wrapping_add(P2),
            seed,
            seed.wrapping_sub(P1),
        ];
        for stripe in &mut stripes {
            for (v, word) in v.iter_mut().zip(stripe.chunks_exact(4)) {
                let mut w = [0u8; 4];
                w.copy_from_slice(word);
                *v = round(*v, lane(&w));
            }
        }
        v[0].rotate_left(1)
            .wrapping_add(v[1].rotate_left(7))
            .wrapping_add(v[2].rotate_left(12))
            .wrapping_add(v[3].rotate_left(18))
    } else {
        seed.wrapping_add(P5)
    };
    acc = acc.wrapping_add(input.len() as u32);

    let rest = stripes.remainder();
    let mut words = rest.chunks_exact(4);
    for word in &mut words {
        let mut w = [0u8; 4];
        w.copy_from_slice(word);
        acc = acc
            .wrapping_add(lane(&w).wrapping_mul(P3))
            .rotate_left(17)
            .wrapping_mul(P4);
    }
    for &b in words.remainder() {
        acc = acc
            .wrapping_add(u32::from(b).wrapping_mul(P5))
            .rotate_left(11)
            .wrapping_mul(P1);
    }

    acc ^= acc >> 15;
    acc = acc.wrapping_mul(P2);
    acc ^= acc >> 13;
    acc = acc.wrapping_mul(P3);
    acc ^= acc >> 16;
    acc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xxh32_known_values() {
        // Published XXH32 values (xxHash README / sanity tests): empty input, seed 0 and 1.
        assert_eq!(xxh32(b"", 0), 0x02CC_5D05);
        assert_eq!(xxh32(b"", 1), 0x0B2C_B792);
    }

    #[test]
    fn header_checksum_agrees_with_lz4_flex_frames() {
        // lz4_flex writes (and verifies) HC with its own xxh32; our HC must equal its byte for
        // every descriptor shape it produces.
        let sizes = [
            BlockSize::Max64KB,
            BlockSize::Max256KB,
            BlockSize::Max1MB,
            BlockSize::Max4MB,
        ];
        for size in sizes {
            for content_size in [None, Some(5u64)] {
                for checksums in [false, true] {
                    let info = FrameInfo::new()
                        .block_size(size)
                        .content_size(content_size)
                        .block_checksums(checksums)
                        .content_checksum(checksums);
                    let mut enc = FrameEncoder::with_frame_info(info, Vec::new());
                    enc.write_all(b"hello").unwrap();
                    let frame = enc.finish().unwrap();
                    let pos = header_checksum_pos(&frame).unwrap();
                    assert_eq!(frame[pos], header_checksum(&frame[4..pos]));
                }
            }
        }
    }

    #[test]
    fn xxh32_long_input_matches_lz4_flex_content_checksum() {
        // With a content checksum, the frame ends with xxh32(content, 0) little-endian.
        for len in [0usize, 1, 3, 4, 15, 16, 17, 31, 32, 33, 100, 1000, 70_000] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            let info = FrameInfo::new().content_checksum(true);
            let mut enc = FrameEncoder::with_frame_info(info, Vec::new());
            enc.write_all(&data).unwrap();
            let frame = enc.finish().unwrap();
            let tail: [u8; 4] = frame[frame.len() - 4..].try_into().unwrap();
            assert_eq!(xxh32(&data, 0), u32::from_le_bytes(tail), "len {len}");
        }
    }

    #[test]
    fn java_style_frame() {
        let frame = compress(b"kafka kafka kafka", None).unwrap();
        assert_eq!(&frame[..4], &MAGIC);
        // FLG: version 01, block independence, no checksums/content size/dict id.
        assert_eq!(frame[4], 0b0110_0000);
        // BD: 64 KiB max block size.
        assert_eq!(frame[5], 4 << 4);
        assert_eq!(decompress(&frame, 100).unwrap(), b"kafka kafka kafka");
    }

    #[test]
    fn levels() {
        for level in [None, Some(1), Some(9), Some(17)] {
            assert!(compress(b"x", level).is_ok());
        }
        for bad in [0, -1, 18, i32::MAX] {
            assert!(matches!(
                compress(b"x", Some(bad)),
                Err(Error::InvalidArgument(_))
            ));
        }
    }

    /// A frame with the header checksum computed the pre-KAFKA-3160 way (magic included).
    fn kafka_3160_frame(data: &[u8]) -> Vec<u8> {
        let mut frame = compress(data, None).unwrap();
        let pos = header_checksum_pos(&frame).unwrap();
        let wrong = (xxh32(&frame[..pos], 0) >> 8) as u8;
        assert_ne!(
            wrong, frame[pos],
            "test needs a frame where the two checksums differ"
        );
        frame[pos] = wrong;
        frame
    }

    #[test]
    fn legacy_accepts_kafka_3160_checksum() {
        let data = b"legacy magic 0 lz4 payload".repeat(100);
        let frame = kafka_3160_frame(&data);
        assert!(matches!(
            decompress(&frame, 1 << 20),
            Err(Error::Compression(_))
        ));
        assert_eq!(decompress_legacy(&frame, 1 << 20).unwrap(), data);
        // A correct frame is accepted by the legacy reader too.
        let good = compress(&data, None).unwrap();
        assert_eq!(decompress_legacy(&good, 1 << 20).unwrap(), data);
        // The limit still applies.
        assert!(matches!(
            decompress_legacy(&frame, 100),
            Err(Error::Compression(_))
        ));
    }

    #[test]
    fn frame_structure_checks() {
        let data = b"structure structure structure".repeat(5000);
        for checksums in [false, true] {
            let info = FrameInfo::new()
                .block_size(BlockSize::Max64KB)
                .content_size(Some(data.len() as u64))
                .block_checksums(checksums)
                .content_checksum(checksums);
            let mut enc = FrameEncoder::with_frame_info(info, Vec::new());
            enc.write_all(&data).unwrap();
            let frame = enc.finish().unwrap();
            assert_eq!(decompress(&frame, data.len()).unwrap(), data);
            for cut in [3, 5, 10, frame.len() / 2, frame.len() - 4, frame.len() - 1] {
                let r = decompress(&frame[..cut], 1 << 20);
                assert!(matches!(r, Err(Error::Compression(_))), "cut {cut}");
            }
            // Two frames, with a skippable frame between them.
            let mut two = frame.clone();
            two.extend_from_slice(&[0x5a, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3]);
            two.extend_from_slice(&frame);
            let out = decompress(&two, 2 * data.len()).unwrap();
            assert_eq!(out.len(), 2 * data.len());
            assert!(out.starts_with(&data) && out.ends_with(&data));
        }
    }

    #[test]
    fn block_that_decodes_to_nothing_does_not_end_the_frame() {
        // A compressed block holding only a zero token (no literals, no match) decodes to zero
        // bytes; lz4_flex's reader reports that as end of data, the rest must still be read.
        let full = compress(b"hello world hello world", None).unwrap();
        let header_len = header_checksum_pos(&full).unwrap() + 1;
        let mut frame = full[..header_len].to_vec();
        frame.extend_from_slice(&[1, 0, 0, 0, 0x00]);
        frame.extend_from_slice(&full[header_len..]);
        assert_eq!(decompress(&frame, 100).unwrap(), b"hello world hello world");
    }

    #[test]
    fn legacy_rejects_garbage() {
        for bad in [
            &b""[..],
            b"\x04\x22\x4d",
            b"\x04\x22\x4d\x18\x68",
            b"not lz4 at all",
        ] {
            assert!(matches!(
                decompress_legacy(bad, 1 << 20),
                Err(Error::Compression(_))
            ));
        }
    }
}
