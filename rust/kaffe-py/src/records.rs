//! Record batches for Python: `encode_record_batch`, `decode_record_batches` and `RecordBatch`.
//!
//! Encoding borrows every key, value and header straight out of the Python objects (no copies):
//! the record tuples are kept alive (and, being tuples, unchanged) for the whole call, so the
//! slices stay valid while the GIL is released for compression and CRC work.
//!
//! Decoding runs kaffe-core's decoder first (without the GIL for large inputs), then builds all
//! Python objects in one pass: one tuple per record, no per-record attribute lookups. Record
//! tuples (and their header tuples) hold only ints, `bytes`, `str`, `None` and such tuples, so
//! they are untracked by the cycle collector at creation, as CPython itself would untrack them at
//! their first collection: a consumer holding a fetch's worth of records then costs the collector
//! nothing, where the peers' record objects are walked by every collection while they live.

use std::cell::Cell;
use std::ops::Range;

use kaffe_core::compression::Compression;
use kaffe_core::records::{
    self, BatchOptions, DecodeOptions, DecodedBatch, RecordInput, TimestampType,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};

use crate::compression::{parse_codec, parse_limit};
use crate::errors::{corrupt, CoreResultExt};
use crate::gil::{maybe_detach, CODEC_BYTES_THRESHOLD, PLAIN_BYTES_THRESHOLD};

/// Record-batch overhead per record that the size estimate adds (length, attributes, deltas,
/// key/value lengths, header count; all varints, at most 21 bytes together for sane records).
const RECORD_OVERHEAD_ESTIMATE: usize = 21;
/// Size of the fixed v2 batch header.
const BATCH_HEADER_SIZE: usize = 61;

/// One decoded record batch (v2), or one legacy v0/v1 message with its inner messages.
///
/// `records` holds one `(offset, timestamp, key, value, headers)` tuple per record, with
/// absolute offsets and timestamps in milliseconds; `headers` is a tuple of `(str, bytes | None)`
/// pairs (`()` when there are none). Records are immutable tuples so that they can be taken off
/// the cycle collector's list (see `atomic_tuple`).
#[pyclass(frozen, module = "kaffe._core", name = "RecordBatch")]
pub struct RecordBatch {
    /// Offset of the first record of the batch.
    #[pyo3(get)]
    base_offset: i64,
    /// Offset of the last record of the batch (`base_offset + last_offset_delta`).
    #[pyo3(get)]
    last_offset: i64,
    /// Leader epoch the broker stamped on the batch (-1 for legacy messages).
    #[pyo3(get)]
    partition_leader_epoch: i32,
    /// Message format version: 0, 1 or 2.
    #[pyo3(get)]
    magic: i8,
    /// The batch's stored CRC (CRC-32C for v2, CRC-32 for legacy messages).
    #[pyo3(get)]
    crc: u32,
    /// The raw attributes field.
    #[pyo3(get)]
    attributes: i16,
    /// Compression codec name: "none", "gzip", "snappy", "lz4" or "zstd".
    #[pyo3(get)]
    compression: &'static str,
    /// "create" (producer's clock) or "append" (broker's log-append time).
    #[pyo3(get)]
    timestamp_type: &'static str,
    /// Whether the batch belongs to a transaction.
    #[pyo3(get)]
    is_transactional: bool,
    /// Whether the batch holds control records (transaction markers).
    #[pyo3(get)]
    is_control: bool,
    /// Idempotent/transactional producer id, -1 if none.
    #[pyo3(get)]
    producer_id: i64,
    /// Producer epoch, -1 if none.
    #[pyo3(get)]
    producer_epoch: i16,
    /// Sequence number of the first record, -1 if none.
    #[pyo3(get)]
    base_sequence: i32,
    /// Timestamp of the first record (ms), -1 for legacy v0.
    #[pyo3(get)]
    base_timestamp: i64,
    /// Largest timestamp in the batch (ms).
    #[pyo3(get)]
    max_timestamp: i64,
    /// Bytes this batch occupied in the decoded input.
    #[pyo3(get)]
    size_in_bytes: usize,
    /// The records, as `(offset, timestamp, key, value, headers)` tuples.
    #[pyo3(get)]
    records: Py<PyList>,
}

