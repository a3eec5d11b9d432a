//! Partitioners for Python: Kaffe's md5 formula and Java's murmur2.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use kaffe_core::partition;

/// Validate a partition count: 1..=u32::MAX, else `ValueError`.
fn partition_count(count: i64) -> PyResult<u32> {
    if count < 1 {
        return Err(PyValueError::new_err(format!(
            "partition count must be >= 1, got {count}"
        )));
    }
    u32::try_from(count)
        .map_err(|_| PyValueError::new_err(format!("partition count {count} is too large")))
}

/// Apply `f` to every key of a sequence of `bytes`, collecting the results.
fn map_keys(keys: &Bound<'_, PyAny>, count: u32, f: fn(&[u8], u32) -> u32) -> PyResult<Vec<u32>> {
    let mut out = Vec::with_capacity(keys.len().unwrap_or(0));
    for (index, key) in keys.try_iter()?.enumerate() {
        let key = key?;
        let bytes = key.cast::<PyBytes>().map_err(|_| {
            let type_name = key
                .get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_else(|_| "?".to_owned());
            PyTypeError::new_err(format!("keys[{index}]: expected bytes, got {type_name}"))
        })?;
        out.push(f(bytes.as_bytes(), count));
    }
    Ok(out)
}

/// Java's `Utils.murmur2` of `data` (seed 0x9747b28c), as the signed 32-bit value Java returns.
#[pyfunction]
pub fn murmur2(data: &[u8]) -> i32 {
    partition::murmur2(data)
}

/// The partition Java's default partitioner picks for `key`: `(murmur2(key) & 0x7fffffff) % count`.
#[pyfunction]
pub fn partition_murmur2(key: &[u8], count: i64) -> PyResult<u32> {
    Ok(partition::murmur2_partition(key, partition_count(count)?))
}

/// The partition Kaffe's md5 strategy picks for `key`: sum of md5(key)'s bytes modulo `count`.
#[pyfunction]
pub fn partition_md5(key: &[u8], count: i64) -> PyResult<u32> {
    Ok(partition::md5_partition(key, partition_count(count)?))
}

/// `partition_md5` for every key of a sequence, in one call.
#[pyfunction]
pub fn partitions_md5(keys: &Bound<'_, PyAny>, count: i64) -> PyResult<Vec<u32>> {
    map_keys(keys, partition_count(count)?, partition::md5_partition)
}

/// `partition_murmur2` for every key of a sequence, in one call.
#[pyfunction]
pub fn partitions_murmur2(keys: &Bound<'_, PyAny>, count: i64) -> PyResult<Vec<u32>> {
    map_keys(keys, partition_count(count)?, partition::murmur2_partition)
}
