//! Encoder behaviour that the round-trip properties cannot show: defaults for absent fields,
//! Kafka's "ignorable" rule, and errors that name the field path.

use kaffe_core::protocol::{self, api, codec, RawTaggedField, StructValue, Value};
use kaffe_core::Error;

fn encode(key: i16, version: i16, body: &StructValue) -> kaffe_core::Result<Vec<u8>> {
    let mut out = Vec::new();
    codec::encode(api::api(key).expect("api").request, version, body, &mut out)?;
    Ok(out)
}

fn invalid(result: kaffe_core::Result<Vec<u8>>) -> String {
    match result {
        Err(Error::InvalidArgument(msg)) => msg,
        other => panic!("expected InvalidArgument, got {other:?}"),
    }
}

fn topic(name: &str) -> Value {
    Value::structure(StructValue::new().with("name", Value::str(name)))
}

#[test]
fn protocol_absent_fields_take_their_defaults() {
    // Metadata v4: topics (int32 array), allow_auto_topic_creation (bool, default true).
    let empty = encode(3, 4, &StructValue::new()).expect("encode");
    assert_eq!(
        empty,
        [0, 0, 0, 0, 1],
        "empty topics, auto-create defaults to true"
    );
    // ListOffsets v4 partition: current_leader_epoch defaults to -1.
    let body = StructValue::new().with(
        "topics",
        Value::array(vec![Value::structure(
            StructValue::new().with("name", Value::str("t")).with(
                "partitions",
                Value::array(vec![Value::structure(StructValue::new())]),
            ),
        )]),
    );
    let bytes = encode(2, 4, &body).expect("encode");
    let expected: Vec<u8> = [
        &[0, 0, 0, 0][..],         // replica_id 0
        &[0],                      // isolation_level 0
        &[0, 0, 0, 1, 0, 1, b't'], // one topic "t"
        &[0, 0, 0, 1],             // one partition
        &[0, 0, 0, 0],             // partition_index 0
        &[0xff, 0xff, 0xff, 0xff], // current_leader_epoch -1 (spec default)
        &[0, 0, 0, 0, 0, 0, 0, 0], // timestamp 0
    ]
    .concat();
    assert_eq!(bytes, expected);
}

#[test]
fn protocol_fields_outside_the_version() {
    // Metadata topic_id exists from v10 and is ignorable: silently dropped at v9.
    let body = StructValue::new().with(
        "topics",
        Value::array(vec![Value::structure(
            StructValue::new()
                .with("topic_id", Value::Uuid([7; 16]))
                .with("name", Value::str("t")),
        )]),
    );
    let with_id = encode(3, 9, &body).expect("ignorable field is dropped");
    let without = encode(
        3,
        9,
        &StructValue::new().with("topics", Value::array(vec![topic("t")])),
    )
    .expect("encode");
    assert_eq!(with_id, without);

    // include_cluster_authorized_operations exists only in v8-10 and is not ignorable.
    let body = StructValue::new().with("include_cluster_authorized_operations", Value::Bool(true));
    let msg = invalid(encode(3, 11, &body));
    assert!(
        msg.contains("include_cluster_authorized_operations"),
        "{msg}"
    );
    assert!(msg.contains("8-10"), "{msg}");
    // ...but its default value may be given at any version.
    let body = StructValue::new().with("include_cluster_authorized_operations", Value::Bool(false));
    encode(3, 11, &body).expect("default value is not information");
}

