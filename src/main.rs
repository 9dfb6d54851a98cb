//! The `cleansplit` binary: a thin shell over the library's command line (`cleansplit::cli`,
//! which the Python module's `cleansplit` program runs too).

fn main() -> std::process::ExitCode {
    cleansplit::cli::main()
}
