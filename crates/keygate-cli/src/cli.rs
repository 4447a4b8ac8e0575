//! The command line, as clap reads it. Flag names follow `pulsar tokens` and `confluent
//! api-key` where they can, so operators' habits carry over.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Manage API keys for Kafka- and Pulsar-compatible brokers: service accounts and users, the
/// API keys they own, the signing keys of JWT API keys, Pulsar-style tokens, and the audit log.
///
/// Exit status: 0 on success; 1 when a verification fails (`token validate`, `api-key verify`),
/// with the reason on stderr; 2 on any other error (bad usage or input, a store that cannot be
/// opened, a refused change).
#[derive(Debug, Parser)]
#[command(name = "keygate", version, max_term_width = 100)]
pub(crate) struct Cli {
    /// The store: a SQLite file path, or a postgres:// URL. Defaults to $KEYGATE_STORE, else
    /// $XDG_DATA_HOME/keygate/keygate.db (~/.local/share/keygate/keygate.db), created on first
    /// use.
    #[arg(
        long,
        global = true,
        env = "KEYGATE_STORE",
        value_name = "URL",
        help_heading = "Global options"
    )]
    pub(crate) store: Option<String>,

    /// Who is making the change, as the audit log records it. Defaults to $KEYGATE_ACTOR, else
    /// cli:$USER.
    #[arg(
        long,
        global = true,
        env = "KEYGATE_ACTOR",
        value_name = "NAME",
        help_heading = "Global options"
    )]
    pub(crate) actor: Option<String>,

    /// The master key that seals the store's private signing keys: `file:PATH`,
    /// `data:;base64,…` or base64 text of 32 bytes. Defaults to $KEYGATE_MASTER_KEY, else, for
    /// a SQLite store, the file beside it (STORE.master-key), created with it. Needed to create
    /// signing keys and mint JWT API keys, and to verify HMAC-signed ones.
    #[arg(
        long,
        global = true,
        env = "KEYGATE_MASTER_KEY",
        hide_env_values = true,
        value_name = "KEY",
        help_heading = "Global options"
    )]
    pub(crate) master_key: Option<String>,

    /// How to print results: table or json (`-o json`, as `confluent` and `pulsar-admin` take
    /// it). Under `secret-key create` only, as in `pulsar tokens create-secret-key`, the file to
    /// write the key to.
    #[arg(
        short = 'o',
        long,
        global = true,
        value_name = "table|json",
        help_heading = "Global options"
    )]
    pub(crate) output: Option<String>,

    /// Run the command through the keygate server at this URL (`keygate serve`) rather than
    /// on a store, as the API key in $KEYGATE_API_KEY with the secret in $KEYGATE_API_SECRET.
    /// Defaults to $KEYGATE_SERVER.
    #[arg(
        long,
        global = true,
        env = "KEYGATE_SERVER",
        value_name = "URL",
        help_heading = "Global options"
    )]
    pub(crate) server: Option<String>,

    /// The certificate authority (PEM) an https:// server's certificate chains to; by default
    /// the Mozilla roots. Defaults to $KEYGATE_SERVER_CA.
    #[arg(
        long,
        global = true,
        env = "KEYGATE_SERVER_CA",
        value_name = "PEM",
        help_heading = "Global options"
    )]
    pub(crate) server_ca: Option<PathBuf>,

    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The help of the subcommand that `args` name, with the global options left out (they are
/// described once, in `keygate --help`); `None` for the top level. What clap would print
/// otherwise, with the global options repeated under every subcommand.
pub(crate) fn subcommand_help(args: impl Iterator<Item = String>) -> Option<String> {
    let mut command = <Cli as clap::CommandFactory>::command();
    command.build();
    let globals: Vec<clap::Id> = command
        .get_arguments()
        .filter(|arg| arg.is_global_set())
        .map(|arg| arg.get_id().clone())
        .collect();
    let mut path = Vec::new();
    let mut current = &command;
    // Words that name no subcommand are option values and positional arguments: passed over.
    // `keygate help api-key list` asks for what `keygate api-key list --help` shows.
    let mut args = args.filter(|arg| !arg.starts_with('-')).peekable();
    args.next_if(|arg| arg == "help");
    for arg in args {
        if let Some(sub) = current.find_subcommand(&arg) {
            path.push(sub.get_name().to_owned());
            current = sub;
        }
    }
    if path.is_empty() {
        return None;
    }
    let mut sub = current.clone();
    for id in &globals {
        if sub.get_arguments().any(|arg| arg.get_id() == id) {
            sub = sub.mut_arg(id.clone(), |arg| arg.hide(true));
        }
    }
    let sub = sub.bin_name(format!("keygate {}", path.join(" "))).after_long_help(
        "Global options (--store, --actor, --master-key, --output): `keygate --help`.",
    );
    Some(sub.clone().render_long_help().to_string())
}

/// How results are printed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Output {
    /// Aligned columns and labelled fields, for people.
    Table,
    /// JSON, for scripts.
    Json,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// HMAC secret keys for signing tokens (like `pulsar tokens create-secret-key`).
    #[command(subcommand)]
    SecretKey(SecretKeyCommand),
    /// Asymmetric key pairs for signing tokens (like `pulsar tokens create-key-pair`).
    #[command(subcommand)]
    KeyPair(KeyPairCommand),
    /// Create, show and validate tokens signed with your own keys (like `pulsar tokens`).
    #[command(subcommand)]
    Token(TokenCommand),
    /// Service accounts: the principals applications authenticate as.
    #[command(subcommand)]
    ServiceAccount(PrincipalCommand),
    /// Users: the principals people authenticate as.
    #[command(subcommand)]
    User(PrincipalCommand),
    /// API keys: issue, list, rotate, suspend, revoke and verify them.
    #[command(subcommand)]
    ApiKey(ApiKeyCommand),
    /// The key ring that signs JWT API keys.
    #[command(subcommand)]
    SigningKey(SigningKeyCommand),
    /// The audit log of every change made through keygate.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// The key policy every writer of this store enforces.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Resources that keys are scoped to (clusters, tenants, namespaces).
    #[command(subcommand)]
    Resource(ResourceCommand),
    /// Who may do what through the control plane: principals bound to roles.
    #[command(subcommand)]
    RoleBinding(RoleBindingCommand),
    /// Serves the control plane over HTTP: the management API under /v1 (opened by API keys
    /// scoped to cloud or global, per their principals' role bindings), JWKS, health and metrics.
    Serve(ServeArgs),
    /// Prints a completion script for SHELL, made from these very definitions: `keygate
    /// completions bash > /etc/bash_completion.d/keygate`.
    Completions {
        /// The shell.
        #[arg(value_parser = ["bash", "zsh", "fish"])]
        shell: String,
    },
    /// Prints the manual page (roff), made from these very definitions: `keygate man > keygate.1`,
    /// or `keygate man | man -l -`.
    Man,
}

