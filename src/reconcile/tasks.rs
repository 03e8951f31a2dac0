//! The daemon's background tasks, started together and stopped together.
//!
//! Every long-running loop (the sampler, the reconcile loops, the health
//! publisher, the stream pinger) is spawned here under a name and ends
//! when the daemon's shutdown token is cancelled; [`Tasks::join`] waits
//! for all of them and logs one that panicked, so a shutdown never hangs
//! on, or silently loses, a loop. The HTTPS server is not among them: the
//! daemon watches it on its own, since its end before shutdown is fatal.

use std::future::Future;

use tokio::task::JoinHandle;

#[derive(Default)]
pub struct Tasks {
    running: Vec<(&'static str, JoinHandle<()>)>,
}

impl Tasks {
    pub fn spawn(&mut self, name: &'static str, task: impl Future<Output = ()> + Send + 'static) {
        self.running.push((name, tokio::spawn(task)));
    }

    /// Waits for every task; call after cancelling the shutdown token.
    pub async fn join(self) {
        for (name, handle) in self.running {
            if let Err(e) = handle.await {
                tracing::error!(task = name, error = %e, "a background task failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_util::sync::CancellationToken;

    #[tokio::test]
    async fn join_waits_for_every_task_and_survives_a_panic() {
        let stop = CancellationToken::new();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut tasks = Tasks::default();
        for name in ["a", "b"] {
            let (stop, tx) = (stop.clone(), tx.clone());
            tasks.spawn(name, async move {
                stop.cancelled().await;
                tx.send(name).unwrap();
            });
        }
        tasks.spawn("panics", async { panic!("on purpose") });
        stop.cancel();
        tasks.join().await;
        drop(tx);
        let mut ended = Vec::new();
        while let Some(name) = rx.recv().await {
            ended.push(name);
        }
        ended.sort();
        assert_eq!(ended, ["a", "b"]);
    }
}
