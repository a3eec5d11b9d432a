//! Shared by the `protocol_*` tests: a seeded value generator that walks a schema table and
//! produces a random body valid for one message version.
#![allow(dead_code)]

use kaffe_core::protocol::api;
use kaffe_core::protocol::schema::{FieldType, MessageSchema, StructSchema};
use kaffe_core::protocol::{RawTaggedField, StructValue, Value};

/// splitmix64: small, fast, and good enough to drive a generator reproducibly from a seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// True with probability `1/n`.
    pub fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }

    pub fn bytes(&mut self, max_len: u64) -> Vec<u8> {
        let len = self.below(max_len + 1) as usize;
        (0..len).map(|_| self.next_u64() as u8).collect()
    }
}

/// Every `(message, version)` pair in the tables: requests and responses of every API version,
/// headers and data messages.
pub fn all_message_versions() -> Vec<(&'static MessageSchema, i16)> {
    let mut out = Vec::new();
    let mut push = |m: &'static MessageSchema| {
        let v = m.valid_versions;
        if !v.is_empty() {
            for version in v.min..=v.max {
                out.push((m, version));
            }
        }
    };
    for a in api::apis() {
        push(a.request);
        push(a.response);
    }
    for m in api::data_messages() {
        push(m);
    }
    push(&kaffe_core::protocol::generated::REQUEST_HEADER);
    push(&kaffe_core::protocol::generated::RESPONSE_HEADER);
    out
}

pub struct Gen<'r> {
    pub rng: &'r mut Rng,
    pub version: i16,
    pub flexible: bool,
    /// Maximum array length.
    pub max_items: u64,
}

const STRINGS: [&str; 6] = ["", "a", "topic-1", "ünïcødé ✓", "__consumer_offsets", "x y"];

impl Gen<'_> {
    pub fn message(&mut self, schema: &MessageSchema) -> StructValue {
        self.structure(&schema.body, 0)
    }

    pub fn structure(&mut self, schema: &StructSchema, depth: usize) -> StructValue {
        let mut fields = Vec::new();
        for field in schema.fields {
            if !field.versions.contains(self.version) {
                continue;
            }
            let nullable = field.nullable_versions.contains(self.version);
            let value = self.value(&field.ty, nullable, depth);
            fields.push((field.name, value));
        }
        let mut unknown_tagged = Vec::new();
        if self.flexible && self.rng.one_in(4) {
            // Tags well above any Kafka uses, ascending and distinct (the encoder sorts them).
            let count = 1 + self.rng.below(2);
            let mut tag = 1000 + self.rng.below(50) as u32;
            for _ in 0..count {
                unknown_tagged.push(RawTaggedField {
                    tag,
                    data: self.rng.bytes(5),
                });
                tag += 1 + self.rng.below(3) as u32;
            }
        }
        StructValue {
            fields,
            unknown_tagged,
        }
    }

    fn int(&mut self, lo: i64, hi: i64) -> i64 {
        match self.rng.below(6) {
            0 => lo,
            1 => hi,
            2 => 0.clamp(lo, hi),
            3 => (-1i64).clamp(lo, hi),
            _ => {
                let span = (hi as i128 - lo as i128 + 1) as u128;
                let r =
                    (self.rng.next_u64() as u128 | ((self.rng.next_u64() as u128) << 64)) % span;
                (lo as i128 + r as i128) as i64
            }
        }
    }

    pub fn value(&mut self, ty: &FieldType, nullable: bool, depth: usize) -> Value {
        if nullable && self.rng.one_in(4) {
            return match ty {
                FieldType::String => Value::Str(None),
                FieldType::Bytes | FieldType::Records => Value::Bytes(None),
                FieldType::Array(_) => Value::Array(None),
                FieldType::Struct(_) => Value::Struct(None),
                _ => unreachable!("only variable-length types are nullable"),
            };
        }
        match ty {
            FieldType::Bool => Value::Bool(self.rng.one_in(2)),
            FieldType::Float64 => {
                let x = f64::from_bits(self.rng.next_u64());
                Value::Float(if x.is_finite() { x } else { 0.5 })
            }
            FieldType::Uuid => {
                let mut u = [0u8; 16];
                if !self.rng.one_in(4) {
                    u.iter_mut().for_each(|b| *b = self.rng.next_u64() as u8);
                }
                Value::Uuid(u)
            }
            FieldType::String => {
                let pick = self.rng.below(STRINGS.len() as u64 + 1) as usize;
                Value::Str(Some(match STRINGS.get(pick) {
                    Some(s) => (*s).to_owned(),
                    None => {
                        let len = self.rng.below(40);
                        (0..len)
                            .map(|_| {
                                char::from_u32(0x20 + self.rng.below(0x2000) as u32).unwrap_or('?')
                            })
                            .collect()
                    }
                }))
            }
            FieldType::Bytes | FieldType::Records => Value::Bytes(Some(self.rng.bytes(24))),
            FieldType::Struct(s) => Value::structure(self.structure(s, depth + 1)),
            FieldType::Array(elem) => {
                let len = self.rng.below(self.max_items + 1);
                Value::Array(Some(
                    (0..len)
                        .map(|_| self.value(elem, false, depth + 1))
                        .collect(),
                ))
            }
            other => {
                let (lo, hi) = other.int_range().expect("integer type");
                Value::Int(self.int(lo, hi))
            }
        }
    }
}

/// A random valid body for `schema` at `version`.
pub fn random_body(schema: &MessageSchema, version: i16, seed: u64, max_items: u64) -> StructValue {
    let mut rng = Rng::new(seed);
    let mut g = Gen {
        rng: &mut rng,
        version,
        flexible: schema.flexible_versions.contains(version),
        max_items,
    };
    g.message(schema)
}
