//! An estimate of the heap memory a value holds, for weighing cache entries
//! by what they keep in memory rather than by what the source sent.
//!
//! It walks the value's `Serialize` form: every string is a heap block
//! (length rounded up to the allocator's 16-byte size classes, plus 16
//! bytes of allocator bookkeeping), every sequence a buffer of
//! [`ELEMENT_BYTES`] per element plus bookkeeping; numbers, booleans, unit
//! variants and absent options are inline in their parent and cost nothing
//! here. Dates, written as text, are counted as strings though they are
//! inline: the estimate errs high, which is the safe side for a cap.

use serde::ser::{self, Serialize};

/// Bytes assumed per element of a sequence's buffer: the model's list
/// elements (codings, names, addresses, strings) are 24 to 120 bytes inline.
pub const ELEMENT_BYTES: usize = 64;

/// Allocator bookkeeping per heap block.
const BLOCK_OVERHEAD: usize = 16;

/// The heap bytes `value` holds, estimated.
pub fn heap_bytes<T: Serialize + ?Sized>(value: &T) -> usize {
    let mut counter = Counter(0);
    // Counting never fails; a failing Serialize impl just stops the count.
    let _ = value.serialize(&mut counter);
    counter.0
}

fn block(len: usize) -> usize {
    if len == 0 {
        0
    } else {
        len.div_ceil(16) * 16 + BLOCK_OVERHEAD
    }
}

struct Counter(usize);

/// The counter never fails: its error type is only there to satisfy serde.
#[derive(Debug)]
struct Never;

impl std::fmt::Display for Never {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("counting failed")
    }
}

impl std::error::Error for Never {}

impl ser::Error for Never {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        Never
    }
}

impl ser::Serializer for &mut Counter {
    type Ok = ();
    type Error = Never;
    type SerializeSeq = Self;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = Self;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Self;

    fn serialize_bool(self, _: bool) -> Result<(), Never> {
        Ok(())
    }
    fn serialize_i8(self, _: i8) -> Result<(), Never> {
        Ok(())
    }
    fn serialize_i16(self, _: i16) -> Result<(), Never> {
        Ok(())
    }
    fn serialize_i32(self, _: i32) -> Result<(), Never> {
        Ok(())
    }
    fn serialize_i64(self, _: i64) -> Result<(), Never> {
        Ok(())
    }
    fn serialize_u8(self, _: u8) -> Result<(), Never> {
        Ok(())
    }
    fn serialize_u16(self, _: u16) -> Result<(), Never> {
        Ok(())
    }
    fn serialize_u32(self, _: u32) -> Result<(), Never> {
        Ok(())
    }
    fn serialize_u64(self, _: u64) -> Result<(), Never> {
        Ok(())
    }
    fn serialize_f32(self, _: f32) -> Result<(), Never> {
        Ok(())
    }
    fn serialize_f64(self, _: f64) -> Result<(), Never> {
        Ok(())
    }
    fn serialize_char(self, _: char) -> Result<(), Never> {
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), Never> {
        self.0 += block(v.len());
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Never> {
        self.0 += block(v.len());
        Ok(())
    }
    fn serialize_none(self) -> Result<(), Never> {
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Never> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Never> {
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Never> {
        Ok(())
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> Result<(), Never> {
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Never> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        value: &T,
    ) -> Result<(), Never> {
        value.serialize(self)
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Self, Never> {
        self.0 += block(len.unwrap_or(0) * ELEMENT_BYTES);
        Ok(self)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self, Never> {
        Ok(self)
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self, Never> {
        Ok(self)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self, Never> {
        Ok(self)
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Self, Never> {
        self.0 += block(len.unwrap_or(0) * ELEMENT_BYTES * 2);
        Ok(self)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, Never> {
        Ok(self)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self, Never> {
        Ok(self)
    }
}

/// The compound forms: each element or field is counted in turn.
macro_rules! count_each {
    ($($trait:ident :: $method:ident),*) => {$(
        impl ser::$trait for &mut Counter {
            type Ok = ();
            type Error = Never;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Never> {
                value.serialize(&mut **self)
            }
            fn end(self) -> Result<(), Never> {
                Ok(())
            }
        }
    )*};
}

count_each!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

/// Named fields: the names are static, only the values are counted.
macro_rules! count_fields {
    ($($trait:ident),*) => {$(
        impl ser::$trait for &mut Counter {
            type Ok = ();
            type Error = Never;
            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                _: &'static str,
                value: &T,
            ) -> Result<(), Never> {
                value.serialize(&mut **self)
            }
            fn end(self) -> Result<(), Never> {
                Ok(())
            }
        }
    )*};
}

count_fields!(SerializeStruct, SerializeStructVariant);

impl ser::SerializeMap for &mut Counter {
    type Ok = ();
    type Error = Never;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Never> {
        key.serialize(&mut **self)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Never> {
        value.serialize(&mut **self)
    }
    fn end(self) -> Result<(), Never> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_and_sequences_are_counted_inline_values_are_not() {
        assert_eq!(heap_bytes(&7u64), 0);
        assert_eq!(heap_bytes(&None::<String>), 0);
        assert_eq!(heap_bytes(""), 0);
        // 5 bytes → one 16-byte block + 16 bookkeeping.
        assert_eq!(heap_bytes("hello"), 32);
        assert_eq!(heap_bytes(&"x".repeat(17)), 48);
        // Two strings in a Vec: the buffer (2 × 64 → 128 + 16) and each string.
        let v = vec!["ab".to_string(), "cd".to_string()];
        assert_eq!(heap_bytes(&v), 144 + 32 + 32);
    }
}