#[pymethods]
impl RecordBatch {
    fn __len__(&self, py: Python<'_>) -> usize {
        self.records.bind(py).len()
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "RecordBatch(base_offset={}, last_offset={}, records={}, magic={}, compression='{}', \
             timestamp_type='{}', is_transactional={}, is_control={}, producer_id={}, \
             producer_epoch={}, base_sequence={}, size_in_bytes={})",
            self.base_offset,
            self.last_offset,
            self.records.bind(py).len(),
            self.magic,
            self.compression,
            self.timestamp_type,
            py_bool(self.is_transactional),
            py_bool(self.is_control),
            self.producer_id,
            self.producer_epoch,
            self.base_sequence,
            self.size_in_bytes,
        )
    }
}

fn py_bool(value: bool) -> &'static str {
    if value {
        "True"
    } else {
        "False"
    }
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|name| name.to_string())
        .unwrap_or_else(|_| "?".to_owned())
}

/// The contents of `obj` if it is exactly a `bytes` object (the common case, checked with one
/// pointer comparison and read with one C call; subclasses take the general path).
fn exact_bytes<'a>(obj: Borrowed<'a, '_, PyAny>) -> Option<&'a [u8]> {
    if !obj.is_exact_instance_of::<PyBytes>() {
        return None;
    }
    let mut data: *mut std::ffi::c_char = std::ptr::null_mut();
    let mut len: pyo3::ffi::Py_ssize_t = 0;
    // SAFETY: `obj` is a live `bytes` object (type checked above), borrowed for `'a`, so its
    // buffer is valid and immutable for `'a`; `PyBytes_AsStringAndSize` cannot fail for an
    // exact `bytes` object, and the result is checked anyway.
    unsafe {
        if pyo3::ffi::PyBytes_AsStringAndSize(obj.as_ptr(), &mut data, &mut len) != 0 {
            // Not reachable for bytes, but never leave an exception set behind.
            drop(PyErr::take(obj.py()));
            return None;
        }
        let len = usize::try_from(len).ok()?;
        if data.is_null() {
            return None;
        }
        Some(std::slice::from_raw_parts(data.cast::<u8>(), len))
    }
}

/// A key, value or header value: `bytes` (borrowed), `str` (its UTF-8, borrowed) or `None`.
fn payload<'a>(
    obj: Borrowed<'a, '_, PyAny>,
    what: impl FnOnce() -> String,
) -> PyResult<Option<&'a [u8]>> {
    if obj.is_none() {
        return Ok(None);
    }
    if let Some(bytes) = exact_bytes(obj) {
        return Ok(Some(bytes));
    }
    if let Ok(bytes) = obj.extract::<&'a [u8]>() {
        return Ok(Some(bytes));
    }
    if obj.is_instance_of::<PyString>() {
        return match obj.extract::<&'a str>() {
            Ok(text) => Ok(Some(text.as_bytes())),
            Err(err) => {
                let new =
                    PyValueError::new_err(format!("{}: str cannot be encoded as UTF-8", what()));
                new.set_cause(obj.py(), Some(err));
                Err(new)
            }
        };
    }
    Err(PyTypeError::new_err(format!(
        "{}: expected bytes, str or None, got {}",
        what(),
        type_name(&obj.to_owned())
    )))
}

/// Record tuples and header pairs, held (strong references) for the duration of one encode.
struct HeldRecords<'py> {
    records: Vec<Bound<'py, PyTuple>>,
    /// Every header pair of every record, in order.
    header_pairs: Vec<Bound<'py, PyTuple>>,
    /// For record `i`, its pairs are `header_pairs[header_ranges[i].clone()]`.
    header_ranges: Vec<Range<usize>>,
}

