//! The one codec every user payload goes through.
//!
//! User payloads (workflow inputs and outputs, activity inputs and outputs,
//! signal bodies, recorded values) are stored as JSON text: histories stay
//! readable by people and tools, and a struct that gains an
//! `Option<…>` field (with `#[serde(default)]`) still decodes old payloads.

use std::fmt;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// An encoded user value: JSON text.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Payload(Arc<str>);

/// A value that could not be encoded into, or decoded from, a [`Payload`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("{direction} `{type_name}`: {message}")]
pub struct PayloadError {
    /// `encoding` or `decoding`.
    pub direction: String,
    /// The Rust type involved.
    pub type_name: String,
    /// What serde said.
    pub message: String,
}

impl Payload {
    /// Encodes a value.
    pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Self, PayloadError> {
        serde_json::to_string(value).map(|s| Self(s.into())).map_err(|e| PayloadError {
            direction: "encoding".into(),
            type_name: std::any::type_name::<T>().into(),
            message: e.to_string(),
        })
    }

    /// Decodes into `T`.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, PayloadError> {
        serde_json::from_str(&self.0).map_err(|e| PayloadError {
            direction: "decoding".into(),
            type_name: std::any::type_name::<T>().into(),
            message: e.to_string(),
        })
    }

    /// Wraps JSON text after checking that it parses.
    pub fn from_json(text: &str) -> Result<Self, PayloadError> {
        serde_json::from_str::<&RawValue>(text).map_err(|e| PayloadError {
            direction: "decoding".into(),
            type_name: "json".into(),
            message: e.to_string(),
        })?;
        Ok(Self(text.into()))
    }

    /// Wraps text without checking it; only for journals reading back what
    /// they stored and for tests of undecodable histories.
    pub fn from_json_unchecked(text: impl Into<Arc<str>>) -> Self {
        Self(text.into())
    }

    /// The JSON `null` payload (the unit value).
    pub fn unit() -> Self {
        Self(Arc::from("null"))
    }

    /// The JSON text.
    pub fn as_json(&self) -> &str {
        &self.0
    }

    /// Refuses a payload larger than `max_bytes`, naming its type `what`.
    pub fn within(self, max_bytes: usize, what: &str) -> Result<Self, PayloadError> {
        if self.0.len() <= max_bytes {
            return Ok(self);
        }
        Err(PayloadError {
            direction: "encoding".into(),
            type_name: what.to_owned(),
            message: format!("payload of {} bytes exceeds the cap of {max_bytes} bytes", self.0.len()),
        })
    }

    /// Size in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the text is empty (never true for a valid payload).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Payload({})", self.0)
    }
}

impl fmt::Display for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Embedded as JSON (not as a string) so golden histories read naturally.
impl Serialize for Payload {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match serde_json::from_str::<&RawValue>(&self.0) {
            Ok(raw) => raw.serialize(s),
            // Undecodable payloads are kept verbatim as a string so a broken
            // history can still be exported and inspected.
            Err(_) => s.serialize_newtype_struct("InvalidPayload", &*self.0),
        }
    }
}

/// Read back through a JSON value: events are internally tagged, and serde
/// buffers tagged content, which a raw borrow cannot survive. Object keys
/// keep their order, so the text round-trips exactly.
impl<'de> Deserialize<'de> for Payload {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(d)?;
        Ok(Self(Arc::from(value.to_string())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct V1 {
        id: u32,
    }
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct V2 {
        id: u32,
        #[serde(default)]
        note: Option<String>,
    }

    #[test]
    fn adding_an_optional_field_still_decodes_old_payloads() {
        let old = Payload::encode(&V1 { id: 7 }).unwrap();
        assert_eq!(old.decode::<V2>().unwrap(), V2 { id: 7, note: None });
    }

    #[test]
    fn payload_round_trips_inside_tagged_events_with_key_order_kept() {
        #[derive(Serialize, Deserialize)]
        #[serde(tag = "type")]
        enum Ev {
            A { p: Payload },
        }
        let p = Payload::from_json(r#"{"z":1,"a":[true,null],"m":"x"}"#).unwrap();
        let text = serde_json::to_string(&Ev::A { p: p.clone() }).unwrap();
        let Ev::A { p: back } = serde_json::from_str(&text).unwrap();
        assert_eq!(back, p);
    }

    #[test]
    fn decode_error_names_the_type() {
        let err = Payload::from_json("\"x\"").unwrap().decode::<u32>().unwrap_err();
        assert_eq!(err.type_name, "u32");
        assert_eq!(err.direction, "decoding");
    }

    #[test]
    fn payload_embeds_as_json_in_serialized_events() {
        let p = Payload::encode(&V1 { id: 1 }).unwrap();
        let text = serde_json::to_string(&p).unwrap();
        assert_eq!(text, r#"{"id":1}"#);
        let back: Payload = serde_json::from_str(&text).unwrap();
        assert_eq!(back, p);
    }
}
