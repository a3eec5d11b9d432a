//! Encoding of v2 record batches, byte-for-byte like the Java client.

use super::batch_header::{v2_attributes, BatchHeader, ATTRIBUTES_OFFSET, CRC_OFFSET, HEADER_SIZE};
use super::{BatchOptions, RecordInput};
use crate::compression::{self, Compression};
use crate::error::{Error, Result};
use crate::varint::{varint_size, varlong_size, zigzag32, zigzag64};

const MAX_LEN: usize = i32::MAX as usize;

fn invalid(what: String) -> Error {
    Error::InvalidArgument(what)
}

/// A length that must fit a varint/int32 length field.
#[inline]
fn len_i32(len: usize, what: &str) -> Result<i32> {
    i32::try_from(len).map_err(|_| invalid(format!("{what} of {len} bytes is longer than 2^31-1")))
}

#[inline]
fn nullable_size(v: Option<&[u8]>) -> usize {
    match v {
        None => 1, // varint(-1)
        Some(b) => varint_size(b.len() as i32).saturating_add(b.len()),
    }
}

/// Check that every length of `r` fits its int32/varint field.
fn validate(r: &RecordInput<'_>) -> Result<()> {
    if let Some(k) = r.key {
        len_i32(k.len(), "record key")?;
    }
    if let Some(v) = r.value {
        len_i32(v.len(), "record value")?;
    }
    len_i32(r.headers.len(), "header list")?;
    for (k, v) in &r.headers {
        len_i32(k.len(), "header key")?;
        if let Some(v) = v {
            len_i32(v.len(), "header value")?;
        }
    }
    Ok(())
}

/// Size of one record after its length prefix (saturating; the caller checks the limit).
#[inline]
fn body_size(r: &RecordInput<'_>, index: usize, base_timestamp: i64) -> usize {
    let mut size = 1 // attributes
        + varlong_size(r.timestamp.wrapping_sub(base_timestamp))
        + varint_size(index as i32)
        + varint_size(r.headers.len() as i32);
    size = size
        .saturating_add(nullable_size(r.key))
        .saturating_add(nullable_size(r.value));
    for (k, v) in &r.headers {
        size = size
            .saturating_add(nullable_size(Some(k)))
            .saturating_add(nullable_size(*v));
    }
    size
}

/// Writes into a slice that was sized beforehand. Writes past the end are dropped (they cannot
/// happen when the sizing pass is right); [`Cursor::finish`] reports any mismatch.
struct Cursor<'b> {
    buf: &'b mut [u8],
    pos: usize,
}

impl Cursor<'_> {
    #[inline(always)]
    fn byte(&mut self, b: u8) {
        if let Some(slot) = self.buf.get_mut(self.pos) {
            *slot = b;
        }
        self.pos += 1;
    }

    #[inline(always)]
    fn unsigned(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.byte((v as u8) | 0x80);
            v >>= 7;
        }
        self.byte(v as u8);
    }

    #[inline(always)]
    fn varint(&mut self, v: i32) {
        self.unsigned(u64::from(zigzag32(v)));
    }

    #[inline(always)]
    fn varlong(&mut self, v: i64) {
        self.unsigned(zigzag64(v));
    }

    #[inline(always)]
    fn bytes(&mut self, b: &[u8]) {
        let end = self.pos.saturating_add(b.len());
        if let Some(slot) = self.buf.get_mut(self.pos..end) {
            slot.copy_from_slice(b);
        }
        self.pos = end;
    }

    #[inline(always)]
    fn nullable(&mut self, v: Option<&[u8]>) {
        match v {
            None => self.varint(-1),
            Some(b) => {
                self.varint(b.len() as i32);
                self.bytes(b);
            }
        }
    }

    fn finish(self) -> Result<()> {
        if self.pos != self.buf.len() {
            return Err(invalid(format!(
                "internal error: records section sized {} bytes but {} were written",
                self.buf.len(),
                self.pos
            )));
        }
        Ok(())
    }
}

