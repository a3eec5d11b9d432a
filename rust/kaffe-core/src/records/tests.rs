//! Unit tests for the v2 reader and writer against hand-written bytes and hand-broken batches.

use std::borrow::Cow;

use super::*;
use crate::crc::crc32c;
use crate::varint::{write_varint, write_varlong};

fn rec<'a>(key: Option<&'a [u8]>, value: Option<&'a [u8]>, ts: i64) -> RecordInput<'a> {
    RecordInput {
        key,
        value,
        headers: Vec::new(),
        timestamp: ts,
    }
}

fn encode(records: &[RecordInput<'_>], opts: &BatchOptions) -> Vec<u8> {
    let mut out = Vec::new();
    encode_batch(records, opts, &mut out).expect("encode");
    out
}

fn decode(data: &[u8]) -> Result<Decoded<'_>> {
    decode_batches(data, &DecodeOptions::default())
}

fn corrupt_message(r: Result<Decoded<'_>>) -> String {
    match r {
        Err(Error::Corrupt(m)) => m,
        Err(other) => panic!("expected Corrupt, got {other:?}"),
        Ok(d) => panic!("expected Corrupt, got {} batches", d.batches.len()),
    }
}

/// Recompute the CRC32C of a v2 batch that starts at `at` in `b`, after a deliberate edit.
fn fix_crc(b: &mut [u8], at: usize) {
    let len = i32::from_be_bytes(b[at + 8..at + 12].try_into().unwrap()) as usize;
    let crc = crc32c(&b[at + 21..at + 12 + len]);
    b[at + 17..at + 21].copy_from_slice(&crc.to_be_bytes());
}

/// A test-only v2 batch builder that works from the protocol guide's field list, independent of
/// `encode_batch`: the caller supplies raw record bytes and every header field.
struct RawBatch {
    base_offset: i64,
    attributes: i16,
    last_offset_delta: i32,
    base_timestamp: i64,
    max_timestamp: i64,
    record_count: i32,
}

impl RawBatch {
    fn new(record_count: i32) -> Self {
        RawBatch {
            base_offset: 0,
            attributes: 0,
            last_offset_delta: record_count - 1,
            base_timestamp: 0,
            max_timestamp: 0,
            record_count,
        }
    }

    fn build(&self, records: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&self.base_offset.to_be_bytes());
        b.extend_from_slice(&((49 + records.len()) as i32).to_be_bytes());
        b.extend_from_slice(&(-1i32).to_be_bytes());
        b.push(2);
        b.extend_from_slice(&[0; 4]);
        b.extend_from_slice(&self.attributes.to_be_bytes());
        b.extend_from_slice(&self.last_offset_delta.to_be_bytes());
        b.extend_from_slice(&self.base_timestamp.to_be_bytes());
        b.extend_from_slice(&self.max_timestamp.to_be_bytes());
        b.extend_from_slice(&(-1i64).to_be_bytes());
        b.extend_from_slice(&(-1i16).to_be_bytes());
        b.extend_from_slice(&(-1i32).to_be_bytes());
        b.extend_from_slice(&self.record_count.to_be_bytes());
        assert_eq!(b.len(), 61);
        b.extend_from_slice(records);
        fix_crc(&mut b, 0);
        b
    }
}

/// Raw record bytes (with the length prefix) from explicit field values.
fn raw_record(
    ts_delta: i64,
    offset_delta: i32,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
) -> Vec<u8> {
    let mut body = vec![0u8];
    write_varlong(&mut body, ts_delta);
    write_varint(&mut body, offset_delta);
    for field in [key, value] {
        match field {
            None => write_varint(&mut body, -1),
            Some(f) => {
                write_varint(&mut body, f.len() as i32);
                body.extend_from_slice(f);
            }
        }
    }
    write_varint(&mut body, 0);
    let mut out = Vec::new();
    write_varint(&mut out, body.len() as i32);
    out.extend_from_slice(&body);
    out
}

