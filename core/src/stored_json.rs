//! JSON the worker wrote itself (sealed choices, pending states, the limiter's messages),
//! read back into its types through one parsed [`Value`], each struct as the sequence of its
//! fields rather than as a map.
//!
//! Why: serde's derived `Deserialize` reads a struct from a map with a loop that matches each
//! key against the field names and keeps a slot per field, a large copy of code per type and
//! per deserializer; its sequence reader takes each field in turn, a few instructions each.
//! Here every struct is handed its fields by the names serde gives it, so each type gets the
//! small reader, and the JSON text is parsed by the one `Value` parser the wasm holds anyway.
//! Request bodies do not come this way: their errors (unknown fields, line and column) are
//! part of the API and are serde_json's own.
//!
//! What a type read here may use: fields, `rename`, `default`, `with`/`deserialize_with`,
//! `skip`; not `alias` or `flatten` (serde then lists names that are not one per field, or
//! reads a map). Unknown keys are ignored, as serde does without `deny_unknown_fields`.

use serde::de::{self, DeserializeOwned, DeserializeSeed, Deserializer, Visitor};
use serde_json::{Error, Map, Value};

/// `bytes` (JSON) as `T`.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    from_value(serde_json::from_slice(bytes)?)
}

/// `value` as `T`.
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, Error> {
    T::deserialize(Fields(value))
}

/// A value being read: structs, options and sequences here, anything else by serde_json.
struct Fields(Value);

/// The error of a value of the wrong shape (not generic).
#[inline(never)]
fn wrong_shape(what: &'static str) -> Error {
    de::Error::custom(format_args!("invalid type: expected {what}"))
}

/// Hands each `deserialize_*` not read here to serde_json's reader of a `Value`.
macro_rules! forward {
    ($($method:ident($($arg:ident: $ty:ty),*)),* $(,)?) => {
        $(fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, Error> {
            self.0.$method($($arg,)* visitor)
        })*
    };
}

impl<'de> Deserializer<'de> for Fields {
    type Error = Error;

    /// A struct: its fields in order, each the member of its name.
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_seq(Members::of(self.0, fields)?)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            v => visitor.visit_some(Fields(v)),
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Array(items) => visitor.visit_seq(Items(items.into_iter())),
            _ => Err(wrong_shape("an array")),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    forward! {
        deserialize_any(), deserialize_bool(), deserialize_i8(), deserialize_i16(), deserialize_i32(),
        deserialize_i64(), deserialize_u8(), deserialize_u16(), deserialize_u32(), deserialize_u64(),
        deserialize_f32(), deserialize_f64(), deserialize_char(), deserialize_str(), deserialize_string(),
        deserialize_bytes(), deserialize_byte_buf(), deserialize_unit(),
        deserialize_unit_struct(name: &'static str), deserialize_tuple(len: usize),
        deserialize_tuple_struct(name: &'static str, len: usize), deserialize_map(),
        deserialize_enum(name: &'static str, variants: &'static [&'static str]),
        deserialize_identifier(), deserialize_ignored_any(), deserialize_i128(), deserialize_u128(),
    }
}

/// An object's members, in the order of a struct's fields.
struct Members {
    map: Map<String, Value>,
    fields: &'static [&'static str],
    next: usize,
}

impl Members {
    /// The members of `value` for `fields`; an error when it is not an object. Not generic.
    #[inline(never)]
    fn of(value: Value, fields: &'static [&'static str]) -> Result<Members, Error> {
        match value {
            Value::Object(map) => Ok(Members { map, fields, next: 0 }),
            _ => Err(wrong_shape("an object")),
        }
    }

    /// The next field's member (`None` inside when the object lacks it), `None` once every
    /// field has been read.
    #[inline(never)]
    fn next_member(&mut self) -> Option<Option<Value>> {
        let name = self.fields.get(self.next)?;
        self.next += 1;
        Some(self.map.remove(*name))
    }
}

impl<'de> de::SeqAccess<'de> for Members {
    type Error = Error;

    /// The next field's member. A member the object lacks is what serde makes of a missing
    /// field: `None` for an `Option`, the default of a `#[serde(default)]` field (the
    /// sequence ends there for serde, which then takes the default), an error for any other.
    fn next_element_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<Option<S::Value>, Error> {
        match self.next_member() {
            None => Ok(None),
            Some(None) => Ok(seed.deserialize(Missing::<Error>::new()).ok()),
            Some(Some(v)) => seed.deserialize(Fields(v)).map(Some),
        }
    }
}

/// An array's items.
struct Items(std::vec::IntoIter<Value>);

impl<'de> de::SeqAccess<'de> for Items {
    type Error = Error;

    fn next_element_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<Option<S::Value>, Error> {
        match self.0.next() {
            Some(v) => seed.deserialize(Fields(v)).map(Some),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

/// A member or column a stored value lacks: `None` to an `Option`, an error (of the reader's
/// own type `E`) to anything else, as serde's own reading of a missing field. Shared by this
/// reader and the worker's D1 row reader.
pub struct Missing<E>(std::marker::PhantomData<E>);

impl<E> Missing<E> {
    /// The missing value.
    pub fn new() -> Self {
        Missing(std::marker::PhantomData)
    }
}

impl<E> Default for Missing<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'de, E: de::Error> Deserializer<'de> for Missing<E> {
    type Error = E;

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        visitor.visit_none()
    }

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, E> {
        Err(de::Error::custom("missing field"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf unit
        unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize, Debug, PartialEq, Default)]
    struct Inner {
        id: String,
        #[serde(default)]
        n: i64,
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Outer {
        #[serde(rename = "type")]
        kind: String,
        maybe: Option<String>,
        #[serde(default)]
        flag: bool,
        inner: Inner,
        list: Vec<Inner>,
        opt_inner: Option<Inner>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        later: Option<i64>,
        #[serde(skip)]
        skipped: u8,
        value: Value,
    }

    #[test]
    fn reads_what_serde_json_reads() {
        let texts = [
            r#"{"type":"a","maybe":"m","flag":true,"inner":{"id":"i","n":3},"list":[{"id":"x"},{"id":"y","n":-1}],"opt_inner":{"id":"o"},"later":9,"value":{"k":[1,2]}}"#,
            r#"{"value":null,"list":[],"inner":{"id":"i"},"type":"b","opt_inner":null,"extra":1}"#,
            r#"{"type":"c","inner":{"id":"i"},"list":[],"value":5}"#,
        ];
        for t in texts {
            let want: Outer = serde_json::from_str(t).unwrap();
            let got: Outer = from_slice(t.as_bytes()).unwrap();
            assert_eq!(got, want, "{t}");
        }
    }

    #[test]
    fn fails_where_serde_json_fails() {
        for t in [
            r#"{"maybe":"m","inner":{"id":"i"},"list":[],"value":1}"#,
            r#"{"type":1,"inner":{"id":"i"},"list":[],"value":1}"#,
            r#"{"type":"a","inner":{},"list":[],"value":1}"#,
            r#"{"type":"a","inner":{"id":"i"},"list":{},"value":1}"#,
            r#"{"type":"a","inner":{"id":"i"},"list":[],"value":1,"flag":"yes"}"#,
            r#"[]"#,
            "not json",
        ] {
            assert!(serde_json::from_str::<Outer>(t).is_err(), "{t}");
            assert!(from_slice::<Outer>(t.as_bytes()).is_err(), "{t}");
        }
    }
}
