//! Legacy (magic 0 and 1) message sets, built by hand from the protocol guide's "Message Sets"
//! layout with the test-only builder below.

use kaffe_core::compression::{self, Compression};
use kaffe_core::crc::crc32;
use kaffe_core::records::{
    decode_batches, encode_batch, BatchOptions, DecodeOptions, Decoded, DecodedBatch, RecordInput,
    TimestampType,
};
use kaffe_core::Error;

/// One legacy message, before it is placed at an offset.
struct Msg<'a> {
    magic: u8,
    attributes: u8,
    timestamp: i64,
    key: Option<&'a [u8]>,
    value: Option<&'a [u8]>,
}

fn put_bytes(out: &mut Vec<u8>, b: Option<&[u8]>) {
    match b {
        None => out.extend_from_slice(&(-1i32).to_be_bytes()),
        Some(b) => {
            out.extend_from_slice(&(b.len() as i32).to_be_bytes());
            out.extend_from_slice(b);
        }
    }
}

impl Msg<'_> {
    /// offset int64, messageSize int32, crc uint32 (CRC32 of magic..end), magic, attributes,
    /// [timestamp int64 for magic 1], key, value.
    fn at(&self, offset: i64) -> Vec<u8> {
        let mut body = vec![self.magic, self.attributes];
        if self.magic == 1 {
            body.extend_from_slice(&self.timestamp.to_be_bytes());
        }
        put_bytes(&mut body, self.key);
        put_bytes(&mut body, self.value);
        let mut out = Vec::new();
        out.extend_from_slice(&offset.to_be_bytes());
        out.extend_from_slice(&((4 + body.len()) as i32).to_be_bytes());
        out.extend_from_slice(&crc32(&body).to_be_bytes());
        out.extend_from_slice(&body);
        out
    }
}

fn plain(
    magic: u8,
    timestamp: i64,
    key: Option<&'static [u8]>,
    value: Option<&'static [u8]>,
) -> Msg<'static> {
    Msg {
        magic,
        attributes: 0,
        timestamp,
        key,
        value,
    }
}

fn decode(data: &[u8]) -> Result<Decoded<'_>, Error> {
    decode_batches(data, &DecodeOptions::default())
}

