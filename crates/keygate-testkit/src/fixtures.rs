//! Fixed keys and tokens: the worked examples of RFC 7515 and RFC 8037, and key files and tokens
//! in the exact forms Pulsar writes.
//!
//! The RFC values are the specifications' own test data. The Pulsar files were made by
//! `fixtures/pulsar/Generate.java`, which repeats with the JDK alone what `pulsar tokens
//! create-secret-key`, `create-key-pair` and `create` do.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// RFC 7515 A.1: the HMAC key (`k` of its JWK), 64 bytes.
pub const RFC7515_A1_HMAC_KEY: &str =
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";

/// RFC 7515 A.1: an HS256 JWS with `typ: JWT`, `iss: joe` and `exp: 1300819380` (2011).
pub const RFC7515_A1_TOKEN: &str = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

/// The `exp` of the RFC 7515 examples, and an instant before it.
pub const RFC7515_EXP: i64 = 1_300_819_380;

/// RFC 7515 A.2: the RSA key, private members included.
pub const RFC7515_A2_RSA_JWK: &str = r#"{"kty":"RSA",
"n":"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ",
"e":"AQAB",
"d":"Eq5xpGnNCivDflJsRQBXHx1hdR1k6Ulwe2JZD50LpXyWPEAeP88vLNO97IjlA7_GQ5sLKMgvfTeXZx9SE-7YwVol2NXOoAJe46sui395IW_GO-pWJ1O0BkTGoVEn2bKVRUCgu-GjBVaYLU6f3l9kJfFNS3E0QbVdxzubSu3Mkqzjkn439X0M_V51gfpRLI9JYanrC4D4qAdGcopV_0ZHHzQlBjudU2QvXt4ehNYTCBr6XCLQUShb1juUO1ZdiYoFaFQT5Tw8bGUl_x_jTj3ccPDVZFD9pIuhLhBOneufuBiB4cS98l2SR_RQyGWSeWjnczT0QU91p1DhOVRuOopznQ",
"p":"4BzEEOtIpmVdVEZNCqS7baC4crd0pqnRH_5IB3jw3bcxGn6QLvnEtfdUdiYrqBdss1l58BQ3KhooKeQTa9AB0Hw_Py5PJdTJNPY8cQn7ouZ2KKDcmnPGBY5t7yLc1QlQ5xHdwW1VhvKn-nXqhJTBgIPgtldC-KDV5z-y2XDwGUc",
"q":"uQPEfgmVtjL0Uyyx88GZFF1fOunH3-7cepKmtH4pxhtCoHqpWmT8YAmZxaewHgHAjLYsp1ZSe7zFYHj7C6ul7TjeLQeZD_YwD66t62wDmpe_HlB-TnBA-njbglfIsRLtXlnDzQkv5dTltRJ11BKBBypeeF6689rjcJIDEz9RWdc",
"dp":"BwKfV3Akq5_MFZDFZCnW-wzl-CCo83WoZvnLQwCTeDv8uzluRSnm71I3QCLdhrqE2e9YkxvuxdBfpT_PI7Yz-FOKnu1R6HsJeDCjn12Sk3vmAktV2zb34MCdy7cpdTh_YVr7tss2u6vneTwrA86rZtu5Mbr1C1XsmvkxHQAdYo0",
"dq":"h_96-mK1R_7glhsum81dZxjTnYynPbZpHziZjeeHcXYsXaaMwkOlODsWa7I9xXDoRwbKgB719rrmI2oKr6N3Do9U0ajaHF-NKJnwgjMd2w9cjz3_-kyNlxAr2v4IKhGNpmM5iIgOS1VZnOZ68m6_pbLBSp3nssTdlqvd0tIiTHU",
"qi":"IYd7DHOhrWvxkwPQsRM2tOgrjbcrfvtQJipd-DlcxyVuuM9sQLdgjVk2oy26F0EmpScGLq2MowX7fhd_QJQ3ydy5cY7YIBi87w93IKLEdfnbJtoOPLUW0ITrJReOgo1cq9SbsxYawBgfp_gh6A5603k2-ZQwVK0JKSHuLFkuQ3U"}"#;

/// RFC 7515 A.2: an RS256 JWS over the same payload as A.1.
pub const RFC7515_A2_TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";

/// RFC 7515 A.3: the P-256 public key (the JWK's `x` and `y`).
pub const RFC7515_A3_EC_X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
/// See [`RFC7515_A3_EC_X`].
pub const RFC7515_A3_EC_Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";

/// RFC 7515 A.3: an ES256 JWS over the same payload as A.1.
pub const RFC7515_A3_TOKEN: &str = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";

/// RFC 7515 A.5: an unsecured JWS (`alg: none`).
pub const RFC7515_A5_TOKEN: &str = "eyJhbGciOiJub25lIn0.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.";

/// RFC 8037 A.1: the Ed25519 seed (`d`).
pub const RFC8037_ED25519_SEED: &str = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
/// RFC 8037 A.2: the Ed25519 public key (`x`).
pub const RFC8037_ED25519_PUBLIC: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
/// RFC 8037 A.4: an EdDSA JWS over the text "Example of Ed25519 signing" (not JSON).
pub const RFC8037_A4_TOKEN: &str = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

/// Decodes unpadded base64url test data.
pub fn b64url(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text).expect("fixture is base64url")
}

