//! `mapframe kish` (to be written).

use super::{CliError, Outcome};
use clap::Args;

#[derive(Debug, Args)]
pub struct KishArgs {}

pub fn run(_args: KishArgs) -> Result<Outcome, CliError> {
    Err(CliError::Input("not yet".into()))
}