fn corrupt(data: &[u8]) -> String {
    match decode(data) {
        Err(Error::Corrupt(m)) => m,
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

fn key(b: &DecodedBatch<'_>, i: usize) -> Option<Vec<u8>> {
    b.records[i].key.clone().map(|s| b.buffer[s].to_vec())
}

fn value(b: &DecodedBatch<'_>, i: usize) -> Option<Vec<u8>> {
    b.records[i].value.clone().map(|s| b.buffer[s].to_vec())
}

/// Three inner messages of the given magic with offsets `offsets`, compressed as a wrapper.
fn wrapper(
    magic: u8,
    codec: Compression,
    attributes_extra: u8,
    wrapper_offset: i64,
    wrapper_ts: i64,
    offsets: [i64; 3],
) -> Vec<u8> {
    let inner_msgs = [
        plain(magic, 1000, Some(b"a"), Some(b"one")),
        plain(magic, 1005, None, Some(b"two")),
        plain(magic, 999, Some(b"c"), None),
    ];
    let mut set = Vec::new();
    for (m, off) in inner_msgs.iter().zip(offsets) {
        set.extend(m.at(off));
    }
    let compressed = compression::compress(codec, &set, None).unwrap();
    Msg {
        magic,
        attributes: codec.id() | attributes_extra,
        timestamp: wrapper_ts,
        key: None,
        value: Some(&compressed),
    }
    .at(wrapper_offset)
}

#[test]
fn uncompressed_v0_and_v1_messages() {
    let mut data = plain(0, 0, Some(b"k0"), Some(b"v0")).at(7);
    data.extend(plain(1, 1_234, None, Some(b"")).at(8));
    data.extend(plain(1, -1, Some(b""), None).at(9));
    let d = decode(&data).unwrap();
    assert_eq!(d.consumed, data.len());
    assert_eq!(d.batches.len(), 3);

    let b = &d.batches[0];
    assert_eq!(b.header.magic, 0);
    assert_eq!(b.header.base_offset, 7);
    assert_eq!(b.header.last_offset(), 7);
    assert_eq!(b.header.record_count, 1);
    assert_eq!(b.header.partition_leader_epoch, -1);
    assert_eq!((b.header.base_timestamp, b.header.max_timestamp), (-1, -1));
    assert_eq!(
        (
            b.header.producer_id,
            b.header.producer_epoch,
            b.header.base_sequence
        ),
        (-1, -1, -1)
    );
    assert_eq!(b.header.batch_length as usize + 12, b.size_in_bytes);
    assert_eq!(b.records[0].offset, 7);
    assert_eq!(b.records[0].timestamp, -1);
    assert_eq!(key(b, 0).as_deref(), Some(&b"k0"[..]));
    assert_eq!(value(b, 0).as_deref(), Some(&b"v0"[..]));

    let b = &d.batches[1];
    assert_eq!(b.header.magic, 1);
    assert_eq!(b.records[0].offset, 8);
    assert_eq!(b.records[0].timestamp, 1_234);
    assert_eq!(b.header.max_timestamp, 1_234);
    assert_eq!(key(b, 0), None);
    assert_eq!(value(b, 0).as_deref(), Some(&b""[..]));

    let b = &d.batches[2];
    assert_eq!(key(b, 0).as_deref(), Some(&b""[..]));
    assert_eq!(value(b, 0), None);
    assert!(b.headers.is_empty());
}

#[test]
fn gzip_v1_wrapper_with_relative_offsets() {
    // Inner relative offsets 0, 1, 2; the wrapper carries the absolute offset of the last one.
    let data = wrapper(1, Compression::Gzip, 0, 42, 1005, [0, 1, 2]);
    let d = decode(&data).unwrap();
    assert_eq!(d.consumed, data.len());
    assert_eq!(d.batches.len(), 1);
    let b = &d.batches[0];
    assert_eq!(
        b.records.iter().map(|r| r.offset).collect::<Vec<_>>(),
        [40, 41, 42]
    );
    assert_eq!(
        b.records.iter().map(|r| r.timestamp).collect::<Vec<_>>(),
        [1000, 1005, 999]
    );
    assert_eq!(b.header.base_offset, 40);
    assert_eq!(b.header.last_offset(), 42);
    assert_eq!(b.header.record_count, 3);
    assert_eq!(b.header.compression().unwrap(), Compression::Gzip);
    assert_eq!(b.header.timestamp_type(), TimestampType::Create);
    assert_eq!(b.header.max_timestamp, 1005);
    assert_eq!(b.header.base_timestamp, 1000);
    assert_eq!(key(b, 0).as_deref(), Some(&b"a"[..]));
    assert_eq!(value(b, 1).as_deref(), Some(&b"two"[..]));
    assert_eq!(value(b, 2), None);
    assert_eq!(b.size_in_bytes, data.len());

    // Non-contiguous relative offsets (a compacted wrapper): absolute = wrapper - last + rel.
    let data = wrapper(1, Compression::Gzip, 0, 1000, 1005, [0, 3, 7]);
    let d = decode(&data).unwrap();
    let b = &d.batches[0];
    assert_eq!(
        b.records.iter().map(|r| r.offset).collect::<Vec<_>>(),
        [993, 996, 1000]
    );
    assert_eq!(b.header.last_offset(), 1000);
}

#[test]
fn log_append_time_v1_wrapper_stamps_inner_records() {
    let data = wrapper(1, Compression::Snappy, 0x08, 10, 777_777, [0, 1, 2]);
    let d = decode(&data).unwrap();
    let b = &d.batches[0];
    assert_eq!(b.header.timestamp_type(), TimestampType::LogAppend);
    assert!(b.records.iter().all(|r| r.timestamp == 777_777));
    assert_eq!(b.header.max_timestamp, 777_777);
    assert_eq!(
        b.records.iter().map(|r| r.offset).collect::<Vec<_>>(),
        [8, 9, 10]
    );
}

#[test]
fn v0_wrapper_inner_offsets_are_absolute() {
    let data = wrapper(0, Compression::Gzip, 0, 9, 0, [7, 8, 9]);
    let d = decode(&data).unwrap();
    let b = &d.batches[0];
    assert_eq!(
        b.records.iter().map(|r| r.offset).collect::<Vec<_>>(),
        [7, 8, 9]
    );
    assert!(b.records.iter().all(|r| r.timestamp == -1));
    assert_eq!(b.header.magic, 0);
    assert_eq!(b.header.last_offset(), 9);
}

#[test]
fn magic0_lz4_wrapper_with_a_wrong_header_checksum() {
    // The lz4 frame header checksum (the byte after FLG and BD, no content size here) is
    // damaged the way pre-KAFKA-3160 clients damaged it; magic 0 must still decode, and the
    // same frame in a magic-1 wrapper must not (only magic 0 gets the legacy allowance).
    let mut set = Vec::new();
    set.extend(plain(0, 0, Some(b"k"), Some(b"lz4-legacy")).at(5));
    let mut frame = compression::compress(Compression::Lz4, &set, None).unwrap();
    assert_eq!(&frame[..4], &[0x04, 0x22, 0x4d, 0x18]);
    assert_eq!(frame[4] & 0x08, 0, "no content size expected");
    frame[6] ^= 0x5a;
    let v0 = Msg {
        magic: 0,
        attributes: 3,
        timestamp: 0,
        key: None,
        value: Some(&frame),
    }
    .at(5);
    let d = decode(&v0).unwrap();
    let b = &d.batches[0];
    assert_eq!(b.records[0].offset, 5);
    assert_eq!(value(b, 0).as_deref(), Some(&b"lz4-legacy"[..]));

    let v1 = Msg {
        magic: 1,
        attributes: 3,
        timestamp: 0,
        key: None,
        value: Some(&frame),
    }
    .at(5);
    assert!(matches!(decode(&v1), Err(Error::Compression(_))));
}

#[test]
fn mixed_legacy_and_v2_entries_with_a_partial_tail() {
    let mut data = plain(0, 0, None, Some(b"old")).at(0);
    data.extend(wrapper(1, Compression::Gzip, 0, 3, 1005, [0, 1, 2]));
    let mut v2 = Vec::new();
    encode_batch(
        &[RecordInput {
            key: None,
            value: Some(b"new"),
            headers: vec![],
            timestamp: 5,
        }],
        &BatchOptions {
            base_offset: 4,
            ..BatchOptions::default()
        },
        &mut v2,
    )
    .unwrap();
    data.extend(&v2);
    let complete = data.len();
    data.extend(&plain(1, 6, None, Some(b"cut off")).at(5)[..20]);

    let d = decode(&data).unwrap();
    assert_eq!(d.consumed, complete);
    let offsets: Vec<i64> = d
        .batches
        .iter()
        .flat_map(|b| b.records.iter().map(|r| r.offset))
        .collect();
    assert_eq!(offsets, [0, 1, 2, 3, 4]);
    let magics: Vec<i8> = d.batches.iter().map(|b| b.header.magic).collect();
    assert_eq!(magics, [0, 1, 2]);
    assert_eq!(value(&d.batches[2], 0).as_deref(), Some(&b"new"[..]));
}

#[test]
fn legacy_crc_mismatch() {
    let mut data = plain(1, 5, Some(b"k"), Some(b"value")).at(0);
    let last = data.len() - 1;
    data[last] ^= 0x20;
    assert!(corrupt(&data).contains("CRC32 mismatch"));
    let unchecked = DecodeOptions {
        check_crc: false,
        ..DecodeOptions::default()
    };
    let d = decode_batches(&data, &unchecked).unwrap();
    assert_eq!(value(&d.batches[0], 0).as_deref(), Some(&b"valuE"[..]));
}

#[test]
fn inner_crc_mismatch() {
    let mut set = plain(1, 0, None, Some(b"inner")).at(0);
    let last = set.len() - 1;
    set[last] ^= 0x01;
    let compressed = compression::compress(Compression::Gzip, &set, None).unwrap();
    let data = Msg {
        magic: 1,
        attributes: 1,
        timestamp: 0,
        key: None,
        value: Some(&compressed),
    }
    .at(0);
    let msg = corrupt(&data);
    assert!(
        msg.contains("inner message 0") && msg.contains("CRC32 mismatch"),
        "{msg}"
    );
}

#[test]
fn nested_compression_is_corrupt() {
    let inner = wrapper(1, Compression::Gzip, 0, 2, 0, [0, 1, 2]);
    let compressed = compression::compress(Compression::Gzip, &inner, None).unwrap();
    let data = Msg {
        magic: 1,
        attributes: 1,
        timestamp: 0,
        key: None,
        value: Some(&compressed),
    }
    .at(2);
    assert!(corrupt(&data).contains("nested compression"));
}

#[test]
fn malformed_wrappers_are_corrupt() {
    // null value
    let data = Msg {
        magic: 1,
        attributes: 1,
        timestamp: 0,
        key: None,
        value: None,
    }
    .at(0);
    assert!(corrupt(&data).contains("null value"));

    // no inner messages
    let empty = compression::compress(Compression::Gzip, &[], None).unwrap();
    let data = Msg {
        magic: 1,
        attributes: 1,
        timestamp: 0,
        key: None,
        value: Some(&empty),
    }
    .at(0);
    assert!(corrupt(&data).contains("no inner messages"));

    // truncated inner message
    let set = plain(1, 0, None, Some(b"inner")).at(0);
    let compressed = compression::compress(Compression::Gzip, &set[..set.len() - 2], None).unwrap();
    let data = Msg {
        magic: 1,
        attributes: 1,
        timestamp: 0,
        key: None,
        value: Some(&compressed),
    }
    .at(0);
    assert!(corrupt(&data).contains("inner message 0"));

    // zstd is not defined for legacy messages
    let z = compression::compress(Compression::Zstd, &set, None).unwrap();
    let data = Msg {
        magic: 1,
        attributes: 4,
        timestamp: 0,
        key: None,
        value: Some(&z),
    }
    .at(0);
    assert!(corrupt(&data).contains("zstd"));

    // garbage that is not gzip
    let data = Msg {
        magic: 1,
        attributes: 1,
        timestamp: 0,
        key: None,
        value: Some(b"definitely not gzip"),
    }
    .at(0);
    assert!(matches!(decode(&data), Err(Error::Compression(_))));
}

#[test]
fn malformed_messages_are_corrupt() {
    // messageSize larger than the fields (trailing bytes inside the message)
    let mut data = plain(0, 0, None, Some(b"abc")).at(0);
    data.push(0);
    let size = i32::from_be_bytes(data[8..12].try_into().unwrap()) + 1;
    data[8..12].copy_from_slice(&size.to_be_bytes());
    let crc = crc32(&data[16..]);
    data[12..16].copy_from_slice(&crc.to_be_bytes());
    assert!(corrupt(&data).contains("fields end 1 bytes earlier"));

    // value length running past the message
    let mut data = plain(0, 0, None, Some(b"abc")).at(0);
    let n = data.len();
    data[n - 7..n - 3].copy_from_slice(&100i32.to_be_bytes());
    let crc = crc32(&data[16..]);
    data[12..16].copy_from_slice(&crc.to_be_bytes());
    assert!(corrupt(&data).contains("value length 100 runs past"));

    // magic 1 message with a size that only fits a v0 message
    let mut data = plain(0, 0, None, None).at(0);
    data[16] = 1;
    assert!(corrupt(&data).contains("smaller than its minimum 22"));

    // key length -2
    let mut data = plain(0, 0, Some(b"k"), None).at(0);
    data[18..22].copy_from_slice(&(-2i32).to_be_bytes());
    let crc = crc32(&data[16..]);
    data[12..16].copy_from_slice(&crc.to_be_bytes());
    assert!(corrupt(&data).contains("key length -2"));
}

#[test]
fn partial_legacy_message_at_the_end_is_not_an_error() {
    let first = plain(1, 1, None, Some(b"whole")).at(0);
    let second = plain(1, 2, None, Some(b"partial")).at(1);
    for cut in [0, 5, 11, 12, 16, 17, second.len() - 1] {
        let mut data = first.clone();
        data.extend_from_slice(&second[..cut]);
        let d = decode(&data).unwrap();
        assert_eq!(d.batches.len(), 1, "cut {cut}");
        assert_eq!(d.consumed, first.len(), "cut {cut}");
    }
}

mod properties {
    use super::*;
    use proptest::collection::vec;
    use proptest::option;
    use proptest::prelude::*;

    type Owned = (Option<Vec<u8>>, Option<Vec<u8>>, i64);

    fn codec() -> impl Strategy<Value = Compression> {
        prop_oneof![
            Just(Compression::None),
            Just(Compression::Gzip),
            Just(Compression::Snappy),
            Just(Compression::Lz4),
        ]
    }

    fn messages() -> impl Strategy<Value = Vec<Owned>> {
        vec(
            (
                option::of(vec(any::<u8>(), 0..30)),
                option::of(vec(any::<u8>(), 0..300)),
                any::<i64>(),
            ),
            1..8,
        )
    }

    /// A message set for `msgs`: plain messages at `first_offset..`, or one wrapper holding
    /// them (relative inner offsets for magic 1, absolute for magic 0).
    fn build(
        magic: u8,
        codec: Compression,
        log_append: bool,
        msgs: &[Owned],
        first_offset: i64,
    ) -> Vec<u8> {
        let n = msgs.len() as i64;
        let mut set = Vec::new();
        for (i, (k, v, ts)) in msgs.iter().enumerate() {
            let m = Msg {
                magic,
                attributes: 0,
                timestamp: *ts,
                key: k.as_deref(),
                value: v.as_deref(),
            };
            let off = if codec != Compression::None && magic == 1 {
                i as i64
            } else {
                first_offset + i as i64
            };
            set.extend(m.at(off));
        }
        if codec == Compression::None {
            return set;
        }
        let compressed = compression::compress(codec, &set, None).unwrap();
        Msg {
            magic,
            attributes: codec.id() | if log_append { 0x08 } else { 0 },
            timestamp: 4242,
            key: None,
            value: Some(&compressed),
        }
        .at(first_offset + n - 1)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn legacy_sets_decode_to_what_was_built(
            magic in 0u8..=1,
            codec in codec(),
            log_append in any::<bool>(),
            msgs in messages(),
            first_offset in 0i64..1 << 40,
        ) {
            let data = build(magic, codec, log_append, &msgs, first_offset);
            let d = decode(&data).unwrap();
            prop_assert_eq!(d.consumed, data.len());
            let mut got = Vec::new();
            for b in &d.batches {
                prop_assert_eq!(b.header.magic as u8, magic);
                prop_assert_eq!(b.header.last_offset(), b.records.last().unwrap().offset);
                for (i, r) in b.records.iter().enumerate() {
                    got.push((r.offset, r.timestamp, key(b, i), value(b, i)));
                }
            }
            let want: Vec<_> = msgs
                .iter()
                .enumerate()
                .map(|(i, (k, v, ts))| {
                    let ts = match (magic, codec != Compression::None && log_append) {
                        (0, _) => -1,
                        (_, true) => 4242,
                        _ => *ts,
                    };
                    (first_offset + i as i64, ts, k.clone(), v.clone())
                })
                .collect();
            prop_assert_eq!(got, want);
        }

        #[test]
        fn corrupted_legacy_sets_never_panic(
            magic in 0u8..=1,
            codec in codec(),
            msgs in messages(),
            position in any::<prop::sample::Index>(),
            xor in 1u8..=255,
            check_crc in any::<bool>(),
        ) {
            let mut data = build(magic, codec, false, &msgs, 10);
            let at = position.index(data.len());
            // Position of the flipped byte inside its top-level message.
            let mut start = 0;
            while start + 12 <= data.len() {
                let size = i32::from_be_bytes(data[start + 8..start + 12].try_into().unwrap());
                let end = start + 12 + size as usize;
                if at < end {
                    break;
                }
                start = end;
            }
            let within = at - start;
            data[at] ^= xor;
            let opts = DecodeOptions { check_crc, ..DecodeOptions::default() };
            match decode_batches(&data, &opts) {
                Err(e) => prop_assert!(
                    matches!(e, Error::Corrupt(_) | Error::Compression(_) | Error::UnsupportedCompression(_)),
                    "unexpected error {:?}", e
                ),
                // The CRC covers each message from its magic byte on; only its offset, size and
                // the CRC field itself are outside (a flipped CRC field must fail the check).
                Ok(_) => prop_assert!(
                    !check_crc || within < 12,
                    "flip at byte {} ({} into its message) accepted",
                    at,
                    within
                ),
            }
        }

        #[test]
        fn wrappers_around_random_bytes_never_panic(
            magic in 0u8..=1,
            codec in prop_oneof![Just(Compression::Gzip), Just(Compression::Snappy), Just(Compression::Lz4)],
            inner in vec(any::<u8>(), 0..300),
        ) {
            let compressed = compression::compress(codec, &inner, None).unwrap();
            let data = Msg {
                magic,
                attributes: codec.id(),
                timestamp: 0,
                key: None,
                value: Some(&compressed),
            }
            .at(0);
            if let Err(e) = decode(&data) {
                prop_assert!(matches!(e, Error::Corrupt(_)), "unexpected error {:?}", e);
            }
        }
    }
}
