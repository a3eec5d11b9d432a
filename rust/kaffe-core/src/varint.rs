//! Zigzag variable-length integers (protobuf style), as used inside v2 records.
//!
//! A `varint` carries an `i32` in at most 5 bytes, a `varlong` an `i64` in at most 10 bytes.
//! Readers reject encodings that are longer than that, or whose last byte carries bits that do not
//! fit the target width, instead of silently truncating.

use std::fmt;

/// Why a varint could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VarintError {
    /// The input ended in the middle of the varint.
    Truncated,
    /// The continuation bit is still set on the last byte the type allows (5 or 10).
    TooLong,
    /// The last allowed byte carries bits beyond the width of the type.
    Overflow,
}

impl fmt::Display for VarintError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            VarintError::Truncated => "truncated varint",
            VarintError::TooLong => "varint longer than its maximum size",
            VarintError::Overflow => "varint overflows its integer type",
        })
    }
}

/// Zigzag-encode an `i32` (0, -1, 1, -2, ... map to 0, 1, 2, 3, ...).
#[inline]
pub fn zigzag32(v: i32) -> u32 {
    ((v << 1) ^ (v >> 31)) as u32
}

/// Zigzag-encode an `i64`.
#[inline]
pub fn zigzag64(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

#[inline]
fn unzigzag32(v: u32) -> i32 {
    ((v >> 1) as i32) ^ -((v & 1) as i32)
}

#[inline]
fn unzigzag64(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// Read an unsigned 32-bit varint (at most 5 bytes) from `buf` at `*pos`, advancing `*pos`.
/// On error `*pos` is left unchanged.
#[inline]
pub fn read_unsigned_varint(buf: &[u8], pos: &mut usize) -> Result<u32, VarintError> {
    let start = *pos;
    let first = *buf.get(start).ok_or(VarintError::Truncated)?;
    if first < 0x80 {
        *pos = start + 1;
        return Ok(u32::from(first));
    }
    read_unsigned_varint_slow(buf, pos, first)
}

#[cold]
#[inline(never)]
fn read_unsigned_varint_slow(buf: &[u8], pos: &mut usize, first: u8) -> Result<u32, VarintError> {
    let mut p = *pos + 1;
    let mut result = u32::from(first & 0x7f);
    let mut shift = 7u32;
    loop {
        let b = *buf.get(p).ok_or(VarintError::Truncated)?;
        p += 1;
        if shift == 28 {
            if b & 0x80 != 0 {
                return Err(VarintError::TooLong);
            }
            if b > 0x0f {
                return Err(VarintError::Overflow);
            }
            result |= u32::from(b) << 28;
            break;
        }
        result |= u32::from(b & 0x7f) << shift;
        if b < 0x80 {
            break;
        }
        shift += 7;
    }
    *pos = p;
    Ok(result)
}

/// Read an unsigned 64-bit varint (at most 10 bytes) from `buf` at `*pos`, advancing `*pos`.
/// On error `*pos` is left unchanged.
#[inline]
pub fn read_unsigned_varlong(buf: &[u8], pos: &mut usize) -> Result<u64, VarintError> {
    let start = *pos;
    let first = *buf.get(start).ok_or(VarintError::Truncated)?;
    if first < 0x80 {
        *pos = start + 1;
        return Ok(u64::from(first));
    }
    let mut p = start + 1;
    let mut result = u64::from(first & 0x7f);
    let mut shift = 7u32;
    loop {
        let b = *buf.get(p).ok_or(VarintError::Truncated)?;
        p += 1;
        if shift == 63 {
            if b & 0x80 != 0 {
                return Err(VarintError::TooLong);
            }
            if b > 0x01 {
                return Err(VarintError::Overflow);
            }
            result |= u64::from(b) << 63;
            break;
        }
        result |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            break;
        }
        shift += 7;
    }
    *pos = p;
    Ok(result)
}

/// Read a zigzag `varint` (`i32`, at most 5 bytes) from `buf` at `*pos`, advancing `*pos`.
#[inline]
pub fn read_varint(buf: &[u8], pos: &mut usize) -> Result<i32, VarintError> {
    read_unsigned_varint(buf, pos).map(unzigzag32)
}

/// Read a zigzag `varlong` (`i64`, at most 10 bytes) from `buf` at `*pos`, advancing `*pos`.
#[inline]
pub fn read_varlong(buf: &[u8], pos: &mut usize) -> Result<i64, VarintError> {
    read_unsigned_varlong(buf, pos).map(unzigzag64)
}

/// Number of bytes the unsigned varint encoding of `v` takes (1..=5).
#[inline]
pub fn unsigned_varint_size(v: u32) -> usize {
    // bits needed (at least 1), rounded up to groups of 7
    let bits = 32 - (v | 1).leading_zeros();
    bits.div_ceil(7) as usize
}

/// Number of bytes the unsigned varlong encoding of `v` takes (1..=10).
#[inline]
pub fn unsigned_varlong_size(v: u64) -> usize {
    let bits = 64 - (v | 1).leading_zeros();
    bits.div_ceil(7) as usize
}

/// Number of bytes the zigzag varint encoding of `v` takes (1..=5).
#[inline]
pub fn varint_size(v: i32) -> usize {
    unsigned_varint_size(zigzag32(v))
}

/// Number of bytes the zigzag varlong encoding of `v` takes (1..=10).
#[inline]
pub fn varlong_size(v: i64) -> usize {
    unsigned_varlong_size(zigzag64(v))
}

/// Append the unsigned varint encoding of `v` to `out`.
#[inline]
pub fn write_unsigned_varint(out: &mut Vec<u8>, mut v: u32) {
    if v < 0x80 {
        out.push(v as u8);
        return;
    }
    let mut tmp = [0u8; 5];
    let mut n = 0;
    while v >= 0x80 {
        if let Some(slot) = tmp.get_mut(n) {
            *slot = (v as u8) | 0x80;
        }
        v >>= 7;
        n += 1;
    }
    if let Some(slot) = tmp.get_mut(n) {
        *slot = v as u8;
    }
    out.extend_from_slice(tmp.get(..=n).unwrap_or(&tmp));
}

/// Append the unsigned varlong encoding of `v` to `out`.
#[inline]
pub fn write_unsigned_varlong(out: &mut Vec<u8>, mut v: u64) {
    if v < 0x80 {
        out.push(v as u8);
        return;
    }
    let mut tmp = [0u8; 10];
    let mut n = 0;
    while v >= 0x80 {
        if let Some(slot) = tmp.get_mut(n) {
            *slot = (v as u8) | 0x80;
        }
        v >>= 7;
        n += 1;
    }
    if let Some(slot) = tmp.get_mut(n) {
        *slot = v as u8;
    }
    out.extend_from_slice(tmp.get(..=n).unwrap_or(&tmp));
}

/// Append the zigzag varint encoding of `v` to `out`.
#[inline]
pub fn write_varint(out: &mut Vec<u8>, v: i32) {
    write_unsigned_varint(out, zigzag32(v));
}

/// Append the zigzag varlong encoding of `v` to `out`.
#[inline]
pub fn write_varlong(out: &mut Vec<u8>, v: i64) {
    write_unsigned_varlong(out, zigzag64(v));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc32(v: i32) -> Vec<u8> {
        let mut out = Vec::new();
        write_varint(&mut out, v);
        out
    }

    fn enc64(v: i64) -> Vec<u8> {
        let mut out = Vec::new();
        write_varlong(&mut out, v);
        out
    }

    fn dec32(b: &[u8]) -> Result<(i32, usize), VarintError> {
        let mut pos = 0;
        read_varint(b, &mut pos).map(|v| (v, pos))
    }

    fn dec64(b: &[u8]) -> Result<(i64, usize), VarintError> {
        let mut pos = 0;
        read_varlong(b, &mut pos).map(|v| (v, pos))
    }

    #[test]
    fn zigzag_small_values_follow_the_protobuf_table() {
        // The protobuf documentation's zigzag table, written out by hand.
        assert_eq!(enc32(0), [0x00]);
        assert_eq!(enc32(-1), [0x01]);
        assert_eq!(enc32(1), [0x02]);
        assert_eq!(enc32(-2), [0x03]);
        assert_eq!(enc32(63), [0x7e]);
        assert_eq!(enc32(-64), [0x7f]);
        assert_eq!(enc32(64), [0x80, 0x01]);
        assert_eq!(enc32(300), [0xd8, 0x04]);
        assert_eq!(enc64(-1), [0x01]);
        assert_eq!(enc64(150), [0xac, 0x02]);
    }

    #[test]
    fn extremes_use_the_maximum_length_and_round_trip() {
        assert_eq!(enc32(i32::MAX), [0xfe, 0xff, 0xff, 0xff, 0x0f]);
        assert_eq!(enc32(i32::MIN), [0xff, 0xff, 0xff, 0xff, 0x0f]);
        let mut max64 = vec![0xfe];
        max64.extend([0xff; 8]);
        max64.push(0x01);
        assert_eq!(enc64(i64::MAX), max64);
        let mut min64 = vec![0xff; 9];
        min64.push(0x01);
        assert_eq!(enc64(i64::MIN), min64);
        for v in [0, -1, 1, i32::MIN, i32::MAX, i32::MIN + 1, i32::MAX - 1] {
            let b = enc32(v);
            assert_eq!(b.len(), varint_size(v));
            assert_eq!(dec32(&b), Ok((v, b.len())));
        }
        for v in [
            0,
            -1,
            1,
            i64::MIN,
            i64::MAX,
            i64::from(i32::MIN) - 1,
            1 << 62,
        ] {
            let b = enc64(v);
            assert_eq!(b.len(), varlong_size(v));
            assert_eq!(dec64(&b), Ok((v, b.len())));
        }
    }

    #[test]
    fn size_matches_encoding_at_every_length_boundary() {
        for shift in 0..32 {
            for v in [1u32 << shift, (1u32 << shift) - 1] {
                let mut out = Vec::new();
                write_unsigned_varint(&mut out, v);
                assert_eq!(out.len(), unsigned_varint_size(v), "v={v}");
                let mut pos = 0;
                assert_eq!(read_unsigned_varint(&out, &mut pos), Ok(v));
            }
        }
        for shift in 0..64 {
            for v in [1u64 << shift, (1u64 << shift) - 1] {
                let mut out = Vec::new();
                write_unsigned_varlong(&mut out, v);
                assert_eq!(out.len(), unsigned_varlong_size(v), "v={v}");
                let mut pos = 0;
                assert_eq!(read_unsigned_varlong(&out, &mut pos), Ok(v));
            }
        }
    }

    #[test]
    fn overlong_and_overflowing_encodings_are_rejected() {
        // 6 bytes for a varint: the 5th still has its continuation bit.
        assert_eq!(
            dec32(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x00]),
            Err(VarintError::TooLong)
        );
        // 5th byte carrying more than 4 bits.
        assert_eq!(
            dec32(&[0xff, 0xff, 0xff, 0xff, 0x1f]),
            Err(VarintError::Overflow)
        );
        // Non-canonical but in-range padding is accepted: 0 written in 5 bytes.
        assert_eq!(dec32(&[0x80, 0x80, 0x80, 0x80, 0x00]), Ok((0, 5)));
        // 11 bytes for a varlong.
        let mut long = vec![0x80; 10];
        long.push(0x00);
        assert_eq!(dec64(&long), Err(VarintError::TooLong));
        // 10th byte carrying more than 1 bit.
        let mut over = vec![0xff; 9];
        over.push(0x02);
        assert_eq!(dec64(&over), Err(VarintError::Overflow));
    }

    #[test]
    fn truncated_input_is_rejected_and_position_kept() {
        for b in [&[][..], &[0x80], &[0xff, 0xff], &[0x80, 0x80, 0x80, 0x80]] {
            let mut pos = 0;
            assert_eq!(read_varint(b, &mut pos), Err(VarintError::Truncated));
            assert_eq!(pos, 0);
        }
        let mut pos = 0;
        assert_eq!(
            read_varlong(&[0xff; 9], &mut pos),
            Err(VarintError::Truncated)
        );
        assert_eq!(pos, 0);
    }

    #[test]
    fn reads_advance_from_a_non_zero_position() {
        let mut buf = vec![0xaa];
        write_varint(&mut buf, -300);
        write_varlong(&mut buf, i64::MIN);
        let mut pos = 1;
        assert_eq!(read_varint(&buf, &mut pos), Ok(-300));
        assert_eq!(read_varlong(&buf, &mut pos), Ok(i64::MIN));
        assert_eq!(pos, buf.len());
    }
}
