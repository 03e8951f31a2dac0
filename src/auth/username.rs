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
    /// The name's characters, described the way a person would fix them
    /// ("has capital letters and a space"): checked before the first
    /// letter, so that `Admin User` is not told only about its `A`.
    #[error("{0}; use only lower-case letters a-z, digits, '-' and '_'")]
    BadCharacters(String),
    #[error("must start with a letter (a-z)")]
    BadStart,
    #[error("is reserved")]
    Reserved,
}

/// Names the system uses for itself in the audit log.
const RESERVED: &[&str] = &["system", "root", "anonymous"];

impl TryFrom<&str> for Username {
    type Error = UsernameError;

    fn try_from(s: &str) -> Result<Username, UsernameError> {
        let first = s.chars().next().ok_or(UsernameError::Empty)?;
        if s.len() > Username::MAX_LEN {
            return Err(UsernameError::TooLong);
        }
        if let Some(problems) = character_problems(s) {
            return Err(UsernameError::BadCharacters(problems));
        }
        if !first.is_ascii_lowercase() {
            return Err(UsernameError::BadStart);
        }
        if RESERVED.contains(&s) {
            return Err(UsernameError::Reserved);
        }
        Ok(Username(s.to_string()))
    }
}

/// What is wrong with the characters of `s`, or `None` if each is allowed.
fn character_problems(s: &str) -> Option<String> {
    let mut problems = Vec::new();
    if s.chars().any(|c| c.is_ascii_uppercase()) {
        problems.push("capital letters".to_string());
    }
    if s.chars().any(char::is_whitespace) {
        problems.push("a space".to_string());
    }
    let mut others: Vec<char> = Vec::new();
    for c in s.chars() {
        let allowed = c.is_ascii_alphanumeric() || c == '-' || c == '_' || c.is_whitespace();
        if !allowed && !others.contains(&c) {
            others.push(c);
        }
    }
    if !others.is_empty() {
        let shown: String = others.iter().take(5).map(|c| format!(" '{c}'")).collect();
        problems.push(format!("the character(s){shown}"));
    }
    match problems.as_slice() {
        [] => None,
        [one] => Some(format!("has {one}")),
        [rest @ .., last] => Some(format!("has {} and {last}", rest.join(", "))),
    }
}

impl Username {
    /// The longest username, in bytes (all ASCII).
    pub const MAX_LEN: usize = 32;

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
        assert_eq!(Username::try_from("-abc"), Err(UsernameError::BadStart));
        let bad = |s: &str| Username::try_from(s).unwrap_err().to_string();
        assert_eq!(
            bad("Alice"),
            "has capital letters; use only lower-case letters a-z, digits, '-' and '_'"
        );
        assert!(bad("al ice").starts_with("has a space;"));
        // The real problems of "Admin User", not only its first letter.
        assert!(bad("Admin User").starts_with("has capital letters and a space;"));
        assert!(bad("álice").starts_with("has the character(s) 'á';"));
        assert!(bad("ab/../c").starts_with("has the character(s) '/' '.';"));
        assert_eq!(Username::try_from("system"), Err(UsernameError::Reserved));
    }
}

#[cfg(test)]
mod props {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Any text is a username or an error saying why, never a panic;
        /// an accepted one is kept as it was typed and within the bound.
        #[test]
        fn any_text_is_checked(text in any::<String>()) {
            if let Ok(name) = Username::try_from(text.as_str()) {
                prop_assert_eq!(name.as_str(), text.as_str());
                prop_assert!(name.as_str().len() <= Username::MAX_LEN);
            }
        }

        #[test]
        fn names_made_of_the_allowed_characters_are_accepted(
            name in "[a-z][a-z0-9_-]{0,31}",
        ) {
            prop_assume!(!["system", "root", "anonymous"].contains(&name.as_str()));
            prop_assert!(Username::try_from(name.as_str()).is_ok(), "{}", name);
        }
    }
}
