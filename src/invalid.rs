//! A field of the API's JSON that is wrong, and why: what the managers'
//! validated models return, so that the API can name the field.

/// A field that is wrong, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} {message}")]
pub struct Invalid {
    /// A path into the JSON, e.g. `forwards[1].port`.
    pub field: String,
    pub message: String,
}

pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Invalid {
    Invalid {
        field: field.into(),
        message: message.into(),
    }
}

/// The field and the whole sentence: `allow[2].ports must be a port`.
impl From<Invalid> for crate::refusal::Refusal {
    fn from(e: Invalid) -> Self {
        crate::refusal::Refusal::Invalid {
            message: e.to_string(),
            field: Some(e.field),
        }
    }
}
