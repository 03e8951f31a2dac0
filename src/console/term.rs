//! The terminal: raw mode in, keys out, and the signals that concern a
//! console (a hang-up, a resize, SIGTERM).
//!
//! Raw mode (no echo, no line editing, no signals from keys): the console
//! reads single keystrokes and edits its own lines, and Ctrl-C arrives as
//! a key, which means "back to the menu", instead of killing the process.
//! The terminal's previous mode comes back when [`Tty`] is dropped.

use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
use nix::sys::termios::{self, SetArg, Termios};

/// What a read gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Char(char),
    Enter,
    Backspace,
    /// Ctrl-C: back to the menu.
    Interrupt,
    /// Ctrl-D: end of input, back to the menu.
    EndOfInput,
    /// Ctrl-L: draw again.
    Redraw,
    /// Nothing within the wait: time to refresh.
    Timeout,
    /// The terminal was resized (SIGWINCH): draw again.
    Resized,
    /// SIGHUP: whoever was there is gone; back to the menu.
    HungUp,
    /// The terminal is gone (read gave end of file or an error) or SIGTERM
    /// came: the process ends, and systemd starts it again.
    Closed,
    /// Anything else (an escape sequence, a control key).
    Other,
}

/// Where the console reads keys and draws.
pub trait Terminal {
    /// The next key, or [`Key::Timeout`] after `wait`.
    fn key(&mut self, wait: Duration) -> Key;
    fn draw(&mut self, text: &str);
    /// Gives the terminal back in its normal mode while `f` runs (a shell).
    fn suspended(&mut self, f: &mut dyn FnMut());
}

static RESIZED: AtomicBool = AtomicBool::new(false);
static HUNG_UP: AtomicBool = AtomicBool::new(false);
static TERMINATED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(signal: libc::c_int) {
    // Only atomic stores: async-signal-safe.
    match signal {
        libc::SIGWINCH => RESIZED.store(true, Ordering::SeqCst),
        libc::SIGHUP => HUNG_UP.store(true, Ordering::SeqCst),
        _ => TERMINATED.store(true, Ordering::SeqCst),
    }
}

/// The key a signal that came stands for, if one came.
fn signalled() -> Option<Key> {
    if TERMINATED.load(Ordering::SeqCst) {
        Some(Key::Closed)
    } else if HUNG_UP.swap(false, Ordering::SeqCst) {
        Some(Key::HungUp)
    } else if RESIZED.swap(false, Ordering::SeqCst) {
        Some(Key::Resized)
    } else {
        None
    }
}

/// The console's own terminal: standard input and output.
pub struct Tty {
    saved: Option<Termios>,
}

fn stdin() -> BorrowedFd<'static> {
    // SAFETY: fd 0 stays open for the whole life of the process.
    unsafe { BorrowedFd::borrow_raw(libc::STDIN_FILENO) }
}

impl Tty {
    /// Takes over the terminal: raw mode and the signal handlers. Not a
    /// terminal (a pipe) is fine: keys are read as they come.
    pub fn open() -> Tty {
        let handler = SigAction::new(
            SigHandler::Handler(on_signal),
            // No SA_RESTART: a signal interrupts poll() so it is seen at
            // once.
            SaFlags::empty(),
            SigSet::empty(),
        );
        for signal in [Signal::SIGWINCH, Signal::SIGHUP, Signal::SIGTERM] {
            // SAFETY: the handler only stores to atomics, which is
            // async-signal-safe, and replaces no handler the program
            // relies on.
            if let Err(e) = unsafe { sigaction(signal, &handler) } {
                tracing::warn!(?signal, error = %e, "cannot handle the signal");
            }
        }
        // SAFETY: ignoring SIGINT and SIGQUIT (raw mode sends none from
        // keys; a stray one must not end the console) installs no code.
        unsafe {
            let ignore = SigAction::new(SigHandler::SigIgn, SaFlags::empty(), SigSet::empty());
            let _ = sigaction(Signal::SIGINT, &ignore);
            let _ = sigaction(Signal::SIGQUIT, &ignore);
        }
        let saved = termios::tcgetattr(stdin()).ok();
        let tty = Tty { saved };
        tty.raw();
        tty
    }