/// First pass: check the shape of `records` and take strong references to every record tuple and
/// header pair, so nothing borrowed later can be freed or replaced while the GIL is released.
fn hold_records<'py>(records: &Bound<'py, PyAny>) -> PyResult<HeldRecords<'py>> {
    let capacity = records.len().unwrap_or(0);
    let mut held = HeldRecords {
        records: Vec::with_capacity(capacity),
        header_pairs: Vec::new(),
        header_ranges: Vec::with_capacity(capacity),
    };
    if records.is_instance_of::<PyString>() || records.is_instance_of::<PyBytes>() {
        return Err(PyTypeError::new_err(format!(
            "records: expected a sequence of (key, value, headers, timestamp_ms) tuples, got {}",
            type_name(records)
        )));
    }
    for (index, record) in records.try_iter()?.enumerate() {
        let record = record?;
        let record = if record.is_exact_instance_of::<PyTuple>() {
            // SAFETY: exactly a tuple, just checked (the fast path of `cast_into`).
            unsafe { record.cast_into_unchecked::<PyTuple>() }
        } else {
            match record.cast_into::<PyTuple>() {
                Ok(tuple) => tuple,
                Err(err) => {
                    return Err(PyTypeError::new_err(format!(
                        "records[{index}]: expected a (key, value, headers, timestamp_ms) tuple, \
                         got {}",
                        type_name(err.into_inner().as_any())
                    )))
                }
            }
        };
        if record.len() != 4 {
            return Err(PyTypeError::new_err(format!(
                "records[{index}]: expected a (key, value, headers, timestamp_ms) tuple, got a \
                 tuple of length {}",
                record.len()
            )));
        }
        let start = held.header_pairs.len();
        let headers = record.get_borrowed_item(2)?;
        let is_sequence = headers.is_exact_instance_of::<PyList>()
            || headers.is_instance_of::<PyList>()
            || headers.is_instance_of::<PyTuple>();
        if !is_sequence {
            return Err(PyTypeError::new_err(format!(
                "records[{index}].headers: expected a list or tuple of (str, bytes | str | None) \
                 pairs, got {}",
                type_name(&headers.to_owned())
            )));
        }
        if headers.len()? > 0 {
            for (h, pair) in headers.try_iter()?.enumerate() {
                let pair = pair?;
                match pair.cast_into::<PyTuple>() {
                    Ok(tuple) if tuple.len() == 2 => held.header_pairs.push(tuple),
                    Ok(tuple) => {
                        return Err(PyTypeError::new_err(format!(
                            "records[{index}].headers[{h}]: expected a (str, bytes | str | None) \
                             pair, got a tuple of length {}",
                            tuple.len()
                        )))
                    }
                    Err(err) => {
                        return Err(PyTypeError::new_err(format!(
                            "records[{index}].headers[{h}]: expected a (str, bytes | str | None) \
                             pair, got {}",
                            type_name(err.into_inner().as_any())
                        )))
                    }
                }
            }
        }
        held.header_ranges.push(start..held.header_pairs.len());
        held.records.push(record);
    }
    Ok(held)
}

/// Second pass: borrow every key, value and header out of the held tuples.
fn borrow_inputs<'a>(held: &'a HeldRecords<'_>) -> PyResult<(Vec<RecordInput<'a>>, usize)> {
    let mut inputs = Vec::with_capacity(held.records.len());
    let mut payload_bytes = 0usize;
    for (index, (record, range)) in held.records.iter().zip(&held.header_ranges).enumerate() {
        let key = payload(record.get_borrowed_item(0)?, || {
            format!("records[{index}].key")
        })?;
        let value = payload(record.get_borrowed_item(1)?, || {
            format!("records[{index}].value")
        })?;
        let timestamp_obj = record.get_borrowed_item(3)?;
        let timestamp: i64 = timestamp_obj.extract().map_err(|err: PyErr| {
            let py = timestamp_obj.py();
            if err.is_instance_of::<PyTypeError>(py) {
                PyTypeError::new_err(format!(
                    "records[{index}].timestamp_ms: expected int, got {}",
                    type_name(&timestamp_obj.to_owned())
                ))
            } else {
                let new =
                    PyValueError::new_err(format!("records[{index}].timestamp_ms: out of range"));
                new.set_cause(py, Some(err));
                new
            }
        })?;
        let pairs = held.header_pairs.get(range.clone()).unwrap_or(&[]);
        let mut headers = Vec::with_capacity(pairs.len());
        for (h, pair) in pairs.iter().enumerate() {
            let key_obj = pair.get_borrowed_item(0)?;
            let header_key: &'a str = if key_obj.is_instance_of::<PyString>() {
                key_obj.extract::<&'a str>().map_err(|err| {
                    let new = PyValueError::new_err(format!(
                        "records[{index}].headers[{h}] key: str cannot be encoded as UTF-8"
                    ));
                    new.set_cause(key_obj.py(), Some(err));
                    new
                })?
            } else {
                return Err(PyTypeError::new_err(format!(
                    "records[{index}].headers[{h}] key: expected str, got {}",
                    type_name(&key_obj.to_owned())
                )));
            };
            let header_value = payload(pair.get_borrowed_item(1)?, || {
                format!("records[{index}].headers[{h}] value")
            })?;
            payload_bytes = payload_bytes
                .saturating_add(header_key.len())
                .saturating_add(header_value.map_or(0, <[u8]>::len));
            headers.push((header_key.as_bytes(), header_value));
        }
        payload_bytes = payload_bytes
            .saturating_add(key.map_or(0, <[u8]>::len))
            .saturating_add(value.map_or(0, <[u8]>::len))
            .saturating_add(RECORD_OVERHEAD_ESTIMATE);
        inputs.push(RecordInput {
            key,
            value,
            headers,
            timestamp,
        });
    }
    Ok((inputs, payload_bytes))
}

