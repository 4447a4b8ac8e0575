//! The fast path for the JSON that ordinary tokens are made of.
//!
//! A header like `{"alg":"ES256","typ":"JWT","kid":"k1"}` and claims like
//! `{"sub":"svc","jti":"…","iat":1700000000,"exp":1700003600,"kg_scope":"…"}` are flat objects
//! of known members whose strings are printable ASCII with no escapes and whose dates are plain
//! integers. Reading them with serde_json costs more than the rest of a cached verification, so
//! they are read here with a few byte comparisons instead.
//!
//! This path only ever says yes or "not mine": anything outside that narrow shape (an escape, a
//! byte outside printable ASCII, a nested or unknown member, a duplicate, a float, a leading
//! zero, an invalid value) returns `None`, and the full reader in [`crate::json`] reads the
//! token as if this path did not exist, errors included. What this path accepts, the full reader
//! accepts with the same result; a property test holds the two to it.

use std::borrow::Cow;

use keygate_core::{Permission, Permissions, Scope, SigningAlgorithm, SigningKeyId, Timestamp};

use crate::claims::{Audience, Claims, PERMISSIONS_CLAIM, SCOPE_CLAIM};
use crate::jose::{Header, ShortText};

/// A header of `alg`, and optionally `kid` and `typ`, all plain strings.
pub(crate) fn header(bytes: &[u8]) -> Option<Header> {
    let (mut alg, mut kid, mut typ) = (None, None, None);
    Scanner::new(bytes)?.object(|name, scanner| {
        let slot = match name {
            "alg" => &mut alg,
            "kid" => &mut kid,
            "typ" => &mut typ,
            _ => return None,
        };
        if slot.is_some() {
            return None;
        }
        *slot = Some(scanner.plain_string()?);
        Some(())
    })?;
    Some(Header {
        algorithm: SigningAlgorithm::from_name(alg?.as_bytes())?,
        kid: match kid {
            Some(kid) => Some(SigningKeyId::validate(kid).ok().map(|()| ShortText::new(kid))?),
            None => None,
        },
        token_type: typ.map(ShortText::new),
    })
}

/// Claims whose members are all ones keygate reads, each in its simplest form: `sub`, `jti`,
/// `iss`, `aud` and the scope as plain strings, dates as plain integers, permissions as a
/// non-empty list of plain strings. Only for the default subject claim, `sub`.
pub(crate) fn claims(bytes: &[u8]) -> Option<Claims<'_>> {
    let mut claims = Claims::default();
    let mut seen = 0u16;
    Scanner::new(bytes)?.object(|name, scanner| {
        let bit = match name {
            "sub" => 0,
            "jti" => 1,
            "iss" => 2,
            "aud" => 3,
            "iat" => 4,
            "nbf" => 5,
            "exp" => 6,
            SCOPE_CLAIM => 7,
            PERMISSIONS_CLAIM => 8,
            _ => return None,
        };
        if seen & (1 << bit) != 0 {
            return None;
        }
        seen |= 1 << bit;
        match bit {
            0 => claims.subject = Some(Cow::Borrowed(scanner.plain_string()?)),
            1 => claims.jwt_id = Some(Cow::Borrowed(scanner.plain_string()?)),
            2 => claims.issuer = Some(Cow::Borrowed(scanner.plain_string()?)),
            3 => claims.audience = Audience::One(Cow::Borrowed(scanner.plain_string()?)),
            4 => claims.issued_at = Some(scanner.date()?),
            5 => claims.not_before = Some(scanner.date()?),
            6 => claims.expires = Some(scanner.date()?),
            7 => {
                let scope = Scope::try_from(scanner.plain_string()?.to_owned()).ok()?;
                claims.scope = Some(Cow::Owned(scope));
            }
            _ => claims.permissions = Some(Cow::Owned(scanner.permissions()?)),
        }
        Some(())
    })?;
    Some(claims)
}

