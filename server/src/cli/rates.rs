//! `mapframe rates` (to be written).

use super::{CliError, Outcome};
use clap::Args;

#[derive(Debug, Args)]
pub struct RatesArgs {}

pub fn run(_args: RatesArgs) -> Result<Outcome, CliError> {
    Err(CliError::Input("not yet".into()))
}
