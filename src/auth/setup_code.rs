//! The first-boot setup code: 60 random bits as 12 characters of
//! Crockford base32 (no I, L, O, U: nothing to misread aloud), grouped
//! `XXXX-XXXX-XXXX`. Input is forgiving: case, spaces and dashes do not
//! matter, and O/I/L read as 0/1/1.

use super::token::random_bytes;

/// Crockford's base32 digits (no I, L, O, U).
pub(crate) const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

#[derive(Clone, PartialEq, Eq)]
pub struct SetupCode(String);

impl std::fmt::Debug for SetupCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SetupCode(..)")
    }
}

impl SetupCode {
    pub fn generate() -> SetupCode {
        let bytes = random_bytes::<8>();
        let mut bits = u64::from_le_bytes(bytes);
        let mut s = String::with_capacity(12);
        for _ in 0..12 {
            s.push(ALPHABET[(bits & 31) as usize] as char);
            bits >>= 5;
        }
        SetupCode(s)
    }

    /// Grouped for reading aloud: `K7QX-M2PD-9WTR`.
    pub fn display(&self) -> String {
        format!("{}-{}-{}", &self.0[0..4], &self.0[4..8], &self.0[8..12])
    }

    /// Parses a stored code (as written by [`display`](Self::display)).
    pub fn from_stored(text: &str) -> Option<SetupCode> {
        let n = normalize(text)?;
        (n.len() == 12).then_some(SetupCode(n))
    }

    /// Whether `input` (as a person typed it) is this code; the comparison
    /// takes the same time wherever the first difference is.
    pub fn matches(&self, input: &str) -> bool {
        let Some(n) = normalize(input) else {
            return false;
        };
        // XOR-fold: no early exit at the first differing character.
        n.len() == self.0.len()
            && n.bytes()
                .zip(self.0.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

fn normalize(input: &str) -> Option<String> {
    let mut out = String::with_capacity(12);
    for c in input.chars() {
        let c = match c.to_ascii_uppercase() {
            '-' | ' ' => continue,
            'O' => '0',
            'I' | 'L' => '1',
            c if ALPHABET.contains(&(c as u8)) && c.is_ascii() => c,
            _ => return None,
        };
        if out.len() == 12 {
            return None;
        }
        out.push(c);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_entropy_and_forgiving_input() {
        let code = SetupCode::generate();
        let shown = code.display();
        assert_eq!(shown.len(), 14);
        assert_eq!(shown.matches('-').count(), 2);
        assert!(code.matches(&shown));
        assert!(code.matches(&shown.to_lowercase().replace('-', " ")));
        assert_ne!(SetupCode::generate(), code, "60 random bits");
        assert!(!code.matches(""));
        assert!(!code.matches("K7QX-M2PD-9WT"));
        assert!(!code.matches(&format!("{shown}X")));
        assert!(!code.matches("K7QX-M2PD-9WT!"));
        let stored = SetupCode::from_stored(&shown).unwrap();
        assert_eq!(stored, code);
        assert!(!format!("{code:?}").contains(&shown[..4]));
    }

    #[test]
    fn misreadable_letters_are_forgiven() {
        let code = SetupCode::from_stored("0110-ABCD-EFGH").unwrap();
        assert!(code.matches("oIl0 abcd efgh"));
    }
}
