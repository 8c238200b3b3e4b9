//! The command line: `serve`, `worker`, `migrate`, `config`, `api-keys`, `bots`.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "switchboard",
    version,
    about = "Self-hosted backend for AI chat bots on many platforms"
)]
pub struct Cli {
    /// A TOML configuration file (also `SWITCHBOARD_CONFIG`).
    #[arg(long, global = true, env = "SWITCHBOARD_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server and in-process workers.
    Serve,
    /// Run workers only (scaled-out deployments).
    Worker,
    /// Apply (the default), revert or list database migrations.
    Migrate {
        #[command(subcommand)]
        action: Option<MigrateAction>,
    },
    /// Validate or print the effective configuration.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Manage admin API keys.
    ApiKeys {
        #[command(subcommand)]
        action: ApiKeysAction,
    },
    /// Create and list bots.
    Bots {
        #[command(subcommand)]
        action: BotsAction,
    },
    /// Master-key rotation.
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
    /// Copy the SQLite database into the new FILE while the server runs (PostgreSQL: refused,
    /// with the `pg_dump` command to use).
    Backup { file: PathBuf },
    /// Put the SQLite backup FILE in place as `database.url`'s database; stop the instance first.
    Restore {
        file: PathBuf,
        /// Replace the database that is there (the instance must be stopped).
        #[arg(long)]
        replace: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysAction {
    /// Seal every secret (platform credentials, provider keys) again under one key, in one
    /// transaction: `--new-key`, or else `security.master_key` (opening what
    /// `security.previous_master_key` sealed). See docs/operations.md for the drill.
    Rotate {
        /// The key to seal under (standard base64 of 32 random bytes); the configured keys
        /// open what is there now. Also read from SWITCHBOARD_NEW_MASTER_KEY.
        #[arg(long, env = "SWITCHBOARD_NEW_MASTER_KEY", hide_env_values = true)]
        new_key: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, Subcommand)]
pub enum MigrateAction {
    /// Apply every pending migration.
    Up,
    /// Revert the latest migration, or the latest STEPS; `--all` reverts every one. What a
    /// reverted migration added is dropped with its data.
    Down {
        #[arg(default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..), conflicts_with = "all")]
        steps: u32,
        /// Revert every applied migration.
        #[arg(long)]
        all: bool,
    },
    /// List the migrations, applied or pending.
    Status,
}

#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Exit 0 when the configuration is valid, else print why and exit 1.
    Check,
    /// Print the effective configuration with secrets redacted.
    Show,
}

#[derive(Debug, Subcommand)]
pub enum ApiKeysAction {
    /// Create a key and print it alone on stdout, once.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long, value_enum)]
        role: RoleArg,
        /// Days until the key expires; without it, the key never expires.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=36_500))]
        expires_in_days: Option<u32>,
    },
    /// List the keys (never the keys themselves): a table, or JSON lines with `--json`.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key by its id: it is refused from then on.
    Revoke { id: domain::ApiKeyId },
}

#[derive(Debug, Subcommand)]
pub enum BotsAction {
    /// Create a bot and print its id alone on stdout.
    Create(NewBot),
    /// List the bots: a table, or JSON lines with `--json`.
    List {
        #[arg(long)]
        json: bool,
    },
}

/// A bot's fields, checked as `POST /api/v1/bots` checks them.
#[derive(Debug, Args)]
pub struct NewBot {
    #[arg(long)]
    pub name: String,
    #[arg(long, default_value = "")]
    pub system_prompt: String,
    /// The model to ask; without it, the configured `ai.model`.
    #[arg(long)]
    pub model: Option<String>,
    /// 0 to 2.
    #[arg(long, allow_negative_numbers = true)]
    pub temperature: Option<f32>,
    /// Sent when the model cannot answer; without it, a built-in apology.
    #[arg(long)]
    pub fallback_message: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    Admin,
    Operator,
    Viewer,
}

impl From<RoleArg> for domain::Role {
    fn from(role: RoleArg) -> Self {
        match role {
            RoleArg::Admin => Self::Admin,
            RoleArg::Operator => Self::Operator,
            RoleArg::Viewer => Self::Viewer,
        }
    }
}
