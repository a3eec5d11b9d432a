//! Kafka protocol messages for Python: requests and responses as plain dicts.
//!
//! Bodies are dicts keyed by the snake_case field names of Kafka's JSON specs
//! (`ThrottleTimeMs` -> `throttle_time_ms`); nested structs are dicts, arrays are lists, strings
//! are `str`, `bytes`/`records` fields are `bytes`, UUIDs are 16 `bytes` (a `uuid.UUID` is also
//! accepted on input), null is `None`. A field missing from an input dict takes its spec default.
//! Tagged fields the spec does not know travel under the key `_unknown_tagged_fields` as
//! `{tag: bytes}` (present on decode only when there are some).
//!
//! Decoding runs in kaffe-core without the GIL for large inputs, then builds the dicts.
//! Malformed bytes raise `kaffe.errors.ProtocolError`; bad dict input raises `TypeError` or
//! `ValueError` naming the field path (`topics[0].partitions[2].index`).

use std::collections::HashMap;

use kaffe_core::protocol::codec::{located_message, Seg};
use kaffe_core::protocol::schema::{FieldType, MessageSchema, StructSchema};
use kaffe_core::protocol::{self, api, codec, RawTaggedField, StructValue, Value};
use kaffe_core::Error;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyMemoryView, PyString, PyTuple,
    PyType,
};

use crate::errors::to_py;
use crate::gil::{maybe_detach, PLAIN_BYTES_THRESHOLD};

/// Dict key carrying tagged fields the spec does not know.
const UNKNOWN_TAGGED_KEY: &str = "_unknown_tagged_fields";

/// Deepest nesting accepted from Python (the specs nest about five levels).
const MAX_DEPTH: usize = 32;

static PROTOCOL_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// `kaffe.errors.ProtocolError(message)`, imported on first use.
fn protocol_error(py: Python<'_>, message: String) -> PyErr {
    match PROTOCOL_ERROR.import(py, "kaffe.errors", "ProtocolError") {
        Ok(cls) => match cls.call1((message,)) {
            Ok(instance) => PyErr::from_value(instance),
            Err(err) => err,
        },
        Err(err) => err,
    }
}

/// Map a kaffe-core protocol error: malformed bytes -> `ProtocolError`, bad arguments ->
/// `ValueError`.
fn raise(py: Python<'_>, err: Error) -> PyErr {
    match err {
        Error::Corrupt(msg) => protocol_error(py, msg),
        Error::InvalidArgument(msg) => PyValueError::new_err(msg),
        other => to_py(py, other),
    }
}

// ---------------------------------------------------------------------------------------------
// Arguments
// ---------------------------------------------------------------------------------------------

fn arg_i16(name: &str, value: i64) -> PyResult<i16> {
    i16::try_from(value)
        .map_err(|_| PyValueError::new_err(format!("{name} must fit in int16, got {value}")))
}

fn arg_i32(name: &str, value: i64) -> PyResult<i32> {
    i32::try_from(value)
        .map_err(|_| PyValueError::new_err(format!("{name} must fit in int32, got {value}")))
}

fn known_api(api_key: i64) -> PyResult<&'static kaffe_core::protocol::schema::ApiSpec> {
    i16::try_from(api_key)
        .ok()
        .and_then(api::api)
        .ok_or_else(|| PyValueError::new_err(format!("unknown api key {api_key}")))
}

fn check_version(schema: &MessageSchema, version: i16) -> PyResult<()> {
    if schema.valid_versions.contains(version) {
        Ok(())
    } else {
        Err(PyValueError::new_err(format!(
            "{} v{version} is not supported (valid versions: {})",
            schema.name, schema.valid_versions
        )))
    }
}

fn data_schema(name: &str) -> PyResult<&'static MessageSchema> {
    api::data_message(name).ok_or_else(|| {
        let known: Vec<&str> = api::data_messages().iter().map(|m| m.name).collect();
        PyValueError::new_err(format!(
            "unknown data message {name:?} (known: {})",
            known.join(", ")
        ))
    })
}

// ---------------------------------------------------------------------------------------------
// Python -> Value
// ---------------------------------------------------------------------------------------------

/// A conversion error: `TypeError` or `ValueError`, with the path (innermost first).
struct ConvErr {
    type_error: bool,
    msg: String,
    path: Vec<Seg>,
    /// A Python exception raised while reading the input (propagated as is).
    raised: Option<PyErr>,
}

