//! The decoding of one D1 row (a JS object) into a row type: worker's deserializer
//! (serde_wasm_bindgen's) for every column value, with the struct itself read as a sequence
//! of its columns in field order.
//!
//! Why: serde's derived `Deserialize` reads a struct from a map with a loop that matches each
//! key against the field names and keeps every field in a slot of its own, a large copy of
//! code per row type and per deserializer; the store has some fifty row types, and their map
//! readers were the wasm's largest family of functions. The same derive also reads a struct
//! as a sequence (each field in turn, no names), which is a few instructions per field. The
//! row deserializer below hands the struct its columns by the field names serde gives it, so
//! each row type gets the small sequence reader, and each column is decoded exactly as
//! worker's own `first::<T>`/`results::<T>` decode it.
//!
//! What a row type may use: fields, `rename`, `default`, `deserialize_with`, `skip`; not
//! `alias` or `flatten` (serde then lists names that are not one per field, or reads a map).

use serde::de::{self, DeserializeSeed, Visitor};
use wasm_bindgen::JsValue;
use connect_links_core::stored_json::Missing;
use worker::d1::serde_wasm_bindgen::{Deserializer as JsDeserializer, Error};
use worker::js_sys;

/// Reads the row `value` into `place`: a struct from its columns, anything else as
/// serde_wasm_bindgen reads it. Read in place (the caller starts from `T`'s default): each
/// field is overwritten by its column, or by what serde makes of a missing field, so the
/// code per row type is a call and a check per field, not the moves of every field's value
/// into the struct and their drops on an error. On an error the caller drops the value: a
/// failed read gives no row.
pub fn read_row<T: de::DeserializeOwned>(value: JsValue, place: &mut T) -> Result<(), Error> {
    T::deserialize_in_place(RowDeserializer(value), place)
}

/// A row object being decoded.
struct RowDeserializer(JsValue);

/// Hands each `deserialize_*` other than a struct's to serde_wasm_bindgen's own.
macro_rules! forward {
    ($($method:ident($($arg:ident: $ty:ty),*)),* $(,)?) => {
        $(fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, Error> {
            JsDeserializer::from(self.0).$method($($arg,)* visitor)
        })*
    };
}

impl<'de> de::Deserializer<'de> for RowDeserializer {
    type Error = Error;

    /// A struct: its fields in order, each the column of its name. A row that is not an
    /// object fails as serde_wasm_bindgen fails it (an invalid type).
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_seq(Columns::of(self.0, name, fields)?)
    }

    forward! {
        deserialize_any(), deserialize_bool(), deserialize_i8(), deserialize_i16(), deserialize_i32(),
        deserialize_i64(), deserialize_u8(), deserialize_u16(), deserialize_u32(), deserialize_u64(),
        deserialize_f32(), deserialize_f64(), deserialize_char(), deserialize_str(), deserialize_string(),
        deserialize_bytes(), deserialize_byte_buf(), deserialize_option(), deserialize_unit(),
        deserialize_unit_struct(name: &'static str), deserialize_newtype_struct(name: &'static str),
        deserialize_seq(), deserialize_tuple(len: usize),
        deserialize_tuple_struct(name: &'static str, len: usize), deserialize_map(),
        deserialize_enum(name: &'static str, variants: &'static [&'static str]),
        deserialize_identifier(), deserialize_ignored_any(),
        deserialize_i128(), deserialize_u128(),
    }
}

/// A row's columns, in the order of a struct's fields.
struct Columns {
    row: JsValue,
    fields: &'static [&'static str],
    next: usize,
}

impl Columns {
    /// The columns of `row` for the struct `name`'s `fields`; an error when the row is not
    /// an object. Not generic: one copy for every row type.
    #[inline(never)]
    fn of(row: JsValue, name: &'static str, fields: &'static [&'static str]) -> Result<Columns, Error> {
        if !row.is_object() {
            return Err(de::Error::invalid_type(de::Unexpected::Other("not an object"), &name));
        }
        Ok(Columns { row, fields, next: 0 })
    }

    /// The next field's column (`undefined` when the row lacks it), `None` once every field
    /// has been read.
    #[inline(never)]
    fn next_column(&mut self) -> Option<JsValue> {
        let name = self.fields.get(self.next)?;
        self.next += 1;
        Some(js_sys::Reflect::get(&self.row, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED))
    }
}

impl<'de> de::SeqAccess<'de> for Columns {
    type Error = Error;

    /// The next field's column, decoded by serde_wasm_bindgen. A column the row does not
    /// have is what serde makes of a missing field: `None` for an `Option`, the default of a
    /// `#[serde(default)]` field (the sequence ends there for serde, which then takes the
    /// default), and an error for any other.
    fn next_element_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<Option<S::Value>, Error> {
        let Some(value) = self.next_column() else { return Ok(None) };
        if value.is_undefined() {
            return Ok(seed.deserialize(Missing::<Error>::new()).ok());
        }
        seed.deserialize(JsDeserializer::from(value)).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.fields.len().saturating_sub(self.next))
    }
}

