//! When the glue releases the GIL.
//!
//! Releasing and re-taking the GIL costs little when nobody else wants it, but when another
//! thread is running Python code, taking it back can wait for that thread's switch interval
//! (5 ms by default). So small, fast calls keep the GIL and only work that takes long enough to
//! matter (large inputs, codec work) runs detached.

use pyo3::marker::Ungil;
use pyo3::prelude::*;

/// Plain byte work (CRCs, copying, uncompressed batches) at or above this many bytes runs
/// without the GIL.
pub const PLAIN_BYTES_THRESHOLD: usize = 64 * 1024;

/// Codec work (compression and decompression) on inputs at or above this many bytes runs without
/// the GIL. Below it, even a maximal decompression (bounded by the caller's limit) is quick.
pub const CODEC_BYTES_THRESHOLD: usize = 1024;

/// Run `f` without the GIL if `detach` is true, with it otherwise.
pub fn maybe_detach<T, F>(py: Python<'_>, detach: bool, f: F) -> T
where
    F: Ungil + FnOnce() -> T,
    T: Ungil,
{
    if detach {
        py.detach(f)
    } else {
        f()
    }
}
