//! Crash safety at length (issue 28): the acknowledged-writes loop of
//! `tests/crash_safety.rs` (`common::crash_writes`) with many more kills.
//! Clients write API tokens through the real API while the daemon is
//! SIGKILLed at random moments, 1,000 times by default
//! (`HEARTH_CRASH_ROUNDS`); after each kill the daemon starts on the
//! same store, and every write it ever acknowledged must be there. It
//! prints the kills, the writes acknowledged and lost (lost must be 0:
//! the run fails otherwise), the unanswered writes and how many of those
//! committed anyway, the time of a round and of a start, and the store's
//! size at the end. `HEARTH_CRASH_SEED` replays a run's delays.

use hearth_testkit as common;
use hearth_testkit::stats;

use std::time::{Duration, Instant};

use common::crash_writes::{self, Plan};
use stats::{ms, print_line};

fn main() {
    let rounds = std::env::var("HEARTH_CRASH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(1000);
    let plan = Plan {
        rounds,
        writers: 4,
        max_delay: Duration::from_millis(150),
    };
    let began = Instant::now();
    let f = crash_writes::run(&plan, &mut |round, f| {
        // A line now and then: a long run shows it is alive.
        if (round + 1) % 100 == 0 {
            eprintln!(
                "  {} kills, {} acknowledged, {} lost, {:.0} s",
                f.kills,
                f.acknowledged,
                f.lost,
                began.elapsed().as_secs_f64()
            );
        }
    });
    println!(
        "crash: SIGKILL at random moments under acknowledged writes (seed {})",
        f.seed
    );
    println!("{:<44} {}", "kills", f.kills);
    println!("{:<44} {}", "acknowledged writes", f.acknowledged);
    println!("{:<44} {}", "acknowledged writes lost", f.lost);
    println!(
        "{:<44} {} ({} committed)",
        "unanswered writes", f.unanswered, f.unanswered_present
    );
    print_line("round (start, checks, writes, kill)", f.rounds, ms);
    print_line("start to READY=1", f.starts, ms);
    println!(
        "{:<44} {} KiB ({} tokens)",
        "store at the end",
        f.store_bytes / 1024,
        f.tokens_at_end
    );
    println!("{:<44} {:.0} s", "total", began.elapsed().as_secs_f64());
    assert_eq!(f.lost, 0, "acknowledged writes were lost");
}