/// The RFC 7515 A.2 RSA key as a PKCS#1 RSAPrivateKey in DER.
pub fn rfc7515_a2_rsa_pkcs1_der() -> Vec<u8> {
    let jwk: serde_json::Value = serde_json::from_str(RFC7515_A2_RSA_JWK).expect("fixture is JSON");
    let mut body = Vec::new();
    der_integer(&mut body, &[0]);
    for member in ["n", "e", "d", "p", "q", "dp", "dq", "qi"] {
        der_integer(&mut body, &b64url(jwk[member].as_str().expect("fixture member")));
    }
    let mut out = Vec::new();
    der_tlv(&mut out, 0x30, &body);
    out
}

/// The RFC 7515 A.2 RSA public key as an X.509 SubjectPublicKeyInfo in DER.
pub fn rfc7515_a2_rsa_spki_der() -> Vec<u8> {
    let jwk: serde_json::Value = serde_json::from_str(RFC7515_A2_RSA_JWK).expect("fixture is JSON");
    let mut pkcs1 = Vec::new();
    der_integer(&mut pkcs1, &b64url(jwk["n"].as_str().expect("n")));
    der_integer(&mut pkcs1, &b64url(jwk["e"].as_str().expect("e")));
    let mut public = Vec::new();
    der_tlv(&mut public, 0x30, &pkcs1);
    // AlgorithmIdentifier { rsaEncryption, NULL }
    let algorithm =
        [0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00];
    let mut bits = vec![0];
    bits.extend_from_slice(&public);
    let mut body = algorithm.to_vec();
    der_tlv(&mut body, 0x03, &bits);
    let mut out = Vec::new();
    der_tlv(&mut out, 0x30, &body);
    out
}

/// The RFC 8037 Ed25519 key as PKCS#8 v1 DER (RFC 8410 section 7).
pub fn rfc8037_ed25519_pkcs8_der() -> Vec<u8> {
    let mut out = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    out.extend_from_slice(&b64url(RFC8037_ED25519_SEED));
    out
}

fn der_integer(out: &mut Vec<u8>, magnitude: &[u8]) {
    let start = magnitude.iter().position(|&b| b != 0).unwrap_or(magnitude.len().saturating_sub(1));
    let magnitude = &magnitude[start..];
    let mut contents = Vec::new();
    if magnitude.first().is_none_or(|&b| b & 0x80 != 0) {
        contents.push(0);
    }
    contents.extend_from_slice(magnitude);
    der_tlv(out, 0x02, &contents);
}

fn der_tlv(out: &mut Vec<u8>, tag: u8, contents: &[u8]) {
    out.push(tag);
    match contents.len() {
        len @ 0..=0x7f => out.push(len as u8),
        len @ 0x80..=0xff => out.extend_from_slice(&[0x81, len as u8]),
        len => out.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]),
    }
    out.extend_from_slice(contents);
}

/// Key files and tokens as a Pulsar installation writes them.
pub mod pulsar {
    /// `pulsar tokens create-secret-key --output FILE`: 32 raw bytes.
    pub const HS256_SECRET: &[u8] = include_bytes!("../fixtures/pulsar/hs256-secret.key");
    /// `pulsar tokens create-secret-key --base64`: the same key in base64.
    pub const HS256_SECRET_BASE64: &str = include_str!("../fixtures/pulsar/hs256-secret.b64");
    /// `pulsar tokens create --secret-key … --subject test-user`.
    pub const HS256_TOKEN_NO_EXPIRY: &str = include_str!("../fixtures/pulsar/hs256-no-exp.jwt");
    /// The same, with `--expiry-time` (exp 2100-01-01).
    pub const HS256_TOKEN_WITH_EXPIRY: &str = include_str!("../fixtures/pulsar/hs256-exp.jwt");

    /// `create-key-pair --algorithm RS256`: the private key, PKCS#8 DER.
    pub const RS256_PRIVATE: &[u8] = include_bytes!("../fixtures/pulsar/rs256-private.der");
    /// The public key, X.509 SubjectPublicKeyInfo DER.
    pub const RS256_PUBLIC: &[u8] = include_bytes!("../fixtures/pulsar/rs256-public.der");
    /// An RS256 token without `exp`.
    pub const RS256_TOKEN_NO_EXPIRY: &str = include_str!("../fixtures/pulsar/rs256-no-exp.jwt");
    /// An RS256 token with `exp`.
    pub const RS256_TOKEN_WITH_EXPIRY: &str = include_str!("../fixtures/pulsar/rs256-exp.jwt");

    /// `create-key-pair --algorithm ES256`: the private key, PKCS#8 DER as the JDK writes it
    /// (without the public key).
    pub const ES256_PRIVATE: &[u8] = include_bytes!("../fixtures/pulsar/es256-private.der");
    /// The public key, X.509 SubjectPublicKeyInfo DER.
    pub const ES256_PUBLIC: &[u8] = include_bytes!("../fixtures/pulsar/es256-public.der");
    /// An ES256 token without `exp`.
    pub const ES256_TOKEN_NO_EXPIRY: &str = include_str!("../fixtures/pulsar/es256-no-exp.jwt");
    /// An ES256 token with `exp`.
    pub const ES256_TOKEN_WITH_EXPIRY: &str = include_str!("../fixtures/pulsar/es256-exp.jwt");

    /// The subject of every Pulsar fixture token.
    pub const SUBJECT: &str = "test-user";
    /// The `exp` of the fixture tokens that have one: 2100-01-01T00:00:00Z.
    pub const EXPIRY: i64 = 4_102_444_800;
}
