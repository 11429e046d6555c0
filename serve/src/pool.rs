//! The bounded pool that runs library calls (hashing, locking, fsync) off
//! the async threads.
//!
//! At most `size` calls run at once; the others wait for a permit, not in an
//! unbounded queue. A permit moves into the blocking closure, so it is held
//! until the call returns even if the client went away: [`Pool::drain`]
//! therefore waits for every change in progress, and none is ever cut.

use std::sync::Arc;

use tokio::sync::Semaphore;

#[derive(Clone, Debug)]
pub struct Pool {
    permits: Arc<Semaphore>,
    size: u32,
}

impl Pool {
    pub fn new(size: usize) -> Pool {
        let size = u32::try_from(size.max(1)).unwrap_or(u32::MAX);
        Pool {
            permits: Arc::new(Semaphore::new(size as usize)),
            size,
        }
    }

    /// Threads the runtime must allow for this pool.
    pub fn size(&self) -> usize {
        self.size as usize
    }

    /// Runs `call` on a blocking thread; `None` if it panicked (the library
    /// does not panic; this keeps a bug from taking the daemon down).
    pub async fn run<T, F>(&self, call: F) -> Option<T>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .expect("the pool's semaphore is never closed");
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            call()
        })
        .await
        .ok()
    }

    /// Waits until no call is running or waiting to start.
    pub async fn drain(&self) {
        let _all = self
            .permits
            .acquire_many(self.size)
            .await
            .expect("the pool's semaphore is never closed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn never_more_than_size_at_once_and_drain_waits_for_dropped_callers() {
        let pool = Pool::new(3);
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let done = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..12 {
            let (pool, running, peak, done) =
                (pool.clone(), running.clone(), peak.clone(), done.clone());
            tasks.push(tokio::spawn(async move {
                pool.run(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(30));
                    running.fetch_sub(1, Ordering::SeqCst);
                    done.fetch_add(1, Ordering::SeqCst);
                })
                .await
            }));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        // Callers that go away do not cut the calls already started.
        for task in &tasks {
            task.abort();
        }
        pool.drain().await;
        let started = done.load(Ordering::SeqCst);
        assert!(started >= 3, "{started}");
        assert_eq!(running.load(Ordering::SeqCst), 0);
        assert!(peak.load(Ordering::SeqCst) <= 3);

        assert_eq!(pool.run(|| 7).await, Some(7));
        assert_eq!(pool.run(|| -> u8 { panic!("forced") }).await, None);
    }
}
