//! Reading a scenario file's JSON strictly: a key given twice in one object is
//! a malformed file (serde_json alone keeps the last, so a second `"steps": []`
//! would silently run nothing), reported at the JSON path of the second key. A
//! UTF-8 byte-order mark at the start is accepted and skipped.

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::cell::RefCell;
use std::fmt;

use super::parse::{ParseError, error, quote};

/// Parses `text` as JSON, refusing duplicate keys.
pub fn read(text: &str) -> Result<Value, ParseError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let duplicate = RefCell::new(None);
    let mut reader = serde_json::Deserializer::from_str(text);
    let seed = Strict {
        path: "$".to_string(),
        duplicate: &duplicate,
    };
    let parsed = seed.deserialize(&mut reader).and_then(|value| {
        reader.end()?;
        Ok(value)
    });
    match (parsed, duplicate.into_inner()) {
        (_, Some((path, key))) => Err(error(
            &path,
            format!("the key {} is given twice in one object", quote(&key)),
        )),
        (Ok(value), None) => Ok(value),
        (Err(e), None) => Err(error(
            "$",
            format!(
                "not valid JSON (line {}, column {}): {e}",
                e.line(),
                e.column()
            ),
        )),
    }
}

/// A value at `path`; the first duplicate key found is written to `duplicate`.
struct Strict<'d> {
    path: String,
    duplicate: &'d RefCell<Option<(String, String)>>,
}

impl<'de> DeserializeSeed<'de> for Strict<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        loop {
            let item = Strict {
                path: format!("{}[{}]", self.path, items.len()),
                duplicate: self.duplicate,
            };
            match seq.next_element_seed(item)? {
                Some(value) => items.push(value),
                None => return Ok(Value::Array(items)),
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = format!("{}.{key}", self.path);
            if object.contains_key(&key) {
                *self.duplicate.borrow_mut() = Some((path, key));
                return Err(de::Error::custom("duplicate key"));
            }
            let value = map.next_value_seed(Strict {
                path,
                duplicate: self.duplicate,
            })?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_duplicate_key_is_refused_at_its_path_anywhere() {
        let e = read(r#"{"seed": 1, "steps": [], "steps": []}"#).unwrap_err();
        assert_eq!(e.path, "$.steps");
        let e =
            read(r#"{"steps": [{"op": "a"}, {"op": "b", "at": "1s", "at": "2s"}]}"#).unwrap_err();
        assert_eq!(e.path, "$.steps[1].at");
        assert!(e.message.contains("twice"), "{e}");
    }

    #[test]
    fn values_read_as_serde_json_reads_them() {
        let text = r#"{"a": [1, -2, 2.5, true, null, "x"], "b": {"c": {}}}"#;
        assert_eq!(
            read(text).unwrap(),
            serde_json::from_str::<Value>(text).unwrap()
        );
        assert_eq!(read("\u{feff}{}").unwrap(), Value::Object(Map::new()));
        assert_eq!(read("{} x").unwrap_err().path, "$");
        assert_eq!(read("[1,").unwrap_err().path, "$");
    }
}
