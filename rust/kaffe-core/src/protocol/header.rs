//! Request header v0-v2 and response header v0-v1, and which one each API version uses.
//!
//! Layout (`RequestHeader.json`, `ResponseHeader.json`):
//!
//! * request header: `api_key: int16, api_version: int16, correlation_id: int32`, then from v1
//!   `client_id: nullable string` (always the int16-length form, even in v2, so that any broker
//!   can read the header of an ApiVersions request), then in v2 a tagged-field section.
//! * response header: `correlation_id: int32`, then in v1 a tagged-field section.
//!
//! Which header a message uses (Kafka's `ApiKeys.requestHeaderVersion`/`responseHeaderVersion`):
//! flexible versions use request header v2 and response header v1, others v1 and v0; the
//! exceptions are ControlledShutdown v0 (request header v0) and ApiVersions responses, which
//! always use response header v0 so that a client can read the answer whatever version it asked
//! for.
//!
//! These are written by hand for speed; a test checks them against the generic codec running on
//! the generated `REQUEST_HEADER`/`RESPONSE_HEADER` tables.

use super::primitives::{self as p, Reader};
use super::schema::ApiSpec;
use super::value::RawTaggedField;
use crate::error::{Error, Result};

/// The API key of ControlledShutdown, whose v0 used request header v0.
const CONTROLLED_SHUTDOWN: i16 = 7;
/// The API key of ApiVersions, whose responses always use response header v0.
const API_VERSIONS: i16 = 18;

/// A decoded request header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHeader {
    /// The API key.
    pub api_key: i16,
    /// The API version of the body.
    pub api_version: i16,
    /// The correlation id the response will echo.
    pub correlation_id: i32,
    /// The client id (absent in header v0, nullable).
    pub client_id: Option<String>,
    /// Tagged fields of header v2 (the header defines none, so all are unknown).
    pub unknown_tagged: Vec<RawTaggedField>,
}

/// A decoded response header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHeader {
    /// The correlation id of the request this answers.
    pub correlation_id: i32,
    /// Tagged fields of header v1 (the header defines none, so all are unknown).
    pub unknown_tagged: Vec<RawTaggedField>,
}

/// The request header version for `api` at `version`.
pub fn request_header_version(api: &ApiSpec, version: i16) -> i16 {
    if api.request.is_flexible(version) {
        2
    } else if api.key == CONTROLLED_SHUTDOWN && version == 0 {
        0
    } else {
        1
    }
}

/// The response header version for `api` at `version`.
pub fn response_header_version(api: &ApiSpec, version: i16) -> i16 {
    if api.key == API_VERSIONS {
        0
    } else if api.response.is_flexible(version) {
        1
    } else {
        0
    }
}

fn put_tagged_section(out: &mut Vec<u8>, fields: &[RawTaggedField]) -> Result<()> {
    let mut sorted: Vec<&RawTaggedField> = fields.iter().collect();
    sorted.sort_by_key(|f| f.tag);
    p::put_uvarint(out, len_u32(sorted.len())?);
    for f in sorted {
        p::put_uvarint(out, f.tag);
        p::put_uvarint(out, len_u32(f.data.len())?);
        out.extend_from_slice(&f.data);
    }
    Ok(())
}

fn len_u32(n: usize) -> Result<u32> {
    u32::try_from(n)
        .ok()
        .filter(|n| *n <= i32::MAX as u32)
        .ok_or_else(|| Error::InvalidArgument(format!("size {n} is too large")))
}

/// Read a tagged-field section whose tags are all unknown to the schema.
pub(crate) fn read_tagged_section(r: &mut Reader<'_>) -> Result<Vec<RawTaggedField>> {
    let count = r.uvarint()? as usize;
    if count > r.remaining() / 2 {
        return Err(Error::Corrupt(format!(
            "{count} tagged fields cannot fit in {} bytes",
            r.remaining()
        )));
    }
    let mut fields = Vec::with_capacity(count);
    for _ in 0..count {
        let tag = r.uvarint()?;
        let size = r.uvarint()? as usize;
        fields.push(RawTaggedField {
            tag,
            data: r.take(size)?.to_vec(),
        });
    }
    fields.sort_by_key(|f| f.tag);
    Ok(fields)
}

