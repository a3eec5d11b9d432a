//! Mapping of kaffe-core errors onto the exception classes defined in `kaffe.errors`.
//!
//! The classes live in Python (so the later per-error-code table stays in one place); the glue
//! imports `kaffe.errors` lazily, the first time it raises one, and caches each class in a
//! [`PyOnceLock`].

use kaffe_core::Error;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyType};

static CORRUPT_RECORD_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static UNSUPPORTED_COMPRESSION_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();

const ERRORS_MODULE: &str = "kaffe.errors";

/// `kaffe.errors.CorruptRecordError`, imported on first use.
fn corrupt_record_error(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    CORRUPT_RECORD_ERROR.import(py, ERRORS_MODULE, "CorruptRecordError")
}

/// `kaffe.errors.UnsupportedCompressionTypeError`, imported on first use.
fn unsupported_compression_error(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    UNSUPPORTED_COMPRESSION_ERROR.import(py, ERRORS_MODULE, "UnsupportedCompressionTypeError")
}

/// Instantiate `cls(message, retriable=False)` and turn it into a `PyErr`.
///
/// Errors raised by kaffe's own decoders are never retriable: the input bytes are what they are,
/// and decoding them again fails the same way (see `CorruptRecordError`'s docstring).
fn instantiate(cls: &Bound<'_, PyType>, message: String) -> PyErr {
    let py = cls.py();
    let build = || -> PyResult<PyErr> {
        let kwargs = PyDict::new(py);
        kwargs.set_item("retriable", false)?;
        let instance = cls.call((message,), Some(&kwargs))?;
        Ok(PyErr::from_value(instance))
    };
    // If building the exception failed, raise that failure instead (it is the more useful one).
    build().unwrap_or_else(|err| err)
}

/// A `kaffe.CorruptRecordError` (with `retriable=False`) carrying `message`.
pub fn corrupt(py: Python<'_>, message: String) -> PyErr {
    match corrupt_record_error(py) {
        Ok(cls) => instantiate(cls, message),
        Err(err) => err,
    }
}

/// Convert a kaffe-core error into the Python exception the API promises:
///
/// * `Corrupt`, `Compression` -> `kaffe.CorruptRecordError` (instance `retriable=False`)
/// * `UnsupportedCompression` -> `kaffe.UnsupportedCompressionTypeError`
/// * `InvalidArgument` -> `ValueError`
pub fn to_py(py: Python<'_>, err: Error) -> PyErr {
    let message = err.to_string();
    match err {
        Error::Corrupt(_) | Error::Compression(_) => corrupt(py, message),
        Error::UnsupportedCompression(_) => match unsupported_compression_error(py) {
            Ok(cls) => instantiate(cls, message),
            Err(import_err) => import_err,
        },
        Error::InvalidArgument(_) => PyValueError::new_err(message),
    }
}

/// Extension to convert `kaffe_core::Result<T>` into `PyResult<T>` with [`to_py`].
pub trait CoreResultExt<T> {
    /// Map the error with [`to_py`].
    fn or_raise(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> CoreResultExt<T> for kaffe_core::Result<T> {
    fn or_raise(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|err| to_py(py, err))
    }
}
