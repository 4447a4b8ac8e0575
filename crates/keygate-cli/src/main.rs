//! `keygate`, the operator's command for keygate: service accounts and users, the API keys
//! they own, the signing keys of JWT API keys, Pulsar-style tokens, and the audit log, in a
//! SQLite file (the default) or a PostgreSQL database that brokers' replicas read.
//!
//! Run `keygate --help`. Exit status: 0 on success; 1 when a verification fails; 2 on any
//! other error. Errors are one line on stderr; no input makes it panic or print a backtrace.

mod api_keys;
mod audit;
mod cli;
mod error;
mod keys;
mod output;
mod principals;
mod signing_keys;
mod store;
mod token;

use std::process::ExitCode;

use clap::Parser;
use keygate::core::PrincipalKind;

use crate::cli::{Cli, Command};
use crate::error::Failure;
use crate::output::Printer;
use crate::store::Workspace;

fn main() -> ExitCode {
    // A bug must still end in one line, never a backtrace that might show what it was handling.
    std::panic::set_hook(Box::new(|_| {
        eprintln!("keygate: internal error; please report it (no details are printed, by design)");
    }));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            // Help and version go to stdout with status 0; usage errors to stderr with 2.
            let _printed = error.print();
            return if error.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => return report(&Failure::error(format!("cannot start: {error}"))),
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => report(&failure),
    }
}

fn report(failure: &Failure) -> ExitCode {
    eprintln!("keygate: {failure}");
    failure.exit_code()
}

async fn run(cli: Cli) -> Result<(), Failure> {
    let printer = Printer { output: cli.output };
    // The commands that make or check keys of the operator's own touch no store.
    let command = match cli.command {
        Command::SecretKey(command) => return keys::secret_key(command, printer),
        Command::KeyPair(command) => return keys::key_pair(command),
        Command::Token(command) => return token::run(command, printer),
        command => command,
    };
    let workspace =
        Workspace::open(cli.store.as_deref(), cli.actor.as_deref(), cli.master_key.as_deref())
            .await?;
    let result = match command {
        Command::ServiceAccount(command) => {
            principals::run(PrincipalKind::ServiceAccount, command, &workspace, printer).await
        }
        Command::User(command) => {
            principals::run(PrincipalKind::User, command, &workspace, printer).await
        }
        Command::ApiKey(command) => api_keys::run(command, &workspace, printer).await,
        Command::SigningKey(command) => signing_keys::run(command, &workspace, printer).await,
        Command::Audit(command) => audit::run(command, &workspace, printer).await,
        Command::SecretKey(_) | Command::KeyPair(_) | Command::Token(_) => Ok(()),
    };
    workspace.store.close().await;
    result
}
