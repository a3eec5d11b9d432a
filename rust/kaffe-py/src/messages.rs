//! `wrap_records`: turn decoded record tuples into `kaffe.Message` objects in one call.
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
use pyo3::types::{PyList, PyString, PyTuple, PyType};

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