fn parse_timestamp_type(value: &str) -> PyResult<TimestampType> {
    match value {
        "create" => Ok(TimestampType::Create),
        "append" => Ok(TimestampType::LogAppend),
        other => Err(PyValueError::new_err(format!(
            "timestamp_type: expected 'create' or 'append', got {other:?}"
        ))),
    }
}

/// Encode one v2 record batch from `(key, value, headers, timestamp_ms)` tuples.
///
/// Keys and values are `bytes`, `str` (encoded as UTF-8) or `None`; headers a list or tuple of
/// `(str, bytes | str | None)` pairs. Returns the complete batch (header and CRC included).
#[pyfunction]
#[pyo3(
    signature = (
        records,
        *,
        base_offset=0,
        compression=None,
        compression_level=None,
        timestamp_type="create",
        transactional=false,
        control=false,
        producer_id=-1,
        producer_epoch=-1,
        base_sequence=-1,
        partition_leader_epoch=-1,
        max_timestamp=None,
    ),
    text_signature = "(records, *, base_offset=0, compression='none', compression_level=None, \
        timestamp_type='create', transactional=False, control=False, producer_id=-1, \
        producer_epoch=-1, base_sequence=-1, partition_leader_epoch=-1, max_timestamp=None)"
)]
#[allow(clippy::too_many_arguments)]
pub fn encode_record_batch<'py>(
    py: Python<'py>,
    records: &Bound<'py, PyAny>,
    base_offset: i64,
    compression: Option<&Bound<'py, PyAny>>,
    compression_level: Option<i32>,
    timestamp_type: &str,
    transactional: bool,
    control: bool,
    producer_id: i64,
    producer_epoch: i64,
    base_sequence: i32,
    partition_leader_epoch: i32,
    max_timestamp: Option<i64>,
) -> PyResult<Bound<'py, PyBytes>> {
    let compression = match compression {
        Some(codec) => parse_codec("compression", codec)?,
        None => Compression::None,
    };
    if compression == Compression::None {
        if let Some(level) = compression_level {
            return Err(PyValueError::new_err(format!(
                "compression_level {level} given but compression is 'none'"
            )));
        }
    }
    let producer_epoch = i16::try_from(producer_epoch).map_err(|_| {
        PyValueError::new_err(format!(
            "producer_epoch must fit in 16 bits (-32768..32767), got {producer_epoch}"
        ))
    })?;
    let opts = BatchOptions {
        base_offset,
        partition_leader_epoch,
        compression,
        compression_level,
        timestamp_type: parse_timestamp_type(timestamp_type)?,
        transactional,
        control,
        producer_id,
        producer_epoch,
        base_sequence,
        max_timestamp,
    };
    let held = hold_records(records)?;
    let (inputs, payload_bytes) = borrow_inputs(&held)?;
    let detach = match compression {
        Compression::None => payload_bytes >= PLAIN_BYTES_THRESHOLD,
        _ => payload_bytes >= CODEC_BYTES_THRESHOLD,
    };
    let mut out = take_encode_buffer();
    let encoded = maybe_detach(py, detach, || {
        if compression == Compression::None {
            out.reserve(payload_bytes.saturating_add(BATCH_HEADER_SIZE));
        }
        records::encode_batch(&inputs, &opts, &mut out)
    });
    let result = encoded.or_raise(py).map(|()| PyBytes::new(py, &out));
    return_encode_buffer(out);
    result
}

