//! Decoding of one v2 record batch (magic 2).

use std::borrow::Cow;
use std::fmt;

use super::batch_header::{BatchHeader, ATTRIBUTES_OFFSET, HEADER_SIZE};
use super::{DecodeOptions, DecodedBatch, HeaderSpan, RecordSpan, Span, TimestampType};
use crate::compression::{self, Compression};
use crate::error::{Error, Result};
use crate::varint::{read_varint, read_varlong};

/// The smallest possible record: length, attributes, timestampDelta, offsetDelta, keyLength,
/// valueLength and header count, each one byte.
pub(crate) const MIN_RECORD_SIZE: usize = 7;
/// The smallest possible record header: keyLength and valueLength, one byte each.
const MIN_HEADER_SIZE: usize = 2;

/// Where we are, for error messages. Only touched on the error path.
struct Ctx {
    input_pos: usize,
    base_offset: i64,
    compressed: bool,
}

impl Ctx {
    #[cold]
    #[inline(never)]
    fn batch_err(&self, what: &dyn fmt::Display) -> Error {
        Error::Corrupt(format!(
            "v2 batch at input byte {} (base offset {}): {what}",
            self.input_pos, self.base_offset
        ))
    }

    #[cold]
    #[inline(never)]
    fn record_err(&self, index: usize, at: usize, what: &dyn fmt::Display) -> Error {
        Error::Corrupt(format!(
            "v2 batch at input byte {} (base offset {}): record {index} at byte {at} of the {}record \
             section: {what}",
            self.input_pos,
            self.base_offset,
            if self.compressed { "decompressed " } else { "" }
        ))
    }
}

/// Decode one complete v2 batch. `entry` is exactly the batch (`LOG_OVERHEAD + batchLength`
/// bytes, at least [`HEADER_SIZE`]); `input_pos` is where it starts in the caller's input.
pub(crate) fn decode<'a>(
    entry: &'a [u8],
    input_pos: usize,
    opts: &DecodeOptions,
) -> Result<DecodedBatch<'a>> {
    let mut ctx = Ctx {
        input_pos,
        base_offset: 0,
        compressed: false,
    };
    let header_bytes: &[u8; HEADER_SIZE] = entry
        .get(..HEADER_SIZE)
        .and_then(|h| h.try_into().ok())
        .ok_or_else(|| ctx.batch_err(&"shorter than the 61-byte header"))?;
    let header = BatchHeader::parse_v2(header_bytes);
    ctx.base_offset = header.base_offset;

    if opts.check_crc {
        let covered = entry.get(ATTRIBUTES_OFFSET..).unwrap_or(&[]);
        let computed = crate::crc::crc32c(covered);
        if computed != header.crc {
            return Err(ctx.batch_err(&format_args!(
                "CRC32C mismatch: stored {:#010x}, computed {computed:#010x}",
                header.crc
            )));
        }
    }
    if header.record_count < 0 {
        return Err(ctx.batch_err(&format_args!(
            "negative record count {}",
            header.record_count
        )));
    }
    let count = header.record_count as usize;
    let codec = header.compression()?;
    let area = entry.get(HEADER_SIZE..).unwrap_or(&[]);

    let buffer: Cow<'a, [u8]> = if codec == Compression::None || (count == 0 && area.is_empty()) {
        Cow::Borrowed(area)
    } else {
        ctx.compressed = true;
        let out = compression::decompress(codec, area, opts.max_decompressed_bytes).map_err(
            |e| match e {
                Error::Compression(msg) => Error::Compression(format!(
                    "{msg} ({} v2 batch at input byte {input_pos}, base offset {})",
                    codec.name(),
                    header.base_offset
                )),
                other => other,
            },
        )?;
        Cow::Owned(out)
    };

    let (records, headers) = parse_records(&buffer, count, &header, &ctx)?;
    Ok(DecodedBatch {
        header,
        buffer,
        records,
        headers,
        size_in_bytes: entry.len(),
    })
}

