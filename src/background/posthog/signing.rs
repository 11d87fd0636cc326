//! The key pair agent-server trusts: Burrow makes an RSA key once per data folder
//! (`agent-server-key.pem`, 0600), hands agent-server its public half as `JWT_PUBLIC_KEY`,
//! and signs the RS256 tokens its `/command` endpoint asks for, as PostHog's desktop does.

use std::io::Write;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::sha2::Sha256;
use rsa::signature::{SignatureEncoding, Signer as _};
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::{Value, json};

use crate::error::{Error, Result};

/// The private key's file in the data folder.
const KEY_FILE: &str = "agent-server-key.pem";
/// The audience agent-server requires (`SANDBOX_CONNECTION_AUDIENCE` in its `jwt.ts`).
const AUDIENCE: &str = "posthog:sandbox_connection";
/// How long a token is good for: one request.
const TOKEN_LIFE_SECS: i64 = 300;

/// Burrow's agent-server key pair.
pub struct Keys {
    signing: SigningKey<Sha256>,
    /// The public key as PEM (SubjectPublicKeyInfo), for `JWT_PUBLIC_KEY`.
    pub public_pem: String,
}

impl Keys {
    /// Reads the key pair from the data folder, making it the first time.
    pub fn load_or_make(data_dir: &Path) -> Result<Keys> {
        let path = data_dir.join(KEY_FILE);
        let private = match std::fs::read_to_string(&path) {
            Ok(pem) => RsaPrivateKey::from_pkcs8_pem(&pem).map_err(|e| {
                Error::unexpected(format!("{} is not an RSA key: {e}", path.display()))
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => make(&path)?,
            Err(e) => return Err(Error::unexpected(format!("{}: {e}", path.display()))),
        };
        let public_pem = RsaPublicKey::from(&private)
            .to_public_key_pem(LineEnding::LF)
            .map_err(Error::internal)?;
        Ok(Keys {
            signing: SigningKey::new(private),
            public_pem,
        })
    }

    /// A token for agent-server's `/command` and `/events` endpoints: the claims of its
    /// `jwt.ts` (`run_id`, `task_id`, `team_id`, `user_id`, `distinct_id`, `mode`), its
    /// audience, and a short expiry.
    pub fn token(&self, run_id: &str, task_id: &str, project_id: i64, now: i64) -> String {
        let header = json!({"alg": "RS256", "typ": "JWT"});
        let claims = json!({
            "run_id": run_id,
            "task_id": task_id,
            "team_id": project_id,
            "user_id": 0,
            "distinct_id": "burrow",
            "mode": "background",
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + TOKEN_LIFE_SECS,
        });
        self.sign(&header, &claims)
    }

    fn sign(&self, header: &Value, claims: &Value) -> String {
        let signed = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self.signing.sign(signed.as_bytes()).to_vec();
        format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature))
    }
}

/// Makes a 2048-bit key and writes it, 0600, without ever leaving a readable file.
fn make(path: &Path) -> Result<RsaPrivateKey> {
    let key = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).map_err(Error::internal)?;
    let pem = key.to_pkcs8_pem(LineEnding::LF).map_err(Error::internal)?;
    let mut file = crate::private::new_file(path)
        .map_err(|e| Error::unexpected(format!("{}: {e}", path.display())))?;
    file.write_all(pem.as_bytes())
        .and_then(|_| file.sync_all())
        .map_err(|e| Error::unexpected(format!("{}: {e}", path.display())))?;
    Ok(key)
}
