//! The command line: `mapframe <command> …`.
//!
//! Exit codes are part of the interface: 0 success; 1 the command ran and found a problem it was
//! asked to look for (an error-severity self-check finding); 2 the input could not be used (bad
//! arguments, unreadable file, malformed data) — with a message that says what and where.

mod demo;
mod form;
mod frame;
mod kish;
mod rates;
mod sample;
pub mod serve;
pub mod user;

use clap::{Parser, Subcommand};
use std::ffi::OsString;
use std::process::ExitCode;

/// mapframe: map-based household surveys — listing, sampling, interviews, supervision.
#[derive(Debug, Parser)]
#[command(name = "mapframe", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Listings and sampling frames: self-check, serpentine numbering, statistics.
    #[command(subcommand)]
    Frame(frame::FrameCommand),
    /// Questionnaires: inspect an XLSForm, run the interview engine on answers.
    #[command(subcommand)]
    Form(form::FormCommand),
    /// Probability samples: draw, verify, release reserve replicates.
    #[command(subcommand)]
    Sample(sample::SampleCommand),
    /// AAPOR outcome rates (RR1–RR6, COOP1–4, REF1–3, CON1–3) from final dispositions.
    Rates(rates::RatesArgs),
    /// Kish respondent selection tables.
    Kish(kish::KishArgs),
    /// Builds a demonstration project (neighbourhood, sample, questionnaire, team, fieldwork)
    /// and serves it.
    Demo(demo::DemoArgs),
    /// Runs the HTTP server (migrating the database first).
    Serve(serve::ServeArgs),
    /// Applies pending database migrations.
    Migrate(serve::MigrateArgs),
    /// Accounts: add, passwd, list, revoke.
    #[command(subcommand)]
    User(user::UserCommand),
}

/// What went wrong, for the exit code and the message.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The input could not be used; exit 2.
    #[error("{0}")]
    Input(String),
    /// A file could not be read or written; exit 2.
    #[error(transparent)]
    File(#[from] crate::files::FileError),
}

/// The outcome of a command that ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Ok,
    /// Exit 1: the command found what it was asked to look for (errors in a listing, a sample
    /// that does not reproduce).
    Found,
}

/// Runs the command line and returns the process exit code.
pub fn main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let result = match cli.command {
        Command::Frame(cmd) => frame::run(cmd),
        Command::Sample(cmd) => sample::run(cmd),
        Command::Form(cmd) => form::run(cmd),
        Command::Rates(args) => rates::run(args),
        Command::Kish(args) => kish::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Serve(args) => serve::run_serve(args),
        Command::Migrate(args) => serve::run_migrate(args),
        Command::User(cmd) => user::run(cmd),
    };
    match result {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::Found) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
