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
mod plane;
mod policy;
mod principals;
mod role_bindings;
mod serve;
mod signing_keys;
mod store;
mod token;

use std::process::ExitCode;

use clap::Parser;
use keygate::core::PrincipalKind;

use crate::cli::{Cli, Command, Output, SecretKeyCommand, SigningKeyCommand, TokenCommand};
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
        Err(error) if error.use_stderr() && json_asked() => {
            let message = error.kind().as_str().unwrap_or("invalid usage");
            return report(&Failure::error(format!("{message} (see --help)")), Output::Json);
        }
        Err(error) if error.kind() == clap::error::ErrorKind::DisplayHelp => {
            match cli::subcommand_help(std::env::args().skip(1)) {
                Some(help) => return finish(write_stdout(format!("{help}\n").as_bytes())),
                None => drop(error.print()),
            }
            return ExitCode::SUCCESS;
        }
        // `keygate api-key`: the group's help, as a usage error.
        Err(error)
            if error.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand =>
        {
            match cli::subcommand_help(std::env::args().skip(1)) {
                Some(help) => eprintln!("{help}"),
                None => drop(error.print()),
            }
            return ExitCode::from(2);
        }
        Err(error) => {
            // Help and version go to stdout with status 0; usage errors to stderr with 2.
            let _printed = error.print();
            return if error.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    let (cli, output) = match output_of(cli) {
        Ok(resolved) => resolved,
        Err(failure) => return report(&failure, Output::Table),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => return report(&Failure::error(format!("cannot start: {error}")), output),
    };
    match runtime.block_on(run(cli, output)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => report(&failure, output),
    }
}

/// Reports `failure` on stderr: one line for people, or with JSON output one JSON object,
/// `{"error": {"kind": "refused" | "error", "message": …, "exit_code": 1 | 2}}`.
/// Writes the completion script for `shell` to stdout.
fn completions(shell: &str) -> Result<(), Failure> {
    use clap_complete::Shell;
    let shell = match shell {
        "bash" => Shell::Bash,
        "zsh" => Shell::Zsh,
        _ => Shell::Fish,
    };
    let mut command = <Cli as clap::CommandFactory>::command();
    // Made whole first: the generator cannot report a write that fails.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "keygate", &mut script);
    write_stdout(&script)
}

/// Writes `bytes` to standard output.
fn write_stdout(bytes: &[u8]) -> Result<(), Failure> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(bytes).and_then(|()| stdout.flush()).map_err(Failure::stdout)
}

/// The exit status of a command that printed, or failed to.
fn finish(printed: Result<(), Failure>) -> ExitCode {
    match printed {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => report(&failure, Output::Table),
    }
}

/// Writes the manual page to stdout.
fn man() -> Result<(), Failure> {
    let command = <Cli as clap::CommandFactory>::command();
    let mut page = Vec::new();
    clap_mangen::Man::new(command).render(&mut page).map_err(|e| Failure::io("stdout", e))?;
    write_stdout(&page)
}

/// Runs a command of the store through `plane`: the same code whether the store is in hand or
/// behind a server.
async fn dispatch(command: Command, plane: &plane::Plane, printer: Printer) -> Result<(), Failure> {
    match command {
        Command::ServiceAccount(command) => {
            principals::run(PrincipalKind::ServiceAccount, command, plane, printer).await
        }
        Command::User(command) => {
            principals::run(PrincipalKind::User, command, plane, printer).await
        }
        Command::ApiKey(command) => api_keys::run(command, plane, printer).await,
        Command::SigningKey(command) => signing_keys::run(command, plane, printer).await,
        Command::Audit(command) => audit::run(command, plane, printer).await,
        Command::Policy(command) => policy::run(command, plane, printer).await,
        Command::Resource(command) => policy::resource(command, plane, printer).await,
        Command::RoleBinding(command) => role_bindings::run(command, plane, printer).await,
        Command::Token(TokenCommand::Revoke { input, reason }) => {
            token::revoke(&input, reason, plane, printer).await
        }
        Command::Serve(_)
        | Command::SecretKey(_)
        | Command::KeyPair(_)
        | Command::Token(_)
        | Command::Completions { .. }
        | Command::Man => Ok(()),
    }
}

