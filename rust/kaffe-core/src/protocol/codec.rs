//! The generic encoder/decoder: walks a [`MessageSchema`] at one version.
//!
//! The rules follow Kafka's own generated code (`MessageDataGenerator`):
//!
//! * A field is on the wire only in its `versions`. In flexible versions strings, bytes, records
//!   and arrays use compact (uvarint `length + 1`) prefixes, except where a field overrides the
//!   flexible versions (the request header's `client_id`).
//! * Every struct of a flexible version ends with a tagged-field section: a uvarint count, then
//!   `tag, size, data` per field in ascending tag order. Known tagged fields are written only when
//!   they differ from their default; tags the schema does not know are kept as raw bytes on
//!   decode and written back on encode.
//! * A nullable struct carries a presence marker: int8 `-1`/`1` when untagged, uvarint `0`/`1`
//!   when tagged.
//! * On encode, a field left out takes its default. A non-default value for a field the version
//!   lacks is an error unless the field is `ignorable` (the receiver would silently lose it).
//!
//! Decoding never panics, checks every length against the bytes that remain before using it,
//! caps initial allocations by the remaining input, and bounds recursion depth.

use super::primitives::{self as p, Reader};
use super::schema::{DefaultValue, Field, FieldType, MessageSchema, StructSchema};
use super::value::{RawTaggedField, StructValue, Value};
use crate::error::Error;

/// Deepest struct nesting the codec accepts. Kafka's deepest messages nest about five levels;
/// the schema tables are acyclic (the generator checks), so this is a second line of defence.
pub const MAX_DEPTH: usize = 32;

/// Longest string the protocol can carry (Kafka rejects longer ones on both paths).
const MAX_STRING_LEN: usize = i16::MAX as usize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FailKind {
    Corrupt,
    Invalid,
}

/// One step of the path to a field in an error message: `a.b[3].c`, or `[tag]` for a tagged
/// field given by key (the Python glue's conversions use that).
#[derive(Debug)]
pub enum Seg {
    /// A named field.
    Field(&'static str),
    /// An element of an array.
    Index(usize),
    /// A key of a mapping.
    Key(String),
}

/// `"{context}: {path}: {msg}"` (without the path when it is empty), `path` given innermost
/// segment first as errors collect it on their way out.
pub fn located_message(context: &str, path: &[Seg], msg: &str) -> String {
    let mut rendered = String::new();
    for seg in path.iter().rev() {
        match seg {
            Seg::Field(name) => {
                if !rendered.is_empty() {
                    rendered.push('.');
                }
                rendered.push_str(name);
            }
            Seg::Index(i) => {
                rendered.push('[');
                rendered.push_str(&i.to_string());
                rendered.push(']');
            }
            Seg::Key(k) => {
                rendered.push('[');
                rendered.push_str(k);
                rendered.push(']');
            }
        }
    }
    if rendered.is_empty() {
        format!("{context}: {msg}")
    } else {
        format!("{context}: {rendered}: {msg}")
    }
}

/// An error with the path of the field it happened in (innermost segment first).
#[derive(Debug)]
struct Fail {
    kind: FailKind,
    msg: String,
    path: Vec<Seg>,
}

type R<T> = std::result::Result<T, Fail>;

impl Fail {
    fn corrupt(msg: impl Into<String>) -> Fail {
        Fail {
            kind: FailKind::Corrupt,
            msg: msg.into(),
            path: Vec::new(),
        }
    }

    fn invalid(msg: impl Into<String>) -> Fail {
        Fail {
            kind: FailKind::Invalid,
            msg: msg.into(),
            path: Vec::new(),
        }
    }

    fn at(mut self, seg: Seg) -> Fail {
        self.path.push(seg);
        self
    }

