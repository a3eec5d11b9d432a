//! Property tests for v2 record batches: encode -> decode identity, concatenation, truncation,
//! single-byte corruption and random input.

use kaffe_core::compression::Compression;
use kaffe_core::records::{
    decode_batches, encode_batch, BatchOptions, DecodeOptions, Decoded, DecodedBatch, RecordInput,
    TimestampType,
};
use kaffe_core::Error;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

/// An owned record, so strategies can generate it; borrowed into `RecordInput` for encoding.
#[derive(Clone, Debug)]
struct Rec {
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    headers: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    timestamp: i64,
}

impl Rec {
    fn input(&self) -> RecordInput<'_> {
        RecordInput {
            key: self.key.as_deref(),
            value: self.value.as_deref(),
            headers: self
                .headers
                .iter()
                .map(|(k, v)| (k.as_slice(), v.as_deref()))
                .collect(),
            timestamp: self.timestamp,
        }
    }
}

fn bytes_strategy() -> impl Strategy<Value = Option<Vec<u8>>> {
    prop_oneof![
        2 => Just(None),
        2 => Just(Some(Vec::new())),
        6 => vec(any::<u8>(), 0..40).prop_map(Some),
        1 => vec(any::<u8>(), 100..3000).prop_map(Some),
        // long runs compress well; exercises multi-block lz4/snappy frames
        1 => (any::<u8>(), 0usize..200_000).prop_map(|(b, n)| Some(vec![b; n])),
    ]
}

fn timestamp_strategy() -> impl Strategy<Value = i64> {
    prop_oneof![
        any::<i64>(),
        -3i64..3,
        1_500_000_000_000i64..1_900_000_000_000,
        Just(i64::MIN),
        Just(i64::MAX),
    ]
}

fn rec_strategy() -> impl Strategy<Value = Rec> {
    (
        bytes_strategy(),
        bytes_strategy(),
        vec(
            (vec(any::<u8>(), 0..10), option::of(vec(any::<u8>(), 0..20))),
            0..4,
        ),
        timestamp_strategy(),
    )
        .prop_map(|(key, value, headers, timestamp)| Rec {
            key,
            value,
            headers,
            timestamp,
        })
}

fn codec_strategy() -> impl Strategy<Value = Compression> {
    prop_oneof![
        Just(Compression::None),
        Just(Compression::Gzip),
        Just(Compression::Snappy),
        Just(Compression::Lz4),
        Just(Compression::Zstd),
    ]
}

fn opts_strategy() -> impl Strategy<Value = BatchOptions> {
    (
        (any::<i64>(), any::<i32>(), codec_strategy(), any::<bool>()),
        (any::<bool>(), any::<bool>(), any::<bool>()),
        (any::<i64>(), any::<i16>(), any::<i32>()),
        option::of(timestamp_strategy()),
    )
        .prop_map(
            |(
                (base_offset, ple, compression, use_level),
                (log_append, transactional, control),
                (producer_id, producer_epoch, base_sequence),
                max_timestamp,
            )| {
                let compression_level = match (use_level, compression) {
                    (true, Compression::Gzip) => Some(1),
                    (true, Compression::Zstd) => Some(10),
                    (true, Compression::Lz4) => Some(9),
                    _ => None,
                };
                BatchOptions {
                    base_offset,
                    partition_leader_epoch: ple,
                    compression,
                    compression_level,
                    timestamp_type: if log_append {
                        TimestampType::LogAppend
                    } else {
                        TimestampType::Create
                    },
                    transactional,
                    control,
                    producer_id,
                    producer_epoch,
                    base_sequence,
                    max_timestamp,
                }
            },
        )
}

fn batch_strategy() -> impl Strategy<Value = (Vec<Rec>, BatchOptions)> {
    (vec(rec_strategy(), 1..12), opts_strategy())
}

fn encode(records: &[Rec], opts: &BatchOptions) -> Vec<u8> {
    let inputs: Vec<RecordInput<'_>> = records.iter().map(Rec::input).collect();
    let mut out = Vec::new();
    encode_batch(&inputs, opts, &mut out).expect("encode");
    out
}

fn span_bytes(batch: &DecodedBatch<'_>, span: &Option<std::ops::Range<usize>>) -> Option<Vec<u8>> {
    span.as_ref().map(|s| batch.buffer[s.clone()].to_vec())
}

/// Check one decoded batch against what was encoded, field by field.
fn check_batch(batch: &DecodedBatch<'_>, records: &[Rec], opts: &BatchOptions, size: usize) {
    let h = &batch.header;
    let n = records.len();
    let expected_max = opts
        .max_timestamp
        .unwrap_or_else(|| records.iter().map(|r| r.timestamp).max().unwrap());
    assert_eq!(h.magic, 2);
    assert_eq!(h.base_offset, opts.base_offset);
    assert_eq!(h.partition_leader_epoch, opts.partition_leader_epoch);
    assert_eq!(h.compression().unwrap(), opts.compression);
    assert_eq!(h.timestamp_type(), opts.timestamp_type);
    assert_eq!(h.is_transactional(), opts.transactional);
    assert_eq!(h.is_control(), opts.control);
    assert_eq!(h.last_offset_delta as usize, n - 1);
    assert_eq!(h.base_timestamp, records[0].timestamp);
    assert_eq!(h.max_timestamp, expected_max);
    assert_eq!(h.producer_id, opts.producer_id);
    assert_eq!(h.producer_epoch, opts.producer_epoch);
    assert_eq!(h.base_sequence, opts.base_sequence);
    assert_eq!(h.record_count as usize, n);
    assert_eq!(h.batch_length as usize + 12, size);
    assert_eq!(batch.size_in_bytes, size);
    assert_eq!(batch.records.len(), n);
    for (i, (got, want)) in batch.records.iter().zip(records).enumerate() {
        assert_eq!(got.offset, opts.base_offset.wrapping_add(i as i64));
        let ts = match opts.timestamp_type {
            TimestampType::LogAppend => expected_max,
            TimestampType::Create => want.timestamp,
        };
        assert_eq!(got.timestamp, ts);
        assert_eq!(span_bytes(batch, &got.key), want.key);
        assert_eq!(span_bytes(batch, &got.value), want.value);
        let headers: Vec<(Vec<u8>, Option<Vec<u8>>)> = batch.headers[got.headers.clone()]
            .iter()
            .map(|hs| {
                (
                    batch.buffer[hs.key.clone()].to_vec(),
                    span_bytes(batch, &hs.value),
                )
            })
            .collect();
        assert_eq!(headers, want.headers);
    }
}