/// Append a request header of version `header_version` (0, 1 or 2).
pub fn encode_request_header(
    out: &mut Vec<u8>,
    header_version: i16,
    header: &RequestHeader,
) -> Result<()> {
    if !(0..=2).contains(&header_version) {
        return Err(Error::InvalidArgument(format!(
            "request header version {header_version} does not exist"
        )));
    }
    p::put_i16(out, header.api_key);
    p::put_i16(out, header.api_version);
    p::put_i32(out, header.correlation_id);
    if header_version >= 1 {
        match &header.client_id {
            None => p::put_i16(out, -1),
            Some(id) => {
                let len = i16::try_from(id.len()).map_err(|_| {
                    Error::InvalidArgument(format!(
                        "client id of {} bytes is longer than 32767",
                        id.len()
                    ))
                })?;
                p::put_i16(out, len);
                out.extend_from_slice(id.as_bytes());
            }
        }
    }
    if header_version >= 2 {
        put_tagged_section(out, &header.unknown_tagged)?;
    } else if !header.unknown_tagged.is_empty() {
        return Err(Error::InvalidArgument(format!(
            "request header v{header_version} cannot carry tagged fields"
        )));
    }
    Ok(())
}

/// Read a request header. The header version follows from the API key and version it starts
/// with, so the API must be known (`Corrupt` otherwise, as for any malformed request).
pub fn decode_request_header(r: &mut Reader<'_>) -> Result<(RequestHeader, &'static ApiSpec)> {
    let api_key = r.i16()?;
    let api_version = r.i16()?;
    let correlation_id = r.i32()?;
    let api = super::api::api(api_key)
        .ok_or_else(|| Error::Corrupt(format!("unknown api key {api_key}")))?;
    if !api.request.valid_versions.contains(api_version) {
        return Err(Error::Corrupt(format!(
            "{} v{api_version} is not a valid version ({})",
            api.name, api.request.valid_versions
        )));
    }
    let header_version = request_header_version(api, api_version);
    let mut client_id = None;
    if header_version >= 1 {
        if let Some(len) = r.string_len()? {
            let raw = r.take(len)?;
            let s = std::str::from_utf8(raw)
                .map_err(|_| Error::Corrupt("client id is not UTF-8".into()))?;
            client_id = Some(s.to_owned());
        }
    }
    let unknown_tagged = if header_version >= 2 {
        read_tagged_section(r)?
    } else {
        Vec::new()
    };
    Ok((
        RequestHeader {
            api_key,
            api_version,
            correlation_id,
            client_id,
            unknown_tagged,
        },
        api,
    ))
}

/// Append a response header of version `header_version` (0 or 1).
pub fn encode_response_header(
    out: &mut Vec<u8>,
    header_version: i16,
    header: &ResponseHeader,
) -> Result<()> {
    p::put_i32(out, header.correlation_id);
    match header_version {
        0 if header.unknown_tagged.is_empty() => Ok(()),
        0 => Err(Error::InvalidArgument(
            "response header v0 cannot carry tagged fields".into(),
        )),
        1 => put_tagged_section(out, &header.unknown_tagged),
        other => Err(Error::InvalidArgument(format!(
            "response header version {other} does not exist"
        ))),
    }
}

/// Read a response header of version `header_version` (0 or 1).
pub fn decode_response_header(r: &mut Reader<'_>, header_version: i16) -> Result<ResponseHeader> {
    let correlation_id = r.i32()?;
    let unknown_tagged = match header_version {
        0 => Vec::new(),
        1 => read_tagged_section(r)?,
        other => {
            return Err(Error::InvalidArgument(format!(
                "response header version {other} does not exist"
            )))
        }
    };
    Ok(ResponseHeader {
        correlation_id,
        unknown_tagged,
    })
}
