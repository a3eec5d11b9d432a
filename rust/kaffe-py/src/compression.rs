//! `compress`, `decompress` and `snappy_compress_raw` for Python.

use kaffe_core::compression::{self, Compression};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyInt, PyString};

use crate::errors::{to_py, CoreResultExt};
use crate::gil::{maybe_detach, CODEC_BYTES_THRESHOLD};

/// Default for `decompress(limit=...)` and `decode_record_batches(max_decompressed_bytes=...)`.
/// (The `#[pyo3(signature)]` defaults spell it as a literal, so Python's signature shows the
/// number; the assertion keeps the two in step.)
pub const DEFAULT_DECOMPRESS_LIMIT: usize = 256 * 1024 * 1024;
const _: () = assert!(DEFAULT_DECOMPRESS_LIMIT == 268_435_456);

const CODEC_NAMES: &str = "'none', 'gzip', 'snappy', 'lz4' or 'zstd'";

/// Parse a codec given as a name (case-insensitive) or as Kafka's numeric id.
///
/// Unknown names and ids outside 0..=255 are a `ValueError`; ids 5..=255 (valid attribute bits
/// that Kafka does not define) are a `kaffe.UnsupportedCompressionTypeError`; `bool` and other
/// types are a `TypeError`.
pub fn parse_codec(what: &str, codec: &Bound<'_, PyAny>) -> PyResult<Compression> {
    let py = codec.py();
    if let Ok(name) = codec.cast::<PyString>() {
        let name = name.to_cow()?;
        return Compression::from_name(&name).ok_or_else(|| {
            PyValueError::new_err(format!(
                "{what}: unknown codec {name:?}; expected {CODEC_NAMES}"
            ))
        });
    }
    if codec.is_instance_of::<PyInt>() && !codec.is_instance_of::<pyo3::types::PyBool>() {
        let id: i64 = codec.extract()?;
        let id = u8::try_from(id).map_err(|_| {
            PyValueError::new_err(format!("{what}: codec id {id} is out of range (0-4)"))
        })?;
        return Compression::from_id(id).map_err(|err| to_py(py, err));
    }
    Err(PyTypeError::new_err(format!(
        "{what}: expected a codec name ({CODEC_NAMES}) or id (int), got {}",
        codec.get_type().name()?
    )))
}

/// Turn a Python-side size limit into `usize`, refusing negative values with `ValueError`.
pub fn parse_limit(what: &str, limit: i64) -> PyResult<usize> {
    usize::try_from(limit)
        .map_err(|_| PyValueError::new_err(format!("{what} must be >= 0, got {limit}")))
}

/// Compress `data` with `codec` (name or id) at `level` (None = the codec's default).
///
/// Snappy output uses the xerial framing the Java client writes.
#[pyfunction]
#[pyo3(signature = (codec, data, level=None))]
pub fn compress<'py>(
    py: Python<'py>,
    codec: &Bound<'py, PyAny>,
    data: &[u8],
    level: Option<i32>,
) -> PyResult<Bound<'py, PyBytes>> {
    let codec = parse_codec("codec", codec)?;
    let out = maybe_detach(py, data.len() >= CODEC_BYTES_THRESHOLD, || {
        compression::compress(codec, data, level)
    })
    .or_raise(py)?;
    Ok(PyBytes::new(py, &out))
}

/// Decompress `data` with `codec` (name or id), refusing to produce more than `limit` bytes.
#[pyfunction]
#[pyo3(signature = (codec, data, limit=268435456))]
pub fn decompress<'py>(
    py: Python<'py>,
    codec: &Bound<'py, PyAny>,
    data: &[u8],
    limit: i64,
) -> PyResult<Bound<'py, PyBytes>> {
    let codec = parse_codec("codec", codec)?;
    let limit = parse_limit("limit", limit)?;
    let out = maybe_detach(py, data.len() >= CODEC_BYTES_THRESHOLD, || {
        compression::decompress(codec, data, limit)
    })
    .or_raise(py)?;
    Ok(PyBytes::new(py, &out))
}

/// Compress `data` as one raw (unframed) snappy block.
#[pyfunction]
pub fn snappy_compress_raw<'py>(py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
    let out = maybe_detach(py, data.len() >= CODEC_BYTES_THRESHOLD, || {
        compression::snappy_compress_raw(data)
    })
    .or_raise(py)?;
    Ok(PyBytes::new(py, &out))
}
