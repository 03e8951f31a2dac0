//! Usernames: 1 to 32 characters, lower-case ASCII letters, digits, `-`
//! and `_`, starting with a letter. Lower-case only, so `Alice` and
//! `alice` cannot be two accounts.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Username(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsernameError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most 32 characters")]
    TooLong,
    #[error("must start with a letter (a-z)")]
    BadStart,
    #[error("may contain only a-z, 0-9, '-' and '_'")]
    BadCharacter,
    #[error("is reserved")]
    Reserved,
}

/// Names the system uses for itself in the audit log.
const RESERVED: &[&str] = &["system", "root", "anonymous"];

impl TryFrom<&str> for Username {
    type Error = UsernameError;

    fn try_from(s: &str) -> Result<Username, UsernameError> {
        let first = s.chars().next().ok_or(UsernameError::Empty)?;
        if s.len() > 32 {
            return Err(UsernameError::TooLong);
        }
        if !first.is_ascii_lowercase() {
            return Err(UsernameError::BadStart);
        }
        if !s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        {
            return Err(UsernameError::BadCharacter);
        }
        if RESERVED.contains(&s) {
            return Err(UsernameError::Reserved);
        }
        Ok(Username(s.to_string()))
    }
}

impl Username {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_names() {
        for n in ["a", "alice", "bob-2", "x_y", &"a".repeat(32)] {
            assert_eq!(Username::try_from(n).unwrap().as_str(), n);
        }
    }

    #[test]
    fn invalid_names_say_why() {
        assert_eq!(Username::try_from(""), Err(UsernameError::Empty));
        assert_eq!(
            Username::try_from(&*"a".repeat(33)),
            Err(UsernameError::TooLong)
        );
        assert_eq!(Username::try_from("1abc"), Err(UsernameError::BadStart));
        assert_eq!(Username::try_from("Alice"), Err(UsernameError::BadStart));
        assert_eq!(
            Username::try_from("al ice"),
            Err(UsernameError::BadCharacter)
        );
        assert_eq!(Username::try_from("álice"), Err(UsernameError::BadStart));
        assert_eq!(
            Username::try_from("ab/../c"),
            Err(UsernameError::BadCharacter)
        );
        assert_eq!(Username::try_from("system"), Err(UsernameError::Reserved));
    }
}
