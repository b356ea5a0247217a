//! `zabkeeper validate-trace DIR`: checks that the step logs real servers wrote
//! (`ZABKEEPER_TRACE=DIR`) are one run of the model ([`crate::validate`]).

use crate::validate;
use clap::Args;
use std::path::PathBuf;

/// Arguments of `validate-trace`.
#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// The directory the servers traced into (`ZABKEEPER_TRACE`).
    pub dir: PathBuf,
}

/// Prints what was checked; false (exit 1) with the first bad step when the run is not one of
/// the model.
pub fn run(args: ValidateArgs) -> Result<bool, String> {
    match validate::validate(&args.dir) {
        Ok(report) => {
            print!("{report}");
            Ok(true)
        }
        Err(rejection) => {
            println!("not a run of the model: {rejection}");
            Ok(false)
        }
    }
}
