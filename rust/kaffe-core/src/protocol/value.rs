//! A dynamic value tree: what the generic codec decodes to and encodes from.
//!
//! Structs keep their fields as `(name, value)` pairs in wire order; the names are the
//! `&'static str` snake_case names of the schema tables, so a decoded tree is self-describing
//! (the Python glue turns it into dicts without looking at the schema again). The encoder looks
//! fields up by name, trying the expected position first, so trees built in schema order (as
//! the decoder and the Python glue build them) encode without searching.

/// A tagged field the schema does not know: kept as raw bytes on decode, re-emitted on encode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawTaggedField {
    /// The tag.
    pub tag: u32,
    /// The field's encoded bytes (without the tag and size prefixes).
    pub data: Vec<u8>,
}

/// The fields of one struct.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StructValue {
    /// `(snake_case name, value)` in wire order. Fields absent from the encoder's input take
    /// their defaults.
    pub fields: Vec<(&'static str, Value)>,
    /// Tagged fields with tags the schema does not know, in ascending tag order as decoded (the
    /// encoder sorts them; a repeated tag is kept and written back as often as it was read).
    pub unknown_tagged: Vec<RawTaggedField>,
}

impl StructValue {
    /// An empty struct (every field at its default when encoded).
    pub fn new() -> StructValue {
        StructValue::default()
    }

    /// A struct with the given fields and no unknown tagged fields.
    pub fn from_fields(fields: Vec<(&'static str, Value)>) -> StructValue {
        StructValue {
            fields,
            unknown_tagged: Vec::new(),
        }
    }

    /// The value of a field, if present.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.fields.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// Set a field, replacing an existing value of the same name.
    pub fn set(&mut self, name: &'static str, value: Value) {
        match self.fields.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => self.fields.push((name, value)),
        }
    }

    /// Builder form of [`StructValue::set`].
    pub fn with(mut self, name: &'static str, value: Value) -> StructValue {
        self.set(name, value);
        self
    }

    /// An integer field, if present and an integer.
    pub fn get_int(&self, name: &str) -> Option<i64> {
        match self.get(name) {
            Some(Value::Int(v)) => Some(*v),
            _ => None,
        }
    }

    /// A non-null string field, if present.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        match self.get(name) {
            Some(Value::Str(Some(s))) => Some(s),
            _ => None,
        }
    }

    /// A non-null array field, if present.
    pub fn get_array(&self, name: &str) -> Option<&[Value]> {
        match self.get(name) {
            Some(Value::Array(Some(items))) => Some(items),
            _ => None,
        }
    }
}

/// One value. Which variant a field takes follows its schema type:
///
/// | schema type | variant |
/// |---|---|
/// | bool | `Bool` |
/// | int8, int16, uint16, int32, uint32, int64 | `Int` |
/// | float64 | `Float` |
/// | string | `Str` |
/// | bytes, records | `Bytes` |
/// | uuid | `Uuid` |
/// | `[]X` | `Array` |
/// | struct | `Struct` |
///
/// `None` inside `Str`, `Bytes`, `Array` and `Struct` is null.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A boolean.
    Bool(bool),
    /// Any of the integer types (range-checked against the schema type when encoding).
    Int(i64),
    /// A float64.
    Float(f64),
    /// A string, or null.
    Str(Option<String>),
    /// Bytes or records, or null.
    Bytes(Option<Vec<u8>>),
    /// A UUID (16 bytes, network order).
    Uuid([u8; 16]),
    /// An array, or null.
    Array(Option<Vec<Value>>),
    /// A struct, or null.
    Struct(Option<Box<StructValue>>),
}

impl Value {
    /// A non-null string value.
    pub fn str(s: impl Into<String>) -> Value {
        Value::Str(Some(s.into()))
    }

    /// A non-null bytes value.
    pub fn bytes(b: impl Into<Vec<u8>>) -> Value {
        Value::Bytes(Some(b.into()))
    }

    /// A non-null array value.
    pub fn array(items: Vec<Value>) -> Value {
        Value::Array(Some(items))
    }

    /// A non-null struct value.
    pub fn structure(s: StructValue) -> Value {
        Value::Struct(Some(Box::new(s)))
    }

    /// Whether the value is null (a `None` inside a nullable variant).
    pub fn is_null(&self) -> bool {
        matches!(
            self,
            Value::Str(None) | Value::Bytes(None) | Value::Array(None) | Value::Struct(None)
        )
    }

    /// The variant's name, for error messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "string",
            Value::Bytes(_) => "bytes",
            Value::Uuid(_) => "uuid",
            Value::Array(_) => "array",
            Value::Struct(_) => "struct",
        }
    }
}
