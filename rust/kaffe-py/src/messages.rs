//! Bulk conversions between Python message objects and record tuples, one call per batch:
//! `wrap_records` (consumer: decoded records -> `kaffe.Message`) and `normalize_pairs`
//! (producer: `(key, value)` pairs -> the record tuples `encode_record_batch` takes).
//!
//! A `Message` is a tuple subclass `(topic, partition, record, ts_type)`. Built in Python, each
//! one is tracked by the cycle collector, which then walks every message a consumer holds again
//! and again while more are allocated; at a million messages a second that walking was about
//! 40 % of a consumer's CPU. The messages built here hold only atoms (str, int, None) and the
//! decoder's record tuples (ints, bytes and tuples of those), so they can never be part of a
//! reference cycle, and they are untracked as CPython untracks such plain tuples itself.

use pyo3::exceptions::PyTypeError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple, PyType};

/// Check that `cls` is a tuple subclass with exactly a tuple's layout (no `__dict__`, no
/// `__weakref__`, no extra slots), so filling its items and untracking it are sound.
fn check_layout(cls: &Bound<'_, PyType>) -> PyResult<()> {
    let py = cls.py();
    let tuple = py.get_type::<PyTuple>();
    let same = |attr: &str| -> PyResult<bool> {
        Ok(cls.getattr(attr)?.extract::<isize>()? == tuple.getattr(attr)?.extract::<isize>()?)
    };
    let plain = cls.is_subclass_of::<PyTuple>()?
        && same("__basicsize__")?
        && same("__itemsize__")?
        && cls.getattr("__dictoffset__")?.extract::<isize>()? == 0
        && cls.getattr("__weakrefoffset__")?.extract::<isize>()? == 0;
    if plain {
        Ok(())
    } else {
        Err(PyTypeError::new_err(format!(
            "cls: expected a tuple subclass with __slots__ = () (like kaffe.Message), got {}",
            cls.name()?
        )))
    }
}

/// One untracked instance of `cls` holding `items` (new references are taken).
fn new_untracked<'py>(
    cls: &Bound<'py, PyType>,
    alloc: ffi::allocfunc,
    items: [&Bound<'py, PyAny>; 4],
) -> PyResult<Bound<'py, PyAny>> {
    let py = cls.py();
    // SAFETY: `alloc` is `cls`'s own tp_alloc and `cls` has a tuple's layout (checked), so the
    // result is a tuple of 4 NULL items with a reference count of 1, which `PyTuple_SetItem`
    // fills (it steals the references we hand it). Untracking is sound because the items are
    // atoms or untracked record tuples (see the module docs); an untracked object is only ever
    // treated as an external reference by the collector.
    unsafe {
        let obj = alloc(cls.as_type_ptr(), 4);
        if obj.is_null() {
            return Err(PyErr::fetch(py));
        }
        let obj = Bound::from_owned_ptr(py, obj);
        for (i, item) in items.into_iter().enumerate() {
            if ffi::PyTuple_SetItem(obj.as_ptr(), i as ffi::Py_ssize_t, item.clone().into_ptr())
                != 0
            {
                return Err(PyErr::fetch(py));
            }
        }
        ffi::PyObject_GC_UnTrack(obj.as_ptr().cast());
        Ok(obj)
    }
}

/// `[cls((topic, partition, record, ts_type)) for record in records]`, untracked by the cycle
/// collector. `records` must hold exact tuples (as `decode_record_batches` returns them).
#[pyfunction]
pub fn wrap_records<'py>(
    cls: &Bound<'py, PyType>,
    topic: &Bound<'py, PyString>,
    partition: i32,
    records: &Bound<'py, PyList>,
    ts_type: Option<&Bound<'py, PyString>>,
) -> PyResult<Bound<'py, PyList>> {
    let py = cls.py();
    check_layout(cls)?;
    // SAFETY: reading a slot of a live type object.
    let slot = unsafe { ffi::PyType_GetSlot(cls.as_type_ptr(), ffi::Py_tp_alloc) };
    if slot.is_null() {
        return Err(PyTypeError::new_err("cls has no tp_alloc"));
    }
    // SAFETY: the Py_tp_alloc slot holds an allocfunc.
    let alloc: ffi::allocfunc = unsafe { std::mem::transmute(slot) };
    let partition = partition.into_pyobject(py)?.into_any();
    let none = py.None().into_bound(py);
    let ts_type = ts_type.map_or(none, |t| t.clone().into_any());
    let topic = topic.as_any();
    let mut out = Vec::with_capacity(records.len());
    for (index, record) in records.iter().enumerate() {
        if !record.is_exact_instance_of::<PyTuple>() {
            return Err(PyTypeError::new_err(format!(
                "records[{index}]: expected a decoded record tuple, got {}",
                record.get_type().name()?
            )));
        }
        out.push(new_untracked(
            cls,
            alloc,
            [topic, &partition, &record, &ts_type],
        )?);
    }
    PyList::new(py, out)
}

