//! Property: for every message spec and every version, `decode(encode(v)) == v` on generated
//! values, and re-encoding the decoded value gives the same bytes. Also whole-frame round trips
//! (header + body) for every API version, through the public request/response functions.

mod protocol_gen;

use kaffe_core::protocol::codec;
use kaffe_core::protocol::{self, api};
use protocol_gen::{all_message_versions, random_body, Rng};

const SEEDS_PER_VERSION: u64 = 40;

#[test]
fn protocol_body_round_trip_every_message_every_version() {
    let mut checked = 0usize;
    for (schema, version) in all_message_versions() {
        for seed in 0..SEEDS_PER_VERSION {
            let body = random_body(schema, version, seed, 3);
            let mut bytes = Vec::new();
            codec::encode(schema, version, &body, &mut bytes).unwrap_or_else(|e| {
                panic!("{} v{version} seed {seed}: encode failed: {e}", schema.name)
            });
            let decoded = codec::decode(schema, version, &bytes).unwrap_or_else(|e| {
                panic!("{} v{version} seed {seed}: decode failed: {e}", schema.name)
            });
            assert_eq!(decoded, body, "{} v{version} seed {seed}", schema.name);
            let mut again = Vec::new();
            codec::encode(schema, version, &decoded, &mut again).expect("re-encode");
            assert_eq!(
                again, bytes,
                "{} v{version} seed {seed}: bytes",
                schema.name
            );
            checked += 1;
        }
    }
    // 93 APIs with on average several versions each, both directions, plus headers and data.
    assert!(checked > 20_000, "only {checked} round trips ran");
}

#[test]
fn protocol_frame_round_trip_every_api_version() {
    let mut rng = Rng::new(7);
    let mut apis_checked = 0;
    for a in api::apis() {
        let v = a.request.valid_versions;
        if v.is_empty() {
            continue;
        }
        apis_checked += 1;
        for version in v.min..=v.max {
            for seed in 0..8u64 {
                let correlation_id = rng.next_u64() as i32;
                let client_id = match seed % 3 {
                    0 => None,
                    1 => Some(String::new()),
                    _ => Some(format!("kaffe-{seed}")),
                };
                let req = random_body(a.request, version, seed, 2);
                let bytes = protocol::encode_request(
                    a.key,
                    version,
                    correlation_id,
                    client_id.as_deref(),
                    &req,
                )
                .unwrap_or_else(|e| panic!("{} v{version}: {e}", a.name));
                let (header, body) = protocol::decode_request(&bytes)
                    .unwrap_or_else(|e| panic!("{} v{version}: {e}", a.name));
                assert_eq!(header.api_key, a.key);
                assert_eq!(header.api_version, version);
                assert_eq!(header.correlation_id, correlation_id);
                assert_eq!(header.client_id, client_id);
                assert_eq!(body, req, "{} v{version} request", a.name);

                let resp = random_body(a.response, version, seed + 100, 2);
                let bytes = protocol::encode_response(a.key, version, correlation_id, &resp)
                    .unwrap_or_else(|e| panic!("{} v{version}: {e}", a.name));
                assert_eq!(
                    protocol::peek_correlation_id(&bytes).expect("peek"),
                    correlation_id
                );
                let (header, body) = protocol::decode_response(a.key, version, &bytes)
                    .unwrap_or_else(|e| panic!("{} v{version}: {e}", a.name));
                assert_eq!(header.correlation_id, correlation_id);
                assert_eq!(body, resp, "{} v{version} response", a.name);
            }
        }
    }
    assert!(apis_checked >= 85, "only {apis_checked} APIs");
}
