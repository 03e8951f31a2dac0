//! The command line: `hearth serve`, `hearth check-config`,
//! `hearth firewall-reset`, `hearth helper`, `hearth update-helper`,
//! `hearth console`, `hearth boot-check`, `--version`,
//! and `hearth oci-runtime`, the runtime a server's engine runs for runc
//! (its arguments are runc's, untouched: see `servers::oci_runtime`).
//!
//! Exit codes: 0 success, 2 bad config or usage, 1 runtime failure. An
//! error prints its whole chain of causes.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{self, Mode};
use crate::daemon::{self, ConfigSource};
use crate::logging;

const EXIT_RUNTIME: u8 = 1;
const EXIT_CONFIG: u8 = 2;
/// The subcommand a server's engine runs in runc's place.
const OCI_RUNTIME: &str = "oci-runtime";

#[derive(Parser)]
#[command(
    name = "hearth",
    version,
    about = "The home-server appliance control daemon"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon.
    Serve {
        /// Config file (default: /etc/hearth/hearth.toml; none with --dev).
        #[arg(long, value_name = "PATH")]
        config: Option<PathBuf>,
        /// Local development defaults: ./.hearth, https://127.0.0.1:8443.
        #[arg(long)]
        dev: bool,
        /// Run even as root (a development machine, a test): hearth
        /// refuses otherwise.
        #[arg(long)]
        allow_root: bool,
    },
    /// Put the boot-time firewall back (hearth's table removed, the base
    /// table of /etc/nftables.conf loaded) in one transaction: the safe
    /// state, in which the web ports and hearth's port answer. A running
    /// hearth applies its policy again; stop it first to keep the reset.
    FirewallReset,
    /// Run the servers' privileged helper (as root; see
    /// systemd/hearth-helper.service): the one process that makes the
    /// servers' users and storage, asked only by `--client-user`.
    Helper {
        /// Where to listen (mode 0660, group of the client user).
        #[arg(long, value_name = "PATH", default_value = "/run/hearth-helper.sock")]
        socket: PathBuf,
        /// The only user served: hearth's.
        #[arg(long, value_name = "USER", default_value = "hearth")]
        client_user: String,
        /// The servers' storage root.
        #[arg(long, value_name = "PATH", default_value = crate::config::paths::SERVERS_STORAGE)]
        storage: PathBuf,
        /// The servers' runtime root (their engines' sockets).
        #[arg(long, value_name = "PATH", default_value = crate::config::paths::SERVERS_RUN)]
        run_dir: PathBuf,
    },
    /// Run the update helper (as root; see
    /// systemd/hearth-update-helper.service): the one process that writes
    /// the root slot that does not run, its boot files and entry, asked
    /// only by `--client-user`.
    UpdateHelper {
        /// Where to listen (mode 0660, group of the client user).
        #[arg(
            long,
            value_name = "PATH",
            default_value = "/run/hearth-update-helper/socket"
        )]
        socket: PathBuf,
        /// The only user served: hearth's.
        #[arg(long, value_name = "USER", default_value = "hearth")]
        client_user: String,
    },
    /// The recovery console on this terminal (systemd runs it as root on
    /// tty1 and ttyS0; see systemd/hearth-console@.service): the box's
    /// addresses, certificate and setup code, and the resets, with or
    /// without a running hearth.
    Console {
        /// Config file (default: /etc/hearth/hearth.toml).
        #[arg(long, value_name = "PATH")]
        config: Option<PathBuf>,
        /// The terminal's name for the audit log (default: standard
        /// input's, e.g. ttyS0).
        #[arg(long, value_name = "NAME")]
        tty: Option<String>,
        /// Local development defaults, as `hearth serve --dev`.
        #[arg(long)]
        dev: bool,
    },
    /// Judge a trial boot of a newly written root slot (as root, run by
    /// systemd/hearth-boot-check.service before boot-complete.target):
    /// succeeds once hearth answers with no component down for the
    /// settle time; fails at the deadline, or when hearth.service keeps
    /// being restarted, and the unit then reboots (one try spent).
    BootCheck {
        /// How long hearth must stay up without a break.
        #[arg(long, value_name = "SECONDS", default_value_t = 20)]
        settle: u64,
        /// How long after the start the slot is judged bad.
        #[arg(long, value_name = "SECONDS", default_value_t = 180)]
        deadline: u64,
        /// Restarts of hearth.service that make the slot bad at once.
        #[arg(long, value_name = "N", default_value_t = 3)]
        max_restarts: u32,
        /// Config file (for the control socket's folder).
        #[arg(long, value_name = "PATH")]
        config: Option<PathBuf>,
    },
    /// Validate a config file and exit.
    CheckConfig {
        path: PathBuf,
        /// Apply the --dev defaults while checking.
        #[arg(long)]
        dev: bool,
    },
}