#[test]
fn encode_matches_hand_written_bytes() {
    let records = [
        rec(Some(b"k"), Some(b"v1"), 1000),
        RecordInput {
            key: None,
            value: Some(b""),
            headers: vec![(b"h", None)],
            timestamp: 999,
        },
    ];
    let opts = BatchOptions {
        base_offset: 5,
        ..BatchOptions::default()
    };
    let got = encode(&records, &opts);

    #[rustfmt::skip]
    let mut want: Vec<u8> = vec![
        0, 0, 0, 0, 0, 0, 0, 5,             // baseOffset
        0, 0, 0, 69,                        // batchLength = 49 + 20
        0xff, 0xff, 0xff, 0xff,             // partitionLeaderEpoch
        2,                                  // magic
        0, 0, 0, 0,                         // crc (filled below)
        0, 0,                               // attributes
        0, 0, 0, 1,                         // lastOffsetDelta
        0, 0, 0, 0, 0, 0, 0x03, 0xe8,       // baseTimestamp 1000
        0, 0, 0, 0, 0, 0, 0x03, 0xe8,       // maxTimestamp 1000
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // producerId
        0xff, 0xff,                         // producerEpoch
        0xff, 0xff, 0xff, 0xff,             // baseSequence
        0, 0, 0, 2,                         // records count
        // record 0: length 9, attrs, tsDelta 0, offsetDelta 0, key "k", value "v1", 0 headers
        0x12, 0x00, 0x00, 0x00, 0x02, b'k', 0x04, b'v', b'1', 0x00,
        // record 1: length 9, attrs, tsDelta -1, offsetDelta 1, key null, value "", 1 header
        0x12, 0x00, 0x01, 0x02, 0x01, 0x00, 0x02, 0x02, b'h', 0x01,
    ];
    fix_crc(&mut want, 0);
    assert_eq!(got, want);

    let d = decode(&got).unwrap();
    assert_eq!(d.consumed, got.len());
    let b = &d.batches[0];
    assert_eq!(b.header.base_offset, 5);
    assert_eq!(b.header.last_offset(), 6);
    assert_eq!(b.size_in_bytes, got.len());
    assert_eq!(b.records.len(), 2);
    assert_eq!(b.records[0].offset, 5);
    assert_eq!(b.records[0].timestamp, 1000);
    assert_eq!(b.bytes(b.records[0].key.as_ref().unwrap()), b"k");
    assert_eq!(b.bytes(b.records[0].value.as_ref().unwrap()), b"v1");
    assert_eq!(b.records[1].offset, 6);
    assert_eq!(b.records[1].timestamp, 999);
    assert_eq!(b.records[1].key, None);
    assert_eq!(b.bytes(b.records[1].value.as_ref().unwrap()), b"");
    assert_eq!(b.records[1].headers, 0..1);
    assert_eq!(b.bytes(&b.headers[0].key), b"h");
    assert_eq!(b.headers[0].value, None);
}

#[test]
fn uncompressed_batches_borrow_and_compressed_batches_own() {
    let records = [rec(Some(b"key"), Some(b"value"), 1)];
    let plain = encode(&records, &BatchOptions::default());
    let d = decode(&plain).unwrap();
    assert!(matches!(d.batches[0].buffer, Cow::Borrowed(_)));
    let gz = encode(
        &records,
        &BatchOptions {
            compression: Compression::Gzip,
            ..BatchOptions::default()
        },
    );
    assert_eq!(gz[22] & 0x07, 1);
    let d = decode(&gz).unwrap();
    assert!(matches!(d.batches[0].buffer, Cow::Owned(_)));
    let b = &d.batches[0];
    assert_eq!(b.bytes(b.records[0].value.as_ref().unwrap()), b"value");
}

#[test]
fn log_append_time_uses_the_batch_max_timestamp() {
    let records = [rec(None, Some(b"a"), 10), rec(None, Some(b"b"), 20)];
    let opts = BatchOptions {
        timestamp_type: TimestampType::LogAppend,
        max_timestamp: Some(5555),
        ..BatchOptions::default()
    };
    let bytes = encode(&records, &opts);
    let d = decode(&bytes).unwrap();
    let b = &d.batches[0];
    assert_eq!(b.header.timestamp_type(), TimestampType::LogAppend);
    assert_eq!(b.header.max_timestamp, 5555);
    assert_eq!(b.header.base_timestamp, 10);
    assert!(b.records.iter().all(|r| r.timestamp == 5555));
}

#[test]
fn offsets_follow_offset_deltas_with_gaps() {
    // A compacted batch: offsets 100 and 103 survive, lastOffsetDelta stays 4.
    let mut section = raw_record(0, 0, Some(b"a"), Some(b"1"));
    section.extend(raw_record(7, 3, Some(b"b"), None));
    let raw = RawBatch {
        base_offset: 100,
        last_offset_delta: 4,
        base_timestamp: 50,
        max_timestamp: 57,
        ..RawBatch::new(2)
    };
    let bytes = raw.build(&section);
    let d = decode(&bytes).unwrap();
    let b = &d.batches[0];
    assert_eq!(
        b.records.iter().map(|r| r.offset).collect::<Vec<_>>(),
        [100, 103]
    );
    assert_eq!(
        b.records.iter().map(|r| r.timestamp).collect::<Vec<_>>(),
        [50, 57]
    );
    assert_eq!(b.records[1].value, None);
    assert_eq!(b.header.last_offset(), 104);
}

