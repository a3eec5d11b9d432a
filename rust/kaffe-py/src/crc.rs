//! `crc32c` and `crc32` for Python.

use pyo3::prelude::*;

use crate::gil::{maybe_detach, PLAIN_BYTES_THRESHOLD};

/// CRC-32C (Castagnoli) of `data`, as used by record batch v2.
#[pyfunction]
pub fn crc32c(py: Python<'_>, data: &[u8]) -> u32 {
    maybe_detach(py, data.len() >= PLAIN_BYTES_THRESHOLD, || {
        kaffe_core::crc::crc32c(data)
    })
}

/// CRC-32 (IEEE, as `zlib.crc32`) of `data`, as used by legacy message sets v0/v1.
#[pyfunction]
pub fn crc32(py: Python<'_>, data: &[u8]) -> u32 {
    maybe_detach(py, data.len() >= PLAIN_BYTES_THRESHOLD, || {
        kaffe_core::crc::crc32(data)
    })
}