    fn raw(&self) {
        if let Some(saved) = &self.saved {
            let mut raw = saved.clone();
            termios::cfmakeraw(&mut raw);
            let _ = termios::tcsetattr(stdin(), SetArg::TCSANOW, &raw);
        }
    }

    fn restore(&self) {
        if let Some(saved) = &self.saved {
            let _ = termios::tcsetattr(stdin(), SetArg::TCSANOW, saved);
        }
    }

    fn read_byte(&self, wait: Duration) -> Result<Option<u8>, ()> {
        let fd = stdin();
        let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
        let ms =
            PollTimeout::try_from(wait.as_millis().min(60_000) as i32).unwrap_or(PollTimeout::NONE);
        match poll(&mut fds, ms) {
            Ok(0) => return Ok(None),
            Ok(_) => {}
            // A signal: the caller looks at the flags.
            Err(nix::errno::Errno::EINTR) => return Ok(None),
            Err(_) => return Err(()),
        }
        let mut byte = [0u8; 1];
        match nix::unistd::read(stdin(), &mut byte) {
            Ok(1) => Ok(Some(byte[0])),
            Err(nix::errno::Errno::EINTR | nix::errno::Errno::EAGAIN) => Ok(None),
            // 0: end of file (the other end closed); EIO: hung up.
            _ => Err(()),
        }
    }

    /// Reads and drops the rest of an escape sequence (`ESC [ ... final`).
    fn skip_sequence(&self) {
        let mut first = true;
        while let Ok(Some(b)) = self.read_byte(Duration::from_millis(30)) {
            if first && b != b'[' && b != b'O' {
                return;
            }
            if !first && (0x40..=0x7e).contains(&b) {
                return;
            }
            first = false;
        }
    }
}

impl Drop for Tty {
    /// Leaves nothing on the screen (a password page, say) and gives the
    /// terminal its mode back.
    fn drop(&mut self) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(super::screen::ERASE_ALL.as_bytes());
        let _ = out.flush();
        self.restore();
    }
}

impl Terminal for Tty {
    fn key(&mut self, wait: Duration) -> Key {
        if let Some(key) = signalled() {
            return key;
        }
        let byte = match self.read_byte(wait) {
            Err(()) => return Key::Closed,
            // Woken by a signal, or the wait is over.
            Ok(None) => return signalled().unwrap_or(Key::Timeout),
            Ok(Some(b)) => b,
        };
        match byte {
            b'\r' | b'\n' => Key::Enter,
            0x7f | 0x08 => Key::Backspace,
            0x03 => Key::Interrupt,
            0x04 => Key::EndOfInput,
            0x0c => Key::Redraw,
            0x1b => {
                self.skip_sequence();
                Key::Other
            }
            b if b.is_ascii_graphic() || b == b' ' => Key::Char(b as char),
            _ => Key::Other,
        }
    }

    fn draw(&mut self, text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }

    fn suspended(&mut self, f: &mut dyn FnMut()) {
        self.restore();
        f();
        self.raw();
    }
}

/// A terminal of scripted keys that records what was drawn, for tests of
/// the console's logic without a terminal.
#[derive(Default)]
pub struct Scripted {
    pub keys: std::collections::VecDeque<Key>,
    pub drawn: Vec<String>,
}

impl Scripted {
    pub fn typing(keys: &[Key]) -> Scripted {
        Scripted {
            keys: keys.iter().copied().collect(),
            drawn: Vec::new(),
        }
    }

    /// Everything drawn, as one text.
    pub fn text(&self) -> String {
        self.drawn.concat()
    }
}

impl Terminal for Scripted {
    fn key(&mut self, _wait: Duration) -> Key {
        self.keys.pop_front().unwrap_or(Key::Closed)
    }

    fn draw(&mut self, text: &str) {
        self.drawn.push(text.to_string());
    }

    fn suspended(&mut self, f: &mut dyn FnMut()) {
        f();
    }
}
