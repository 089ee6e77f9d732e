//! The `mapframe` binary. Everything lives in the library; this only hands over the arguments.

fn main() -> std::process::ExitCode {
    mapframe_server::cli::main(std::env::args_os())
}