impl ConvErr {
    fn type_err(msg: String) -> Box<ConvErr> {
        Box::new(ConvErr {
            type_error: true,
            msg,
            path: Vec::new(),
            raised: None,
        })
    }

    fn value_err(msg: String) -> Box<ConvErr> {
        Box::new(ConvErr {
            type_error: false,
            msg,
            path: Vec::new(),
            raised: None,
        })
    }
}

/// Adds a path segment while an error unwinds.
trait At {
    fn at(self, seg: Seg) -> Self;
}

impl At for Box<ConvErr> {
    fn at(mut self, seg: Seg) -> Box<ConvErr> {
        self.path.push(seg);
        self
    }
}

impl ConvErr {
    fn into_py(self, context: &str) -> PyErr {
        if let Some(err) = self.raised {
            return err;
        }
        let msg = located_message(context, &self.path, &self.msg);
        if self.type_error {
            PyTypeError::new_err(msg)
        } else {
            PyValueError::new_err(msg)
        }
    }
}

impl From<PyErr> for Box<ConvErr> {
    fn from(err: PyErr) -> Box<ConvErr> {
        Box::new(ConvErr {
            type_error: false,
            msg: String::new(),
            path: Vec::new(),
            raised: Some(err),
        })
    }
}

type Conv<T> = Result<T, Box<ConvErr>>;

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|name| name.to_string())
        .unwrap_or_else(|_| "?".to_owned())
}

fn expected(what: &str, obj: &Bound<'_, PyAny>) -> Box<ConvErr> {
    ConvErr::type_err(format!("expected {what}, got {}", type_name(obj)))
}

/// Converts dicts to value trees; counts raw payload bytes to decide about releasing the GIL.
struct ToValue {
    payload_bytes: usize,
}

impl ToValue {
    fn structure(
        &mut self,
        obj: &Bound<'_, PyAny>,
        schema: &StructSchema,
        depth: usize,
    ) -> Conv<StructValue> {
        if depth > MAX_DEPTH {
            return Err(ConvErr::value_err("structs nested too deeply".into()));
        }
        let dict = obj
            .cast::<PyDict>()
            .map_err(|_| expected(&format!("dict for {}", schema.name), obj))?;
        let mut fields = Vec::with_capacity(dict.len());
        let mut matched = 0usize;
        for field in schema.fields {
            if let Some(item) = dict.get_item(field.name)? {
                matched += 1;
                let value = self
                    .value(&item, &field.ty, depth)
                    .map_err(|e| e.at(Seg::Field(field.name)))?;
                fields.push((field.name, value));
            }
        }
        let mut unknown_tagged = Vec::new();
        if let Some(raw) = dict.get_item(UNKNOWN_TAGGED_KEY)? {
            matched += 1;
            unknown_tagged =
                unknown_tags(&raw).map_err(|e| e.at(Seg::Field(UNKNOWN_TAGGED_KEY)))?;
        }
        if matched != dict.len() {
            return Err(unknown_key(dict, schema));
        }
        Ok(StructValue {
            fields,
            unknown_tagged,
        })
    }

