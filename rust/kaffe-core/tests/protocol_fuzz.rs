//! Property: arbitrary bytes never crash a decoder, for every message spec and every version.
//!
//! Whatever a decoder accepts must also re-encode, and the re-encoded bytes must be a fixed
//! point (decode -> encode gives the same bytes again). Inputs are purely random bytes, and
//! mutations (byte flips, truncations, inserted big length fields) of valid encodings, which
//! reach much deeper into the decoders than random noise does.

mod protocol_gen;

use kaffe_core::protocol::{self, codec, schema::MessageSchema};
use kaffe_core::Error;
use proptest::prelude::*;
use protocol_gen::{all_message_versions, random_body, Rng};

/// Decode `bytes`; if that works, check the encode/decode fixed point.
fn check(schema: &MessageSchema, version: i16, bytes: &[u8]) -> bool {
    match codec::decode(schema, version, bytes) {
        Err(Error::Corrupt(_)) => false,
        Err(other) => panic!(
            "{} v{version}: decode returned a non-Corrupt error: {other}",
            schema.name
        ),
        Ok(value) => {
            let mut once = Vec::new();
            codec::encode(schema, version, &value, &mut once).unwrap_or_else(|e| {
                panic!(
                    "{} v{version}: decoded value does not re-encode: {e}",
                    schema.name
                )
            });
            let again = codec::decode(schema, version, &once).expect("re-decode");
            let mut twice = Vec::new();
            codec::encode(schema, version, &again, &mut twice).expect("re-encode");
            assert_eq!(once, twice, "{} v{version}: not a fixed point", schema.name);
            true
        }
    }
}

fn mutate(rng: &mut Rng, valid: &[u8]) -> Vec<u8> {
    let mut b = valid.to_vec();
    match rng.below(5) {
        0 if !b.is_empty() => {
            let i = rng.below(b.len() as u64) as usize;
            b[i] ^= 1 << rng.below(8);
        }
        1 if !b.is_empty() => {
            let i = rng.below(b.len() as u64) as usize;
            b[i] = rng.next_u64() as u8;
        }
        2 => b.truncate(rng.below(b.len() as u64 + 1) as usize),
        3 => {
            // A huge length field (int32, int16 or varint) somewhere.
            let i = rng.below(b.len() as u64 + 1) as usize;
            let big: &[u8] = match rng.below(3) {
                0 => &[0x7f, 0xff, 0xff, 0xff],
                1 => &[0x7f, 0xff],
                _ => &[0xff, 0xff, 0xff, 0xff, 0x07],
            };
            b.splice(i..i, big.iter().copied());
        }
        _ => {
            let extra = rng.bytes(4);
            b.extend_from_slice(&extra);
        }
    }
    b
}

#[test]
fn protocol_decode_random_and_mutated_bytes_every_message_every_version() {
    let mut rng = Rng::new(42);
    let mut accepted = 0usize;
    let mut total = 0usize;
    for (schema, version) in all_message_versions() {
        for _ in 0..100 {
            let len = rng.below(48);
            let noise = rng.bytes(len);
            accepted += usize::from(check(schema, version, &noise));
            total += 1;
        }
        for seed in 0..20u64 {
            let body = random_body(schema, version, seed, 2);
            let mut valid = Vec::new();
            codec::encode(schema, version, &body, &mut valid).expect("encode");
            for _ in 0..40 {
                let input = mutate(&mut rng, &valid);
                accepted += usize::from(check(schema, version, &input));
                total += 1;
            }
        }
    }
    assert!(total > 500_000, "only {total} inputs");
    eprintln!("{accepted} of {total} inputs decoded");
    // Mutations of valid encodings decode fairly often; if nothing ever decodes, the fixed-point
    // half of this test would be vacuous.
    assert!(
        accepted > total / 20,
        "only {accepted} of {total} inputs decoded"
    );
}

#[test]
fn protocol_huge_length_fields_fail_fast() {
    // Metadata v0 request: topics is a non-nullable int32-counted array of strings.
    let api = protocol::api::api(3).expect("Metadata");
    for input in [
        &[0x7f, 0xff, 0xff, 0xff][..],
        &[0x7f, 0xff, 0xff, 0xff, 0x00, 0x01, b'a'][..],
    ] {
        let err = codec::decode(api.request, 0, input).expect_err("must fail");
        assert!(matches!(err, Error::Corrupt(_)), "{err}");
        assert!(err.to_string().contains("topics"), "path missing: {err}");
    }
    // Metadata v12 (flexible): compact array count 2^31 - 2 in a 6-byte input.
    let err = codec::decode(api.request, 12, &[0xff, 0xff, 0xff, 0xff, 0x07, 0x00])
        .expect_err("must fail");
    assert!(err.to_string().contains("cannot fit"), "{err}");
    // A string that claims 32767 bytes with 3 present.
    let err = codec::decode(api.request, 1, &[0, 0, 0, 1, 0x7f, 0xff, b'a', b'b', b'c'])
        .expect_err("must fail");
    assert!(err.to_string().contains("end of data"), "{err}");
    // Trailing garbage after a complete body is malformed too.
    let err = codec::decode(api.request, 1, &[0, 0, 0, 0, 9]).expect_err("trailing");
    assert!(err.to_string().contains("unexpected bytes"), "{err}");
}

#[test]
fn protocol_frames_from_garbage_fail_cleanly() {
    let mut rng = Rng::new(3);
    for _ in 0..20_000 {
        let len = rng.below(40);
        let bytes = rng.bytes(len);
        if let Err(e) = protocol::decode_request(&bytes) {
            assert!(matches!(e, Error::Corrupt(_)), "{e}");
        }
        let key = rng.below(93) as i16;
        if let Some(api) = protocol::api::api(key) {
            let v = api.response.valid_versions;
            if !v.is_empty() {
                let version = v.min + rng.below((v.max - v.min + 1) as u64) as i16;
                if let Err(e) = protocol::decode_response(key, version, &bytes) {
                    assert!(matches!(e, Error::Corrupt(_)), "{e}");
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10_000, ..ProptestConfig::default() })]

    #[test]
    fn protocol_decode_arbitrary_bytes_never_panics(
        index in 0usize..100_000,
        bytes in proptest::collection::vec(any::<u8>(), 0..160),
    ) {
        let all = all_message_versions();
        let (schema, version) = all[index % all.len()];
        check(schema, version, &bytes);
    }
}
