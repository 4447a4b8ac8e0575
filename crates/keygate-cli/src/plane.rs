//! The control plane every command of the store runs through, over one interface with two
//! implementations: in process, over the store in hand (the routes of keygate-server, called
//! directly, as the operator who holds the store), or a keygate server reached with `--server`
//! (the same routes over HTTP, as the API key in `KEYGATE_API_KEY`). Each command is written
//! once, against the API; its output is the same either way.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, header};
use keygate_server::{App, Client, ClientError};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tower_service::Service;

use crate::error::Failure;

/// Where a command's requests go.
pub(crate) enum Plane {
    /// The routes in process, over the store in hand.
    Local(Router),
    /// A keygate server.
    Remote(Client),
}

impl Plane {
    /// The store in hand, behind the routes, as `app`'s local operator.
    pub(crate) fn local(app: &App) -> Plane {
        Plane::Local(app.router().0)
    }

    /// Sends `method path` with `body`, and returns the answer's JSON, or the problem as a
    /// failure with the server's words.
    pub(crate) async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Result<Value, Failure> {
        match self {
            Plane::Remote(client) => {
                client.call_with(method, path, body, headers).await.map_err(|error| match error {
                    ClientError::Problem { kind, detail, .. } if kind == "unauthenticated" => {
                        Failure::error(format!(
                            "the server refused the API key ({detail}); check KEYGATE_API_KEY \
                             and KEYGATE_API_SECRET"
                        ))
                    }
                    other => Failure::error(other),
                })
            }
            Plane::Local(router) => {
                let mut request = Request::builder().method(method).uri(path);
                for (name, value) in headers {
                    request = request.header(*name, *value);
                }
                let body = match body {
                    Some(body) => {
                        request = request.header(header::CONTENT_TYPE, "application/json");
                        Body::from(serde_json::to_vec(body).map_err(Failure::error)?)
                    }
                    None => Body::empty(),
                };
                let request = request.body(body).map_err(Failure::error)?;
                let response = router.clone().call(request).await.map_err(Failure::error)?;
                let status = response.status();
                let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
                    .await
                    .map_err(Failure::error)?;
                let value: Value = if bytes.is_empty() {
                    Value::Null
                } else {
                    serde_json::from_slice(&bytes).map_err(Failure::error)?
                };
                if status.is_success() {
                    Ok(value)
                } else {
                    let detail = value["detail"].as_str().unwrap_or("the request failed");
                    Err(Failure::error(detail))
                }
            }
        }
    }

    /// `GET path` as a `T`.
    pub(crate) async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, Failure> {
        read(self.call("GET", path, None, &[]).await?)
    }

    /// `method path` with `body`, the answer as a `T`.
    pub(crate) async fn send<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: &Value,
    ) -> Result<T, Failure> {
        read(self.call(method, path, Some(body), &[]).await?)
    }

    /// Every item of the listing at `path` (which has a query already, or none), page by page.
    pub(crate) async fn all<T: DeserializeOwned>(&self, path: &str) -> Result<Vec<T>, Failure> {
        let separator = if path.contains('?') { '&' } else { '?' };
        let first = format!("{path}{separator}page_size=1000");
        let mut page = self.call("GET", &first, None, &[]).await?;
        let mut items = Vec::new();
        loop {
            let batch = page["items"].as_array().cloned().unwrap_or_default();
            for item in batch {
                items.push(read(item)?);
            }
            match page["next_page_token"].as_str() {
                Some(token) => {
                    let next = format!("{first}&page_token={}", encode(token));
                    page = self.call("GET", &next, None, &[]).await?;
                }
                None => return Ok(items),
            }
        }
    }
}

fn read<T: DeserializeOwned>(value: Value) -> Result<T, Failure> {
    serde_json::from_value(value)
        .map_err(|e| Failure::error(format!("the server's answer cannot be read: {e}")))
}

/// `text` as one path segment or query value: everything but unreserved characters
/// percent-encoded.
pub(crate) fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_encoded_whole() {
        assert_eq!(encode("pulsar-tenant/acme"), "pulsar-tenant%2Facme");
        assert_eq!(encode("ci@example.com"), "ci%40example.com");
        assert_eq!(encode("a b+c"), "a%20b%2Bc");
    }
}
