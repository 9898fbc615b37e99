use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    revoke_role_bot::telemetry::install_crypto_provider();
    let cli = revoke_role_bot::cli::Cli::parse();
    // The demo prints what people see, and `health` runs every few seconds: logs would only get in the way.
    let quiet = matches!(
        cli.command,
        Some(revoke_role_bot::cli::Cmd::Demo | revoke_role_bot::cli::Cmd::Health { .. })
    );
    revoke_role_bot::telemetry::init(if quiet {
        "warn"
    } else {
        "info,aws_config=warn,aws_smithy_runtime=warn"
    });
    match revoke_role_bot::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