thread_local! {
    /// Per-thread scratch buffer for `encode_record_batch`. A fresh 100 KiB `Vec` per call costs
    /// more in page faults (the allocator hands large blocks back to the kernel) than encoding
    /// the records does; reusing one keeps those pages mapped.
    static ENCODE_BUFFER: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// Buffers that grew past this are dropped after use instead of being kept for the next call.
const ENCODE_BUFFER_KEEP: usize = 4 << 20;

/// The thread's scratch buffer (empty), or a new one.
fn take_encode_buffer() -> Vec<u8> {
    let mut buffer = ENCODE_BUFFER.try_with(Cell::take).unwrap_or_default();
    buffer.clear();
    buffer
}

/// Give the scratch buffer back for the next call on this thread, unless it grew too large.
fn return_encode_buffer(buffer: Vec<u8>) {
    if buffer.capacity() <= ENCODE_BUFFER_KEEP {
        // Fails only while the thread is being torn down; the buffer is then simply dropped.
        let _ = ENCODE_BUFFER.try_with(|cell| cell.set(buffer));
    }
}

/// Whether decoding `data` is worth releasing the GIL: large input, or a compressed first batch
/// (decompression can take long even for a small input).
fn decode_should_detach(data: &[u8]) -> bool {
    if data.len() >= PLAIN_BYTES_THRESHOLD {
        return true;
    }
    if data.len() < CODEC_BYTES_THRESHOLD {
        return false;
    }
    // Offset 16 is the magic byte in both formats; v2 has a 16-bit attributes field at 21..23,
    // legacy v0/v1 an 8-bit one at 17. The codec is the low three bits.
    let codec_bits = match data.get(16) {
        Some(2) => data.get(22).copied(),
        Some(0 | 1) => data.get(17).copied(),
        _ => None,
    };
    codec_bits.is_some_and(|bits| bits & 0x07 != 0)
}

/// Caches the Python int for the most recent timestamp: records of one batch very often share
/// a timestamp, and ints this large are not cached by Python.
struct TimestampCache<'py> {
    last: Option<(i64, Bound<'py, PyAny>)>,
}

impl<'py> TimestampCache<'py> {
    fn get(&mut self, py: Python<'py>, timestamp: i64) -> PyResult<Bound<'py, PyAny>> {
        if let Some((value, obj)) = &self.last {
            if *value == timestamp {
                return Ok(obj.clone());
            }
        }
        let obj = timestamp.into_pyobject(py)?.into_any();
        self.last = Some((timestamp, obj.clone()));
        Ok(obj)
    }
}

fn span_bytes<'py>(
    py: Python<'py>,
    buffer: &[u8],
    span: &Option<Range<usize>>,
) -> PyResult<Bound<'py, PyAny>> {
    match span {
        None => Ok(py.None().into_bound(py)),
        Some(range) => match buffer.get(range.clone()) {
            Some(bytes) => Ok(PyBytes::new(py, bytes).into_any()),
            None => Err(corrupt(
                py,
                format!("record field span {range:?} lies outside the batch"),
            )),
        },
    }
}

/// Build a tuple of immutable, non-container objects (ints, `bytes`, `str`, `None`, and tuples
/// built by this function) and take it off the cycle collector's list.
///
/// CPython's own collector untracks exactly such tuples the first time it sees them
/// (`_PyTuple_MaybeUntrack`): they cannot be part of a reference cycle. Doing it at creation
/// spares every young-generation collection from walking thousands of record tuples, which
/// otherwise costs about as much as building them.
fn atomic_tuple<'py, const N: usize>(
    py: Python<'py>,
    items: [Bound<'py, PyAny>; N],
) -> PyResult<Bound<'py, PyTuple>> {
    let tuple = PyTuple::new(py, items)?;
    // SAFETY: `tuple` is a valid, live tuple object (we own a reference) and we are attached to
    // the interpreter. Untracking is always memory-safe; it is also leak-free here because the
    // items, per this function's contract, hold no references that could close a cycle.
    unsafe { pyo3::ffi::PyObject_GC_UnTrack(tuple.as_ptr().cast()) };
    Ok(tuple)
}

