//! Decoding of legacy message sets (magic 0 and 1).
//!
//! Layout of one message: offset int64, messageSize int32, crc uint32 (CRC32 over magic..end),
//! magic int8, attributes int8, timestamp int64 (magic 1 only), key bytes, value bytes (int32
//! length, -1 = null). A compressed message ("wrapper") holds a whole message set in its value;
//! it is expanded here, one level deep.

use std::borrow::Cow;
use std::fmt;

use super::batch_header::{i32_at, i64_at, u32_at, BatchHeader, LOG_OVERHEAD, MAGIC_OFFSET};
use super::{DecodeOptions, DecodedBatch, RecordSpan, Span};
use crate::compression::{self, Compression};
use crate::error::{Error, Result};

/// crc + magic + attributes + key length + value length.
pub(crate) const MIN_MESSAGE_SIZE_V0: usize = 4 + 1 + 1 + 4 + 4;
/// v0 + timestamp.
pub(crate) const MIN_MESSAGE_SIZE_V1: usize = MIN_MESSAGE_SIZE_V0 + 8;

const CODEC_MASK: u8 = 0x07;
const TIMESTAMP_TYPE_BIT: u8 = 0x08;

/// One parsed message; spans index the buffer it was parsed from.
struct Message {
    offset: i64,
    size: i32,
    crc: u32,
    magic: u8,
    attributes: u8,
    timestamp: i64,
    key: Option<Span>,
    value: Option<Span>,
}

/// Parse the message occupying exactly `buf[start..end]` (`end - start` = 12 + messageSize).
fn parse_message(buf: &[u8], start: usize, end: usize) -> std::result::Result<Message, String> {
    let msg = buf.get(..end).ok_or("message runs past its buffer")?;
    let offset = i64_at(msg, start).ok_or("truncated offset")?;
    let size = i32_at(msg, start + 8).ok_or("truncated message size")?;
    let crc = u32_at(msg, start + 12).ok_or("truncated crc")?;
    let magic = *msg.get(start + MAGIC_OFFSET).ok_or("truncated magic")?;
    let attributes = *msg
        .get(start + MAGIC_OFFSET + 1)
        .ok_or("truncated attributes")?;
    let min = match magic {
        0 => MIN_MESSAGE_SIZE_V0,
        1 => MIN_MESSAGE_SIZE_V1,
        other => return Err(format!("unknown magic byte {}", other as i8)),
    };
    if usize::try_from(size).map_or(true, |s| s < min) {
        return Err(format!(
            "magic {magic} message size {size} is smaller than {min}"
        ));
    }
    let mut pos = start + MAGIC_OFFSET + 2;
    let timestamp = if magic == 1 {
        let ts = i64_at(msg, pos).ok_or("truncated timestamp")?;
        pos += 8;
        ts
    } else {
        -1
    };
    let key = bytes_field(msg, &mut pos, "key")?;
    let value = bytes_field(msg, &mut pos, "value")?;
    if pos != end {
        return Err(format!(
            "message size {size} but its fields end {} bytes earlier",
            end.saturating_sub(pos)
        ));
    }
    Ok(Message {
        offset,
        size,
        crc,
        magic,
        attributes,
        timestamp,
        key,
        value,
    })
}

/// An int32 length (-1 = null) followed by that many bytes, all inside `msg`.
fn bytes_field(
    msg: &[u8],
    pos: &mut usize,
    field: &str,
) -> std::result::Result<Option<Span>, String> {
    let len = i32_at(msg, *pos).ok_or_else(|| format!("truncated {field} length"))?;
    *pos += 4;
    if len == -1 {
        return Ok(None);
    }
    let start = *pos;
    let end = usize::try_from(len)
        .ok()
        .and_then(|l| start.checked_add(l))
        .filter(|&e| e <= msg.len())
        .ok_or_else(|| format!("{field} length {len} runs past the end of the message"))?;
    *pos = end;
    Ok(Some(start..end))
}

#[cold]
#[inline(never)]
fn corrupt(input_pos: usize, what: &dyn fmt::Display) -> Error {
    Error::Corrupt(format!("legacy message at input byte {input_pos}: {what}"))
}

fn check_crc(msg_bytes: &[u8], stored: u32) -> std::result::Result<(), String> {
    let computed = crate::crc::crc32(msg_bytes.get(MAGIC_OFFSET..).unwrap_or(&[]));
    if computed != stored {
        return Err(format!(
            "CRC32 mismatch: stored {stored:#010x}, computed {computed:#010x}"
        ));
    }
    Ok(())
}

