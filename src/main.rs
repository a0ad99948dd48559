//! The `llmrace` command: parse the command line, build the runtime, call the library, turn
//! errors into messages and exit codes (2 for usage and configuration errors).

use std::process::ExitCode;

use clap::Parser;
use llmrace::{Cli, Command};

/// mimalloc rather than glibc's malloc: an event's text is allocated by the runtime's worker and
/// freed by the pipeline's thread, the slow path of glibc's arenas; mimalloc frees it to its
/// owner's list cheaply. BENCHMARKS.md ("From event to snapshot, third pass") measures it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help and version to stdout with exit 0, usage errors with exit 2.
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    // As servers do: a race at a high concurrency needs more than the default 1024 files.
    llmrace::raise_open_file_limit();
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    // A race's workers let segments gather before they wait (`rx_time::gather`); a server
    // (the mock) writes as soon as it can.
    let command = cli.into_command();
    if matches!(command, Command::Race(_) | Command::Sweep(_)) {
        runtime.on_thread_park(llmrace::gather_before_park);
    }
    let runtime = match runtime.enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = match command {
        Command::Race(args) => runtime.block_on(llmrace::race_command(&args)),
        Command::Mock(args) => runtime.block_on(llmrace::mock_command(&args)),
        Command::Init(args) => llmrace::init_command(&args),
        Command::Replay(args) => runtime.block_on(llmrace::replay_command(&args)),
        Command::Report(args) => llmrace::report_command(&args),
        Command::Compare(args) => llmrace::compare_command(&args),
        Command::Sweep(args) => runtime.block_on(llmrace::sweep_command(&args)),
        Command::Merge(args) => llmrace::merge_command(&args),
        Command::Share(args) => llmrace::share_command(&args),
    };
    // Mock servers and abandoned connections must not delay the exit.
    runtime.shutdown_background();
    match result {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(e) => {
            // Not `eprintln!`: with the terminal gone (SIGHUP) it would panic.
            llmrace::print_error(&format!("error: {e}"));
            ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(1))
        }
    }
}
