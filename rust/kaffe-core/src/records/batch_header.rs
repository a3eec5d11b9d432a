//! The fixed 61-byte header of a v2 record batch, and the byte helpers shared by the readers.

use crate::compression::Compression;
use crate::error::Result;

/// Size of the v2 batch header, from `baseOffset` up to and including the record count.
pub const HEADER_SIZE: usize = 61;
/// `baseOffset` (int64) + `batchLength` (int32): the part of every entry (v0, v1, v2) that sits
/// before the length-counted bytes.
pub const LOG_OVERHEAD: usize = 12;
/// Smallest legal `batchLength` of a v2 batch (the header after `batchLength`).
pub const MIN_V2_BATCH_LENGTH: usize = HEADER_SIZE - LOG_OVERHEAD;

pub(crate) const MAGIC_OFFSET: usize = 16;
pub(crate) const CRC_OFFSET: usize = 17;
/// The CRC32C of a v2 batch covers everything from the attributes to the end of the batch.
pub(crate) const ATTRIBUTES_OFFSET: usize = 21;

const COMPRESSION_MASK: i16 = 0x07;
const TIMESTAMP_TYPE_BIT: i16 = 0x08;
const TRANSACTIONAL_BIT: i16 = 0x10;
const CONTROL_BIT: i16 = 0x20;
const DELETE_HORIZON_BIT: i16 = 0x40;

/// How the timestamps of a batch were assigned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimestampType {
    /// The producer set each record's timestamp.
    Create = 0,
    /// The broker stamped the batch with its append time (`max_timestamp`).
    LogAppend = 1,
}

/// The fixed 61-byte header of a v2 batch, or the synthesized equivalent for a legacy message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchHeader {
    /// Offset of the first record (legacy: of the first, possibly inner, message).
    pub base_offset: i64,
    /// Bytes after the `batchLength` field (legacy: the message size).
    pub batch_length: i32,
    /// Leader epoch stamped by the broker (legacy: -1).
    pub partition_leader_epoch: i32,
    /// 0, 1 or 2.
    pub magic: i8,
    /// The stored checksum (CRC32C for v2, CRC32 of the top-level message for legacy).
    pub crc: u32,
    /// Batch attributes (legacy: the message attributes).
    pub attributes: i16,
    /// Offset of the last record relative to `base_offset` (legacy: last offset - base offset).
    pub last_offset_delta: i32,
    /// Timestamp of the first record (legacy v0: -1).
    pub base_timestamp: i64,
    /// Largest timestamp in the batch, or the log append time (legacy v0: -1).
    pub max_timestamp: i64,
    /// Idempotent/transactional producer id (legacy: -1).
    pub producer_id: i64,
    /// Producer epoch (legacy: -1).
    pub producer_epoch: i16,
    /// Sequence number of the first record (legacy: -1).
    pub base_sequence: i32,
    /// Number of records that follow the header.
    pub record_count: i32,
}

impl BatchHeader {
    /// The compression codec in attribute bits 0-2.
    pub fn compression(&self) -> Result<Compression> {
        Compression::from_id((self.attributes & COMPRESSION_MASK) as u8)
    }

    /// The timestamp type in attribute bit 3 (always `Create` for magic 0, which has none).
    pub fn timestamp_type(&self) -> TimestampType {
        if self.magic > 0 && self.attributes & TIMESTAMP_TYPE_BIT != 0 {
            TimestampType::LogAppend
        } else {
            TimestampType::Create
        }
    }

    /// Attribute bit 4: the batch belongs to a transaction (v2 only).
    pub fn is_transactional(&self) -> bool {
        self.magic >= 2 && self.attributes & TRANSACTIONAL_BIT != 0
    }

    /// Attribute bit 5: the batch holds a control record (commit/abort marker; v2 only).
    pub fn is_control(&self) -> bool {
        self.magic >= 2 && self.attributes & CONTROL_BIT != 0
    }