pub fn main() -> ExitCode {
    // Before clap: runc's own options (`--root`, `--version`...) follow.
    let mut args = std::env::args_os().skip(1);
    if args.next().is_some_and(|first| first == OCI_RUNTIME) {
        return crate::servers::oci_runtime::main(args.collect());
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(EXIT_CONFIG)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match cli.command {
        Command::Serve {
            config,
            dev,
            allow_root,
        } => serve(config, mode(dev), allow_root),
        Command::CheckConfig { path, dev } => check_config(path, mode(dev)),
        Command::FirewallReset => firewall_reset(),
        Command::BootCheck {
            settle,
            deadline,
            max_restarts,
            config,
        } => boot_check(
            config,
            crate::control::boot_check::Limits {
                settle: std::time::Duration::from_secs(settle),
                deadline: std::time::Duration::from_secs(deadline),
                max_restarts,
            },
        ),
        Command::Console { config, tty, dev } => console(config, tty, mode(dev)),
        Command::Helper {
            socket,
            client_user,
            storage,
            run_dir,
        } => helper(&socket, &client_user, &storage, &run_dir),
        Command::UpdateHelper {
            socket,
            client_user,
        } => update_helper(&socket, &client_user),
    }
}

fn mode(dev: bool) -> Mode {
    if dev { Mode::Dev } else { Mode::Production }
}

fn serve(path: Option<PathBuf>, mode: Mode, allow_root: bool) -> ExitCode {
    let config = match config::load(path.as_deref(), mode) {
        Ok(c) => c,
        Err(e) => {
            print_error(&e);
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let log = logging::init(&config.log);
    // Before any thread is started: threads inherit the sets.
    match crate::system::privileges::settle(&config, allow_root) {
        Ok(kept) => {
            tracing::info!(capabilities = ?kept, "privileges settled: no_new_privs set, every other capability dropped")
        }
        Err(e) => {
            print_error(&e);
            return ExitCode::from(EXIT_RUNTIME);
        }
    }
    // Before the first large allocation.
    daemon::allocator::return_large_allocations();
    let runtime = match runtime(tokio::runtime::Builder::new_multi_thread()) {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let source = ConfigSource { path, mode };
    let notifier = std::sync::Arc::new(daemon::SdNotifier);
    match runtime.block_on(daemon::run(
        config,
        source,
        log,
        notifier,
        std::future::pending(),
    )) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            print_error(&e);
            ExitCode::from(EXIT_RUNTIME)
        }
    }
}

fn console(path: Option<PathBuf>, tty: Option<String>, mode: Mode) -> ExitCode {
    // A broken config file must not take the recovery console away: it
    // runs on the defaults (the appliance's paths) and says so.
    let (config, problem) = match config::load(path.as_deref(), mode) {
        Ok(c) => (c, None),
        Err(e) => (
            config::Config::defaults(mode),
            Some(format!(
                "the config file is refused ({e}); using the defaults"
            )),
        ),
    };
    // To the journal (the unit's stderr), never onto the screen drawn.
    use std::io::IsTerminal;
    logging::init(if std::io::stderr().is_terminal() {
        "off"
    } else {
        "warn"
    });
    let terminal = crate::console::terminal_name(tty.as_deref());
    crate::console::run(config, &terminal, problem);
    ExitCode::SUCCESS
}

fn boot_check(path: Option<PathBuf>, limits: crate::control::boot_check::Limits) -> ExitCode {
    use crate::control::boot_check;
    // The appliance's paths when the config file is refused: the judge
    // must not pass a slot whose hearth cannot read its own config, and
    // hearth with a refused config does not answer.
    let config = config::load(path.as_deref(), Mode::Production)
        .unwrap_or_else(|_| config::Config::defaults(Mode::Production));
    let socket = config.runtime_dir.join(crate::control::SOCKET_FILE);
    match boot_check::run(&socket, limits, boot_check::restarts_of_hearth) {
        Ok(()) => {
            println!("hearth: this boot is good: hearth is up and nothing is down");
            ExitCode::SUCCESS
        }
        Err(why) => {
            eprintln!("hearth: this boot is bad: {why}");
            ExitCode::from(EXIT_RUNTIME)
        }
    }
}

fn firewall_reset() -> ExitCode {
    let nft = crate::firewall::adapter::NftBinary::system();
    let runtime = match runtime(tokio::runtime::Builder::new_current_thread()) {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    match runtime.block_on(crate::firewall::reset(&nft)) {
        Ok(()) => {
            println!("firewall reset: the boot-time ruleset is in force");
            ExitCode::SUCCESS
        }
        Err(e) => {
            print_error(&e);
            ExitCode::from(EXIT_RUNTIME)
        }
    }
}

/// A root helper's start: root checked (`job` says why it needs it), its
/// one client user found, its socket bound for that user's group.
fn helper_start(
    socket: &Path,
    client_user: &str,
    job: &str,
) -> Result<(nix::unistd::User, std::os::unix::net::UnixListener), ExitCode> {
    logging::init("info");
    if !nix::unistd::geteuid().is_root() {
        eprintln!("hearth: error: {job}: it must run as root");
        return Err(ExitCode::from(EXIT_RUNTIME));
    }
    let client = match nix::unistd::User::from_name(client_user) {
        Ok(Some(u)) => u,
        Ok(None) => {
            eprintln!("hearth: error: --client-user: no user named {client_user}");
            return Err(ExitCode::from(EXIT_CONFIG));
        }
        Err(e) => {
            print_error(&e);
            return Err(ExitCode::from(EXIT_RUNTIME));
        }
    };
    match crate::helper_socket::bind(socket, client.gid.as_raw()) {
        Ok(l) => Ok((client, l)),
        Err(e) => {
            eprintln!("hearth: error: cannot listen on {}: {e}", socket.display());
            Err(ExitCode::from(EXIT_RUNTIME))
        }
    }
}

fn helper(socket: &Path, client_user: &str, storage: &Path, run_dir: &Path) -> ExitCode {
    use crate::servers::helper::{Layout, execute, host::RealHost, serve};
    let job = "the helper makes users and mounts file systems";
    let (client, listener) = match helper_start(socket, client_user, job) {
        Ok(started) => started,
        Err(code) => return code,
    };
    let config = serve::HelperConfig {
        client_uid: client.uid.as_raw(),
        layout: Layout::new(storage, run_dir),
    };
    // The ports the servers' users may bind, as they were: before any
    // request, so that no server's engine starts unguarded. If the kernel
    // cannot, each server's start says so (its ports request fails).
    let restored = serve::exclusive(|| execute::restore_guard(&RealHost, &config.layout));
    if let Err(e) = restored {
        tracing::error!(error = %e, "helper: the servers' ports are not guarded");
    }
    tracing::info!(socket = %socket.display(), client = client_user, "helper: listening");
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);
    match serve::serve(&listener, &config, &RealHost) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            print_error(&e);
            ExitCode::from(EXIT_RUNTIME)
        }
    }
}

