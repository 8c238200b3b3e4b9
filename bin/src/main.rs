//! The `switchboard` binary: parses the command line and runs the chosen command.

use clap::Parser;
use std::process::ExitCode;
use switchboard::cli::{Cli, Command, KeysAction, MigrateAction};
use switchboard::{bot_commands, commands, key_commands, run, telemetry, Mode, Settings};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let env = std::env::vars().collect();
    let settings = match Settings::load(cli.config.as_deref(), &env) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("invalid configuration: {error}");
            return ExitCode::FAILURE;
        }
    };
    let traces = match telemetry::init_with_traces(&settings.log, settings.traces.as_ref()) {
        Ok(traces) => traces,
        Err(error) => {
            eprintln!("cannot start the trace exporter: {error}");
            return ExitCode::FAILURE;
        }
    };
    let executed = execute(cli.command, &settings).await;
    if let Err(error) = &executed {
        tracing::error!(%error, "failed");
        eprintln!("error: {error}");
    }
    // After a SIGTERM too: `serve` and `worker` return once stopped, and the last spans go out.
    if let Some(traces) = traces {
        traces.shutdown().await;
    }
    match executed {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::FAILURE,
    }
}

async fn execute(command: Command, settings: &Settings) -> Result<(), commands::CommandError> {
    match command {
        Command::Serve => serve(settings, Mode::Serve).await,
        Command::Worker => serve(settings, Mode::Worker).await,
        Command::Migrate { action } => {
            commands::migrate(settings, action.unwrap_or(MigrateAction::Up)).await
        }
        Command::Config { action } => commands::config(settings, action),
        Command::ApiKeys { action } => key_commands::api_keys(settings, action).await,
        Command::Bots { action } => bot_commands::bots(settings, action).await,
        Command::Keys {
            action: KeysAction::Rotate { new_key },
        } => commands::rotate_keys(settings, new_key).await,
        Command::Backup { file } => commands::backup(settings, &file).await,
        Command::Restore { file, replace } => commands::restore(settings, &file, replace).await,
    }
}

async fn serve(settings: &Settings, mode: Mode) -> Result<(), commands::CommandError> {
    let running = switchboard::start(settings, mode).await?;
    run::shutdown_signal().await;
    tracing::info!("shutting down");
    running.shutdown().await;
    Ok(())
}
