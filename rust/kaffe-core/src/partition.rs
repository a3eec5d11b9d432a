//! Partitioners: Kaffe's md5 partitioner and Java's murmur2 partitioner.

use md5::{Digest, Md5};

/// Kaffe's formula: sum of the 16 bytes of md5(key) (as unsigned), modulo `count`. count >= 1.
///
/// Callers guarantee `count >= 1`; for `count == 0` this returns 0 instead of panicking.
pub fn md5_partition(key: &[u8], count: u32) -> u32 {
    let digest = Md5::digest(key);
    let sum: u32 = digest.iter().map(|&b| u32::from(b)).sum();
    sum.checked_rem(count).unwrap_or(0)
}

/// Java's Utils.murmur2 (seed 0x9747b28c), as a signed 32-bit value exactly like Java returns.
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;

    // Java uses the array length as an int; arrays longer than i32::MAX cannot exist there, and
    // truncating keeps this total for any input.
    let length = data.len() as u32;
    let mut h = SEED ^ length;

    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let mut k = chunk
            .iter()
            .rev()
            .fold(0u32, |acc, &b| (acc << 8) | u32::from(b));
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }

    // Java's `switch (length % 4)` with fall-through from case 3 to case 1.
    let tail = chunks.remainder();
    if !tail.is_empty() {
        for (i, &b) in tail.iter().enumerate().rev() {
            h ^= u32::from(b) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }

    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// Java's default partitioner for keyed records: (murmur2(key) & 0x7fffffff) % count.
///
/// Callers guarantee `count >= 1`; for `count == 0` this returns 0 instead of panicking.
pub fn murmur2_partition(key: &[u8], count: u32) -> u32 {
    let positive = (murmur2(key) as u32) & 0x7fff_ffff;
    positive.checked_rem(count).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected values from Apache Kafka's UtilsTest.testMurmur2
    /// (clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java), as also quoted by
    /// kafka_ex's test/kafka_ex/support/murmur_test.exs and akka's Murmur2Spec.scala.
    const JAVA_VECTORS: &[(&str, i32)] = &[
        ("21", -973_932_308),
        ("foobar", -790_332_482),
        ("a-little-bit-long-string", -985_981_536),
        ("a-little-bit-longer-string", -1_486_304_829),
        (
            "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
            -58_897_971,
        ),
        ("abc", 479_470_107),
        // akka's Murmur2Spec (values from the Kafka implementation): all tail lengths.
        ("1", -1_993_445_489),
        ("12", 126_087_238),
        ("123", -267_702_483),
        ("1234", -1_614_185_708),
        ("12345", -1_188_365_604),
    ];

    #[test]
    fn murmur2_matches_java() {
        for &(key, expected) in JAVA_VECTORS {
            assert_eq!(murmur2(key.as_bytes()), expected, "key {key:?}");
        }
    }

    #[test]
    fn murmur2_partition_is_to_positive_mod() {
        for &(key, hash) in JAVA_VECTORS {
            for count in [1u32, 2, 3, 7, 32, 100, 1000] {
                let expected = (hash & 0x7fff_ffff) as u32 % count;
                assert_eq!(murmur2_partition(key.as_bytes(), count), expected);
            }
        }
        // "21" hashes negative: the sign bit is masked off, not negated (Java's toPositive).
        assert_eq!(
            murmur2_partition(b"21", 1 << 31),
            (-973_932_308i32 & 0x7fff_ffff) as u32
        );
        assert_eq!(murmur2_partition(b"21", 0), 0);
    }

    #[test]
    fn md5_partition_acceptance_example() {
        // From the issue: with 32 partitions, "key8" and "key12" land in partition 17.
        assert_eq!(md5_partition(b"key8", 32), 17);
        assert_eq!(md5_partition(b"key12", 32), 17);
    }

    #[test]
    fn md5_partition_uses_byte_sum() {
        // RFC 1321 test vector: md5("abc") = 900150983cd24fb0d6963f7d28e17f72.
        let digest: [u8; 16] = [
            0x90, 0x01, 0x50, 0x98, 0x3c, 0xd2, 0x4f, 0xb0, 0xd6, 0x96, 0x3f, 0x7d, 0x28, 0xe1,
            0x7f, 0x72,
        ];
        let sum: u32 = digest.iter().map(|&b| u32::from(b)).sum();
        for count in [1u32, 2, 5, 32, 1000, 5000] {
            assert_eq!(md5_partition(b"abc", count), sum % count);
        }
        assert_eq!(md5_partition(b"abc", 0), 0);
        assert_eq!(md5_partition(b"anything", 1), 0);
    }
}
