//! `keygate serve`: the control plane over the store this command opened.

use keygate_server::{App, AppConfig};
use tokio::net::TcpListener;

use crate::cli::ServeArgs;
use crate::error::Failure;
use crate::store::Workspace;

pub(crate) async fn run(args: ServeArgs, workspace: &Workspace) -> Result<(), Failure> {
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(
            keygate_server::tls_acceptor(cert, key).map_err(|e| Failure::error(e.to_string()))?,
        ),
        _ => None,
    };
    if tls.is_none() {
        keygate_server::check_plaintext(args.listen, args.insecure_http)
            .map_err(|e| Failure::error(e.to_string()))?;
    }
    let mut config = AppConfig::default()
        .with_auth_failure_budget(args.auth_failure_burst, std::time::Duration::from_secs(6));
    config.tls = tls.is_some();
    if let Some(url) = args.public_url {
        config = config.with_public_url(url);
    }
    let manager = workspace.serving_manager().await?;
    let app = App::start(manager, config)
        .await
        .map_err(|e| Failure::error(format!("cannot start: {e}")))?;
    let listener = TcpListener::bind(args.listen)
        .await
        .map_err(|e| Failure::error(format!("cannot listen on {}: {e}", args.listen)))?;
    let address = listener.local_addr().map_err(|e| Failure::error(e.to_string()))?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    println!("keygate: the control plane is listening on {scheme}://{address}");
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    keygate_server::serve(app, listener, tls, shutdown)
        .await
        .map_err(|e| Failure::error(e.to_string()))
}