/// Decode one complete top-level legacy message (`entry` = 12 + messageSize bytes) into a
/// batch: itself if uncompressed, its inner messages if it is a compressed wrapper.
pub(crate) fn decode<'a>(
    entry: &'a [u8],
    input_pos: usize,
    magic: u8,
    opts: &DecodeOptions,
) -> Result<DecodedBatch<'a>> {
    let msg = parse_message(entry, 0, entry.len()).map_err(|e| corrupt(input_pos, &e))?;
    if opts.check_crc {
        check_crc(entry, msg.crc).map_err(|e| corrupt(input_pos, &e))?;
    }
    let codec_id = msg.attributes & CODEC_MASK;
    let log_append = magic == 1 && msg.attributes & TIMESTAMP_TYPE_BIT != 0;
    let max_timestamp = msg.timestamp; // -1 for magic 0

    let mut header = BatchHeader {
        base_offset: msg.offset,
        batch_length: msg.size,
        partition_leader_epoch: -1,
        magic: magic as i8,
        crc: msg.crc,
        attributes: i16::from(msg.attributes),
        last_offset_delta: 0,
        base_timestamp: msg.timestamp,
        max_timestamp,
        producer_id: -1,
        producer_epoch: -1,
        base_sequence: -1,
        record_count: 1,
    };

    if codec_id == 0 {
        let record = RecordSpan {
            offset: msg.offset,
            timestamp: msg.timestamp,
            key: msg.key,
            value: msg.value,
            headers: 0..0,
        };
        return Ok(DecodedBatch {
            header,
            buffer: Cow::Borrowed(entry),
            records: vec![record],
            headers: Vec::new(),
            size_in_bytes: entry.len(),
        });
    }

    let codec = Compression::from_id(codec_id)?;
    if codec == Compression::Zstd {
        return Err(corrupt(
            input_pos,
            &format_args!("zstd compression in a magic {magic} message"),
        ));
    }
    let value = msg
        .value
        .and_then(|v| entry.get(v))
        .ok_or_else(|| corrupt(input_pos, &"compressed wrapper message with a null value"))?;
    let limit = opts.max_decompressed_bytes;
    let decompressed = if magic == 0 && codec == Compression::Lz4 {
        compression::decompress_lz4_legacy(value, limit)
    } else {
        compression::decompress(codec, value, limit)
    }
    .map_err(|e| match e {
        Error::Compression(m) => Error::Compression(format!(
            "{m} ({} wrapper message at input byte {input_pos}, offset {})",
            codec.name(),
            msg.offset
        )),
        other => other,
    })?;

    let mut records = parse_inner(&decompressed, opts).map_err(|e| {
        corrupt(
            input_pos,
            &format_args!("{} wrapper at offset {}: {e}", codec.name(), msg.offset),
        )
    })?;

    // Offsets: magic 1 wrappers hold relative inner offsets, the wrapper carrying the absolute
    // offset of the last inner message; magic 0 inner offsets are absolute already.
    if magic == 1 {
        let last_relative = records.last().map_or(0, |r| r.offset);
        let base = msg.offset.wrapping_sub(last_relative);
        for r in &mut records {
            r.offset = base.wrapping_add(r.offset);
        }
    }
    if log_append {
        for r in &mut records {
            r.timestamp = msg.timestamp;
        }
    }

    let (first, last) = match (records.first(), records.last()) {
        (Some(f), Some(l)) => (f, l),
        _ => {
            return Err(corrupt(
                input_pos,
                &"compressed wrapper message with no inner messages",
            ))
        }
    };
    header.base_offset = first.offset;
    header.base_timestamp = first.timestamp;
    header.last_offset_delta = i32::try_from(last.offset.wrapping_sub(first.offset))
        .map_err(|_| corrupt(input_pos, &"inner message offsets span more than 2^31"))?;
    header.record_count = i32::try_from(records.len())
        .map_err(|_| corrupt(input_pos, &"more than 2^31 inner messages"))?;

    Ok(DecodedBatch {
        header,
        buffer: Cow::Owned(decompressed),
        records,
        headers: Vec::new(),
        size_in_bytes: entry.len(),
    })
}

/// Parse the uncompressed message set inside a wrapper. Offsets are returned as stored.
fn parse_inner(buf: &[u8], opts: &DecodeOptions) -> std::result::Result<Vec<RecordSpan>, String> {
    let mut records = Vec::with_capacity(buf.len() / (LOG_OVERHEAD + MIN_MESSAGE_SIZE_V0));
    let mut pos = 0usize;
    while pos < buf.len() {
        let index = records.len();
        let size = i32_at(buf, pos + 8)
            .ok_or_else(|| format!("inner message {index} at byte {pos} is truncated"))?;
        let end = usize::try_from(size)
            .ok()
            .filter(|&s| s >= MIN_MESSAGE_SIZE_V0)
            .and_then(|s| (pos + LOG_OVERHEAD).checked_add(s))
            .filter(|&e| e <= buf.len())
            .ok_or_else(|| {
                format!(
                    "inner message {index} at byte {pos} has size {size} but {} bytes are left",
                    buf.len() - pos - LOG_OVERHEAD
                )
            })?;
        let m = parse_message(buf, pos, end)
            .map_err(|e| format!("inner message {index} at byte {pos}: {e}"))?;
        if m.attributes & CODEC_MASK != 0 {
            return Err(format!(
                "inner message {index} at byte {pos} is itself compressed (nested compression)"
            ));
        }
        if opts.check_crc {
            let bytes = buf.get(pos..end).unwrap_or(&[]);
            check_crc(bytes, m.crc).map_err(|e| format!("inner message {index}: {e}"))?;
        }
        records.push(RecordSpan {
            offset: m.offset,
            timestamp: if m.magic == 0 { -1 } else { m.timestamp },
            key: m.key,
            value: m.value,
            headers: 0..0,
        });
        pos = end;
    }
    Ok(records)
}