/// `keygate serve`.
#[derive(Debug, clap::Args)]
pub(crate) struct ServeArgs {
    /// The address to listen on.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8080")]
    pub(crate) listen: std::net::SocketAddr,
    /// The certificate chain to present (PEM); with --tls-key, the server speaks HTTPS.
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    pub(crate) tls_cert: Option<PathBuf>,
    /// The private key of the certificate (PEM).
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub(crate) tls_key: Option<PathBuf>,
    /// Serve plaintext HTTP on an address other hosts reach, API keys in the clear (behind a
    /// TLS-terminating proxy, say). Without it, plaintext is served on loopback only.
    #[arg(long)]
    pub(crate) insecure_http: bool,
    /// The URL clients reach the server at, for the issuer and jwks_uri it advertises.
    #[arg(long, value_name = "URL")]
    pub(crate) public_url: Option<String>,
    /// How many failed authentications a client address may make in a row before it gets
    /// 429; it gets one back every 6 seconds.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub(crate) auth_failure_burst: u32,
}

#[derive(Debug, Subcommand)]
pub(crate) enum SecretKeyCommand {
    /// Generates a random HMAC secret of the length the algorithm needs.
    ///
    /// With -o, the raw bytes go to the file (or base64 with --base64), readable by its owner
    /// only; without, base64 is printed.
    Create {
        /// The HMAC algorithm.
        #[arg(short = 'a', long, default_value = "HS256", value_parser = ["HS256", "HS384", "HS512"])]
        algorithm: String,
        /// Write the key to this file (`--output FILE` and `-o FILE` work too, as in Pulsar).
        #[arg(long = "output-file", value_name = "FILE")]
        output_file: Option<PathBuf>,
        /// Write base64 text rather than raw bytes.
        #[arg(short = 'b', long)]
        base64: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum KeyPairCommand {
    /// Generates a key pair: the private key as PKCS#8, the public key as SubjectPublicKeyInfo,
    /// in DER as Pulsar writes them (or PEM).
    ///
    /// EC and Ed25519 keys are generated in-process. RSA keys are generated by the `openssl`
    /// command (the crypto library keygate uses cannot generate them), which must be on PATH.
    Create {
        /// The signing algorithm the key is for.
        #[arg(short = 'a', long, default_value = "ES256", value_parser = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"])]
        algorithm: String,
        /// Where to write the private key (readable by its owner only).
        #[arg(long, value_name = "FILE")]
        output_private_key: PathBuf,
        /// Where to write the public key.
        #[arg(long, value_name = "FILE")]
        output_public_key: PathBuf,
        /// Write PEM rather than DER.
        #[arg(long)]
        pem: bool,
    },
}

/// Where a token comes from.
#[derive(Debug, Args)]
pub(crate) struct TokenInput {
    /// The token.
    #[arg(value_name = "TOKEN", conflicts_with_all = ["file", "stdin"])]
    pub(crate) token: Option<String>,
    /// Read the token from this file.
    #[arg(short = 'f', long = "token-file", value_name = "FILE", conflicts_with = "stdin")]
    pub(crate) file: Option<PathBuf>,
    /// Read the token from standard input.
    #[arg(short = 'i', long = "stdin")]
    pub(crate) stdin: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum TokenCommand {
    /// Signs a token and prints it.
    ///
    /// KEY is `file:///path`, `data:;base64,...` or base64 text, as Pulsar accepts it.
    Create {
        /// Sign with this HMAC secret.
        #[arg(
            long,
            value_name = "KEY",
            required_unless_present = "private_key",
            conflicts_with = "private_key"
        )]
        secret_key: Option<String>,
        /// Sign with this private key (PKCS#8 or PKCS#1, DER or PEM).
        #[arg(long, value_name = "KEY")]
        private_key: Option<String>,
        /// The algorithm. Defaults to HS256 for a secret key, and to the key's own kind for a
        /// private key (RS256 for RSA).
        #[arg(short = 'a', long)]
        algorithm: Option<String>,
        /// The subject: the principal or role the token speaks for.
        #[arg(short = 's', long)]
        subject: String,
        /// How long it lives (30m, 12h, 90d, 1y), or `never`. Required: a token that never
        /// expires must be asked for.
        #[arg(
            allow_hyphen_values = true,
            short = 'e',
            long = "expiry-time",
            value_name = "SPAN|never"
        )]
        expiry: String,
        /// The audience (`aud`), repeatable.
        #[arg(long)]
        audience: Vec<String>,
        /// The issuer (`iss`).
        #[arg(long)]
        issuer: Option<String>,
        /// The key id (`kid`) to put in the header.
        #[arg(long)]
        key_id: Option<String>,
        /// The token id (`jti`), by which it can be revoked.
        #[arg(long)]
        jti: Option<String>,
        /// Restrict the token to this operation (produce, consume, describe, admin, ...),
        /// repeatable.
        #[arg(long = "permission", value_name = "P")]
        permissions: Vec<String>,
    },
    /// Revokes a token, whoever minted it, until it expires: by its `jti` when it has one (a
    /// keygate JWT API key is revoked as the key), else by its digest. Effective at every
    /// broker's next sync.
    Revoke {
        #[command(flatten)]
        input: TokenInput,
        /// Why, for the audit log.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Prints a token's header and claims, NOT verified.
    Show {
        #[command(flatten)]
        input: TokenInput,
    },
    /// Verifies a token's signature and claims; prints the claims as JSON when it is valid, and
    /// exits 1 with the reason when it is not.
    Validate {
        /// Verify with this HMAC secret.
        #[arg(
            long,
            value_name = "KEY",
            required_unless_present = "public_key",
            conflicts_with = "public_key"
        )]
        secret_key: Option<String>,
        /// Verify with this public key (SubjectPublicKeyInfo, DER or PEM).
        #[arg(long, value_name = "KEY")]
        public_key: Option<String>,
        /// The algorithm. Defaults to HS256 for a secret key, and to the key's own kind for a
        /// public key (RS256 for RSA).
        #[arg(short = 'a', long)]
        algorithm: Option<String>,
        /// Require this audience; without it, a token that names an audience is refused.
        #[arg(long)]
        audience: Option<String>,
        /// Require this issuer.
        #[arg(long)]
        issuer: Option<String>,
        /// Accept a token without an expiry (one that never expires).
        #[arg(long)]
        allow_no_expiry: bool,
        #[command(flatten)]
        input: TokenInput,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum PrincipalCommand {
    /// Creates one.
    Create {
        /// Its name: lowercase letters, digits, and . _ - @ (at most 64 characters).
        name: String,
        /// A note for operators.
        #[arg(long)]
        description: Option<String>,
        /// A name to show.
        #[arg(long)]
        display_name: Option<String>,
    },
    /// Lists them, in name order.
    List,
    /// Signs one out everywhere: every credential of it issued before now (its API keys, and
    /// tokens minted for it elsewhere) is refused; keys issued afterwards work.
    SignOut {
        /// Its name.
        name: String,
    },
    /// Deletes one, revoking and deleting every API key it owns.
    Delete {
        /// Its name.
        name: String,
        /// Confirm: this cannot be undone.
        #[arg(long)]
        yes: bool,
    },
}

