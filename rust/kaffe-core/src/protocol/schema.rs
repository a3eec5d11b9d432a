//! The types of the generated schema tables (see `generated/`, written by `tools/codegen`).
//!
//! A table carries the facts of one Kafka message spec and nothing else: field names (converted
//! to snake_case), types, the versions each field exists in, nullability, tags and defaults.
//! The generic codec in [`super::codec`] walks these tables; nothing here knows about bytes.

/// The highest version number; an open-ended range such as `"3+"` ends here.
pub const MAX_VERSION: i16 = i16::MAX;

/// An inclusive range of message versions. `min > max` is the empty range ([`Versions::NONE`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Versions {
    /// Lowest version in the range.
    pub min: i16,
    /// Highest version in the range ([`MAX_VERSION`] for open-ended ranges).
    pub max: i16,
}

impl Versions {
    /// The range that contains no version.
    pub const NONE: Versions = Versions { min: 0, max: -1 };

    /// `min..=max`.
    pub const fn new(min: i16, max: i16) -> Versions {
        Versions { min, max }
    }

    /// Whether `version` is in the range.
    #[inline]
    pub const fn contains(self, version: i16) -> bool {
        self.min <= version && version <= self.max
    }

    /// Whether the range contains no version.
    #[inline]
    pub const fn is_empty(self) -> bool {
        self.min > self.max
    }
}

impl std::fmt::Display for Versions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_empty() {
            f.write_str("none")
        } else if self.max == MAX_VERSION {
            write!(f, "{}+", self.min)
        } else if self.min == self.max {
            write!(f, "{}", self.min)
        } else {
            write!(f, "{}-{}", self.min, self.max)
        }
    }
}

