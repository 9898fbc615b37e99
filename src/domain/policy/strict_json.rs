//! Strict JSON: IAM refuses a key given twice in one element; serde_json would keep the last one
//! silently, so a document with `"aws:TokenIssueTime"` twice could be read differently from IAM.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

struct StrictValue(Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
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
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
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
        let mut out = Vec::new();
        while let Some(StrictValue(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let StrictValue(v) = map.next_value()?;
            if out.contains_key(&key) {
                return Err(de::Error::custom(format_args!(
                    "the key {:?} appears twice in one object",
                    short(&key)
                )));
            }
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

/// Parse JSON, refusing a key that appears twice in one object (IAM's grammar forbids it).
pub(crate) fn parse_strict_json(text: &str) -> Result<Value, String> {
    serde_json::from_str::<StrictValue>(text)
        .map(|StrictValue(v)| v)
        .map_err(|e| e.to_string())
}

/// Untrusted text for an error message: at most 80 characters.
pub(crate) fn short(s: &str) -> String {
    const MAX: usize = 80;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(MAX).collect::<String>())
    }
}

pub(super) fn short_value(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{:?}", short(s)),
        other => short(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_given_twice_in_one_object_is_refused_at_any_depth() {
        assert_eq!(
            parse_strict_json(r#"{"a":[{"b":1,"c":2}],"d":{"e":null}}"#),
            Ok(serde_json::json!({"a":[{"b":1,"c":2}],"d":{"e":null}}))
        );
        let top = parse_strict_json(r#"{"a":1,"a":1}"#).unwrap_err();
        assert!(top.contains(r#"the key "a" appears twice"#), "{top}");
        let nested = parse_strict_json(r#"[{"x":{"k":true,"k":false}}]"#).unwrap_err();
        assert!(nested.contains("appears twice"), "{nested}");
        assert_eq!(
            parse_strict_json(r#"[{"k":1},{"k":2}]"#),
            Ok(serde_json::json!([{"k":1},{"k":2}])),
            "the same key in two objects is fine"
        );
    }

    #[test]
    fn untrusted_text_is_shortened_to_80_characters() {
        assert_eq!(short("abc"), "abc");
        let long = "é".repeat(100);
        assert_eq!(short(&long).chars().count(), 81, "80 and an ellipsis");
        assert!(short(&long).ends_with('…'));
        assert_eq!(short_value(&Value::from("a\nb")), r#""a\nb""#);
        assert_eq!(short_value(&serde_json::json!([1, 2])), "[1,2]");
    }
}