#[test]
fn empty_batch_decodes_with_no_records() {
    let raw = RawBatch {
        base_offset: 10,
        last_offset_delta: 2,
        ..RawBatch::new(0)
    };
    let bytes = raw.build(&[]);
    let d = decode(&bytes).unwrap();
    assert_eq!(d.batches.len(), 1);
    assert!(d.batches[0].records.is_empty());
    assert_eq!(d.batches[0].header.last_offset(), 12);
    // Same with compression flagged and no payload (nothing to decompress).
    let raw = RawBatch {
        attributes: 1,
        ..RawBatch::new(0)
    };
    let bytes = raw.build(&[]);
    assert!(decode(&bytes).unwrap().batches[0].records.is_empty());
}

#[test]
fn crc_mismatch_is_corrupt_unless_unchecked() {
    let mut bytes = encode(&[rec(Some(b"k"), Some(b"v"), 1)], &BatchOptions::default());
    let last = bytes.len() - 2;
    bytes[last] ^= 0x01; // inside the value: still structurally valid
    let msg = corrupt_message(decode(&bytes));
    assert!(msg.contains("CRC32C mismatch"), "{msg}");
    assert!(msg.contains("input byte 0"), "{msg}");
    let opts = DecodeOptions {
        check_crc: false,
        ..DecodeOptions::default()
    };
    let d = decode_batches(&bytes, &opts).unwrap();
    let b = &d.batches[0];
    assert_eq!(b.bytes(b.records[0].value.as_ref().unwrap()), b"w");
}

#[test]
fn record_count_mismatch_is_corrupt() {
    let base = encode(
        &[
            rec(None, Some(b"aaaaaaaaaaaa"), 1),
            rec(None, Some(b"bbbbbbbbbbbb"), 2),
        ],
        &BatchOptions::default(),
    );
    // count says 3, two present
    let mut more = base.clone();
    more[57..61].copy_from_slice(&3i32.to_be_bytes());
    fix_crc(&mut more, 0);
    let msg = corrupt_message(decode(&more));
    assert!(msg.contains("holds only 2"), "{msg}");
    // count says 1, two present
    let mut fewer = base.clone();
    fewer[57..61].copy_from_slice(&1i32.to_be_bytes());
    fix_crc(&mut fewer, 0);
    let msg = corrupt_message(decode(&fewer));
    assert!(msg.contains("after the last of 1 records"), "{msg}");
    // count that cannot possibly fit: rejected before any allocation
    let mut huge = base.clone();
    huge[57..61].copy_from_slice(&i32::MAX.to_be_bytes());
    fix_crc(&mut huge, 0);
    let msg = corrupt_message(decode(&huge));
    assert!(msg.contains("cannot fit"), "{msg}");
    // negative count
    let mut neg = base;
    neg[57..61].copy_from_slice(&(-1i32).to_be_bytes());
    fix_crc(&mut neg, 0);
    let msg = corrupt_message(decode(&neg));
    assert!(msg.contains("negative record count"), "{msg}");
}

#[test]
fn count_mismatch_inside_compressed_batch_is_corrupt() {
    let mut bytes = encode(
        &[rec(None, Some(b"a"), 1), rec(None, Some(b"b"), 2)],
        &BatchOptions {
            compression: Compression::Zstd,
            ..BatchOptions::default()
        },
    );
    bytes[57..61].copy_from_slice(&1i32.to_be_bytes());
    fix_crc(&mut bytes, 0);
    let msg = corrupt_message(decode(&bytes));
    assert!(msg.contains("after the last of 1 records"), "{msg}");
}

#[test]
fn record_length_past_the_batch_is_corrupt() {
    let mut section = raw_record(0, 0, None, Some(b"abc"));
    section[0] = 0x7e; // length 63, only 7 bytes follow
    let bytes = RawBatch::new(1).build(&section);
    let msg = corrupt_message(decode(&bytes));
    assert!(msg.contains("runs past the end of the batch"), "{msg}");
    assert!(msg.contains("record 0"), "{msg}");

    let mut neg = raw_record(0, 0, None, Some(b"abc"));
    neg[0] = 0x01; // length -1
    let msg = corrupt_message(decode(&RawBatch::new(1).build(&neg)));
    assert!(msg.contains("record length -1"), "{msg}");
}