/// A key or value as `bytes`/`None` and its length; `None` (the caller falls back to the
/// Python path, which raises the right error) for anything but exact `bytes`, `str` or `None`.
fn pair_payload<'py>(obj: Borrowed<'_, 'py, PyAny>) -> Option<(Bound<'py, PyAny>, usize)> {
    if obj.is_none() {
        return Some((obj.to_owned(), 0));
    }
    if obj.is_exact_instance_of::<PyBytes>() {
        // SAFETY: exactly bytes, just checked.
        let len = unsafe { obj.cast_unchecked::<PyBytes>() }.as_bytes().len();
        return Some((obj.to_owned(), len));
    }
    if obj.is_exact_instance_of::<PyString>() {
        // SAFETY: exactly str, just checked. A str that is not valid UTF-8 (lone surrogates)
        // goes to the Python path, which raises UnicodeEncodeError.
        let text = unsafe { obj.cast_unchecked::<PyString>() };
        let text = text.to_str().ok()?;
        return Some((
            PyBytes::new(obj.py(), text.as_bytes()).into_any(),
            text.len(),
        ));
    }
    None
}

/// `(records, sizes)` for a list of `(key, value)` tuples, as `kaffe._producer.messages.normalize`
/// makes them (`(key, value, (), ts)` records, `overhead + len(key) + len(value)` sizes), the
/// records untracked by the cycle collector (they hold only atoms). `None` when any message is
/// not such a pair of `bytes`/`str`/`None` (the caller then takes the general Python path).
#[pyfunction]
#[allow(clippy::type_complexity)]
pub fn normalize_pairs<'py>(
    messages: &Bound<'py, PyAny>,
    ts: i64,
    overhead: usize,
) -> PyResult<Option<(Bound<'py, PyList>, Bound<'py, PyList>)>> {
    let py = messages.py();
    let Ok(list) = messages.cast::<PyList>() else {
        return Ok(None);
    };
    let ts = ts.into_pyobject(py)?.into_any();
    let no_headers = PyTuple::empty(py).into_any();
    let mut records = Vec::with_capacity(list.len());
    let mut sizes = Vec::with_capacity(list.len());
    for msg in list.iter() {
        if !msg.is_exact_instance_of::<PyTuple>() {
            return Ok(None);
        }
        // SAFETY: exactly a tuple, just checked.
        let pair = unsafe { msg.cast_unchecked::<PyTuple>() };
        if pair.len() != 2 {
            return Ok(None);
        }
        let Some((key, key_len)) = pair_payload(pair.get_borrowed_item(0)?) else {
            return Ok(None);
        };
        let Some((value, value_len)) = pair_payload(pair.get_borrowed_item(1)?) else {
            return Ok(None);
        };
        let record = PyTuple::new(py, [key, value, no_headers.clone(), ts.clone()])?;
        // SAFETY: `record` is a live tuple of atoms (bytes/None, the empty tuple, an int), which
        // can be in no reference cycle; CPython untracks such tuples itself at its next
        // collection.
        unsafe { ffi::PyObject_GC_UnTrack(record.as_ptr().cast()) };
        records.push(record);
        sizes.push(overhead.saturating_add(key_len).saturating_add(value_len));
    }
    Ok(Some((PyList::new(py, records)?, PyList::new(py, sizes)?)))
}
