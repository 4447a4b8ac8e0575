//! What handlers read from a request (a JSON body, query parameters, a path segment), each
//! refused as a problem document that names the field at fault.

use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::problem::{Kind, Problem};

/// The largest body read, in bytes.
pub const MAX_BODY: usize = 1024 * 1024;

/// A JSON body of type `T`: `application/json`, at most [`MAX_BODY`] bytes, no field `T` does
/// not name (the types refuse unknown fields), no trailing bytes. An empty body reads as `{}`,
/// so operations whose fields are all optional need none.
#[derive(Debug)]
pub(crate) struct Json<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = Problem;

    async fn from_request(request: Request, _state: &S) -> Result<Json<T>, Problem> {
        let declared = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok());
        if declared.is_some_and(|length| length > MAX_BODY as u64) {
            return Err(too_large());
        }
        let json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|value| is_json(value.to_str().unwrap_or("")));
        let bytes =
            axum::body::to_bytes(request.into_body(), MAX_BODY).await.map_err(|_| too_large())?;
        if bytes.is_empty() {
            return parse(b"{}").map(Json);
        }
        if json != Some(true) {
            return Err(Problem::new(
                Kind::UnsupportedMediaType,
                "send the body as application/json",
            ));
        }
        parse(&bytes).map(Json)
    }
}

fn too_large() -> Problem {
    Problem::new(Kind::TooLarge, format!("a body is at most {MAX_BODY} bytes"))
}

fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// `bytes` as a `T`, or the problem with it: the field at fault named by its path.
pub(crate) fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    // serde reads a struct from an array too; a body is an object, with its fields named.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(Problem::new(Kind::Malformed, "the body is a JSON object"));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        let message = inner.to_string();
        if let Some(field) = unknown_field(&message) {
            let at = if path == "." || path.is_empty() {
                field.to_owned()
            } else if path.ends_with(field) {
                path.clone()
            } else {
                format!("{path}.{field}")
            };
            return Problem::new(Kind::UnknownField, format!("unknown field {at}")).at(at);
        }
        match inner.classify() {
            serde_json::error::Category::Data if path != "." && !path.is_empty() => {
                Problem::field(path, strip_position(&message))
            }
            _ => Problem::new(
                Kind::Malformed,
                format!(
                    "the body is not valid JSON of this operation: {}",
                    strip_position(&message)
                ),
            ),
        }
    })?;
    deserializer
        .end()
        .map_err(|_| Problem::new(Kind::Malformed, "trailing bytes after the JSON body"))?;
    Ok(value)
}

/// The field of serde's "unknown field `x`, expected …".
fn unknown_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown field `")?;
    rest.split('`').next()
}

/// serde_json's message without " at line 1 column 5".
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

/// Query parameters of type `T`, which refuses parameters it does not name.
#[derive(Debug)]
pub(crate) struct Params<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Params<T>, Problem> {
        match Query::<T>::try_from_uri(&parts.uri) {
            Ok(Query(value)) => Ok(Params(value)),
            Err(rejection) => {
                let text = rejection.body_text();
                let message =
                    text.strip_prefix("Failed to deserialize query string: ").unwrap_or(&text);
                if let Some(field) =
                    message.find("unknown field `").and_then(|at| unknown_field(&message[at..]))
                {
                    let detail = format!("unknown query parameter {field}");
                    return Err(Problem::new(Kind::UnknownField, detail).at(field));
                }
                // serde_urlencoded names the parameter first: `page_size: invalid digit …`.
                if let Some((field, why)) = message.split_once(": ")
                    && !field.is_empty()
                    && field.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                {
                    return Err(Problem::field(field, format!("{field}: {why}")));
                }
                Err(Problem::new(Kind::Malformed, format!("the query string: {message}")))
            }
        }
    }
}

/// The one parameter of a path, percent-decoded.
#[derive(Debug)]
pub(crate) struct Segment(pub(crate) String);

impl<S: Send + Sync> FromRequestParts<S> for Segment {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Segment, Problem> {
        match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(segment)) => Ok(Segment(segment)),
            Err(_) => Err(Problem::new(Kind::Malformed, "the path is not UTF-8 text")),
        }
    }
}

/// Parses a path or query value into `T`, or names `field` in the problem.
pub(crate) fn value<T>(field: &str, text: &str) -> Result<T, Problem>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    text.parse().map_err(|e: T::Err| Problem::field(field, format!("{field}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        #[serde(default)]
        count: u32,
    }

    #[test]
    fn bodies_name_the_field_at_fault() {
        let unknown = parse::<Body>(br#"{"name":"x","colour":"red"}"#).unwrap_err();
        assert_eq!((unknown.kind(), unknown.field_name()), (Kind::UnknownField, Some("colour")));
        let typed = parse::<Body>(br#"{"name":"x","count":"many"}"#).unwrap_err();
        assert_eq!((typed.kind(), typed.field_name()), (Kind::InvalidField, Some("count")));
        let broken = parse::<Body>(br#"{"name":"#).unwrap_err();
        assert_eq!(broken.kind(), Kind::Malformed);
        let trailing = parse::<Body>(br#"{"name":"x"} {}"#).unwrap_err();
        assert_eq!(trailing.kind(), Kind::Malformed);
        assert!(parse::<Body>(br#"{"name":"x"}"#).is_ok());
    }

    #[test]
    fn json_media_types() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        assert!(is_json("application/merge-patch+json"));
        assert!(!is_json("text/plain"));
        assert!(!is_json(""));
    }
}