/// Write the records section (every record with its length prefix) into `buf`, which must be
/// exactly the size computed by the sizing pass. Lengths were validated by the caller, so the
/// `as i32` casts are lossless.
fn write_records(
    buf: &mut [u8],
    records: &[RecordInput<'_>],
    sizes: &[usize],
    base_timestamp: i64,
) -> Result<()> {
    let mut c = Cursor { buf, pos: 0 };
    for (index, (r, size)) in records.iter().zip(sizes).enumerate() {
        c.varint(*size as i32);
        c.byte(0); // record attributes
        c.varlong(r.timestamp.wrapping_sub(base_timestamp));
        c.varint(index as i32);
        c.nullable(r.key);
        c.nullable(r.value);
        c.varint(r.headers.len() as i32);
        for (k, v) in &r.headers {
            c.nullable(Some(k));
            c.nullable(*v);
        }
    }
    c.finish()
}

/// Append one complete v2 record batch (header, CRC32C) to `out`. Exactly like the Java client:
/// base_timestamp = first record's timestamp, offset deltas 0..n-1, record attributes 0.
/// Empty `records` => Error::InvalidArgument.
pub fn encode_batch(
    records: &[RecordInput<'_>],
    opts: &BatchOptions,
    out: &mut Vec<u8>,
) -> Result<()> {
    let Some(first) = records.first() else {
        return Err(invalid(
            "a record batch needs at least one record".to_string(),
        ));
    };
    let count = i32::try_from(records.len())
        .map_err(|_| invalid(format!("{} records do not fit one batch", records.len())))?;
    let base_timestamp = first.timestamp;

    // Sizing pass: validates every length, sizes every record and finds the max timestamp.
    let mut section_len = 0usize;
    let mut max_timestamp = i64::MIN;
    let mut sizes = Vec::with_capacity(records.len());
    for (index, r) in records.iter().enumerate() {
        validate(r)?;
        let body = body_size(r, index, base_timestamp);
        if body > MAX_LEN {
            return Err(invalid(format!(
                "record {index} of {body} bytes is longer than 2^31-1"
            )));
        }
        sizes.push(body);
        section_len = section_len
            .checked_add(varint_size(body as i32) + body)
            .ok_or_else(|| invalid("batch size overflows".to_string()))?;
        max_timestamp = max_timestamp.max(r.timestamp);
    }
    let max_timestamp = opts.max_timestamp.unwrap_or(max_timestamp);

    let mut header = BatchHeader {
        base_offset: opts.base_offset,
        batch_length: 0,
        partition_leader_epoch: opts.partition_leader_epoch,
        magic: 2,
        crc: 0,
        attributes: v2_attributes(
            opts.compression,
            opts.timestamp_type,
            opts.transactional,
            opts.control,
        ),
        last_offset_delta: count - 1,
        base_timestamp,
        max_timestamp,
        producer_id: opts.producer_id,
        producer_epoch: opts.producer_epoch,
        base_sequence: opts.base_sequence,
        record_count: count,
    };
    let batch_length = |payload: usize| -> Result<i32> {
        payload
            .checked_add(HEADER_SIZE - super::LOG_OVERHEAD)
            .and_then(|l| i32::try_from(l).ok())
            .ok_or_else(|| {
                invalid(format!(
                    "a batch with {payload} bytes of records is longer than 2^31-1"
                ))
            })
    };

    let start = out.len();
    if opts.compression == Compression::None {
        header.batch_length = batch_length(section_len)?;
        out.reserve(HEADER_SIZE + section_len);
        out.extend_from_slice(&header.to_v2_bytes());
        let records_start = out.len();
        out.resize(records_start + section_len, 0);
        write_records(
            out.get_mut(records_start..).unwrap_or_default(),
            records,
            &sizes,
            base_timestamp,
        )
        .inspect_err(|_| out.truncate(start))?;
    } else {
        let mut scratch = vec![0u8; section_len];
        write_records(&mut scratch, records, &sizes, base_timestamp)?;
        let compressed = compression::compress(opts.compression, &scratch, opts.compression_level)?;
        drop(scratch);
        header.batch_length = batch_length(compressed.len())?;
        out.reserve(HEADER_SIZE + compressed.len());
        out.extend_from_slice(&header.to_v2_bytes());
        out.extend_from_slice(&compressed);
    }

    let crc = crate::crc::crc32c(out.get(start + ATTRIBUTES_OFFSET..).unwrap_or(&[]));
    if let Some(slot) = out.get_mut(start + CRC_OFFSET..start + CRC_OFFSET + 4) {
        slot.copy_from_slice(&crc.to_be_bytes());
    }
    Ok(())
}