    /// Attribute bit 6: `base_timestamp` holds the delete horizon of a compacted batch (v2 only).
    pub fn has_delete_horizon(&self) -> bool {
        self.magic >= 2 && self.attributes & DELETE_HORIZON_BIT != 0
    }

    /// Offset of the last record of the batch: `base_offset + last_offset_delta`.
    pub fn last_offset(&self) -> i64 {
        self.base_offset
            .wrapping_add(i64::from(self.last_offset_delta))
    }

    /// Parse the 61-byte v2 header.
    pub(crate) fn parse_v2(b: &[u8; HEADER_SIZE]) -> BatchHeader {
        BatchHeader {
            base_offset: i64::from_be_bytes(sub::<0, 8>(b)),
            batch_length: i32::from_be_bytes(sub::<8, 4>(b)),
            partition_leader_epoch: i32::from_be_bytes(sub::<12, 4>(b)),
            magic: b[16] as i8,
            crc: u32::from_be_bytes(sub::<17, 4>(b)),
            attributes: i16::from_be_bytes(sub::<21, 2>(b)),
            last_offset_delta: i32::from_be_bytes(sub::<23, 4>(b)),
            base_timestamp: i64::from_be_bytes(sub::<27, 8>(b)),
            max_timestamp: i64::from_be_bytes(sub::<35, 8>(b)),
            producer_id: i64::from_be_bytes(sub::<43, 8>(b)),
            producer_epoch: i16::from_be_bytes(sub::<51, 2>(b)),
            base_sequence: i32::from_be_bytes(sub::<53, 4>(b)),
            record_count: i32::from_be_bytes(sub::<57, 4>(b)),
        }
    }

    /// Serialize as a 61-byte v2 header (the `crc` field is written as stored in `self`).
    pub(crate) fn to_v2_bytes(&self) -> [u8; HEADER_SIZE] {
        let mut b = [0u8; HEADER_SIZE];
        put::<0, 8>(&mut b, self.base_offset.to_be_bytes());
        put::<8, 4>(&mut b, self.batch_length.to_be_bytes());
        put::<12, 4>(&mut b, self.partition_leader_epoch.to_be_bytes());
        put::<16, 1>(&mut b, self.magic.to_be_bytes());
        put::<17, 4>(&mut b, self.crc.to_be_bytes());
        put::<21, 2>(&mut b, self.attributes.to_be_bytes());
        put::<23, 4>(&mut b, self.last_offset_delta.to_be_bytes());
        put::<27, 8>(&mut b, self.base_timestamp.to_be_bytes());
        put::<35, 8>(&mut b, self.max_timestamp.to_be_bytes());
        put::<43, 8>(&mut b, self.producer_id.to_be_bytes());
        put::<51, 2>(&mut b, self.producer_epoch.to_be_bytes());
        put::<53, 4>(&mut b, self.base_sequence.to_be_bytes());
        put::<57, 4>(&mut b, self.record_count.to_be_bytes());
        b
    }
}

/// Build the attributes field of a v2 batch.
pub(crate) fn v2_attributes(
    compression: Compression,
    timestamp_type: TimestampType,
    transactional: bool,
    control: bool,
) -> i16 {
    let mut a = i16::from(compression.id()) & COMPRESSION_MASK;
    if timestamp_type == TimestampType::LogAppend {
        a |= TIMESTAMP_TYPE_BIT;
    }
    if transactional {
        a |= TRANSACTIONAL_BIT;
    }
    if control {
        a |= CONTROL_BIT;
    }
    a
}

/// Copy `N` bytes at the constant offset `AT` out of a fixed-size array. Both bounds are checked
/// at compile time, so this cannot fail at run time.
#[inline(always)]
fn sub<const AT: usize, const N: usize>(b: &[u8; HEADER_SIZE]) -> [u8; N] {
    const { assert!(AT + N <= HEADER_SIZE) };
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        out[i] = b[AT + i];
        i += 1;
    }
    out
}

