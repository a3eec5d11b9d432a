//! CRC32C (Castagnoli; record batch v2) and CRC32 (IEEE; legacy message sets v0/v1).

/// CRC32C (Castagnoli) of `data`, as used by record batch v2.
pub fn crc32c(data: &[u8]) -> u32 {
    crc32c::crc32c(data)
}

/// CRC32 (IEEE 802.3) of `data`, as used by legacy message sets v0/v1.
pub fn crc32(data: &[u8]) -> u32 {
    crc32fast::hash(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_check_values() {
        // The "check" values from the CRC catalogue for input "123456789".
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn empty_and_known_vectors() {
        assert_eq!(crc32c(b""), 0);
        assert_eq!(crc32(b""), 0);
        // RFC 3720 (iSCSI) appendix B.4: 32 bytes of zeros and 32 bytes of 0xFF.
        assert_eq!(crc32c(&[0u8; 32]), 0x8A91_36AA);
        assert_eq!(crc32c(&[0xffu8; 32]), 0x62A8_AB43);
        // "The quick brown fox jumps over the lazy dog" (widely published CRC-32 value).
        assert_eq!(
            crc32(b"The quick brown fox jumps over the lazy dog"),
            0x414F_A339
        );
    }
}