#[test]
fn protocol_encode_errors_name_the_field_path() {
    // ListOffsets v1: topics[0].partitions[1].partition_index out of int32 range.
    let partition = |index: i64| {
        Value::structure(
            StructValue::new()
                .with("partition_index", Value::Int(index))
                .with("timestamp", Value::Int(-1)),
        )
    };
    let body = StructValue::new().with(
        "topics",
        Value::array(vec![Value::structure(
            StructValue::new().with("name", Value::str("t")).with(
                "partitions",
                Value::array(vec![partition(0), partition(1 << 40)]),
            ),
        )]),
    );
    let msg = invalid(encode(2, 1, &body));
    assert!(
        msg.contains("ListOffsetsRequest v1: topics[0].partitions[1].partition_index"),
        "{msg}"
    );
    assert!(msg.contains("out of range for int32"), "{msg}");

    // Wrong type.
    let body = StructValue::new().with("topics", Value::array(vec![Value::Int(3)]));
    let msg = invalid(encode(3, 1, &body));
    assert!(
        msg.contains("topics[0]") && msg.contains("expected MetadataRequestTopic"),
        "{msg}"
    );

    // Null where the version does not allow it (Metadata topics is nullable from v1).
    let body = StructValue::new().with("topics", Value::Array(None));
    encode(3, 1, &body).expect("null topics = all topics at v1");
    let msg = invalid(encode(3, 0, &body));
    assert!(msg.contains("topics") && msg.contains("null"), "{msg}");

    // A field name the schema does not have.
    let body = StructValue::new().with("topicz", Value::array(vec![]));
    let msg = invalid(encode(3, 1, &body));
    assert!(msg.contains("unknown field \"topicz\""), "{msg}");

    // Strings longer than the protocol allows.
    let body = StructValue::new().with("topics", Value::array(vec![topic(&"x".repeat(40_000))]));
    let msg = invalid(encode(3, 1, &body));
    assert!(msg.contains("topics[0].name"), "{msg}");
}

#[test]
fn protocol_tagged_fields_need_a_flexible_version() {
    let mut body = StructValue::new();
    body.unknown_tagged.push(RawTaggedField {
        tag: 5,
        data: vec![1],
    });
    let msg = invalid(encode(3, 8, &body));
    assert!(msg.contains("tagged fields"), "{msg}");
    let bytes = encode(3, 9, &body).expect("v9 is flexible");
    // topics (compact, empty) = 0x01, allow_auto 1, include_cluster 0, include_topic 0,
    // then one tagged field: tag 5, size 1, data 1.
    assert_eq!(bytes, [0x01, 1, 0, 0, 1, 5, 1, 1]);
}

#[test]
fn protocol_known_tagged_fields_are_written_only_when_not_default() {
    // ApiVersions v3 response: finalized_features_epoch is tag 1 with default -1.
    let schema = api::api(18).expect("ApiVersions").response;
    let mut plain = Vec::new();
    codec::encode(schema, 3, &StructValue::new(), &mut plain).expect("encode");
    // error_code, api_keys (empty), throttle_time_ms, no tagged fields.
    assert_eq!(plain, [0, 0, 1, 0, 0, 0, 0, 0]);
    let mut with_epoch = Vec::new();
    let body = StructValue::new().with("finalized_features_epoch", Value::Int(42));
    codec::encode(schema, 3, &body, &mut with_epoch).expect("encode");
    assert_eq!(
        with_epoch,
        [0, 0, 1, 0, 0, 0, 0, 1, 1, 8, 0, 0, 0, 0, 0, 0, 0, 42]
    );
    let decoded = codec::decode(schema, 3, &with_epoch).expect("decode");
    assert_eq!(decoded.get_int("finalized_features_epoch"), Some(42));
    let decoded = codec::decode(schema, 3, &plain).expect("decode");
    assert_eq!(decoded.get_int("finalized_features_epoch"), Some(-1));
}

#[test]
fn protocol_bad_api_or_version_is_an_argument_error() {
    let body = StructValue::new();
    assert!(matches!(
        protocol::encode_request(999, 0, 1, None, &body),
        Err(Error::InvalidArgument(_))
    ));
    // Produce v0-v2 were removed in Kafka 4.0.
    let err = protocol::encode_request(0, 2, 1, None, &body).expect_err("removed version");
    assert!(err.to_string().contains("3-13"), "{err}");
    assert!(matches!(
        protocol::decode_response(1, 3, &[0, 0, 0, 0]),
        Err(Error::InvalidArgument(_))
    ));
    // The four APIs Kafka 4 removed have no versions at all.
    let removed = api::api(4).expect("LeaderAndIsr is still in the tables");
    assert!(removed.request.valid_versions.is_empty());
    assert!(api::client_versions(removed).is_none());
}

#[test]
fn protocol_client_versions_skip_unstable_latest() {
    // OffsetCommit's latest version (10) is unstable in Kafka 4.1; clients negotiate up to 9.
    let oc = api::api(8).expect("OffsetCommit");
    assert!(oc.request.latest_version_unstable);
    assert_eq!(api::client_versions(oc), Some((2, 9)));
    let produce = api::api_by_name("Produce").expect("Produce");
    assert_eq!(api::client_versions(produce), Some((3, 13)));
}