#[test]
fn field_lengths_past_the_record_are_corrupt() {
    // value length 10 but the record ends after 3 value bytes; the record length is honest
    let mut body = vec![0u8, 0, 0, 1];
    write_varint(&mut body, 10);
    body.extend_from_slice(b"abc");
    body.push(0);
    let mut section = Vec::new();
    write_varint(&mut section, body.len() as i32);
    section.extend_from_slice(&body);
    // pad the batch so the value would fit in the batch, but not in the record
    let mut padded = section.clone();
    padded.extend_from_slice(&raw_record(0, 1, None, Some(b"0123456789")));
    let msg = corrupt_message(decode(&RawBatch::new(2).build(&padded)));
    assert!(
        msg.contains("value length 10 runs past the end of the record"),
        "{msg}"
    );

    // key length -2
    let mut body = vec![0u8, 0, 0];
    write_varint(&mut body, -2);
    body.extend_from_slice(&[1, 0]);
    let mut section = Vec::new();
    write_varint(&mut section, body.len() as i32);
    section.extend_from_slice(&body);
    let msg = corrupt_message(decode(&RawBatch::new(1).build(&section)));
    assert!(msg.contains("key length -2 is negative"), "{msg}");
}

#[test]
fn trailing_bytes_inside_a_record_or_batch_are_corrupt() {
    // record length one more than its fields
    let mut section = raw_record(0, 0, None, Some(b"abc"));
    section[0] += 2; // zigzag +1
    section.push(0xaa);
    let msg = corrupt_message(decode(&RawBatch::new(1).build(&section)));
    assert!(msg.contains("fields end 1 bytes earlier"), "{msg}");

    // garbage after the last record, inside the batch
    let mut section = raw_record(0, 0, None, Some(b"abc"));
    section.extend_from_slice(&[1, 2, 3]);
    let msg = corrupt_message(decode(&RawBatch::new(1).build(&section)));
    assert!(msg.contains("3 bytes after the last of 1 records"), "{msg}");
}

#[test]
fn bad_headers_are_corrupt() {
    // null header key
    let mut body = vec![0u8, 0, 0, 1, 1];
    write_varint(&mut body, 1);
    write_varint(&mut body, -1);
    write_varint(&mut body, -1);
    let mut section = Vec::new();
    write_varint(&mut section, body.len() as i32);
    section.extend_from_slice(&body);
    let msg = corrupt_message(decode(&RawBatch::new(1).build(&section)));
    assert!(msg.contains("header key length -1"), "{msg}");

    // header count far larger than the record
    let mut body = vec![0u8, 0, 0, 1, 1];
    write_varint(&mut body, 1_000_000);
    let mut section = Vec::new();
    write_varint(&mut section, body.len() as i32);
    section.extend_from_slice(&body);
    let msg = corrupt_message(decode(&RawBatch::new(1).build(&section)));
    assert!(msg.contains("header count 1000000"), "{msg}");

    // negative header count
    let mut body = vec![0u8, 0, 0, 1, 1];
    write_varint(&mut body, -3);
    let mut section = Vec::new();
    write_varint(&mut section, body.len() as i32);
    section.extend_from_slice(&body);
    let msg = corrupt_message(decode(&RawBatch::new(1).build(&section)));
    assert!(msg.contains("header count -3"), "{msg}");
}

#[test]
fn overlong_varint_in_a_record_is_corrupt() {
    // offsetDelta written in 6 bytes
    let body = [0u8, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 1, 1, 0];
    let mut section = Vec::new();
    write_varint(&mut section, body.len() as i32);
    section.extend_from_slice(&body);
    let msg = corrupt_message(decode(&RawBatch::new(1).build(&section)));
    assert!(msg.contains("offset delta: varint longer"), "{msg}");
}

#[test]
fn batch_length_checks() {
    let good = encode(&[rec(None, Some(b"x"), 1)], &BatchOptions::default());
    // negative
    let mut b = good.clone();
    b[8..12].copy_from_slice(&(-5i32).to_be_bytes());
    assert!(corrupt_message(decode(&b)).contains("negative batch length -5"));
    // smaller than any entry
    let mut b = good.clone();
    b[8..12].copy_from_slice(&3i32.to_be_bytes());
    assert!(corrupt_message(decode(&b)).contains("smaller than the smallest entry"));
    // large enough for a v0 message, too small for a v2 header
    let mut b = good.clone();
    b[8..12].copy_from_slice(&30i32.to_be_bytes());
    assert!(corrupt_message(decode(&b)).contains("smaller than its minimum 49"));
    // larger than the input: a partial batch, not an error
    let mut b = good;
    b[8..12].copy_from_slice(&1000i32.to_be_bytes());
    let d = decode(&b).unwrap();
    assert!(d.batches.is_empty());
    assert_eq!(d.consumed, 0);
}

