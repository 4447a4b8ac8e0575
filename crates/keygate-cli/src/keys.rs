//! `keygate secret-key` and `keygate key-pair`: making keys, and reading the keys other
//! commands are given.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use keygate::core::SigningAlgorithm;
use keygate::token::{KeyValue, SigningKey, VerificationKey};
use zeroize::Zeroizing;

use crate::cli::{KeyPairCommand, SecretKeyCommand};
use crate::error::Failure;
use crate::output::Printer;

pub(crate) fn secret_key(command: SecretKeyCommand, printer: Printer) -> Result<(), Failure> {
    let SecretKeyCommand::Create { algorithm, output_file, base64 } = command;
    let key = SigningKey::generate(algorithm_named(&algorithm)?)?;
    let encoded = Zeroizing::new(STANDARD.encode(key.private_bytes()));
    match output_file {
        Some(path) if base64 => write_private(&path, encoded.as_bytes()),
        Some(path) => write_private(&path, key.private_bytes()),
        // Raw bytes are no use on a terminal.
        None => printer.line(&encoded),
    }
}

pub(crate) fn key_pair(command: KeyPairCommand) -> Result<(), Failure> {
    let KeyPairCommand::Create { algorithm, output_private_key, output_public_key, pem } = command;
    let algorithm = algorithm_named(&algorithm)?;
    // Refuse before making anything, so a refusal leaves no half of a pair behind.
    for path in [&output_private_key, &output_public_key] {
        if path.exists() {
            return Err(Failure::error(format!(
                "{} exists; keygate does not overwrite keys",
                path.display()
            )));
        }
    }
    let key = generate(algorithm)?;
    let public = key.verification_key();
    if pem {
        write_private(&output_private_key, key.private_pem()?.as_bytes())?;
        write_public(&output_public_key, public.to_pem()?.as_bytes())
    } else {
        write_private(&output_private_key, key.private_bytes())?;
        write_public(&output_public_key, &public.to_spki_der()?)
    }
}

/// A fresh signing key: from ring, or for RSA from the `openssl` command.
pub(crate) fn generate(algorithm: SigningAlgorithm) -> Result<SigningKey, Failure> {
    if algorithm.is_rsa() {
        Ok(SigningKey::from_pem(algorithm, &openssl_rsa_key()?)?)
    } else {
        Ok(SigningKey::generate(algorithm)?)
    }
}

/// A 3072-bit RSA private key in PKCS#8 PEM, made by `openssl genpkey` (whose DER output is
/// PKCS#1).
fn openssl_rsa_key() -> Result<Zeroizing<Vec<u8>>, Failure> {
    let output = Command::new("openssl")
        .args(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:3072"])
        .args(["-outform", "PEM"])
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| {
            Failure::error(format!(
                "RSA keys are made by the openssl command, which could not be run ({e}); \
                 install openssl, or choose ES256, ES384 or EdDSA"
            ))
        })?;
    let pem = Zeroizing::new(output.stdout);
    if !output.status.success() || pem.is_empty() {
        let reason = String::from_utf8_lossy(&output.stderr);
        return Err(Failure::error(format!(
            "openssl could not generate an RSA key: {}",
            reason.lines().next().unwrap_or("no reason given")
        )));
    }
    Ok(pem)
}

/// The algorithm called `name`.
pub(crate) fn algorithm_named(name: &str) -> Result<SigningAlgorithm, Failure> {
    name.parse().map_err(|_| {
        Failure::error(format!(
            "unknown algorithm {name:?}: use one of HS256, HS384, HS512, RS256, RS384, RS512, \
             PS256, PS384, PS512, ES256, ES384, EdDSA"
        ))
    })
}