#[inline(always)]
fn put<const AT: usize, const N: usize>(b: &mut [u8; HEADER_SIZE], v: [u8; N]) {
    const { assert!(AT + N <= HEADER_SIZE) };
    let mut i = 0;
    while i < N {
        b[AT + i] = v[i];
        i += 1;
    }
}

/// Read `N` bytes at `at` from `buf`, or `None` when they are not all there.
#[inline(always)]
pub(crate) fn array_at<const N: usize>(buf: &[u8], at: usize) -> Option<[u8; N]> {
    let end = at.checked_add(N)?;
    buf.get(at..end)?.try_into().ok()
}

/// Big-endian `i32` at `at`, or `None`.
#[inline(always)]
pub(crate) fn i32_at(buf: &[u8], at: usize) -> Option<i32> {
    array_at(buf, at).map(i32::from_be_bytes)
}

/// Big-endian `i64` at `at`, or `None`.
#[inline(always)]
pub(crate) fn i64_at(buf: &[u8], at: usize) -> Option<i64> {
    array_at(buf, at).map(i64::from_be_bytes)
}

/// Big-endian `u32` at `at`, or `None`.
#[inline(always)]
pub(crate) fn u32_at(buf: &[u8], at: usize) -> Option<u32> {
    array_at(buf, at).map(u32::from_be_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> BatchHeader {
        BatchHeader {
            base_offset: 0x0102_0304_0506_0708,
            batch_length: 0x1112_1314,
            partition_leader_epoch: -2,
            magic: 2,
            crc: 0xdead_beef,
            attributes: 0x0033,
            last_offset_delta: 7,
            base_timestamp: -5,
            max_timestamp: i64::MAX,
            producer_id: 42,
            producer_epoch: 3,
            base_sequence: 9,
            record_count: 8,
        }
    }

    #[test]
    fn header_layout_matches_the_protocol_guide() {
        let b = sample().to_v2_bytes();
        assert_eq!(b[0..8], [1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(b[8..12], [0x11, 0x12, 0x13, 0x14]);
        assert_eq!(b[12..16], [0xff, 0xff, 0xff, 0xfe]);
        assert_eq!(b[16], 2);
        assert_eq!(b[17..21], [0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(b[21..23], [0x00, 0x33]);
        assert_eq!(b[23..27], [0, 0, 0, 7]);
        assert_eq!(b[27..35], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfb]);
        assert_eq!(b[35..43], [0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(b[43..51], [0, 0, 0, 0, 0, 0, 0, 42]);
        assert_eq!(b[51..53], [0, 3]);
        assert_eq!(b[53..57], [0, 0, 0, 9]);
        assert_eq!(b[57..61], [0, 0, 0, 8]);
        assert_eq!(BatchHeader::parse_v2(&b), sample());
    }

    #[test]
    fn attribute_accessors() {
        let h = sample(); // 0x33: codec 3 (lz4), bits 4 and 5 set
        assert_eq!(h.compression(), Ok(Compression::Lz4));
        assert_eq!(h.timestamp_type(), TimestampType::Create);
        assert!(h.is_transactional());
        assert!(h.is_control());
        assert!(!h.has_delete_horizon());
        assert_eq!(h.last_offset(), 0x0102_0304_0506_070f);
        let mut h = sample();
        h.attributes = 0x0f;
        assert_eq!(h.timestamp_type(), TimestampType::LogAppend);
        assert_eq!(
            h.compression(),
            Err(crate::Error::UnsupportedCompression(7))
        );
        h.magic = 0;
        assert_eq!(h.timestamp_type(), TimestampType::Create);
        assert!(!h.is_transactional());
        assert_eq!(
            v2_attributes(Compression::Zstd, TimestampType::LogAppend, true, false),
            0x04 | 0x08 | 0x10
        );
    }
}