    fn value(&mut self, obj: &Bound<'_, PyAny>, ty: &FieldType, depth: usize) -> Conv<Value> {
        Ok(match ty {
            FieldType::Bool => Value::Bool(
                obj.cast::<PyBool>()
                    .map_err(|_| expected("bool", obj))?
                    .is_true(),
            ),
            FieldType::Float64 => {
                if obj.is_instance_of::<PyBool>() {
                    return Err(expected("float", obj));
                }
                if let Ok(f) = obj.cast::<PyFloat>() {
                    Value::Float(f.value())
                } else if obj.is_instance_of::<PyInt>() {
                    Value::Float(obj.extract::<f64>()?)
                } else {
                    return Err(expected("float", obj));
                }
            }
            FieldType::Uuid => Value::Uuid(uuid_bytes(obj)?),
            FieldType::String => {
                if obj.is_none() {
                    Value::Str(None)
                } else {
                    let s = obj
                        .cast::<PyString>()
                        .map_err(|_| expected("str or None", obj))?;
                    let text = s.to_str().map_err(|_| {
                        ConvErr::value_err("string cannot be encoded as UTF-8".into())
                    })?;
                    Value::Str(Some(text.to_owned()))
                }
            }
            FieldType::Bytes | FieldType::Records => {
                if obj.is_none() {
                    Value::Bytes(None)
                } else {
                    let data = binary(obj)?;
                    self.payload_bytes = self.payload_bytes.saturating_add(data.len());
                    Value::Bytes(Some(data))
                }
            }
            FieldType::Struct(schema) => {
                if obj.is_none() {
                    Value::Struct(None)
                } else {
                    Value::structure(self.structure(obj, schema, depth + 1)?)
                }
            }
            FieldType::Array(elem) => {
                if obj.is_none() {
                    Value::Array(None)
                } else if let Ok(list) = obj.cast::<PyList>() {
                    let mut items = Vec::with_capacity(list.len());
                    for (i, item) in list.iter().enumerate() {
                        items.push(
                            self.value(&item, elem, depth + 1)
                                .map_err(|e| e.at(Seg::Index(i)))?,
                        );
                    }
                    Value::Array(Some(items))
                } else if let Ok(tuple) = obj.cast::<PyTuple>() {
                    let mut items = Vec::with_capacity(tuple.len());
                    for (i, item) in tuple.iter().enumerate() {
                        items.push(
                            self.value(&item, elem, depth + 1)
                                .map_err(|e| e.at(Seg::Index(i)))?,
                        );
                    }
                    Value::Array(Some(items))
                } else {
                    return Err(expected("list, tuple or None", obj));
                }
            }
            FieldType::Int8
            | FieldType::Int16
            | FieldType::Uint16
            | FieldType::Int32
            | FieldType::Uint32
            | FieldType::Int64 => {
                if obj.is_instance_of::<PyBool>() || !obj.is_instance_of::<PyInt>() {
                    return Err(expected("int", obj));
                }
                let value = obj.extract::<i64>().map_err(|_| {
                    ConvErr::value_err(format!("{obj} is out of range for {}", ty.spec_name()))
                })?;
                Value::Int(value)
            }
        })
    }
}

fn binary(obj: &Bound<'_, PyAny>) -> Conv<Vec<u8>> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        Ok(b.as_bytes().to_vec())
    } else if let Ok(b) = obj.cast::<PyByteArray>() {
        Ok(b.to_vec())
    } else if obj.is_instance_of::<PyMemoryView>() {
        let copy = obj.call_method0("tobytes")?;
        let b = copy
            .cast::<PyBytes>()
            .map_err(|_| expected("bytes from memoryview.tobytes()", &copy))?;
        Ok(b.as_bytes().to_vec())
    } else {
        Err(expected("bytes, bytearray, memoryview or None", obj))
    }
}

fn uuid_bytes(obj: &Bound<'_, PyAny>) -> Conv<[u8; 16]> {
    let raw = if let Ok(b) = obj.cast::<PyBytes>() {
        b.as_bytes().to_vec()
    } else if obj.hasattr("bytes")? && !obj.is_instance_of::<PyByteArray>() {
        // uuid.UUID
        let b = obj.getattr("bytes")?;
        b.cast::<PyBytes>()
            .map_err(|_| expected("16 bytes or uuid.UUID", obj))?
            .as_bytes()
            .to_vec()
    } else {
        return Err(expected("16 bytes or uuid.UUID", obj));
    };
    raw.as_slice()
        .try_into()
        .map_err(|_| ConvErr::value_err(format!("a uuid is 16 bytes, got {}", raw.len())))
}

fn unknown_tags(obj: &Bound<'_, PyAny>) -> Conv<Vec<RawTaggedField>> {
    let dict = obj
        .cast::<PyDict>()
        .map_err(|_| expected("dict of int tag -> bytes", obj))?;
    let mut out = Vec::with_capacity(dict.len());
    for (key, value) in dict.iter() {
        let tag: u32 = key
            .extract::<u32>()
            .map_err(|_| ConvErr::value_err(format!("tag {key} is not an int in 0..2**32")))?;
        let data = binary(&value).map_err(|e| e.at(Seg::Key(tag.to_string())))?;
        out.push(RawTaggedField { tag, data });
    }
    out.sort_by_key(|f| f.tag);
    Ok(out)
}

