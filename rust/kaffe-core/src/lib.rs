//! kaffe-core: the pure-Rust half of kaffe.
//!
//! No I/O, no clocks, no threads, no Python. Everything here takes bytes and returns bytes or
//! plain values, and every reader of untrusted input returns [`Error`] instead of panicking.
//!
//! * [`crc`]: CRC32C (record batch v2) and CRC32 (legacy message sets).
//! * [`compression`]: gzip, snappy (xerial framing and raw), lz4 frame, zstd.
//! * [`partition`]: Kaffe's md5 partitioner and Java's murmur2 partitioner.
//! * [`varint`]: zigzag and unsigned varints, shared by records and the protocol codec.
//! * [`records`]: record batch v2 encode/decode and legacy v0/v1 message-set decode.
//! * [`protocol`]: Kafka request/response codec driven by schema tables generated from Kafka's
//!   own JSON message specs.

pub mod compression;
pub mod crc;
pub mod error;
pub mod partition;
pub mod protocol;
pub mod records;
pub mod varint;

pub use error::{Error, Result};
