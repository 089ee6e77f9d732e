//! `mapframe sample …` (to be written).

use super::{CliError, Outcome};
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum SampleCommand {
    /// Draw a sample.
    Draw,
}

pub fn run(_cmd: SampleCommand) -> Result<Outcome, CliError> {
    Err(CliError::Input("not yet".into()))
}