fn unknown_key(dict: &Bound<'_, PyDict>, schema: &StructSchema) -> Box<ConvErr> {
    let known =
        |name: &str| name == UNKNOWN_TAGGED_KEY || schema.fields.iter().any(|f| f.name == name);
    for key in dict.keys() {
        let is_known = key
            .cast::<PyString>()
            .ok()
            .and_then(|s| s.to_str().ok().map(known))
            .unwrap_or(false);
        if !is_known {
            let names: Vec<&str> = schema.fields.iter().map(|f| f.name).collect();
            let shown = key
                .repr()
                .map(|r| r.to_string())
                .unwrap_or_else(|_| "?".to_owned());
            return ConvErr::value_err(format!(
                "unknown field {shown} for {} (fields: {})",
                schema.name,
                names.join(", ")
            ));
        }
    }
    ConvErr::value_err("dict changed size during conversion".into())
}

fn body_to_value(
    body: &Bound<'_, PyAny>,
    schema: &MessageSchema,
    version: i16,
) -> PyResult<(StructValue, usize)> {
    let mut conv = ToValue { payload_bytes: 0 };
    let value = conv
        .structure(body, &schema.body, 0)
        .map_err(|e| e.into_py(&format!("{} v{version}", schema.name)))?;
    Ok((value, conv.payload_bytes))
}

// ---------------------------------------------------------------------------------------------
// Value -> Python
// ---------------------------------------------------------------------------------------------

/// Builds Python objects from a value tree. Field-name keys are created once per call and then
/// reused (a decoded Metadata or Fetch response repeats the same few names thousands of times;
/// reusing the `str` saves creating and hashing it again).
struct ToPy<'py> {
    py: Python<'py>,
    keys: HashMap<usize, Bound<'py, PyString>>,
}

impl<'py> ToPy<'py> {
    fn new(py: Python<'py>) -> ToPy<'py> {
        ToPy {
            py,
            keys: HashMap::new(),
        }
    }

    fn key(&mut self, name: &'static str) -> Bound<'py, PyString> {
        let py = self.py;
        self.keys
            .entry(name.as_ptr() as usize)
            .or_insert_with(|| PyString::intern(py, name))
            .clone()
    }

    fn value(&mut self, value: &Value) -> PyResult<Bound<'py, PyAny>> {
        let py = self.py;
        Ok(match value {
            Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
            Value::Int(i) => i.into_pyobject(py)?.into_any(),
            Value::Float(x) => PyFloat::new(py, *x).into_any(),
            Value::Str(None) | Value::Bytes(None) | Value::Array(None) | Value::Struct(None) => {
                py.None().into_bound(py)
            }
            Value::Str(Some(s)) => PyString::new(py, s).into_any(),
            Value::Bytes(Some(b)) => PyBytes::new(py, b).into_any(),
            Value::Uuid(u) => PyBytes::new(py, u).into_any(),
            Value::Array(Some(items)) => {
                let list = PyList::empty(py);
                for item in items {
                    list.append(self.value(item)?)?;
                }
                list.into_any()
            }
            Value::Struct(Some(s)) => self.structure(s)?.into_any(),
        })
    }

    fn structure(&mut self, value: &StructValue) -> PyResult<Bound<'py, PyDict>> {
        let py = self.py;
        let dict = PyDict::new(py);
        for (name, v) in &value.fields {
            dict.set_item(self.key(name), self.value(v)?)?;
        }
        if !value.unknown_tagged.is_empty() {
            let tags = PyDict::new(py);
            for f in &value.unknown_tagged {
                tags.set_item(f.tag, PyBytes::new(py, &f.data))?;
            }
            dict.set_item(UNKNOWN_TAGGED_KEY, tags)?;
        }
        Ok(dict)
    }
}

fn struct_to_py<'py>(py: Python<'py>, value: &StructValue) -> PyResult<Bound<'py, PyDict>> {
    ToPy::new(py).structure(value)
}

// ---------------------------------------------------------------------------------------------
// Functions
// ---------------------------------------------------------------------------------------------

/// Encode a request frame: the request header (v0/v1/v2, as the API version requires) followed
/// by the body, without the 4-byte size prefix.
#[pyfunction]
#[pyo3(signature = (api_key, api_version, correlation_id, client_id, body))]
pub fn encode_request<'py>(
    py: Python<'py>,
    api_key: i64,
    api_version: i64,
    correlation_id: i64,
    client_id: Option<&str>,
    body: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    let spec = known_api(api_key)?;
    let version = arg_i16("api_version", api_version)?;
    let correlation_id = arg_i32("correlation_id", correlation_id)?;
    check_version(spec.request, version)?;
    let (value, payload) = body_to_value(body, spec.request, version)?;
    let out = maybe_detach(py, payload >= PLAIN_BYTES_THRESHOLD, || {
        protocol::encode_request(spec.key, version, correlation_id, client_id, &value)
    })
    .map_err(|e| raise(py, e))?;
    Ok(PyBytes::new(py, &out))
}