/// The bytes of a key given as `file:///path`, `data:;base64,...` or base64 text.
pub(crate) fn key_bytes(option: &str, value: &str) -> Result<Zeroizing<Vec<u8>>, Failure> {
    match KeyValue::parse(value).map_err(|e| Failure::error(format!("{option}: {e}")))? {
        KeyValue::Inline(bytes) => Ok(bytes),
        KeyValue::File(path) => std::fs::File::open(&path)
            .and_then(KeyValue::read_capped)
            .map_err(|e| Failure::io(format_args!("{option}: {}", path.display()), e)),
    }
}

/// A signing key from `--secret-key` or `--private-key`, for `algorithm` or the key's own.
pub(crate) fn signing_key(
    secret: Option<&str>,
    private: Option<&str>,
    algorithm: Option<&str>,
) -> Result<SigningKey, Failure> {
    let algorithm = algorithm.map(algorithm_named).transpose()?;
    match (secret, private) {
        (Some(secret), _) => {
            let bytes = key_bytes("--secret-key", secret)?;
            let algorithm = algorithm.unwrap_or(SigningAlgorithm::HS256);
            if !algorithm.is_symmetric() {
                return Err(Failure::error(format!(
                    "{algorithm} signs with a private key, not --secret-key"
                )));
            }
            Ok(SigningKey::from_secret(algorithm, &bytes)?)
        }
        (None, Some(private)) => {
            let bytes = key_bytes("--private-key", private)?;
            if let Some(algorithm) = algorithm.filter(|a| a.is_symmetric()) {
                return Err(Failure::error(format!(
                    "{algorithm} signs with --secret-key, not a private key"
                )));
            }
            SigningKey::from_private_bytes(&bytes, algorithm)
                .map_err(|e| Failure::error(format!("--private-key: {}", with_flag_hint(&e))))
        }
        (None, None) => Err(Failure::error("give --secret-key or --private-key")),
    }
}

/// A verification key from `--secret-key` or `--public-key`, for `algorithm` or the key's own.
pub(crate) fn verification_key(
    secret: Option<&str>,
    public: Option<&str>,
    algorithm: Option<&str>,
) -> Result<VerificationKey, Failure> {
    let algorithm = algorithm.map(algorithm_named).transpose()?;
    match (secret, public) {
        (Some(secret), _) => {
            let bytes = key_bytes("--secret-key", secret)?;
            let algorithm = algorithm.unwrap_or(SigningAlgorithm::HS256);
            if !algorithm.is_symmetric() {
                return Err(Failure::error(format!(
                    "{algorithm} verifies with --public-key, not --secret-key"
                )));
            }
            Ok(VerificationKey::hmac(algorithm, &bytes)?)
        }
        (None, Some(public)) => {
            let bytes = key_bytes("--public-key", public)?;
            if let Some(algorithm) = algorithm.filter(|a| a.is_symmetric()) {
                return Err(Failure::error(format!(
                    "{algorithm} verifies with --secret-key, not a public key"
                )));
            }
            VerificationKey::from_public_bytes(&bytes, algorithm)
                .map_err(|e| Failure::error(format!("--public-key: {}", with_flag_hint(&e))))
        }
        (None, None) => Err(Failure::error("give --secret-key or --public-key")),
    }
}

/// A key error, with the flag that picks another algorithm when that is the way out.
pub(crate) fn with_flag_hint(error: &keygate::token::Error) -> String {
    match error {
        keygate::token::Error::KeyAlgorithmMismatch { .. } => format!("{error} (with -a)"),
        _ => error.to_string(),
    }
}

/// Writes a private key or secret, readable by its owner only. An existing file is refused
/// rather than overwritten: a key someone depends on should not vanish by a typo.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|e| Failure::io(path.display(), e))?;
    file.write_all(bytes).and_then(|()| file.sync_all()).map_err(|e| Failure::io(path.display(), e))
}

/// Writes a public key. An existing file is refused, as for private keys.
fn write_public(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| Failure::io(path.display(), e))?;
    file.write_all(bytes).map_err(|e| Failure::io(path.display(), e))
}