    fn into_error(self, context: &str) -> Error {
        let msg = located_message(context, &self.path, &self.msg);
        match self.kind {
            FailKind::Corrupt => Error::Corrupt(msg),
            FailKind::Invalid => Error::InvalidArgument(msg),
        }
    }
}

impl From<Error> for Fail {
    fn from(err: Error) -> Fail {
        match err {
            Error::Corrupt(msg) => Fail::corrupt(msg),
            other => Fail::invalid(other.to_string()),
        }
    }
}

/// Per-call constants.
#[derive(Clone, Copy)]
struct Ctx {
    version: i16,
    /// Whether the message version is flexible (tagged-field sections, compact lengths).
    flexible: bool,
}

impl Ctx {
    /// The flexibility of one field's own length prefixes.
    #[inline]
    fn field_flexible(&self, field: &Field) -> bool {
        match field.flexible_versions {
            Some(v) => v.contains(self.version),
            None => self.flexible,
        }
    }
}

fn context(schema: &MessageSchema, version: i16) -> String {
    format!("{} v{version}", schema.name)
}

fn check_version(schema: &MessageSchema, version: i16) -> Result<(), Fail> {
    if schema.valid_versions.contains(version) {
        Ok(())
    } else {
        Err(Fail::invalid(format!(
            "unsupported version (valid versions: {})",
            schema.valid_versions
        )))
    }
}

// ---------------------------------------------------------------------------------------------
// Defaults
// ---------------------------------------------------------------------------------------------

/// The default value of `field` at `version` (what a decoder fills in for an absent field).
pub fn default_value(field: &Field, version: i16) -> Value {
    default_of(&field.ty, field.default, version, 0)
}

fn default_of(ty: &FieldType, default: DefaultValue, version: i16, depth: usize) -> Value {
    match default {
        DefaultValue::Null => null_of(ty),
        DefaultValue::Bool(b) => Value::Bool(b),
        DefaultValue::Int(i) => Value::Int(i),
        DefaultValue::Float(x) => Value::Float(x),
        DefaultValue::Str(s) => Value::Str(Some(s.to_owned())),
        DefaultValue::Zero => match ty {
            FieldType::Bool => Value::Bool(false),
            FieldType::Int8
            | FieldType::Int16
            | FieldType::Uint16
            | FieldType::Int32
            | FieldType::Uint32
            | FieldType::Int64 => Value::Int(0),
            FieldType::Float64 => Value::Float(0.0),
            FieldType::String => Value::Str(Some(String::new())),
            FieldType::Bytes => Value::Bytes(Some(Vec::new())),
            FieldType::Records => Value::Bytes(None),
            FieldType::Uuid => Value::Uuid([0; 16]),
            FieldType::Array(_) => Value::Array(Some(Vec::new())),
            FieldType::Struct(s) => Value::structure(default_struct(s, version, depth + 1)),
        },
    }
}

fn null_of(ty: &FieldType) -> Value {
    match ty {
        FieldType::String => Value::Str(None),
        FieldType::Array(_) => Value::Array(None),
        FieldType::Struct(_) => Value::Struct(None),
        _ => Value::Bytes(None),
    }
}

/// A struct with every field present at `version` set to its default.
pub fn default_struct(schema: &StructSchema, version: i16, depth: usize) -> StructValue {
    if depth > MAX_DEPTH {
        return StructValue::new();
    }
    StructValue::from_fields(
        schema
            .fields
            .iter()
            .filter(|f| f.versions.contains(version))
            .map(|f| (f.name, default_of(&f.ty, f.default, version, depth)))
            .collect(),
    )
}

/// Whether `value` equals the field's default (Kafka's "non-default value" check, which decides
/// whether a tagged field is written and whether dropping a field loses information).
fn is_default(ty: &FieldType, default: DefaultValue, value: &Value, depth: usize) -> bool {
    match (default, value) {
        (DefaultValue::Null, v) => v.is_null(),
        (DefaultValue::Bool(d), Value::Bool(b)) => d == *b,
        (DefaultValue::Int(d), Value::Int(i)) => d == *i,
        (DefaultValue::Float(d), Value::Float(x)) => d.to_bits() == x.to_bits(),
        (DefaultValue::Str(d), Value::Str(Some(s))) => d == s,
        (DefaultValue::Zero, v) => match (ty, v) {
            (FieldType::Bool, Value::Bool(b)) => !*b,
            (_, Value::Int(i)) => *i == 0,
            (_, Value::Float(x)) => x.to_bits() == 0,
            (_, Value::Str(Some(s))) => s.is_empty(),
            (FieldType::Records, Value::Bytes(b)) => b.is_none(),
            (_, Value::Bytes(Some(b))) => b.is_empty(),
            (_, Value::Uuid(u)) => *u == [0; 16],
            (_, Value::Array(Some(items))) => items.is_empty(),
            (FieldType::Struct(s), Value::Struct(Some(sv))) => {
                depth <= MAX_DEPTH && is_default_struct(s, sv, depth + 1)
            }
            _ => false,
        },
        _ => false,
    }
}

fn is_default_struct(schema: &StructSchema, value: &StructValue, depth: usize) -> bool {
    value.unknown_tagged.is_empty()
        && value.fields.iter().all(|(name, v)| {
            match schema.fields.iter().find(|f| f.name == *name) {
                Some(f) => is_default(&f.ty, f.default, v, depth),
                None => false,
            }
        })
}

// ---------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------

/// Decode a message body that fills `bytes` exactly.
///
/// Errors: [`Error::InvalidArgument`] if `version` is not one of the schema's valid versions;
/// [`Error::Corrupt`] for malformed bytes (including trailing bytes), with the field path.
pub fn decode(schema: &MessageSchema, version: i16, bytes: &[u8]) -> crate::Result<StructValue> {
    let mut reader = Reader::new(bytes);
    let value = decode_from(schema, version, &mut reader)?;
    if reader.remaining() != 0 {
        return Err(Error::Corrupt(format!(
            "{}: {} unexpected bytes after the message",
            context(schema, version),
            reader.remaining()
        )));
    }
    Ok(value)
}

/// Decode a message body from the reader's position, leaving any following bytes unread.
pub fn decode_from(
    schema: &MessageSchema,
    version: i16,
    reader: &mut Reader<'_>,
) -> crate::Result<StructValue> {
    let mut run = || -> R<StructValue> {
        check_version(schema, version)?;
        let ctx = Ctx {
            version,
            flexible: schema.is_flexible(version),
        };
        decode_struct(reader, &schema.body, &ctx, 0)
    };
    run().map_err(|fail| fail.into_error(&context(schema, version)))
}

fn decode_struct(
    r: &mut Reader<'_>,
    schema: &StructSchema,
    ctx: &Ctx,
    depth: usize,
) -> R<StructValue> {
    if depth > MAX_DEPTH {
        return Err(Fail::corrupt("structs nested too deeply"));
    }
    if !schema.versions.contains(ctx.version) {
        return Err(Fail::corrupt(format!(
            "struct {} does not exist in this version",
            schema.name
        )));
    }
    let mut fields: Vec<(&'static str, Value)> = Vec::with_capacity(schema.fields.len());
    for field in schema.fields {
        if !field.versions.contains(ctx.version) {
            continue;
        }
        let value = if field.is_tagged_at(ctx.version) {
            default_of(&field.ty, field.default, ctx.version, depth)
        } else {
            decode_field(r, field, ctx, false, depth).map_err(|e| e.at(Seg::Field(field.name)))?
        };
        fields.push((field.name, value));
    }
    let mut unknown_tagged = Vec::new();
    if ctx.flexible {
        let count = r.uvarint()? as usize;
        // Each tagged field takes at least two bytes (tag and size); refuse absurd counts early.
        if count > r.remaining() / 2 {
            return Err(Fail::corrupt(format!(
                "{count} tagged fields cannot fit in {} bytes",
                r.remaining()
            )));
        }
        for _ in 0..count {
            let tag = r.uvarint()?;
            let size = r.uvarint()? as usize;
            let data = r.take(size)?;
            let known = schema.fields.iter().find(|f| f.tag == Some(tag));
            match known {
                Some(field)
                    if field.versions.contains(ctx.version) && field.is_tagged_at(ctx.version) =>
                {
                    let mut sub = Reader::new(data);
                    let value = decode_field(&mut sub, field, ctx, true, depth)
                        .map_err(|e| e.at(Seg::Field(field.name)))?;
                    if sub.remaining() != 0 {
                        return Err(Fail::corrupt(format!(
                            "tagged field has {} bytes after its value",
                            sub.remaining()
                        ))
                        .at(Seg::Field(field.name)));
                    }
                    if let Some(slot) = fields.iter_mut().find(|(n, _)| *n == field.name) {
                        slot.1 = value;
                    }
                }
                Some(field) => {
                    return Err(Fail::corrupt(format!(
                        "tag {tag} ({}) is not valid in this version",
                        field.name
                    )))
                }
                None => unknown_tagged.push(RawTaggedField {
                    tag,
                    data: data.to_vec(),
                }),
            }
        }
    }
    // Kept in tag order (stable for repeated tags), the order the encoder writes them in.
    unknown_tagged.sort_by_key(|f| f.tag);
    Ok(StructValue {
        fields,
        unknown_tagged,
    })
}

#[inline]
fn decode_field(
    r: &mut Reader<'_>,
    field: &Field,
    ctx: &Ctx,
    tagged: bool,
    depth: usize,
) -> R<Value> {
    decode_value(
        r,
        &field.ty,
        field.is_nullable_at(ctx.version),
        ctx.field_flexible(field),
        tagged,
        ctx,
        depth,
    )
}

fn read_len(r: &mut Reader<'_>, compact: bool, string: bool) -> R<Option<usize>> {
    Ok(if compact {
        r.compact_len()?
    } else if string {
        r.string_len()?
    } else {
        r.bytes_len()?
    })
}

fn null_check(nullable: bool) -> R<()> {
    if nullable {
        Ok(())
    } else {
        Err(Fail::corrupt("null in a non-nullable field"))
    }
}

fn decode_value(
    r: &mut Reader<'_>,
    ty: &FieldType,
    nullable: bool,
    flexible: bool,
    tagged: bool,
    ctx: &Ctx,
    depth: usize,
) -> R<Value> {
    Ok(match ty {
        FieldType::Bool => Value::Bool(r.u8()? != 0),
        FieldType::Int8 => Value::Int(i64::from(r.i8()?)),
        FieldType::Int16 => Value::Int(i64::from(r.i16()?)),
        FieldType::Uint16 => Value::Int(i64::from(r.u16()?)),
        FieldType::Int32 => Value::Int(i64::from(r.i32()?)),
        FieldType::Uint32 => Value::Int(i64::from(r.u32()?)),
        FieldType::Int64 => Value::Int(r.i64()?),
        FieldType::Float64 => Value::Float(r.f64()?),
        FieldType::Uuid => Value::Uuid(r.uuid()?),
        FieldType::String => match read_len(r, flexible, true)? {
            None => {
                null_check(nullable)?;
                Value::Str(None)
            }
            Some(n) if n > MAX_STRING_LEN => {
                return Err(Fail::corrupt(format!("string length {n} exceeds 32767")))
            }
            Some(n) => {
                let raw = r.take(n)?;
                let s = std::str::from_utf8(raw)
                    .map_err(|_| Fail::corrupt("string is not valid UTF-8"))?;
                Value::Str(Some(s.to_owned()))
            }
        },
        FieldType::Bytes | FieldType::Records => match read_len(r, flexible, false)? {
            None => {
                null_check(nullable)?;
                Value::Bytes(None)
            }
            Some(n) => Value::Bytes(Some(r.take(n)?.to_vec())),
        },
        FieldType::Struct(s) => {
            if nullable {
                let present = if tagged {
                    r.uvarint()? != 0
                } else {
                    r.i8()? >= 0
                };
                if !present {
                    return Ok(Value::Struct(None));
                }
            }
            Value::structure(decode_struct(r, s, ctx, depth + 1)?)
        }
        FieldType::Array(elem) => match read_len(r, flexible, false)? {
            None => {
                null_check(nullable)?;
                Value::Array(None)
            }
            Some(n) => {
                // Kafka's own check; it also bounds the loop by the input size.
                if n > r.remaining() {
                    return Err(Fail::corrupt(format!(
                        "array of {n} elements cannot fit in {} bytes",
                        r.remaining()
                    )));
                }
                let min = min_size(elem, flexible).max(1);
                let mut items = Vec::with_capacity(n.min(r.remaining() / min));
                for i in 0..n {
                    let item = decode_value(r, elem, false, flexible, false, ctx, depth)
                        .map_err(|e| e.at(Seg::Index(i)))?;
                    items.push(item);
                }
                Value::Array(Some(items))
            }
        },
    })
}

/// A lower bound on the encoded size of one array element (used to cap preallocation).
fn min_size(ty: &FieldType, flexible: bool) -> usize {
    match ty {
        FieldType::Bool | FieldType::Int8 => 1,
        FieldType::Int16 | FieldType::Uint16 => 2,
        FieldType::Int32 | FieldType::Uint32 => 4,
        FieldType::Int64 | FieldType::Float64 => 8,
        FieldType::Uuid => 16,
        FieldType::String => {
            if flexible {
                1
            } else {
                2
            }
        }
        FieldType::Bytes | FieldType::Records | FieldType::Array(_) => {
            if flexible {
                1
            } else {
                4
            }
        }
        FieldType::Struct(_) => 1,
    }
}

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

/// Encode `value` as a message body at `version`, appending to `out`.
///
/// Errors ([`Error::InvalidArgument`], naming the field path): an unsupported version, a value of
/// the wrong type or out of range, null in a non-nullable field, a non-default value for a
/// non-ignorable field the version lacks, an unknown field name, or tagged fields in a
/// non-flexible version. On error `out` may hold a partial encoding.
pub fn encode(
    schema: &MessageSchema,
    version: i16,
    value: &StructValue,
    out: &mut Vec<u8>,
) -> crate::Result<()> {
    let mut run = || -> R<()> {
        check_version(schema, version)?;
        let ctx = Ctx {
            version,
            flexible: schema.is_flexible(version),
        };
        encode_struct(out, &schema.body, value, &ctx, 0)
    };
    run().map_err(|fail| fail.into_error(&context(schema, version)))
}

/// Find a field's value and its index: at the expected position first (trees built in schema
/// order), then by a scan.
#[inline]
fn lookup<'v>(value: &'v StructValue, name: &str, hint: usize) -> Option<(usize, &'v Value)> {
    if let Some((n, v)) = value.fields.get(hint) {
        if *n == name {
            return Some((hint, v));
        }
    }
    value
        .fields
        .iter()
        .enumerate()
        .find(|(_, (n, _))| *n == name)
        .map(|(i, (_, v))| (i, v))
}

fn encode_struct(
    out: &mut Vec<u8>,
    schema: &StructSchema,
    value: &StructValue,
    ctx: &Ctx,
    depth: usize,
) -> R<()> {
    if depth > MAX_DEPTH {
        return Err(Fail::invalid("structs nested too deeply"));
    }
    if !schema.versions.contains(ctx.version) {
        return Err(Fail::invalid(format!(
            "struct {} does not exist in this version",
            schema.name
        )));
    }
    let mut matched = 0usize;
    let mut hint = 0usize;
    let mut tagged: Vec<(u32, &Field, &Value)> = Vec::new();
    for field in schema.fields {
        let given = match lookup(value, field.name, hint) {
            Some((index, v)) => {
                matched += 1;
                hint = index + 1;
                Some(v)
            }
            None => None,
        };
        if !field.versions.contains(ctx.version) {
            if let Some(v) = given {
                if !field.ignorable && !is_default(&field.ty, field.default, v, depth) {
                    return Err(Fail::invalid(format!(
                        "field exists only in versions {} and cannot be dropped: set it to its \
                         default or use a version that has it",
                        field.versions
                    ))
                    .at(Seg::Field(field.name)));
                }
            }
            continue;
        }
        if field.is_tagged_at(ctx.version) {
            if let (Some(v), Some(tag)) = (given, field.tag) {
                if !is_default(&field.ty, field.default, v, depth) {
                    tagged.push((tag, field, v));
                }
            }
            continue;
        }
        let result = match given {
            Some(v) => encode_field(out, field, v, ctx, false, depth),
            None => {
                let d = default_of(&field.ty, field.default, ctx.version, depth);
                encode_field(out, field, &d, ctx, false, depth)
            }
        };
        result.map_err(|e| e.at(Seg::Field(field.name)))?;
    }
    if matched != value.fields.len() {
        return Err(unknown_field_error(schema, value));
    }
    let raw = &value.unknown_tagged;
    if !ctx.flexible {
        if !tagged.is_empty() || !raw.is_empty() {
            return Err(Fail::invalid(
                "tagged fields were set, but this version does not support them",
            ));
        }
        return Ok(());
    }
    tagged.sort_by_key(|(tag, _, _)| *tag);
    let mut raw_sorted: Vec<&RawTaggedField> = raw.iter().collect();
    raw_sorted.sort_by_key(|f| f.tag);
    for r in &raw_sorted {
        if let Some(field) = schema.fields.iter().find(|f| f.tag == Some(r.tag)) {
            return Err(Fail::invalid(format!(
                "unknown tagged field uses tag {} of the known field {}",
                r.tag, field.name
            )));
        }
    }
    let count = tagged.len() + raw_sorted.len();
    p::put_uvarint(out, count_u32(count)?);
    let mut raw_iter = raw_sorted.into_iter().peekable();
    let mut scratch = Vec::new();
    for (tag, field, v) in tagged {
        while let Some(r) = raw_iter.next_if(|r| r.tag < tag) {
            put_raw_tagged(out, r)?;
        }
        scratch.clear();
        encode_field(&mut scratch, field, v, ctx, true, depth)
            .map_err(|e| e.at(Seg::Field(field.name)))?;
        p::put_uvarint(out, tag);
        p::put_uvarint(out, count_u32(scratch.len())?);
        out.extend_from_slice(&scratch);
    }
    for r in raw_iter {
        put_raw_tagged(out, r)?;
    }
    Ok(())
}

fn count_u32(n: usize) -> R<u32> {
    u32::try_from(n)
        .ok()
        .filter(|n| *n <= i32::MAX as u32)
        .ok_or_else(|| Fail::invalid(format!("size {n} is too large for the Kafka protocol")))
}

fn put_raw_tagged(out: &mut Vec<u8>, r: &RawTaggedField) -> R<()> {
    p::put_uvarint(out, r.tag);
    p::put_uvarint(out, count_u32(r.data.len())?);
    out.extend_from_slice(&r.data);
    Ok(())
}

fn unknown_field_error(schema: &StructSchema, value: &StructValue) -> Fail {
    for (i, (name, _)) in value.fields.iter().enumerate() {
        if !schema.fields.iter().any(|f| f.name == *name) {
            let known: Vec<&str> = schema.fields.iter().map(|f| f.name).collect();
            return Fail::invalid(format!(
                "unknown field {name:?} in {} (fields: {})",
                schema.name,
                known.join(", ")
            ));
        }
        if value.fields.iter().skip(i + 1).any(|(n, _)| n == name) {
            return Fail::invalid(format!("field {name:?} given twice"));
        }
    }
    Fail::invalid("field count mismatch")
}

#[inline]
fn encode_field(
    out: &mut Vec<u8>,
    field: &Field,
    value: &Value,
    ctx: &Ctx,
    tagged: bool,
    depth: usize,
) -> R<()> {
    encode_value(
        out,
        &field.ty,
        value,
        field.is_nullable_at(ctx.version),
        ctx.field_flexible(field),
        tagged,
        ctx,
        depth,
    )
}

fn type_error(ty: &FieldType, value: &Value) -> Fail {
    Fail::invalid(format!(
        "expected {}, got {}",
        ty.spec_name(),
        value.kind_name()
    ))
}

fn null_error() -> Fail {
    Fail::invalid("null is not allowed in this version")
}

fn put_len(out: &mut Vec<u8>, len: Option<usize>, compact: bool, string: bool) -> R<()> {
    if compact {
        p::put_compact_len(out, len)?;
    } else if string {
        match len {
            None => p::put_i16(out, -1),
            Some(n) => p::put_i16(out, n as i16),
        }
    } else {
        match len {
            None => p::put_i32(out, -1),
            Some(n) => p::put_i32(
                out,
                i32::try_from(n).map_err(|_| {
                    Fail::invalid(format!("length {n} is too large for the Kafka protocol"))
                })?,
            ),
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn encode_value(
    out: &mut Vec<u8>,
    ty: &FieldType,
    value: &Value,
    nullable: bool,
    flexible: bool,
    tagged: bool,
    ctx: &Ctx,
    depth: usize,
) -> R<()> {
    match (ty, value) {
        (FieldType::Bool, Value::Bool(b)) => p::put_u8(out, u8::from(*b)),
        (FieldType::Float64, Value::Float(x)) => p::put_f64(out, *x),
        (FieldType::Uuid, Value::Uuid(u)) => out.extend_from_slice(u),
        (_, Value::Int(i)) if ty.int_range().is_some() => {
            let (lo, hi) = ty.int_range().unwrap_or((0, 0));
            if *i < lo || *i > hi {
                return Err(Fail::invalid(format!(
                    "{i} is out of range for {} ({lo}..={hi})",
                    ty.spec_name()
                )));
            }
            match ty {
                FieldType::Int8 => p::put_i8(out, *i as i8),
                FieldType::Int16 => p::put_i16(out, *i as i16),
                FieldType::Uint16 => p::put_u16(out, *i as u16),
                FieldType::Int32 => p::put_i32(out, *i as i32),
                FieldType::Uint32 => p::put_u32(out, *i as u32),
                _ => p::put_i64(out, *i),
            }
        }
        (FieldType::String, Value::Str(s)) => match s {
            None if !nullable => return Err(null_error()),
            None => put_len(out, None, flexible, true)?,
            Some(s) => {
                if s.len() > MAX_STRING_LEN {
                    return Err(Fail::invalid(format!(
                        "string of {} bytes is longer than 32767",
                        s.len()
                    )));
                }
                put_len(out, Some(s.len()), flexible, true)?;
                out.extend_from_slice(s.as_bytes());
            }
        },
        (FieldType::Bytes | FieldType::Records, Value::Bytes(b)) => match b {
            None if !nullable => return Err(null_error()),
            None => put_len(out, None, flexible, false)?,
            Some(b) => {
                put_len(out, Some(b.len()), flexible, false)?;
                out.extend_from_slice(b);
            }
        },
        (FieldType::Struct(s), Value::Struct(sv)) => match sv {
            None if !nullable => return Err(null_error()),
            None => {
                if tagged {
                    p::put_uvarint(out, 0);
                } else {
                    p::put_i8(out, -1);
                }
            }
            Some(sv) => {
                if nullable {
                    if tagged {
                        p::put_uvarint(out, 1);
                    } else {
                        p::put_i8(out, 1);
                    }
                }
                encode_struct(out, s, sv, ctx, depth + 1)?;
            }
        },
        (FieldType::Array(elem), Value::Array(items)) => match items {
            None if !nullable => return Err(null_error()),
            None => put_len(out, None, flexible, false)?,
            Some(items) => {
                put_len(out, Some(items.len()), flexible, false)?;
                for (i, item) in items.iter().enumerate() {
                    encode_value(out, elem, item, false, flexible, false, ctx, depth)
                        .map_err(|e| e.at(Seg::Index(i)))?;
                }
            }
        },
        _ => return Err(type_error(ty, value)),
    }
    Ok(())
}