/// Decode a response frame (without the size prefix) to a request of `api_key` at
/// `api_version`. Returns `(correlation_id, body)`.
#[pyfunction]
#[pyo3(signature = (api_key, api_version, data))]
pub fn decode_response<'py>(
    py: Python<'py>,
    api_key: i64,
    api_version: i64,
    data: &[u8],
) -> PyResult<(i32, Bound<'py, PyDict>)> {
    let spec = known_api(api_key)?;
    let version = arg_i16("api_version", api_version)?;
    let (header, body) = maybe_detach(py, data.len() >= PLAIN_BYTES_THRESHOLD, || {
        protocol::decode_response(spec.key, version, data)
    })
    .map_err(|e| raise(py, e))?;
    Ok((header.correlation_id, struct_to_py(py, &body)?))
}

/// Encode a response frame: the response header followed by the body (for tests and fake
/// servers).
#[pyfunction]
#[pyo3(signature = (api_key, api_version, correlation_id, body))]
pub fn encode_response<'py>(
    py: Python<'py>,
    api_key: i64,
    api_version: i64,
    correlation_id: i64,
    body: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    let spec = known_api(api_key)?;
    let version = arg_i16("api_version", api_version)?;
    let correlation_id = arg_i32("correlation_id", correlation_id)?;
    check_version(spec.response, version)?;
    let (value, payload) = body_to_value(body, spec.response, version)?;
    let out = maybe_detach(py, payload >= PLAIN_BYTES_THRESHOLD, || {
        protocol::encode_response(spec.key, version, correlation_id, &value)
    })
    .map_err(|e| raise(py, e))?;
    Ok(PyBytes::new(py, &out))
}

/// Decode a request frame (as a broker would). Returns
/// `(api_key, api_version, correlation_id, client_id, body)`.
#[pyfunction]
#[pyo3(signature = (data))]
#[allow(clippy::type_complexity)]
pub fn decode_request<'py>(
    py: Python<'py>,
    data: &[u8],
) -> PyResult<(i16, i16, i32, Option<String>, Bound<'py, PyDict>)> {
    let (header, body) = maybe_detach(py, data.len() >= PLAIN_BYTES_THRESHOLD, || {
        protocol::decode_request(data)
    })
    .map_err(|e| raise(py, e))?;
    Ok((
        header.api_key,
        header.api_version,
        header.correlation_id,
        header.client_id,
        struct_to_py(py, &body)?,
    ))
}

/// Encode a data message (such as `ConsumerProtocolSubscription`) at `version`, without any
/// version prefix.
#[pyfunction]
#[pyo3(signature = (name, version, body))]
pub fn encode_data<'py>(
    py: Python<'py>,
    name: &str,
    version: i64,
    body: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    let schema = data_schema(name)?;
    let version = arg_i16("version", version)?;
    check_version(schema, version)?;
    let (value, _) = body_to_value(body, schema, version)?;
    let mut out = Vec::new();
    codec::encode(schema, version, &value, &mut out).map_err(|e| raise(py, e))?;
    Ok(PyBytes::new(py, &out))
}

/// Decode a data message (such as `ConsumerProtocolAssignment`) at `version`; `data` must hold
/// exactly one message, without any version prefix.
#[pyfunction]
#[pyo3(signature = (name, version, data))]
pub fn decode_data<'py>(
    py: Python<'py>,
    name: &str,
    version: i64,
    data: &[u8],
) -> PyResult<Bound<'py, PyDict>> {
    let schema = data_schema(name)?;
    let version = arg_i16("version", version)?;
    let value = codec::decode(schema, version, data).map_err(|e| raise(py, e))?;
    struct_to_py(py, &value)
}

/// The APIs this codec can encode and decode: `{api_key: (name, min_version, max_version)}`.
///
/// `max_version` leaves out a latest version the specs mark unstable (clients must not
/// negotiate those); APIs that Kafka removed are not listed.
#[pyfunction]
pub fn api_versions_table(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let table = PyDict::new(py);
    for spec in api::apis() {
        if let Some((min, max)) = api::client_versions(spec) {
            table.set_item(spec.key, (spec.name, min, max))?;
        }
    }
    Ok(table)
}
