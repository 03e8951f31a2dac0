//! Time-based one-time passwords (RFC 6238, HMAC-SHA1, 30 s, 6 digits:
//! what authenticator apps speak), their `otpauth://` enrolment URI and
//! QR code, and recovery codes.

use ring::hmac;

use super::token::random_bytes;

pub const STEP_S: u64 = 30;
pub const DIGITS: u32 = 6;

/// The code for time counter `counter` (RFC 4226 HOTP).
pub fn hotp(secret: &[u8], counter: u64, digits: u32) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let mac = hmac::sign(&key, &counter.to_be_bytes());
    let mac = mac.as_ref();
    let offset = (mac[mac.len() - 1] & 0x0f) as usize;
    let value = u32::from_be_bytes([
        mac[offset] & 0x7f,
        mac[offset + 1],
        mac[offset + 2],
        mac[offset + 3],
    ]);
    let code = value % 10u32.pow(digits);
    format!("{code:0width$}", width = digits as usize)
}

/// The counter a code is checked against: one step back and forward too,
/// for clocks that drift. Returns the matching counter, so the caller can
/// refuse a code used before (`counter <= last_used`).
pub fn verify(secret: &[u8], code: &str, unix_s: u64, last_used: u64) -> Option<u64> {
    let code = code.trim().replace(' ', "");
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = unix_s / STEP_S;
    [now.saturating_sub(1), now, now + 1]
        .into_iter()
        .filter(|c| *c > last_used)
        .find(|c| {
            let expected = hotp(secret, *c, DIGITS);
            // Same length; compare without an early exit.
            expected
                .bytes()
                .zip(code.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
        })
}

/// 160 random bits, the size RFC 4226 recommends.
pub fn new_secret() -> Vec<u8> {
    random_bytes::<20>().to_vec()
}

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32 without padding, as authenticator apps take secrets.
pub fn base32(bytes: &[u8]) -> String {
    let mut out = String::new();
    let mut buffer = 0u32;
    let mut bits = 0;
    for b in bytes {
        buffer = (buffer << 8) | u32::from(*b);
        bits += 8;
        while bits >= 5 {
            out.push(BASE32[((buffer >> (bits - 5)) & 31) as usize] as char);
            bits -= 5;
        }
    }
    if bits > 0 {
        out.push(BASE32[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut buffer = 0u32;
    let mut bits = 0;
    for c in text.bytes().filter(|c| *c != b'=') {
        let v = BASE32.iter().position(|x| *x == c.to_ascii_uppercase())? as u32;
        buffer = (buffer << 5) | v;
        bits += 5;
        if bits >= 8 {
            out.push((buffer >> (bits - 8)) as u8);
            bits -= 8;
        }
    }
    Some(out)
}

/// The URI an authenticator app scans.
pub fn otpauth_uri(issuer: &str, account: &str, secret_b32: &str) -> String {
    let enc = |s: &str| {
        form_urlencoded::byte_serialize(s.as_bytes())
            .collect::<String>()
            .replace('+', "%20")
    };
    format!(
        "otpauth://totp/{}:{}?secret={secret_b32}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_S}",
        enc(issuer),
        enc(account),
        enc(issuer)
    )
}

/// The URI as an SVG QR code, for the enrolment page.
pub fn qr_svg(uri: &str) -> String {
    match qrcode::QrCode::new(uri.as_bytes()) {
        Ok(code) => code
            .render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(200, 200)
            .build(),
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1, 8 digits.
    #[test]
    fn rfc_6238_test_vectors() {
        let secret = b"12345678901234567890";
        for (time, expected) in [
            (59u64, "94287082"),
            (1111111109, "07081804"),
            (1111111111, "14050471"),
            (1234567890, "89005924"),
            (2000000000, "69279037"),
            (20000000000, "65353130"),
        ] {
            assert_eq!(hotp(secret, time / STEP_S, 8), expected, "at {time}");
        }
    }

    #[test]
    fn verify_accepts_a_step_of_drift_and_refuses_reuse() {
        let secret = new_secret();
        let now = 1_800_000_000;
        let code = hotp(&secret, now / STEP_S, DIGITS);
        let counter = verify(&secret, &code, now, 0).unwrap();
        assert_eq!(counter, now / STEP_S);
        assert_eq!(
            verify(&secret, &code, now + STEP_S, 0),
            Some(counter),
            "30 s late is fine"
        );
        assert_eq!(
            verify(&secret, &code, now + 3 * STEP_S, 0),
            None,
            "too late"
        );
        assert_eq!(verify(&secret, &code, now, counter), None, "used already");
        assert_eq!(verify(&secret, "12345", now, 0), None);
        assert_eq!(verify(&secret, "abcdef", now, 0), None);
    }

    #[test]
    fn base32_round_trip_and_uri() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        let s = new_secret();
        assert_eq!(base32_decode(&base32(&s)).unwrap(), s);
        let uri = otpauth_uri("hearth mybox", "alice", "MZXW6YTBOI");
        assert!(
            uri.starts_with("otpauth://totp/hearth%20mybox:alice?secret=MZXW6YTBOI"),
            "{uri}"
        );
        assert!(qr_svg(&uri).starts_with("<?xml"));
    }
}