/// The server at `url`, called as the API key in the environment.
fn remote(url: &str, ca: Option<&std::path::Path>) -> Result<plane::Plane, Failure> {
    let read = |name: &str| {
        std::env::var(name)
            .map_err(|_| Failure::error(format!("--server needs the API key: set {name}")))
    };
    let key_id = read("KEYGATE_API_KEY")?;
    let secret = zeroize::Zeroizing::new(read("KEYGATE_API_SECRET")?);
    let client = keygate_server::Client::new(url, key_id.trim(), secret.trim(), ca)
        .map_err(|e| Failure::error(format!("--server: {e}")))?;
    Ok(plane::Plane::Remote(client))
}

/// Whether `command` only reads the store: it must not create one where there is none.
fn reads_only(command: &Command) -> bool {
    use crate::cli::{ApiKeyCommand as A, PrincipalCommand as P, SigningKeyCommand as S};
    matches!(
        command,
        Command::ServiceAccount(P::List)
            | Command::User(P::List)
            | Command::ApiKey(
                A::List { .. }
                    | A::Describe { .. }
                    | A::Due
                    | A::Expiring { .. }
                    | A::Verify { .. }
            )
            | Command::SigningKey(S::List | S::Jwks)
            | Command::Audit(_)
            | Command::Policy(crate::cli::PolicyCommand::Show)
            | Command::Resource(crate::cli::ResourceCommand::List)
            | Command::RoleBinding(crate::cli::RoleBindingCommand::List { .. })
    )
}

fn report(failure: &Failure, output: Output) -> ExitCode {
    if matches!(failure, Failure::ClosedPipe) {
        return failure.exit_code();
    }
    match output {
        Output::Json => eprintln!("{}", failure.json()),
        Output::Table => eprintln!("keygate: {failure}"),
    }
    failure.exit_code()
}

/// Whether the command line asks for JSON output, read before clap could parse it.
fn json_asked() -> bool {
    let args: Vec<String> = std::env::args().collect();
    args.iter().any(|arg| arg == "--output=json" || arg == "-ojson")
        || args
            .windows(2)
            .any(|pair| (pair[0] == "--output" || pair[0] == "-o") && pair[1] == "json")
}

/// What `--output` means: the format of the results, or, under `secret-key create` (whose
/// Pulsar namesake takes `--output FILE`), the file to write the key to.
fn output_of(mut cli: Cli) -> Result<(Cli, Output), Failure> {
    if let Command::SecretKey(SecretKeyCommand::Create { output_file, .. }) = &mut cli.command {
        if let Some(file) = cli.output.take()
            && output_file.replace(file.into()).is_some()
        {
            return Err(Failure::error("give --output or --output-file, not both"));
        }
        return Ok((cli, Output::Table));
    }
    let output = match cli.output.as_deref() {
        None | Some("table") => Output::Table,
        Some("json") => Output::Json,
        Some(other) => {
            return Err(Failure::error(format!("--output {other:?}: give table or json")));
        }
    };
    Ok((cli, output))
}

async fn run(cli: Cli, output: Output) -> Result<(), Failure> {
    let printer = Printer { output };
    // The commands that make or check keys of the operator's own touch no store.
    let command = match cli.command {
        Command::SecretKey(command) => return keys::secret_key(command, printer),
        Command::KeyPair(command) => return keys::key_pair(command),
        Command::Token(command @ TokenCommand::Revoke { .. }) => Command::Token(command),
        Command::Token(command) => return token::run(command, printer),
        Command::Completions { shell } => return completions(&shell),
        Command::Man => return man(),
        command => command,
    };
    if let Some(server) = &cli.server {
        if matches!(command, Command::Serve(_)) {
            return Err(Failure::error("serve runs over a store; give --store, not --server"));
        }
        let plane = remote(server, cli.server_ca.as_deref())?;
        return dispatch(command, &plane, printer).await;
    }
    let workspace = Workspace::open(
        cli.store.as_deref(),
        cli.actor.as_deref(),
        cli.master_key.as_deref(),
        !reads_only(&command),
    )
    .await?;
    let result = match command {
        Command::Serve(args) => serve::run(args, &workspace).await,
        command => {
            // A signing key made here is sealed under the master key, made on first use
            // beside a SQLite store.
            let manager = match &command {
                Command::SigningKey(SigningKeyCommand::Create { algorithm, .. }) => {
                    // A request refused anyway makes no master key.
                    keys::algorithm_named(algorithm)?;
                    workspace.sealing_manager().await?
                }
                _ => workspace.plain_manager(),
            };
            let app = keygate_server::App::local(
                manager,
                workspace.actor.clone(),
                workspace.auth_config(),
            );
            dispatch(command, &plane::Plane::local(&app), printer).await
        }
    };
    workspace.store.close().await;
    result
}