#[test]
fn unknown_magic_is_corrupt() {
    let mut b = encode(&[rec(None, Some(b"x"), 1)], &BatchOptions::default());
    b[16] = 3;
    let msg = corrupt_message(decode(&b));
    assert!(msg.contains("unknown magic byte 3"), "{msg}");
    b[16] = 0xff;
    let msg = corrupt_message(decode(&b));
    assert!(msg.contains("unknown magic byte -1"), "{msg}");
}

#[test]
fn unsupported_codec_is_reported_as_such() {
    let raw = RawBatch {
        attributes: 5,
        ..RawBatch::new(1)
    };
    let bytes = raw.build(&raw_record(0, 0, None, None));
    assert!(matches!(
        decode(&bytes),
        Err(Error::UnsupportedCompression(5))
    ));
}

#[test]
fn partial_tail_stops_decoding_without_error() {
    let one = encode(&[rec(None, Some(b"first"), 1)], &BatchOptions::default());
    let two = encode(
        &[rec(None, Some(b"second"), 2)],
        &BatchOptions {
            base_offset: 1,
            ..BatchOptions::default()
        },
    );
    let mut data = one.clone();
    data.extend_from_slice(&two);
    for cut in [
        one.len(),
        one.len() + 5,
        one.len() + 12,
        one.len() + 17,
        data.len() - 1,
    ] {
        let d = decode(&data[..cut]).unwrap();
        assert_eq!(d.batches.len(), 1, "cut {cut}");
        assert_eq!(d.consumed, one.len(), "cut {cut}");
    }
    let d = decode(&data).unwrap();
    assert_eq!(d.batches.len(), 2);
    assert_eq!(d.consumed, data.len());
    assert_eq!(d.batches[1].records[0].offset, 1);
    let d = decode(&[]).unwrap();
    assert!(d.batches.is_empty());
    assert_eq!(d.consumed, 0);
}

#[test]
fn errors_name_the_position_of_the_bad_batch() {
    let one = encode(&[rec(None, Some(b"first"), 1)], &BatchOptions::default());
    let mut data = one.clone();
    data.extend_from_slice(&one);
    let last = data.len() - 2;
    data[last] ^= 0xff;
    let msg = corrupt_message(decode(&data));
    assert!(msg.contains(&format!("input byte {}", one.len())), "{msg}");
}

#[test]
fn encoder_rejects_empty_batches_and_bad_levels() {
    let mut out = vec![1, 2, 3];
    assert!(matches!(
        encode_batch(&[], &BatchOptions::default(), &mut out),
        Err(Error::InvalidArgument(_))
    ));
    let opts = BatchOptions {
        compression: Compression::Gzip,
        compression_level: Some(42),
        ..BatchOptions::default()
    };
    assert!(matches!(
        encode_batch(&[rec(None, None, 0)], &opts, &mut out),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn encoder_appends_after_existing_bytes_and_sets_attributes() {
    let mut out = vec![9, 9, 9];
    let opts = BatchOptions {
        base_offset: 77,
        partition_leader_epoch: 4,
        compression: Compression::Snappy,
        transactional: true,
        control: true,
        producer_id: 1234,
        producer_epoch: 5,
        base_sequence: 6,
        ..BatchOptions::default()
    };
    encode_batch(
        &[rec(Some(b"k"), Some(b"v"), 3), rec(None, None, -7)],
        &opts,
        &mut out,
    )
    .unwrap();
    assert_eq!(&out[..3], &[9, 9, 9]);
    let d = decode(&out[3..]).unwrap();
    let h = &d.batches[0].header;
    assert_eq!(
        (
            h.base_offset,
            h.partition_leader_epoch,
            h.producer_id,
            h.producer_epoch,
            h.base_sequence
        ),
        (77, 4, 1234, 5, 6)
    );
    assert_eq!(h.compression().unwrap(), Compression::Snappy);
    assert!(h.is_transactional() && h.is_control());
    assert_eq!(
        (h.base_timestamp, h.max_timestamp, h.last_offset_delta),
        (3, 3, 1)
    );
    assert_eq!(d.batches[0].records[1].timestamp, -7);
    assert_eq!(d.batches[0].records[1].offset, 78);
}