/// Build the Python `RecordBatch` for one decoded batch.
fn build_batch(py: Python<'_>, batch: &DecodedBatch<'_>) -> PyResult<RecordBatch> {
    let header = &batch.header;
    let compression = header.compression().or_raise(py)?;
    let buffer: &[u8] = &batch.buffer;
    let mut timestamps = TimestampCache { last: None };
    let no_headers = PyTuple::empty(py).into_any();
    let mut items = Vec::with_capacity(batch.records.len());
    for record in &batch.records {
        let offset = record.offset.into_pyobject(py)?.into_any();
        let timestamp = timestamps.get(py, record.timestamp)?;
        let key = span_bytes(py, buffer, &record.key)?;
        let value = span_bytes(py, buffer, &record.value)?;
        let header_spans = batch.headers.get(record.headers.clone()).ok_or_else(|| {
            corrupt(
                py,
                format!("record header range {:?} is out of bounds", record.headers),
            )
        })?;
        let headers = if header_spans.is_empty() {
            no_headers.clone()
        } else {
            let mut pairs = Vec::with_capacity(header_spans.len());
            for span in header_spans {
                let key_bytes = buffer.get(span.key.clone()).ok_or_else(|| {
                    corrupt(py, "record header key lies outside the batch".to_owned())
                })?;
                let key_str = std::str::from_utf8(key_bytes).map_err(|err| {
                    corrupt(
                        py,
                        format!(
                            "record header key at offset {} is not valid UTF-8: {err}",
                            record.offset
                        ),
                    )
                })?;
                let value = span_bytes(py, buffer, &span.value)?;
                pairs.push(atomic_tuple(
                    py,
                    [PyString::new(py, key_str).into_any(), value],
                )?);
            }
            let pairs = PyTuple::new(py, pairs)?;
            // SAFETY: as in `atomic_tuple`: a live tuple whose items are untracked tuples of
            // `str` and `bytes`/`None`, so it cannot take part in a cycle.
            unsafe { pyo3::ffi::PyObject_GC_UnTrack(pairs.as_ptr().cast()) };
            pairs.into_any()
        };
        items.push(atomic_tuple(py, [offset, timestamp, key, value, headers])?);
    }
    Ok(RecordBatch {
        base_offset: header.base_offset,
        last_offset: header.last_offset(),
        partition_leader_epoch: header.partition_leader_epoch,
        magic: header.magic,
        crc: header.crc,
        attributes: header.attributes,
        compression: compression.name(),
        timestamp_type: match header.timestamp_type() {
            TimestampType::Create => "create",
            TimestampType::LogAppend => "append",
        },
        is_transactional: header.is_transactional(),
        is_control: header.is_control(),
        producer_id: header.producer_id,
        producer_epoch: header.producer_epoch,
        base_sequence: header.base_sequence,
        base_timestamp: header.base_timestamp,
        max_timestamp: header.max_timestamp,
        size_in_bytes: batch.size_in_bytes,
        records: PyList::new(py, items)?.unbind(),
    })
}

/// Decode the concatenated record batches (v2) and legacy messages (v0/v1) in `data`.
///
/// Returns `(batches, consumed)`: a partial batch at the end (a fetch response cut it) stops
/// decoding without an error, and `consumed` is the byte count of the complete batches.
#[pyfunction]
#[pyo3(signature = (data, *, check_crc=true, max_decompressed_bytes=268435456))]
pub fn decode_record_batches<'py>(
    py: Python<'py>,
    data: &[u8],
    check_crc: bool,
    max_decompressed_bytes: i64,
) -> PyResult<(Bound<'py, PyList>, usize)> {
    let opts = DecodeOptions {
        check_crc,
        max_decompressed_bytes: parse_limit("max_decompressed_bytes", max_decompressed_bytes)?,
    };
    let decoded = maybe_detach(py, decode_should_detach(data), || {
        records::decode_batches(data, &opts)
    })
    .or_raise(py)?;
    let mut batches = Vec::with_capacity(decoded.batches.len());
    for batch in &decoded.batches {
        batches.push(Bound::new(py, build_batch(py, batch)?)?);
    }
    Ok((PyList::new(py, batches)?, decoded.consumed))
}
