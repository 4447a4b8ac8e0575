//! Running the binary in a sandbox of its own: a temporary directory as its home and data
//! directory, a store in it, and a fixed actor.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;
use tempfile::TempDir;

/// A sandbox to run `keygate` in.
pub(crate) struct Sandbox {
    dir: TempDir,
    store: String,
    env: Vec<(String, String)>,
}

/// What a run printed, and how it ended.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Sandbox {
    /// A sandbox whose store is a SQLite file in it (not yet created).
    pub(crate) fn new() -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("keygate.db").display().to_string();
        Sandbox { dir, store, env: Vec::new() }
    }

    /// A sandbox whose store is at `store` (a URL or a path).
    pub(crate) fn with_store(store: impl Into<String>) -> Sandbox {
        Sandbox { dir: tempfile::tempdir().unwrap(), store: store.into(), env: Vec::new() }
    }

    /// Sets an environment variable for every run.
    pub(crate) fn with_env(mut self, name: &str, value: &str) -> Sandbox {
        self.env.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The store's location.
    pub(crate) fn store(&self) -> &str {
        &self.store
    }

    /// A path in the sandbox.
    pub(crate) fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `file://` for a path in the sandbox, as key options take it.
    pub(crate) fn file_url(&self, name: &str) -> String {
        format!("file://{}", self.file(name).display())
    }

    /// Runs `keygate args...` on the sandbox's store.
    pub(crate) fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, None, &[])
    }

    /// Runs `keygate args...` with `input` on standard input.
    pub(crate) fn run_stdin(&self, args: &[&str], input: &str) -> Run {
        self.run_with(args, Some(input), &[])
    }

    /// Starts `keygate args...` with its output discarded, for a test that stops it.
    pub(crate) fn spawn(&self, args: &[&str]) -> std::process::Child {
        let mut command = self.command(args, &[]);
        command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
        command.spawn().unwrap()
    }

    /// Runs `keygate args...` with extra environment variables (an empty value removes one).
    pub(crate) fn run_with(&self, args: &[&str], input: Option<&str>, env: &[(&str, &str)]) -> Run {
        let mut command = self.command(args, env);
        command
            .stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().unwrap();
        if let Some(input) = input {
            child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        }
        let output = child.wait_with_output().unwrap();
        let run = Run {
            code: output.status.code().expect("keygate was killed by a signal"),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        };
        assert!(
            !run.stderr.contains("panicked") && !run.stderr.contains("backtrace"),
            "keygate {args:?} panicked: {}",
            run.stderr
        );
        run
    }

    /// `keygate args...` on the sandbox's store, with its environment and `env`.
    fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_keygate"));
        command
            .args(args)
            .env("KEYGATE_STORE", &self.store)
            .env("KEYGATE_ACTOR", "test:operator")
            .env_remove("KEYGATE_MASTER_KEY")
            .env("HOME", self.dir.path())
            .env("XDG_DATA_HOME", self.dir.path().join("data"))
            // A panic would print a backtrace with this; the binary must never get there.
            .env("RUST_BACKTRACE", "1");
        let defaults = self.env.iter().map(|(name, value)| (name.as_str(), value.as_str()));
        for (name, value) in defaults.chain(env.iter().copied()) {
            if value.is_empty() {
                command.env_remove(name);
            } else {
                command.env(name, value);
            }
        }
        command
    }
}

impl Run {
    /// Asserts success, and returns the run.
    #[track_caller]
    pub(crate) fn ok(self) -> Run {
        assert_eq!(self.code, 0, "expected success; stderr: {}", self.stderr);
        self
    }

    /// Asserts it failed with `code`, saying `reason` on one line of stderr.
    #[track_caller]
    pub(crate) fn fails(self, code: i32, reason: &str) -> Run {
        assert_eq!(
            self.code, code,
            "expected exit {code}; stdout: {} stderr: {}",
            self.stdout, self.stderr
        );
        assert!(self.stderr.contains(reason), "expected {reason:?} in stderr: {}", self.stderr);
        assert_eq!(self.stderr.trim_end().lines().count(), 1, "not one line: {}", self.stderr);
        self
    }

    /// stdout as JSON.
    #[track_caller]
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.stdout))
    }

    /// A string field of stdout's JSON.
    #[track_caller]
    pub(crate) fn field(&self, name: &str) -> String {
        self.json()[name]
            .as_str()
            .unwrap_or_else(|| panic!("no {name} in {}", self.stdout))
            .to_owned()
    }
}

/// A service account `name` with an opaque key on `resource`; returns the key id and secret.
pub(crate) fn account_with_key(sandbox: &Sandbox, name: &str, resource: &str) -> (String, String) {
    sandbox.run(&["service-account", "create", name]).ok();
    let created = sandbox
        .run(&[
            "api-key",
            "create",
            "--service-account",
            name,
            "--resource",
            resource,
            "--output",
            "json",
        ])
        .ok();
    (created.field("key_id"), created.field("secret"))
}

/// A file of the Pulsar fixtures, made by the JDK as `pulsar tokens` makes them.
pub(crate) fn pulsar_fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../keygate-testkit/fixtures/pulsar").join(name)
}

/// The URL of a new, empty schema (`PREFIX_PID`) on the test PostgreSQL server, and the
/// schema's name; `None` (having said so for `test`) without a server.
pub(crate) fn postgres_store(test: &str, prefix: &str) -> Option<(String, String)> {
    use sqlx::Connection;
    let server = keygate_testkit::external("KEYGATE_POSTGRES_URL", test)?;
    let schema = format!("{prefix}_{}", std::process::id());
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
        let mut admin = sqlx::PgConnection::connect(&server).await.unwrap();
        let statement = format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}");
        sqlx::raw_sql(sqlx::AssertSqlSafe(statement)).execute(&mut admin).await.unwrap();
    });
    let separator = if server.contains('?') { '&' } else { '?' };
    Some((format!("{server}{separator}options=-c%20search_path%3D{schema}"), schema))
}