/// The principal a key belongs to.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub(crate) struct Owner {
    /// A service account.
    #[arg(long, value_name = "NAME")]
    pub(crate) service_account: Option<String>,
    /// A user.
    #[arg(long, value_name = "NAME")]
    pub(crate) user: Option<String>,
}

/// Where a key is valid.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub(crate) struct ScopeArgs {
    /// One resource: a cluster, tenant or namespace, as KIND/ID (kafka-cluster/lkc-abc123,
    /// pulsar-tenant/acme).
    #[arg(long, value_name = "KIND/ID")]
    pub(crate) resource: Option<String>,
    /// The organization's management API (cloud/, Confluent's "cloud" keys).
    #[arg(long)]
    pub(crate) cloud: bool,
    /// Everything.
    #[arg(long)]
    pub(crate) global: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ApiKeyCommand {
    /// Issues a key and prints its id and secret, this once.
    ///
    /// A Kafka client using SASL/PLAIN passes the key id as the username and the secret as the
    /// password; the secret alone also works as a bearer credential.
    Create {
        #[command(flatten)]
        owner: Owner,
        #[command(flatten)]
        scope: ScopeArgs,
        /// How long it lives (30d, 90d, 1y), `never` if the policy allows it, or when it
        /// expires (2027-03-01T00:00:00Z). Defaults to the longest the policy allows.
        #[arg(allow_hyphen_values = true, long, value_name = "SPAN|never|DATE")]
        expiry: Option<String>,
        /// opaque (a `kgk_...` key checked against a stored digest) or jwt (a signed token).
        #[arg(long, default_value = "opaque", value_parser = ["opaque", "jwt"])]
        format: String,
        /// Restrict the key to this operation (produce, consume, describe, admin, ...),
        /// repeatable.
        #[arg(long = "permission", value_name = "P")]
        permissions: Vec<String>,
        /// A note for operators.
        #[arg(long)]
        description: Option<String>,
    },
    /// Lists API keys, narrowed by owner, resource or state.
    List {
        /// Keys of this service account.
        #[arg(long, value_name = "NAME")]
        service_account: Option<String>,
        /// Keys of this user.
        #[arg(long, value_name = "NAME")]
        user: Option<String>,
        /// Keys scoped to exactly this resource.
        #[arg(long, value_name = "KIND/ID")]
        resource: Option<String>,
        /// Keys in this state now.
        #[arg(long, value_parser = ["active", "pending", "expired", "suspended", "revoked"])]
        state: Option<String>,
        /// Keys nobody has used for this long (30d): not used since, or never, and older than
        /// that. Brokers, the proxy and the gateways report uses to the minute.
        #[arg(allow_hyphen_values = true, long, value_name = "SPAN")]
        unused_since: Option<String>,
    },
    /// Shows everything about one key but its secret.
    Describe {
        /// The key id.
        key: String,
    },
    /// Changes a key's description.
    Update {
        /// The key id.
        key: String,
        /// The new description.
        #[arg(long)]
        description: String,
    },
    /// Issues a replacement and lets the old key live on for an overlap.
    Rotate {
        /// The key id.
        key: String,
        /// How long the old key keeps working (the policy's default, 24h, when absent).
        #[arg(allow_hyphen_values = true, long, value_name = "SPAN")]
        overlap: Option<String>,
        /// Rotate it even though it was rotated already (another replacement is issued).
        #[arg(long)]
        force: bool,
    },
    /// Suspends a key until it is resumed.
    Suspend {
        /// The key id.
        key: String,
    },
    /// Resumes a suspended key.
    Resume {
        /// The key id.
        key: String,
    },
    /// Revokes a key, for good, effective at every broker's next sync.
    Revoke {
        /// The key id.
        key: String,
        /// Why, for the audit log.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Deletes a revoked or expired key; with --yes, a live key too, revoking it first (as
    /// `confluent api-key delete` does).
    Delete {
        /// The key id.
        key: String,
        /// Revoke the key first if it is still live.
        #[arg(long)]
        yes: bool,
    },
    /// Lists keys due for rotation under the policy's rotation period, the longest overdue
    /// first.
    Due,
    /// Lists usable keys that expire within a window, soonest first.
    Expiring {
        /// The window.
        #[arg(allow_hyphen_values = true, long, value_name = "SPAN", default_value = "14d")]
        within: String,
    },
    /// Authenticates a credential exactly as a broker would; prints the identity as JSON, or
    /// exits 1 with the reason.
    Verify {
        /// The resource the broker serves, as KIND/ID.
        #[arg(long, value_name = "KIND/ID")]
        resource: String,
        /// The operation to check.
        #[arg(long, value_name = "P")]
        permission: Option<String>,
        /// The key id (the SASL/PLAIN username), followed by SECRET.
        #[arg(value_name = "KEY_ID", requires = "secret", conflicts_with_all = ["key", "token", "stdin"])]
        key_id: Option<String>,
        /// The secret (the SASL/PLAIN password).
        #[arg(value_name = "SECRET")]
        secret: Option<String>,
        /// The single-string key, kgk_...
        #[arg(long, value_name = "STRING", conflicts_with_all = ["token", "stdin"])]
        key: Option<String>,
        /// A JWT API key.
        #[arg(long, value_name = "JWT", conflicts_with = "stdin")]
        token: Option<String>,
        /// Read the credential (a kgk_... key or a JWT) from standard input.
        #[arg(short = 'i', long = "stdin")]
        stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum SigningKeyCommand {
    /// Generates a signing key and keeps it in the store. The first becomes active; later ones
    /// verify only, until promoted.
    Create {
        /// The algorithm (EdDSA, ES256, ES384, HS256, HS384, HS512).
        #[arg(short = 'a', long, default_value = "EdDSA")]
        algorithm: String,
        /// Its key id; generated when absent.
        #[arg(long)]
        kid: Option<String>,
    },
    /// Lists the signing keys.
    List,
    /// Makes a key the one that signs new JWT API keys; the previous one keeps verifying.
    Promote {
        /// The key id.
        kid: String,
    },
    /// Removes a verifying key: the tokens it signed stop verifying. If live JWT API keys were
    /// signed with it, says which and changes nothing unless given --yes.
    Retire {
        /// The key id.
        kid: String,
        /// Retire it even though the JWT API keys it signed then stop working.
        #[arg(long)]
        yes: bool,
    },
    /// Prints the public signing keys as a JWKS.
    Jwks,
}

#[derive(Debug, Subcommand)]
pub(crate) enum PolicyCommand {
    /// Shows the policy in force: the store's, or the built-in default until one is set.
    Show,
    /// Changes the policy for every writer of the store; what is not given stays as it is.
    /// Audited. Keys issued before keep their lifetimes.
    Set {
        /// The longest lifetime of a new key, or `never` to allow keys that never expire.
        #[arg(allow_hyphen_values = true, long, value_name = "SPAN|never")]
        max_lifetime: Option<String>,
        /// The shortest lifetime of a new key.
        #[arg(allow_hyphen_values = true, long, value_name = "SPAN")]
        min_lifetime: Option<String>,
        /// Whether users (not only service accounts) may own keys.
        #[arg(long, value_parser = ["allow", "deny"])]
        user_keys: Option<String>,
        /// The most live keys one principal may hold.
        #[arg(long, value_name = "N")]
        max_keys_per_principal: Option<u32>,
        /// The most live keys scoped to one resource, or `none`.
        #[arg(long, value_name = "N|none")]
        max_keys_per_resource: Option<String>,
        /// How long a rotated key keeps working, by default.
        #[arg(allow_hyphen_values = true, long, value_name = "SPAN")]
        rotation_overlap: Option<String>,
        /// How old a key may get before it is due for rotation (`api-key due`), or `none`.
        #[arg(allow_hyphen_values = true, long, value_name = "SPAN|none")]
        rotation_period: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum ResourceCommand {
    /// Deletes a resource as far as keys go: revokes every key scoped to it or to a part of it
    /// (a Pulsar tenant's namespaces), in one step, and refuses new keys for it until it is
    /// restored.
    Delete {
        /// The resource, as KIND/ID.
        resource: String,
        /// Confirm: the keys cannot be brought back.
        #[arg(long)]
        yes: bool,
    },
    /// Lets a deleted resource have keys again (the keys its deletion revoked stay revoked).
    Restore {
        /// The resource, as KIND/ID.
        resource: String,
    },
    /// Lists the resources that keys are scoped to, with their live keys, and the deleted ones.
    List,
}

#[derive(Debug, Subcommand)]
pub(crate) enum RoleBindingCommand {
    /// Binds a principal to a role: OrganizationAdmin (everything), ServiceAccountOwner of one
    /// service account (its keys; name it with --of), or Viewer (read everything but secrets).
    ///
    /// The first administrator is made here, by whoever holds the store:
    /// `keygate role-binding create --service-account ops-bot --role OrganizationAdmin`.
    Create {
        #[command(flatten)]
        principal: Owner,
        #[command(flatten)]
        role: RoleArgs,
    },
    /// Lists role bindings, of one principal when named.
    List {
        #[command(flatten)]
        principal: Option<PrincipalArgs>,
    },
    /// Removes a role binding.
    Delete {
        #[command(flatten)]
        principal: Owner,
        #[command(flatten)]
        role: RoleArgs,
    },
}

/// A role, and the service account it is about where it takes one.
#[derive(Debug, Args)]
pub(crate) struct RoleArgs {
    /// OrganizationAdmin, ServiceAccountOwner or Viewer.
    #[arg(long, value_name = "ROLE")]
    pub(crate) role: String,
    /// The service account a ServiceAccountOwner owns.
    #[arg(long, value_name = "SERVICE_ACCOUNT")]
    pub(crate) of: Option<String>,
}

/// A principal to filter by.
#[derive(Debug, Args)]
#[group(required = false, multiple = false)]
pub(crate) struct PrincipalArgs {
    /// A service account.
    #[arg(long, value_name = "NAME")]
    pub(crate) service_account: Option<String>,
    /// A user.
    #[arg(long, value_name = "NAME")]
    pub(crate) user: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// Lists the newest audit events (up to --limit), oldest first.
    List {
        /// Events at or after this instant (2026-11-01T00:00:00Z), or this long ago (24h, 7d).
        #[arg(allow_hyphen_values = true, long, value_name = "TIME|SPAN")]
        since: Option<String>,
        /// Events about this key.
        #[arg(long, value_name = "KEY")]
        key: Option<String>,
        /// Events about this principal.
        #[arg(long, value_name = "NAME")]
        principal: Option<String>,
        /// How many of the newest events to print.
        #[arg(long, default_value_t = 1000)]
        limit: usize,
    },
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
