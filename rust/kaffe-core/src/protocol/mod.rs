//! Kafka request/response codec driven by schema tables generated from Kafka's own JSON message
//! specs (`kafka-clients` 4.1.2, see `tools/codegen`).
//!
//! * [`schema`]: the table types; [`generated`]: the tables (do not edit, run `make codegen`).
//! * [`primitives`]: ints, varints, (compact) strings/bytes/arrays, UUIDs.
//! * [`value`]: the dynamic value tree bodies decode to and encode from.
//! * [`codec`]: the generic encoder/decoder that walks a table at one version.
//! * [`header`]: request header v0-v2, response header v0-v1, and which one each API uses.
//! * [`api`]: looking up APIs by key or name.
//!
//! The functions below frame a whole message: header plus body, *without* the 4-byte size prefix
//! the connection layer adds. `records` fields stay raw bytes for the record-batch codec.
//!
//! Errors: malformed input bytes are [`Error::Corrupt`] (the Python glue raises
//! `kaffe.ProtocolError`); a bad argument or a body that cannot be encoded at the requested
//! version is [`Error::InvalidArgument`]. Every message names the API, version and field path.

pub mod api;
pub mod codec;
#[rustfmt::skip]
pub mod generated;
pub mod header;
pub mod primitives;
pub mod schema;
pub mod value;

pub use header::{RequestHeader, ResponseHeader};
pub use value::{RawTaggedField, StructValue, Value};

use crate::error::{Error, Result};
use primitives::Reader;
use schema::ApiSpec;

fn known_api(api_key: i16) -> Result<&'static ApiSpec> {
    api::api(api_key).ok_or_else(|| Error::InvalidArgument(format!("unknown api key {api_key}")))
}

fn check_request_version(api: &ApiSpec, api_version: i16) -> Result<()> {
    if api.request.valid_versions.contains(api_version) {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "{} v{api_version} is not supported (valid versions: {})",
            api.name, api.request.valid_versions
        )))
    }
}

/// Encode a request: header (of the version the API uses at `api_version`) followed by the body.
pub fn encode_request(
    api_key: i16,
    api_version: i16,
    correlation_id: i32,
    client_id: Option<&str>,
    body: &StructValue,
) -> Result<Vec<u8>> {
    let api = known_api(api_key)?;
    check_request_version(api, api_version)?;
    let header = RequestHeader {
        api_key,
        api_version,
        correlation_id,
        client_id: client_id.map(str::to_owned),
        unknown_tagged: Vec::new(),
    };
    let mut out = Vec::with_capacity(128);
    header::encode_request_header(
        &mut out,
        header::request_header_version(api, api_version),
        &header,
    )?;
    codec::encode(api.request, api_version, body, &mut out)?;
    Ok(out)
}

/// Decode a request (header and body), as a broker would. Unknown API keys and versions are
/// [`Error::Corrupt`].
pub fn decode_request(bytes: &[u8]) -> Result<(RequestHeader, StructValue)> {
    let mut reader = Reader::new(bytes);
    let (header, api) = header::decode_request_header(&mut reader)
        .map_err(|e| corrupt_context(e, "request header"))?;
    let body = codec::decode(api.request, header.api_version, reader.rest())?;
    Ok((header, body))
}

/// Encode a response: header (v0 or v1 as the API requires) followed by the body.
pub fn encode_response(
    api_key: i16,
    api_version: i16,
    correlation_id: i32,
    body: &StructValue,
) -> Result<Vec<u8>> {
    let api = known_api(api_key)?;
    check_request_version(api, api_version)?;
    let mut out = Vec::with_capacity(128);
    header::encode_response_header(
        &mut out,
        header::response_header_version(api, api_version),
        &ResponseHeader {
            correlation_id,
            unknown_tagged: Vec::new(),
        },
    )?;
    codec::encode(api.response, api_version, body, &mut out)?;
    Ok(out)
}

/// Decode a response to a request of `api_key` at `api_version` (the response header does not
/// say which API it answers; the caller knows from the correlation id).
pub fn decode_response(
    api_key: i16,
    api_version: i16,
    bytes: &[u8],
) -> Result<(ResponseHeader, StructValue)> {
    let api = known_api(api_key)?;
    check_request_version(api, api_version)?;
    let mut reader = Reader::new(bytes);
    let header = header::decode_response_header(
        &mut reader,
        header::response_header_version(api, api_version),
    )
    .map_err(|e| corrupt_context(e, "response header"))?;
    let body = codec::decode(api.response, api_version, reader.rest())?;
    Ok((header, body))
}

/// Read just the correlation id at the start of a response frame (the connection layer needs it
/// to find the pending request before it knows how to decode the rest).
pub fn peek_correlation_id(bytes: &[u8]) -> Result<i32> {
    Reader::new(bytes)
        .i32()
        .map_err(|e| corrupt_context(e, "response header"))
}

fn corrupt_context(err: Error, what: &str) -> Error {
    match err {
        Error::Corrupt(msg) => Error::Corrupt(format!("{what}: {msg}")),
        other => other,
    }
}
