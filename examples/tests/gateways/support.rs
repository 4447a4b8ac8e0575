//! The examples under test, and the Python clients that drive them; the rest of the process
//! plumbing is `keygate_testkit::process`.

use std::path::{Path, PathBuf};

pub(crate) use keygate_testkit::process::{
    Client, Gateway, Operator, closed_within, connect, connect_from, python,
};

/// The path of the built example `name`.
pub(crate) fn example(name: &str) -> PathBuf {
    keygate_testkit::process::profile_dir().join("examples").join(name)
}

/// The path of the client script `name` in `tests/clients`.
pub(crate) fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients").join(name)
}