struct Scanner<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Scanner<'a> {
    /// A scanner over `bytes` if they are all printable ASCII other than a backslash: checked
    /// once, in one pass that vectorises, so that a string is found by its closing quote alone
    /// and is plain text. (Tabs and newlines between members send the object to the full
    /// reader; no issuer keygate knows of writes them.)
    fn new(bytes: &'a [u8]) -> Option<Scanner<'a>> {
        let plain =
            bytes.iter().fold(true, |plain, &b| plain & (b' '..=b'~').contains(&b) & (b != b'\\'));
        if !plain {
            return None;
        }
        let text = std::str::from_utf8(bytes).ok()?;
        Some(Scanner { text, bytes, at: 0 })
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ') = self.peek() {
            self.at += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        if found {
            self.at += 1;
        }
        found
    }

    /// A non-empty object and nothing after it but whitespace, each member's value read by
    /// `member` from just after its colon.
    fn object(mut self, mut member: impl FnMut(&'a str, &mut Self) -> Option<()>) -> Option<()> {
        self.skip_whitespace();
        if !self.eat(b'{') {
            return None;
        }
        loop {
            self.skip_whitespace();
            let name = self.plain_string()?;
            self.skip_whitespace();
            if !self.eat(b':') {
                return None;
            }
            self.skip_whitespace();
            member(name, &mut self)?;
            self.skip_whitespace();
            if self.eat(b'}') {
                break;
            }
            if !self.eat(b',') {
                return None;
            }
        }
        self.skip_whitespace();
        (self.at == self.bytes.len()).then_some(())
    }

    /// A string: with no escapes in the scanner's text, its text is its bytes.
    fn plain_string(&mut self) -> Option<&'a str> {
        if !self.eat(b'"') {
            return None;
        }
        let rest = self.text.get(self.at..)?;
        let text = &rest[..rest.find('"')?];
        self.at += text.len() + 1;
        Some(text)
    }

    /// A NumericDate written as a plain integer: digits, no sign, fraction, exponent or leading
    /// zero, within the range keygate accepts.
    fn date(&mut self) -> Option<Timestamp> {
        let start = self.at;
        let mut seconds: i64 = 0;
        while let Some(digit @ b'0'..=b'9') = self.peek() {
            seconds = seconds.checked_mul(10)?.checked_add(i64::from(digit - b'0'))?;
            self.at += 1;
        }
        let digits = self.at - start;
        let leading_zero = digits > 1 && self.bytes[start] == b'0';
        if digits == 0 || leading_zero || matches!(self.peek(), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        Timestamp::from_unix(seconds).ok()
    }

    /// keygate's permission claim as a non-empty list of plain strings.
    fn permissions(&mut self) -> Option<Permissions> {
        if !self.eat(b'[') {
            return None;
        }
        let mut names: Vec<Permission> = Vec::new();
        loop {
            self.skip_whitespace();
            names.push(self.plain_string()?.parse().ok()?);
            self.skip_whitespace();
            if self.eat(b']') {
                return Some(Permissions::only(names));
            }
            if !self.eat(b',') {
                return None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::json;

    #[test]
    fn ordinary_tokens_take_the_fast_path() {
        let header = br#"{"alg":"ES256","typ":"JWT","kid":"k1"}"#;
        let fast = self::header(header).unwrap();
        assert_eq!(fast, json::parse_header(header).unwrap());
        let claims = concat!(
            r#"{ "sub": "svc", "jti": "5x7k2m9q4w8n6p1r", "iat": 1700000000, "exp": 1700003600,"#,
            r#" "aud": "kafka-cluster/lkc-1", "kg_permissions": ["produce"] }"#
        )
        .as_bytes();
        let fast = self::claims(claims).unwrap();
        assert_eq!(fast, json::parse_claims(claims, "sub").unwrap());
        assert_eq!(fast.expires.map(Timestamp::unix), Some(1_700_003_600));
    }

    #[test]
    fn anything_else_is_left_to_the_full_reader() {
        for text in [
            &br#"{"alg":"HS256","alg":"HS256"}"#[..],
            br#"{"alg":"none"}"#,
            br#"{"alg":"HS256","jwk":"x"}"#,
            br#"{"alg":"HS\u0032256"}"#,
            br#"{"alg":"HS256"} x"#,
            br#"{"alg":"HS256",}"#,
            b"{\"alg\":\n\"HS256\"}",
            br#"{}"#,
            b"{\"alg\":\"HS256\x7f\"}",
        ] {
            assert_eq!(header(text), None, "{}", String::from_utf8_lossy(text));
        }
        for text in [
            &br#"{"exp":1.5}"#[..],
            br#"{"exp":01}"#,
            br#"{"exp":-1}"#,
            br#"{"exp":1e3}"#,
            br#"{"exp":99999999999999999999}"#,
            br#"{"aud":["a"]}"#,
            br#"{"kg_permissions":[]}"#,
            br#"{"sub":"a","sub":"b"}"#,
            br#"{"other":true}"#,
        ] {
            assert_eq!(claims(text), None, "{}", String::from_utf8_lossy(text));
        }
    }

    /// JSON text shaped like headers and claims, many of them just off the fast path.
    fn object(names: &'static [&'static str]) -> impl Strategy<Value = String> {
        let value = prop_oneof![
            1 => "[ -~]{0,12}".prop_map(|s| format!("{s:?}")),
            1 => Just("\"HS256\"".to_owned()),
            4 => prop::sample::select(vec![
                "\"HS256\"", "\"ES256\"", "\"none\"", "\"k1\"", "\"JWT\"", "\"a\\\"b\"",
                "\"kafka-cluster/lkc-1\"", "\"cloud\"", "\"x\\u0041\"", "null", "true", "[]",
                "[\"produce\"]", "[\"produce\",\"consume\"]", "[1]", "{}", "0", "01", "-5",
                "1.0", "1e9", "1700000000", "253402300799", "253402300800",
                "18446744073709551616",
            ])
            .prop_map(str::to_owned),
        ];
        let member =
            (prop::sample::select(names), value, prop::sample::select(vec!["", " ", "\n"]));
        prop::collection::vec(member, 0..5).prop_map(|members| {
            let body: Vec<String> = members
                .iter()
                .map(|(name, value, ws)| format!("{ws}\"{name}\":{ws}{value}"))
                .collect();
            format!("{{{}}}", body.join(","))
        })
    }

    #[test]
    fn the_generated_objects_often_take_the_fast_path() {
        use proptest::strategy::ValueTree;
        use proptest::test_runner::TestRunner;

        let mut runner = TestRunner::deterministic();
        let headers = object(&["alg", "alg", "kid", "typ", "cty", "crit", "x"]);
        let claims_shaped = object(&["sub", "jti", "iss", "aud", "iat", "nbf", "exp", "x"]);
        let (mut fast_headers, mut fast_claims) = (0, 0);
        for _ in 0..2000 {
            let text = headers.new_tree(&mut runner).unwrap().current();
            fast_headers += usize::from(header(text.as_bytes()).is_some());
            let text = claims_shaped.new_tree(&mut runner).unwrap().current();
            fast_claims += usize::from(claims(text.as_bytes()).is_some());
        }
        // Otherwise the agreement properties below would compare almost nothing.
        assert!(fast_headers >= 20 && fast_claims >= 20, "{fast_headers} {fast_claims}");
    }

    proptest! {
        #[test]
        fn the_fast_header_agrees_with_the_full_reader(
            text in object(&["alg", "alg", "kid", "typ", "cty", "crit", "x"]),
        ) {
            if let Some(fast) = header(text.as_bytes()) {
                prop_assert_eq!(Ok(fast), json::parse_header(text.as_bytes()), "{}", text);
            }
        }

        #[test]
        fn the_fast_claims_agree_with_the_full_reader(
            text in object(&[
                "sub", "jti", "iss", "aud", "iat", "nbf", "exp", SCOPE_CLAIM, PERMISSIONS_CLAIM, "x",
            ]),
        ) {
            if let Some(fast) = claims(text.as_bytes()) {
                prop_assert_eq!(Ok(fast), json::parse_claims(text.as_bytes(), "sub"), "{}", text);
            }
        }
    }
}
