//! The administrative commands and their arguments; the settings they share are in `Config`.

use std::path::PathBuf;

use clap::Subcommand;

use super::Secret;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (the default when no command is given)
    Serve,
    /// Manage users
    #[command(subcommand)]
    User(UserCommand),
    /// Manage projects
    #[command(subcommand)]
    Project(ProjectCommand),
    /// Manage personal API keys
    #[command(subcommand)]
    Key(KeyCommand),
    /// Manage GitHub integrations that tasks can refer to
    #[command(subcommand)]
    Integration(IntegrationCommand),
    /// Check the artifact store
    #[command(subcommand)]
    Storage(StorageCommand),
    /// Write a consistent copy of the database to FILE, even while the server runs
    Backup {
        /// The new backup file (must not exist)
        file: PathBuf,
    },
    /// Replace the database with a backup (stop the server first); the old one is kept
    Restore {
        /// A file written by `burrow backup`
        file: PathBuf,
    },
    /// Write every project's tasks, runs and logs (and users, projects) as JSON Lines
    Export {
        /// The output file (made 0600); standard output when omitted
        file: Option<PathBuf>,
        /// Also write users' password hashes (without them, imported users set a new password)
        #[arg(long)]
        include_secrets: bool,
        /// Also write the artifacts' contents, so that `import` puts them in its own store
        #[arg(long)]
        with_artifacts: bool,
    },
    /// Read an export into an empty data folder
    Import {
        /// A file written by `burrow export`
        file: PathBuf,
    },
    /// Claim queued cloud runs from a Burrow server and run the ACP agent on them, on this machine
    Worker {
        /// The server's base URL, e.g. https://burrow.example.com
        #[arg(long)]
        server: String,
        /// A personal API key with task:write
        #[arg(long, env = "BURROW_WORKER_KEY", hide_env_values = true)]
        key: Secret,
        /// A project to take runs from (repeatable; default: project 1)
        #[arg(long = "project")]
        projects: Vec<i64>,
    },
    /// Delete stored artifacts that no run's manifest refers to, and report them
    Gc {
        /// Only report what would be deleted
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum StorageCommand {
    /// Write, read, list and delete a probe object, and say exactly what failed
    Check,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; prints a generated password when none is given
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        password: Option<String>,
        #[arg(long, default_value = "")]
        first_name: String,
        #[arg(long, default_value = "")]
        last_name: String,
        /// Make the user an administrator (the first user always is one)
        #[arg(long)]
        admin: bool,
    },
    /// Set a user's password and end their sessions; prints a generated one when none is given
    SetPassword {
        #[arg(long)]
        email: String,
        #[arg(long)]
        password: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    /// Create a project in the default organization; prints its id
    Create {
        #[arg(long)]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Create a personal API key (and the user, if needed); prints only the key
    Create {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "cli")]
        label: String,
        /// Comma-separated scopes: task:read, task:write, or *
        #[arg(long, value_delimiter = ',', required = true)]
        scopes: Vec<String>,
        /// Limit the key to this project (repeatable); default: every project of the user
        #[arg(long = "project")]
        projects: Vec<i64>,
    },
    /// List a user's keys
    List {
        #[arg(long)]
        email: String,
    },
    /// Revoke a key by its id
    Revoke {
        #[arg(long)]
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum IntegrationCommand {
    /// Register a GitHub integration for a project; prints its id
    Create {
        #[arg(long)]
        project: i64,
        /// The GitHub account or organization the integration is installed on
        #[arg(long)]
        account: String,
    },
}
