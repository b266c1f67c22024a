//! `keyward`: the server and its admin command line. This file holds the command line's top level
//! and sends each subcommand to its module.

mod admin;
mod data_dir;
mod serve;

use std::io::IsTerminal;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "keyward",
    version,
    about = "A self-hosted AWS IAM and STS endpoint"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server.
    // Boxed: the server's flags outweigh every admin command's.
    Serve(Box<serve::ServeArgs>),
    /// Administer the store directly (works while the server runs).
    #[command(subcommand)]
    Admin(admin::AdminCommand),
}

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("start the async runtime")?;
    match cli.command {
        Command::Serve(args) => runtime.block_on(serve::run(*args)),
        Command::Admin(command) => runtime.block_on(admin::run(command)),
    }
}