fn update_helper(socket: &Path, client_user: &str) -> ExitCode {
    use crate::update::slots::{Layout, host::RealHost, serve};
    let job = "the update helper writes a root partition and the boot partition";
    let (client, listener) = match helper_start(socket, client_user, job) {
        Ok(started) => started,
        Err(code) => return code,
    };
    let config = serve::UpdateHelperConfig {
        client_uid: client.uid.as_raw(),
        layout: Layout::system(),
    };
    tracing::info!(socket = %socket.display(), client = client_user, "update helper: listening");
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);
    match serve::serve(&listener, &config, &RealHost) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            print_error(&e);
            ExitCode::from(EXIT_RUNTIME)
        }
    }
}

fn check_config(path: PathBuf, mode: Mode) -> ExitCode {
    match config::load(Some(&path), mode) {
        Ok(_) => {
            println!("{}: ok", path.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            print_error(&e);
            ExitCode::from(EXIT_CONFIG)
        }
    }
}

/// A runtime from `builder`, or the exit code after saying why not.
fn runtime(mut builder: tokio::runtime::Builder) -> Result<tokio::runtime::Runtime, ExitCode> {
    builder.enable_all().build().map_err(|e| {
        print_error(&e);
        ExitCode::from(EXIT_RUNTIME)
    })
}

fn print_error(e: &dyn std::error::Error) {
    eprintln!("hearth: error: {e}");
    let mut source = e.source();
    while let Some(cause) = source {
        eprintln!("  caused by: {cause}");
        source = cause.source();
    }
}
