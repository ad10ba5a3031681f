//! API keys: a public id to find the key by, and a 256-bit secret of which only a hash is kept.
//!
//! A key reads `twt_<16 hex id>_<64 hex secret>`. The id lets the store find the row with a
//! primary-key read; the secret is then compared by hash in constant time, so neither the lookup
//! nor the comparison tells an attacker how close a guess came.

use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

const PREFIX: &str = "twt_";
const ID_BYTES: usize = 8;
const SECRET_BYTES: usize = 32;

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Everything, including `/management/*`.
    Admin,
    /// Post twoots when posting needs a key.
    Poster,
}

impl Role {
    /// The role's name, as stored and typed on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Poster => "poster",
        }
    }

    /// Whether a key with this role may post.
    pub fn may_post(self) -> bool {
        matches!(self, Self::Admin | Self::Poster)
    }
}

impl std::str::FromStr for Role {
    type Err = &'static str;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        match raw {
            "admin" => Ok(Self::Admin),
            "poster" => Ok(Self::Poster),
            _ => Err("expected admin or poster"),
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// The SHA-256 of a key's secret: a fast hash is enough for 256 random bits, which no dictionary
/// or brute force can reach.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretHash(pub [u8; 32]);

impl SecretHash {
    /// Whether `other` is the same hash, in time that does not depend on where they differ.
    pub fn matches(&self, other: &SecretHash) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl std::fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretHash(..)")
    }
}

/// A key as a client presents it: its id and its secret.
#[derive(Clone, PartialEq, Eq)]
pub struct PresentedKey {
    /// The public part, as `keys list` shows it.
    pub id: String,
    secret: [u8; SECRET_BYTES],
}

impl PresentedKey {
    /// A new key from the operating system's random source.
    pub fn generate() -> Self {
        let mut id = [0u8; ID_BYTES];
        let mut secret = [0u8; SECRET_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut id);
        rand::rngs::OsRng.fill_bytes(&mut secret);
        Self {
            id: hex::encode(id),
            secret,
        }
    }

    /// Reads a key as `generate` writes it; `None` for anything else.
    pub fn parse(raw: &str) -> Option<Self> {
        let (id, secret) = raw.strip_prefix(PREFIX)?.split_once('_')?;
        let id_ok = id.len() == ID_BYTES * 2
            && id
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !id_ok {
            return None;
        }
        let mut bytes = [0u8; SECRET_BYTES];
        hex::decode_to_slice(secret, &mut bytes).ok()?;
        Some(Self {
            id: id.to_owned(),
            secret: bytes,
        })
    }

    /// The hash the store keeps instead of the secret.
    pub fn hash(&self) -> SecretHash {
        SecretHash(Sha256::digest(self.secret).into())
    }

    /// The whole key, to be shown once to whoever created it.
    pub fn reveal(&self) -> String {
        format!("{PREFIX}{}_{}", self.id, hex::encode(self.secret))
    }
}

impl std::fmt::Debug for PresentedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PresentedKey({}, ..)", self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_reads_back_and_hashes_alike() {
        let key = PresentedKey::generate();
        let text = key.reveal();
        assert_eq!(text.len(), PREFIX.len() + 16 + 1 + 64);
        let read = PresentedKey::parse(&text).unwrap();
        assert_eq!(read, key);
        assert!(read.hash().matches(&key.hash()));
        assert!(!PresentedKey::generate().hash().matches(&key.hash()));
        assert!(!format!("{key:?}").contains(&text[PREFIX.len() + 17..]));
    }

    #[test]
    fn refuses_what_is_not_a_key() {
        let good = PresentedKey::generate().reveal();
        for bad in [
            "",
            "twt_",
            "twt_abc_def",
            &good[1..],
            &good[..good.len() - 1],
            &good.replace("twt_", "TWT_"),
            &format!("{good}0"),
        ] {
            assert!(PresentedKey::parse(bad).is_none(), "{bad}");
        }
    }
}
