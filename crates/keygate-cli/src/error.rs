//! How a command fails, and the exit status each failure gets.

use std::fmt;
use std::process::ExitCode;

use keygate::ManagerError;
use keygate::store::StoreError;

/// Why a command failed. Messages are one line, for an operator, and never hold a secret.
#[derive(Debug)]
pub(crate) enum Failure {
    /// A verification said no (exit 1): the credential or token is not valid.
    Refused(String),
    /// Anything else (exit 2): bad usage or input, a store that cannot be opened, a refused
    /// change.
    Error(String),
    /// Standard output was closed by its reader (`keygate completions bash | head`): nothing
    /// more to say, and no one to say it to. Ends the command quietly, with status 0.
    ClosedPipe,
}

impl Failure {
    /// An error with this message.
    pub(crate) fn error(message: impl fmt::Display) -> Failure {
        Failure::Error(message.to_string())
    }

    /// An error reading or writing `what`.
    pub(crate) fn io(what: impl fmt::Display, error: std::io::Error) -> Failure {
        Failure::Error(format!("{what}: {error}"))
    }

    /// An error writing standard output: a closed pipe is the reader's choice, not a failure.
    pub(crate) fn stdout(error: std::io::Error) -> Failure {
        if error.kind() == std::io::ErrorKind::BrokenPipe {
            return Failure::ClosedPipe;
        }
        Failure::io("stdout", error)
    }

    /// The message, without its category.
    pub(crate) fn message(&self) -> &str {
        match self {
            Failure::Refused(message) | Failure::Error(message) => message,
            Failure::ClosedPipe => "standard output was closed",
        }
    }

    /// The failure as the JSON object printed with `--output json`.
    pub(crate) fn json(&self) -> serde_json::Value {
        let (kind, code) = match self {
            Failure::Refused(_) => ("refused", 1),
            Failure::Error(_) => ("error", 2),
            Failure::ClosedPipe => ("closed", 0),
        };
        serde_json::json!({ "error": { "kind": kind, "message": self.message(), "exit_code": code } })
    }

    /// The exit status.
    pub(crate) fn exit_code(&self) -> ExitCode {
        match self {
            Failure::Refused(_) => ExitCode::from(1),
            Failure::Error(_) => ExitCode::from(2),
            Failure::ClosedPipe => ExitCode::SUCCESS,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Refused(reason) => write!(f, "refused: {reason}"),
            Failure::Error(message) => write!(f, "error: {message}"),
            Failure::ClosedPipe => f.write_str("standard output was closed"),
        }
    }
}

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Failure {
        Failure::Error(with_sources(&error))
    }
}

impl From<ManagerError> for Failure {
    fn from(error: ManagerError) -> Failure {
        match error {
            ManagerError::NoSigningKey => Failure::error(
                "there is no active signing key for JWT API keys; create one with \
                 `keygate signing-key create`",
            ),
            ManagerError::NoMasterKey => Failure::error(
                "no master key: signing keys are sealed under it; give --master-key (or \
                 KEYGATE_MASTER_KEY), or keep the STORE.master-key file beside a SQLite store",
            ),
            ManagerError::Store(error) => error.into(),
            error => Failure::Error(with_sources(&error)),
        }
    }
}

impl From<keygate::core::Error> for Failure {
    fn from(error: keygate::core::Error) -> Failure {
        Failure::error(error)
    }
}

impl From<keygate::token::Error> for Failure {
    fn from(error: keygate::token::Error) -> Failure {
        Failure::error(error)
    }
}

/// An error and its causes on one line: "a: b: c", skipping a cause its parent already quotes.
fn with_sources(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}