/// The type of a field. Arrays never nest (the protocol has no arrays of arrays).
#[derive(Debug)]
pub enum FieldType {
    /// One byte, 0 or 1 (any non-zero byte reads as true).
    Bool,
    /// Signed 8-bit integer.
    Int8,
    /// Signed 16-bit big-endian integer.
    Int16,
    /// Unsigned 16-bit big-endian integer.
    Uint16,
    /// Signed 32-bit big-endian integer.
    Int32,
    /// Unsigned 32-bit big-endian integer.
    Uint32,
    /// Signed 64-bit big-endian integer.
    Int64,
    /// IEEE 754 double, big-endian.
    Float64,
    /// UTF-8 string (int16 length, or compact uvarint length+1 in flexible versions).
    String,
    /// Opaque bytes (int32 length, or compact uvarint length+1 in flexible versions).
    Bytes,
    /// A record set; on the wire exactly like nullable bytes. Kept raw for the record-batch codec.
    Records,
    /// 16 bytes.
    Uuid,
    /// A nested struct.
    Struct(&'static StructSchema),
    /// An array of the element type (int32 count, or compact uvarint count+1).
    Array(&'static FieldType),
}

impl FieldType {
    /// The type name as the specs write it (`int32`, `[]string`, `[]TopicData`).
    pub fn spec_name(&self) -> String {
        match self {
            FieldType::Bool => "bool".into(),
            FieldType::Int8 => "int8".into(),
            FieldType::Int16 => "int16".into(),
            FieldType::Uint16 => "uint16".into(),
            FieldType::Int32 => "int32".into(),
            FieldType::Uint32 => "uint32".into(),
            FieldType::Int64 => "int64".into(),
            FieldType::Float64 => "float64".into(),
            FieldType::String => "string".into(),
            FieldType::Bytes => "bytes".into(),
            FieldType::Records => "records".into(),
            FieldType::Uuid => "uuid".into(),
            FieldType::Struct(s) => s.name.into(),
            FieldType::Array(elem) => format!("[]{}", elem.spec_name()),
        }
    }

    /// The inclusive range of an integer type, or `None` for other types.
    pub const fn int_range(&self) -> Option<(i64, i64)> {
        match self {
            FieldType::Int8 => Some((i8::MIN as i64, i8::MAX as i64)),
            FieldType::Int16 => Some((i16::MIN as i64, i16::MAX as i64)),
            FieldType::Uint16 => Some((0, u16::MAX as i64)),
            FieldType::Int32 => Some((i32::MIN as i64, i32::MAX as i64)),
            FieldType::Uint32 => Some((0, u32::MAX as i64)),
            FieldType::Int64 => Some((i64::MIN, i64::MAX)),
            _ => None,
        }
    }
}

/// The default of a field: the value a decoder fills in when the field is absent (not in the
/// version, or a tagged field that was not sent), and the value an encoder uses when the caller
/// leaves the field out.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DefaultValue {
    /// The type's zero value: 0, false, 0.0, "", empty bytes, empty array, zero uuid, or a
    /// struct whose fields all have their defaults.
    Zero,
    /// Null (the spec says `"default": "null"`; also every `records` field).
    Null,
    /// A boolean literal.
    Bool(bool),
    /// An integer literal.
    Int(i64),
    /// A float literal.
    Float(f64),
    /// A string literal.
    Str(&'static str),
}

/// One field of a struct.
#[derive(Debug)]
pub struct Field {
    /// snake_case name (`ThrottleTimeMs` in the spec becomes `throttle_time_ms`).
    pub name: &'static str,
    /// The field's type.
    pub ty: FieldType,
    /// The versions the field exists in.
    pub versions: Versions,
    /// The versions in which the field may be null.
    pub nullable_versions: Versions,
    /// The versions in which the field is sent as a tagged field (empty if never).
    pub tagged_versions: Versions,
    /// The tag, for tagged fields.
    pub tag: Option<u32>,
    /// A field-level override of the message's flexible versions (only `ClientId` in the request
    /// header has one: it keeps the old int16-length string even in flexible header versions).
    pub flexible_versions: Option<Versions>,
    /// The default value.
    pub default: DefaultValue,
    /// Whether an encoder may silently drop a non-default value in a version that lacks the
    /// field. For other fields that is an error (the receiver would silently lose information).
    pub ignorable: bool,
}

impl Field {
    /// Whether the field is sent in its tagged form at `version`.
    #[inline]
    pub const fn is_tagged_at(&self, version: i16) -> bool {
        self.tag.is_some() && self.tagged_versions.contains(version)
    }

    /// Whether the field may be null at `version`.
    #[inline]
    pub const fn is_nullable_at(&self, version: i16) -> bool {
        self.nullable_versions.contains(version)
    }

    /// A non-nullable, untagged, non-ignorable field with the zero default (the generated code
    /// refines it with the builder methods below).
    pub const fn new(name: &'static str, ty: FieldType, versions: Versions) -> Field {
        Field {
            name,
            ty,
            versions,
            nullable_versions: Versions::NONE,
            tagged_versions: Versions::NONE,
            tag: None,
            flexible_versions: None,
            default: DefaultValue::Zero,
            ignorable: false,
        }
    }

    /// Set the nullable versions.
    pub const fn nullable(self, versions: Versions) -> Field {
        Field {
            nullable_versions: versions,
            ..self
        }
    }

    /// Make the field tagged with `tag` in `versions`.
    pub const fn tagged(self, tag: u32, versions: Versions) -> Field {
        Field {
            tag: Some(tag),
            tagged_versions: versions,
            ..self
        }
    }

    /// Override the flexible versions for this field's own encoding.
    pub const fn flexible(self, versions: Versions) -> Field {
        Field {
            flexible_versions: Some(versions),
            ..self
        }
    }

    /// Set the default value.
    pub const fn default_value(self, default: DefaultValue) -> Field {
        Field { default, ..self }
    }

    /// Mark the field ignorable.
    pub const fn ignorable(self) -> Field {
        Field {
            ignorable: true,
            ..self
        }
    }
}

/// A struct: a message body, an inline struct or one of a spec's `commonStructs`.
#[derive(Debug)]
pub struct StructSchema {
    /// The struct's name in the spec (`TopicProduceData`); the message name for a body.
    pub name: &'static str,
    /// The versions the struct exists in.
    pub versions: Versions,
    /// The fields, in wire order.
    pub fields: &'static [Field],
}

/// What kind of spec file a [`MessageSchema`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    /// `*Request.json`.
    Request,
    /// `*Response.json`.
    Response,
    /// `RequestHeader.json`, `ResponseHeader.json`.
    Header,
    /// Other data (consumer protocol subscription/assignment, KRaft records, ...).
    Data,
}

/// One message spec: a request, a response, a header or a data message.
#[derive(Debug)]
pub struct MessageSchema {
    /// The message name (`ProduceRequest`).
    pub name: &'static str,
    /// The kind of message.
    pub kind: MessageKind,
    /// The API key (`-1` for headers and data messages).
    pub api_key: i16,
    /// The versions Kafka defines (`validVersions`).
    pub valid_versions: Versions,
    /// The flexible versions: compact lengths, tagged fields.
    pub flexible_versions: Versions,
    /// Versions the spec marks deprecated (empty in Kafka 4.1).
    pub deprecated_versions: Versions,
    /// Whether the highest valid version is still unstable (not advertised by brokers unless
    /// `unstable.api.versions.enable` is set; a client must not negotiate it).
    pub latest_version_unstable: bool,
    /// The top-level struct.
    pub body: StructSchema,
}

impl MessageSchema {
    /// The highest version a client should use: `valid_versions.max`, minus one if the latest
    /// version is unstable. `None` if no stable version exists.
    pub const fn stable_max_version(&self) -> Option<i16> {
        let max = if self.latest_version_unstable {
            self.valid_versions.max - 1
        } else {
            self.valid_versions.max
        };
        if self.valid_versions.is_empty() || max < self.valid_versions.min {
            None
        } else {
            Some(max)
        }
    }

    /// Whether `version` is flexible.
    #[inline]
    pub const fn is_flexible(&self, version: i16) -> bool {
        self.flexible_versions.contains(version)
    }
}

/// A Kafka API: the request and response of one API key.
#[derive(Debug)]
pub struct ApiSpec {
    /// The API key.
    pub key: i16,
    /// The API name (`Produce`, `ApiVersions`).
    pub name: &'static str,
    /// The request spec.
    pub request: &'static MessageSchema,
    /// The response spec.
    pub response: &'static MessageSchema,
}

/// Short names used by the generated tables.
pub(crate) mod prelude {
    pub(crate) use super::DefaultValue as D;
    pub(crate) use super::FieldType as T;
    pub(crate) use super::{
        ApiSpec, Field, MessageKind, MessageSchema, StructSchema, Versions, MAX_VERSION as N,
    };

    /// `Versions::new` (short for the tables).
    pub(crate) const fn v(min: i16, max: i16) -> Versions {
        Versions::new(min, max)
    }

    /// The empty version range.
    pub(crate) const NONE: Versions = Versions::NONE;

    /// `Field::new` (short for the tables).
    pub(crate) const fn f(name: &'static str, ty: T, versions: Versions) -> Field {
        Field::new(name, ty, versions)
    }
}
