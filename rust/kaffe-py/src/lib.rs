//! `kaffe._core`: the thin PyO3 glue over kaffe-core.
//!
//! This file only declares the module and its exports; each submodule converts arguments,
//! calls kaffe-core (releasing the GIL for large work) and maps errors onto `kaffe.errors`.

mod compression;
mod crc;
mod errors;
mod gil;
mod messages;
mod partition;
mod protocol;
mod records;

use pyo3::prelude::*;

/// Native half of kaffe: record batches, CRCs, compression and partitioners.
#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(crc::crc32c, m)?)?;
    m.add_function(wrap_pyfunction!(crc::crc32, m)?)?;
    m.add_function(wrap_pyfunction!(compression::compress, m)?)?;
    m.add_function(wrap_pyfunction!(compression::decompress, m)?)?;
    m.add_function(wrap_pyfunction!(compression::snappy_compress_raw, m)?)?;
    m.add_function(wrap_pyfunction!(partition::murmur2, m)?)?;
    m.add_function(wrap_pyfunction!(partition::partition_murmur2, m)?)?;
    m.add_function(wrap_pyfunction!(partition::partition_md5, m)?)?;
    m.add_function(wrap_pyfunction!(partition::partitions_md5, m)?)?;
    m.add_function(wrap_pyfunction!(partition::partitions_murmur2, m)?)?;
    m.add_function(wrap_pyfunction!(records::encode_record_batch, m)?)?;
    m.add_function(wrap_pyfunction!(records::decode_record_batches, m)?)?;
    m.add_class::<records::RecordBatch>()?;
    m.add_function(wrap_pyfunction!(messages::wrap_records, m)?)?;
    m.add_function(wrap_pyfunction!(messages::normalize_pairs, m)?)?;
    m.add_function(wrap_pyfunction!(protocol::encode_request, m)?)?;
    m.add_function(wrap_pyfunction!(protocol::decode_response, m)?)?;
    m.add_function(wrap_pyfunction!(protocol::encode_response, m)?)?;
    m.add_function(wrap_pyfunction!(protocol::decode_request, m)?)?;
    m.add_function(wrap_pyfunction!(protocol::encode_data, m)?)?;
    m.add_function(wrap_pyfunction!(protocol::decode_data, m)?)?;
    m.add_function(wrap_pyfunction!(protocol::api_versions_table, m)?)?;
    Ok(())
}
