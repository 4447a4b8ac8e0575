//! PEM armour (RFC 7468): a label and base64 between BEGIN and END lines.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroizing;

use crate::Error;

/// Whether `bytes` look like PEM rather than DER or a raw secret.
pub(crate) fn looks_like_pem(bytes: &[u8]) -> bool {
    bytes.trim_ascii_start().starts_with(b"-----BEGIN ")
}

/// Decodes the first PEM block: its label and contents.
pub(crate) fn decode(text: &[u8]) -> Result<(String, Zeroizing<Vec<u8>>), Error> {
    let text = std::str::from_utf8(text).map_err(|_| Error::KeyFormat("PEM that is not text"))?;
    let mut lines = text.lines().map(str::trim).skip_while(|line| line.is_empty());
    let begin = lines.next().unwrap_or_default();
    let label = begin
        .strip_prefix("-----BEGIN ")
        .and_then(|rest| rest.strip_suffix("-----"))
        .ok_or(Error::KeyFormat("PEM without a BEGIN line"))?;
    let end = format!("-----END {label}-----");
    let mut body = Zeroizing::new(String::new());
    let mut closed = false;
    for line in lines {
        if line == end {
            closed = true;
            break;
        }
        body.push_str(line);
    }
    if !closed {
        return Err(Error::KeyFormat("PEM without a matching END line"));
    }
    let der = STANDARD
        .decode(body.as_bytes())
        .map_err(|_| Error::KeyFormat("PEM with invalid base64"))?;
    Ok((label.to_owned(), Zeroizing::new(der)))
}

/// Encodes `der` as PEM with `label`, in lines of 64 characters.
pub(crate) fn encode(label: &str, der: &[u8]) -> Zeroizing<String> {
    let body = Zeroizing::new(STANDARD.encode(der));
    let mut out = Zeroizing::new(String::with_capacity(body.len() + body.len() / 64 + 64));
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    for chunk in body.as_bytes().chunks(64) {
        // base64 output is ASCII, so every chunk is valid UTF-8.
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let der: Vec<u8> = (0..=255).collect();
        let pem = encode("PUBLIC KEY", &der);
        assert!(looks_like_pem(pem.as_bytes()));
        let (label, back) = decode(pem.as_bytes()).unwrap();
        assert_eq!(label, "PUBLIC KEY");
        assert_eq!(*back, der);
    }

    #[test]
    fn refuses_broken_armour() {
        for bad in [
            "",
            "-----BEGIN PUBLIC KEY-----\nAAAA\n",
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            "-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n",
            "BEGIN PUBLIC KEY",
        ] {
            assert!(decode(bad.as_bytes()).is_err(), "{bad:?}");
        }
        assert!(decode(b"\n\n-----BEGIN X-----\r\nAAAA\r\n-----END X-----\r\n").is_ok());
    }
}
