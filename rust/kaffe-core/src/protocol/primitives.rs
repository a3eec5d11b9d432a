//! Kafka protocol primitive types: fixed-width big-endian integers, unsigned varints, (compact)
//! strings, bytes and array lengths, UUIDs.
//!
//! [`Reader`] never panics and never allocates: every read checks the remaining length first and
//! returns [`Error::Corrupt`] on truncated or impossible input. The `put_*` writers append to a
//! `Vec<u8>`.

use crate::error::{Error, Result};
use crate::varint;

/// A cursor over untrusted bytes.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

fn eof(needed: usize, remaining: usize) -> Error {
    Error::Corrupt(format!(
        "unexpected end of data: needed {needed} bytes, {remaining} remain"
    ))
}

impl<'a> Reader<'a> {
    /// A reader positioned at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, pos: 0 }
    }

    /// Bytes not yet read.
    #[inline]
    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// Bytes read so far.
    #[inline]
    pub fn position(&self) -> usize {
        self.pos
    }

    /// The unread bytes (does not advance).
    pub fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or(&[])
    }

    /// Take the next `n` bytes.
    #[inline]
    pub fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .ok_or_else(|| eof(n, self.remaining()))?;
        let out = self
            .buf
            .get(self.pos..end)
            .ok_or_else(|| eof(n, self.remaining()))?;
        self.pos = end;
        Ok(out)
    }

    #[inline]
    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let bytes = self.take(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    /// One unsigned byte.
    #[inline]
    pub fn u8(&mut self) -> Result<u8> {
        let b = *self.buf.get(self.pos).ok_or_else(|| eof(1, 0))?;
        self.pos += 1;
        Ok(b)
    }

    /// int8.
    #[inline]
    pub fn i8(&mut self) -> Result<i8> {
        Ok(i8::from_be_bytes(self.array()?))
    }

    /// int16, big-endian.
    #[inline]
    pub fn i16(&mut self) -> Result<i16> {
        Ok(i16::from_be_bytes(self.array()?))
    }

    /// uint16, big-endian.
    #[inline]
    pub fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    /// int32, big-endian.
    #[inline]
    pub fn i32(&mut self) -> Result<i32> {
        Ok(i32::from_be_bytes(self.array()?))
    }

    /// uint32, big-endian.
    #[inline]
    pub fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    /// int64, big-endian.
    #[inline]
    pub fn i64(&mut self) -> Result<i64> {
        Ok(i64::from_be_bytes(self.array()?))
    }

    /// float64, big-endian IEEE 754.
    #[inline]
    pub fn f64(&mut self) -> Result<f64> {
        Ok(f64::from_be_bytes(self.array()?))
    }

    /// A UUID (16 bytes).
    #[inline]
    pub fn uuid(&mut self) -> Result<[u8; 16]> {
        self.array()
    }

    /// An unsigned varint that must fit in 32 bits (at most 5 bytes), as Kafka's
    /// `readUnsignedVarint` reads it.
    #[inline]
    pub fn uvarint(&mut self) -> Result<u32> {
        varint::read_unsigned_varint(self.buf, &mut self.pos)
            .map_err(|e| Error::Corrupt(format!("unsigned varint: {e}")))
    }

    /// A zig-zag varint (32-bit).
    pub fn varint(&mut self) -> Result<i32> {
        varint::read_varint(self.buf, &mut self.pos)
            .map_err(|e| Error::Corrupt(format!("varint: {e}")))
    }

    /// The length prefix of a compact string/bytes/array: `None` for null, else the length.
    #[inline]
    pub fn compact_len(&mut self) -> Result<Option<usize>> {
        match self.uvarint()? {
            0 => Ok(None),
            n => Ok(Some((n - 1) as usize)),
        }
    }

    /// The int16 length prefix of a classic string: `None` for null (any negative length, as in
    /// Kafka's reader).
    #[inline]
    pub fn string_len(&mut self) -> Result<Option<usize>> {
        let n = self.i16()?;
        Ok(usize::try_from(n).ok())
    }

    /// The int32 length prefix of classic bytes/arrays: `None` for null (any negative length).
    #[inline]
    pub fn bytes_len(&mut self) -> Result<Option<usize>> {
        let n = self.i32()?;
        Ok(usize::try_from(n).ok())
    }
}

