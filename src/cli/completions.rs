//! `cleansplit completions SHELL` and `cleansplit man`: shell completion scripts and man
//! pages generated from the clap definitions, so they never drift from the real options.

use super::out::outln;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::CommandFactory;
use clap_complete::Shell;

#[derive(clap::Args, Debug)]
#[command(
    about = "Print a shell completion script (bash, zsh, fish, powershell, elvish)",
    after_help = "Examples:\n  \
        cleansplit completions bash > ~/.local/share/bash-completion/completions/cleansplit\n  \
        cleansplit completions zsh > ~/.zfunc/_cleansplit\n  \
        cleansplit completions fish > ~/.config/fish/completions/cleansplit.fish"
)]
pub struct CompletionArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: Shell,
}

#[derive(clap::Args, Debug)]
#[command(
    about = "Print the man page (roff), or write one page per command into a folder",
    after_help = "Examples:\n  \
        cleansplit man | man -l -\n  \
        cleansplit man --out ~/.local/share/man/man1"
)]
pub struct ManArgs {
    /// Write cleansplit.1 and cleansplit-COMMAND.1 for every command into this folder.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

pub fn completions(args: CompletionArgs) -> Result<ExitCode> {
    let mut cmd = super::Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "cleansplit", &mut script);
    print_bytes(&script)
}

/// Writes to stdout; a reader that stops early (`| head`) is not an error.
fn print_bytes(bytes: &[u8]) -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(ExitCode::SUCCESS),
    }
}

pub fn man(args: ManArgs) -> Result<ExitCode> {
    let cmd = super::Cli::command();
    match &args.out {
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(cmd).render(&mut page)?;
            return print_bytes(&page);
        }
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            let mut pages = vec![("cleansplit.1".to_string(), cmd.clone())];
            for sub in cmd.get_subcommands() {
                // Sub-pages are named and titled like git's (`cleansplit-split(1)`).
                let name = format!("cleansplit-{}", sub.get_name());
                let file = format!("{name}.1");
                // clap takes a &'static str here (without its `string` feature); a handful of
                // short names live until the process ends a moment later.
                pages.push((file, sub.clone().name(String::leak(name) as &str)));
            }
            // All pages appear together, each written atomically (`output::atomic`).
            let mut staged = cleansplit::output::atomic::Staged::new();
            let mut written = Vec::new();
            for (file, page) in pages {
                let mut bytes = Vec::new();
                clap_mangen::Man::new(page).render(&mut bytes)?;
                let path = dir.join(&file);
                staged.bytes(&path, &bytes)?;
                written.push(path);
            }
            staged.commit()?;
            for path in written {
                outln!("{}", path.display());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
