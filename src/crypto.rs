//! Secrets: random tokens, API key hashing, HMAC signatures for expiring URLs, and slow
//! password hashes (argon2id).

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).expect("the operating system's random source");
    buf
}

/// `len` random letters and digits, uniformly drawn (rejection sampling).
pub fn random_alphanumeric(len: usize) -> String {
    let mut out = String::with_capacity(len);
    while out.len() < len {
        for b in random_bytes::<64>() {
            // 248 = 4 * 62: bytes above it would bias the draw.
            if b < 248 && out.len() < len {
                out.push(ALPHANUMERIC[(b % 62) as usize] as char);
            }
        }
    }
    out
}

/// Compares secrets without leaking where they differ through timing.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub fn sha256_hex(value: &str) -> String {
    hex(&Sha256::digest(value.as_bytes()))
}

/// Lower-case hex, as keys and sessions are stored (every request hashes its credential).
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 15) as usize] as char);
    }
    out
}

/// HMAC-SHA256 of `body` under `secret`, in lower-case hex: the `X-Burrow-Signature` of an
/// outgoing webhook (`sha256=<hex>`).
pub fn hmac_sha256_hex(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(body);
    hex(&mac.finalize().into_bytes())
}

/// A key for signing URLs, loaded once from the database.
#[derive(Clone)]
pub struct Signer {
    /// The HMAC already keyed: every run in a list page signs its `log_url`, and cloning a
    /// keyed state skips hashing the key's pads each time.
    keyed: Hmac<Sha256>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer(..)")
    }
}

impl Signer {
    pub fn new(key: Vec<u8>) -> Signer {
        Signer {
            keyed: Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key length"),
        }
    }

    fn mac(&self, message: &str) -> Hmac<Sha256> {
        let mut mac = self.keyed.clone();
        mac.update(message.as_bytes());
        mac
    }

    /// A token binding `purpose` (e.g. `log:<run id>`) until `expires` (Unix seconds).
    pub fn token(&self, purpose: &str, expires: i64) -> String {
        let mut out = String::with_capacity(64);
        self.write_token(&mut out, &[purpose], expires)
            .expect("writing to a String cannot fail");
        out
    }

    /// Writes the token for the purpose made of `parts` put together, without allocating:
    /// a list page signs the `log_url` of every run on it.
    pub fn write_token(
        &self,
        out: &mut dyn std::fmt::Write,
        parts: &[&str],
        expires: i64,
    ) -> std::fmt::Result {
        let mut mac = self.keyed.clone();
        parts.iter().for_each(|p| mac.update(p.as_bytes()));
        let mut digits = [0u8; 20];
        let expires_text = decimal(expires, &mut digits);
        mac.update(b"\n");
        mac.update(expires_text.as_bytes());
        let mut sig = [0u8; 43];
        let n = URL_SAFE_NO_PAD
            .encode_slice(mac.finalize().into_bytes(), &mut sig)
            .map_err(|_| std::fmt::Error)?;
        out.write_str(expires_text)?;
        out.write_char('.')?;
        out.write_str(std::str::from_utf8(&sig[..n]).map_err(|_| std::fmt::Error)?)
    }

    /// Checks a token made by `token` for the same purpose, and that it has not expired;
    /// returns when it expires (Unix seconds), for answers that outlive the request.
    pub fn verify(&self, purpose: &str, token: &str, now: i64) -> Result<i64> {
        let failed = || Error::AuthenticationFailed("Invalid or expired signature.".into());
        let (expires, sig) = token.split_once('.').ok_or_else(failed)?;
        let expires: i64 = expires.parse().map_err(|_| failed())?;
        let sig = URL_SAFE_NO_PAD.decode(sig).map_err(|_| failed())?;
        self.mac(&format!("{purpose}\n{expires}"))
            .verify_slice(&sig)
            .map_err(|_| failed())?;
        if expires < now {
            return Err(failed());
        }
        Ok(expires)
    }
}

/// `n` in decimal, written into `buf` (enough for any i64).
fn decimal(n: i64, buf: &mut [u8; 20]) -> &str {
    let negative = n < 0;
    let mut v = n.unsigned_abs();
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if negative {
        i -= 1;
        buf[i] = b'-';
    }
    std::str::from_utf8(&buf[i..]).expect("ASCII digits")
}

/// The fewest characters a password may have, wherever it is set (API, sign-up, CLI).
pub const MIN_PASSWORD: usize = 8;

/// The password rule: at least `MIN_PASSWORD` characters.
pub fn check_password(password: &str) -> Result<()> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(Error::invalid(
            "password",
            "invalid_input",
            format!("The password must have at least {MIN_PASSWORD} characters."),
        ));
    }
    Ok(())
}

pub fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::encode_b64(&random_bytes::<16>()).map_err(Error::internal)?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(Error::internal)
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .and_then(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed))
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_and_refuse_tampering_and_expiry() {
        let s = Signer::new(b"k".to_vec());
        let t = s.token("log:abc", 100);
        assert!(s.verify("log:abc", &t, 50).is_ok());
        assert!(s.verify("log:abd", &t, 50).is_err());
        assert!(s.verify("log:abc", &t, 101).is_err());
        let forged = t.replacen("100.", "200.", 1);
        assert!(s.verify("log:abc", &forged, 50).is_err());
    }

    #[test]
    fn a_token_written_from_parts_is_the_token_of_the_whole() {
        let s = Signer::new(b"k".to_vec());
        let mut out = String::new();
        s.write_token(&mut out, &["log:", "abc"], 1_700_000_000)
            .unwrap();
        assert_eq!(out, s.token("log:abc", 1_700_000_000));
        assert!(s.verify("log:abc", &out, 50).is_ok());
        for n in [0, 7, -42, i64::MAX, i64::MIN] {
            assert_eq!(decimal(n, &mut [0; 20]), n.to_string());
        }
    }

    #[test]
    fn hashes_are_lower_case_hex() {
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(hex(&[0, 9, 10, 255]), "00090aff");
    }

    #[test]
    fn passwords_round_trip() {
        let h = hash_password("hunter2").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("hunter2", &h));
        assert!(!verify_password("hunter3", &h));
    }

    #[test]
    fn alphanumeric_tokens_have_the_asked_length() {
        let t = random_alphanumeric(43);
        assert_eq!(t.len(), 43);
        assert!(t.bytes().all(|b| b.is_ascii_alphanumeric()));
    }
}