/// Append one byte.
#[inline]
pub fn put_u8(out: &mut Vec<u8>, v: u8) {
    out.push(v);
}

/// Append an int8.
#[inline]
pub fn put_i8(out: &mut Vec<u8>, v: i8) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// Append a big-endian int16.
#[inline]
pub fn put_i16(out: &mut Vec<u8>, v: i16) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// Append a big-endian uint16.
#[inline]
pub fn put_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// Append a big-endian int32.
#[inline]
pub fn put_i32(out: &mut Vec<u8>, v: i32) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// Append a big-endian uint32.
#[inline]
pub fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// Append a big-endian int64.
#[inline]
pub fn put_i64(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// Append a big-endian float64.
#[inline]
pub fn put_f64(out: &mut Vec<u8>, v: f64) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// Append an unsigned varint.
#[inline]
pub fn put_uvarint(out: &mut Vec<u8>, v: u32) {
    varint::write_unsigned_varint(out, v);
}

/// Append a zig-zag varint.
pub fn put_varint(out: &mut Vec<u8>, v: i32) {
    varint::write_varint(out, v);
}

/// The encoded size of an unsigned varint.
#[inline]
pub fn uvarint_len(v: u32) -> usize {
    varint::unsigned_varint_size(v)
}

/// The largest length a compact prefix can carry (`length + 1` must fit Kafka's int varint).
pub const MAX_COMPACT_LEN: usize = (i32::MAX - 1) as usize;

/// Append the compact length prefix `len + 1` (or 0 for null).
pub fn put_compact_len(out: &mut Vec<u8>, len: Option<usize>) -> Result<()> {
    match len {
        None => put_uvarint(out, 0),
        Some(n) if n <= MAX_COMPACT_LEN => put_uvarint(out, n as u32 + 1),
        Some(n) => {
            return Err(Error::InvalidArgument(format!(
                "length {n} is too large for the Kafka protocol"
            )))
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uvarint_round_trip_and_sizes() {
        for v in [
            0u32,
            1,
            127,
            128,
            300,
            16383,
            16384,
            1 << 21,
            1 << 28,
            u32::MAX,
        ] {
            let mut out = Vec::new();
            put_uvarint(&mut out, v);
            assert_eq!(out.len(), uvarint_len(v), "size of {v}");
            let mut r = Reader::new(&out);
            assert_eq!(r.uvarint().unwrap(), v);
            assert_eq!(r.remaining(), 0);
        }
    }

    #[test]
    fn uvarint_known_bytes() {
        // 300 = 0b1_0010_1100 -> 0xac 0x02 (protobuf's documented example).
        let mut out = Vec::new();
        put_uvarint(&mut out, 300);
        assert_eq!(out, [0xac, 0x02]);
    }

    #[test]
    fn uvarint_rejects_overlong_and_overflow() {
        assert!(Reader::new(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x01])
            .uvarint()
            .is_err());
        assert!(Reader::new(&[0xff, 0xff, 0xff, 0xff, 0x1f])
            .uvarint()
            .is_err());
        assert!(Reader::new(&[0x80]).uvarint().is_err());
    }

    #[test]
    fn zigzag() {
        for (v, enc) in [(0i32, 0u8), (-1, 1), (1, 2), (-2, 3), (2, 4)] {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            assert_eq!(out, [enc]);
            assert_eq!(Reader::new(&out).varint().unwrap(), v);
        }
        let mut out = Vec::new();
        put_varint(&mut out, i32::MIN);
        assert_eq!(Reader::new(&out).varint().unwrap(), i32::MIN);
    }

    #[test]
    fn take_is_bounds_checked() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert!(r.take(4).is_err());
        assert!(r.take(usize::MAX).is_err());
        assert_eq!(r.take(2).unwrap(), &[1, 2]);
        assert_eq!(r.remaining(), 1);
        assert!(r.i16().is_err());
    }
}