/// Parse exactly `count` records that must fill `buf` completely.
fn parse_records(
    buf: &[u8],
    count: usize,
    header: &BatchHeader,
    ctx: &Ctx,
) -> Result<(Vec<RecordSpan>, Vec<HeaderSpan>)> {
    if count > buf.len() / MIN_RECORD_SIZE {
        return Err(ctx.batch_err(&format_args!(
            "record count {count} cannot fit in {} bytes of records",
            buf.len()
        )));
    }
    let mut records = Vec::with_capacity(count);
    let mut headers: Vec<HeaderSpan> = Vec::new();
    let log_append = header.timestamp_type() == TimestampType::LogAppend;
    let base_offset = header.base_offset;
    let base_timestamp = header.base_timestamp;
    let max_timestamp = header.max_timestamp;

    let mut pos = 0usize;
    for index in 0..count {
        let at = pos;
        if at >= buf.len() {
            return Err(ctx.batch_err(&format_args!(
                "record count says {count} but the batch holds only {index} records"
            )));
        }
        let len = read_varint(buf, &mut pos)
            .map_err(|e| ctx.record_err(index, at, &format_args!("record length: {e}")))?;
        let end = usize::try_from(len)
            .ok()
            .and_then(|l| pos.checked_add(l))
            .filter(|&e| e <= buf.len())
            .ok_or_else(|| {
                ctx.record_err(
                    index,
                    at,
                    &format_args!(
                        "record length {len} runs past the end of the batch ({} bytes left)",
                        buf.len() - pos
                    ),
                )
            })?;
        let rec = buf.get(..end).unwrap_or(&[]);

        // attributes (unused in v2)
        if pos >= end {
            return Err(ctx.record_err(index, at, &"record too short for its attributes"));
        }
        pos += 1;
        let timestamp_delta = read_varlong(rec, &mut pos)
            .map_err(|e| ctx.record_err(index, at, &format_args!("timestamp delta: {e}")))?;
        let offset_delta = read_varint(rec, &mut pos)
            .map_err(|e| ctx.record_err(index, at, &format_args!("offset delta: {e}")))?;
        let key = nullable_span(rec, &mut pos, ctx, index, "key")?;
        let value = nullable_span(rec, &mut pos, ctx, index, "value")?;

        let header_at = pos;
        let header_count = read_varint(rec, &mut pos)
            .map_err(|e| ctx.record_err(index, at, &format_args!("header count: {e}")))?;
        let header_start = headers.len();
        if header_count != 0 {
            let n = usize::try_from(header_count)
                .ok()
                .filter(|&n| n <= (end - pos) / MIN_HEADER_SIZE)
                .ok_or_else(|| {
                    ctx.record_err(
                        index,
                        header_at,
                        &format_args!(
                            "header count {header_count} does not fit in the {} bytes left",
                            end - pos
                        ),
                    )
                })?;
            headers.reserve(n);
            for _ in 0..n {
                let key_at = pos;
                let key = match nullable_span(rec, &mut pos, ctx, index, "header key")? {
                    Some(k) => k,
                    None => {
                        return Err(ctx.record_err(index, key_at, &"header key length -1 (null)"))
                    }
                };
                let value = nullable_span(rec, &mut pos, ctx, index, "header value")?;
                headers.push(HeaderSpan { key, value });
            }
        }
        if pos != end {
            return Err(ctx.record_err(
                index,
                at,
                &format_args!(
                    "record length {len} but its fields end {} bytes earlier",
                    end - pos
                ),
            ));
        }

        records.push(RecordSpan {
            offset: base_offset.wrapping_add(i64::from(offset_delta)),
            timestamp: if log_append {
                max_timestamp
            } else {
                base_timestamp.wrapping_add(timestamp_delta)
            },
            key,
            value,
            headers: header_start..headers.len(),
        });
    }
    if pos != buf.len() {
        return Err(ctx.batch_err(&format_args!(
            "{} bytes after the last of {count} records (record count too small or trailing \
             garbage)",
            buf.len() - pos
        )));
    }
    Ok((records, headers))
}

/// A varint length (-1 = null) followed by that many bytes, all inside `rec`.
#[inline(always)]
fn nullable_span(
    rec: &[u8],
    pos: &mut usize,
    ctx: &Ctx,
    index: usize,
    field: &'static str,
) -> Result<Option<Span>> {
    let at = *pos;
    let len = read_varint(rec, pos)
        .map_err(|e| ctx.record_err(index, at, &format_args!("{field} length: {e}")))?;
    if len < 0 {
        if len == -1 {
            return Ok(None);
        }
        return Err(ctx.record_err(index, at, &format_args!("{field} length {len} is negative")));
    }
    let start = *pos;
    let end = start
        .checked_add(len as usize)
        .filter(|&e| e <= rec.len())
        .ok_or_else(|| {
            ctx.record_err(
                index,
                at,
                &format_args!("{field} length {len} runs past the end of the record"),
            )
        })?;
    *pos = end;
    Ok(Some(start..end))
}