fn decode(data: &[u8], check_crc: bool) -> Result<Decoded<'_>, Error> {
    let opts = DecodeOptions {
        check_crc,
        ..DecodeOptions::default()
    };
    decode_batches(data, &opts)
}

fn is_data_error(e: &Error) -> bool {
    matches!(
        e,
        Error::Corrupt(_) | Error::Compression(_) | Error::UnsupportedCompression(_)
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn encode_decode_identity((records, opts) in batch_strategy()) {
        let bytes = encode(&records, &opts);
        let d = decode(&bytes, true).unwrap();
        prop_assert_eq!(d.consumed, bytes.len());
        prop_assert_eq!(d.batches.len(), 1);
        check_batch(&d.batches[0], &records, &opts, bytes.len());
    }

    #[test]
    fn concatenated_batches_decode_in_order(batches in vec(batch_strategy(), 1..5)) {
        let mut data = Vec::new();
        let mut sizes = Vec::new();
        for (records, opts) in &batches {
            let before = data.len();
            let inputs: Vec<RecordInput<'_>> = records.iter().map(Rec::input).collect();
            encode_batch(&inputs, opts, &mut data).unwrap();
            sizes.push(data.len() - before);
        }
        let d = decode(&data, true).unwrap();
        prop_assert_eq!(d.consumed, data.len());
        prop_assert_eq!(d.batches.len(), batches.len());
        for ((batch, (records, opts)), size) in d.batches.iter().zip(&batches).zip(&sizes) {
            check_batch(batch, records, opts, *size);
        }
    }

    #[test]
    fn any_prefix_decodes_the_complete_batches(
        batches in vec(batch_strategy(), 1..4),
        cut_fraction in 0.0f64..=1.0,
    ) {
        let mut data = Vec::new();
        let mut ends = Vec::new();
        for (records, opts) in &batches {
            let inputs: Vec<RecordInput<'_>> = records.iter().map(Rec::input).collect();
            encode_batch(&inputs, opts, &mut data).unwrap();
            ends.push(data.len());
        }
        let cut = ((data.len() as f64) * cut_fraction) as usize;
        let d = decode(&data[..cut], true).unwrap();
        let complete = ends.iter().filter(|&&e| e <= cut).count();
        prop_assert_eq!(d.batches.len(), complete);
        prop_assert_eq!(d.consumed, if complete == 0 { 0 } else { ends[complete - 1] });
        for (batch, (records, opts)) in d.batches.iter().zip(&batches) {
            prop_assert_eq!(batch.records.len(), records.len());
            prop_assert_eq!(batch.header.base_offset, opts.base_offset);
        }
    }

    #[test]
    fn single_byte_corruption_never_panics(
        (records, opts) in batch_strategy(),
        position in any::<prop::sample::Index>(),
        xor in 1u8..=255,
        check_crc in any::<bool>(),
    ) {
        let mut bytes = encode(&records, &opts);
        let at = position.index(bytes.len());
        bytes[at] ^= xor;
        match decode(&bytes, check_crc) {
            Err(e) => prop_assert!(is_data_error(&e), "unexpected error kind {:?}", e),
            Ok(d) => {
                // Only the fields outside the CRC's reach, or an unchecked CRC, may let a
                // corrupted batch through.
                prop_assert!(
                    !check_crc || at < 16,
                    "flip at byte {} accepted with check_crc ({} batches)",
                    at,
                    d.batches.len()
                );
                prop_assert!(d.consumed <= bytes.len());
            }
        }
    }

    #[test]
    fn random_bytes_never_panic(data in vec(any::<u8>(), 0..600), check_crc in any::<bool>()) {
        if let Err(e) = decode(&data, check_crc) {
            prop_assert!(is_data_error(&e), "unexpected error kind {:?}", e);
        }
    }

    #[test]
    fn random_record_sections_never_panic(
        section in vec(any::<u8>(), 0..400),
        count in prop_oneof![0i32..20, any::<i32>()],
        attributes in any::<i16>(),
    ) {
        // A well-formed header with a valid CRC in front of random record bytes, so the record
        // parser (and the decompressors) see the garbage.
        let mut b = Vec::new();
        b.extend_from_slice(&0i64.to_be_bytes());
        b.extend_from_slice(&((49 + section.len()) as i32).to_be_bytes());
        b.extend_from_slice(&0i32.to_be_bytes());
        b.push(2);
        b.extend_from_slice(&[0; 4]);
        b.extend_from_slice(&attributes.to_be_bytes());
        b.extend_from_slice(&[0; 32]);
        b.extend_from_slice(&count.to_be_bytes());
        b.extend_from_slice(&section);
        let crc = kaffe_core::crc::crc32c(&b[21..]);
        b[17..21].copy_from_slice(&crc.to_be_bytes());
        if let Err(e) = decode(&b, true) {
            prop_assert!(is_data_error(&e), "unexpected error kind {:?}", e);
        }
    }
}
