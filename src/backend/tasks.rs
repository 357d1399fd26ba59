//! Tasks a backend starts for itself (watches, streams, pollers). Each is
//! owned by the backend that started it and aborted when that backend is
//! dropped, so none outlives its session or keeps a connection open.

use std::future::Future;
use std::sync::Mutex;
use tokio::task::AbortHandle;

#[derive(Default)]
pub struct Owned(Mutex<Vec<AbortHandle>>);

impl Owned {
    pub fn spawn<F>(&self, fut: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.own(tokio::spawn(fut).abort_handle());
    }

    /// A task spawned elsewhere, from now on owned here.
    pub fn own(&self, task: AbortHandle) {
        let mut v = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        v.retain(|t| !t.is_finished());
        v.push(task);
    }

    /// Tasks still running (tests use it).
    pub fn running(&self) -> usize {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .filter(|t| !t.is_finished())
            .count()
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        for t in self
            .0
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .drain(..)
        {
            t.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn dropping_the_owner_stops_its_tasks() {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<()>(1);
        let owned = Owned::default();
        owned.spawn(async move {
            let _keep = tx;
            std::future::pending::<()>().await;
        });
        assert_eq!(owned.running(), 1);
        drop(owned);
        // The sender inside the task is dropped once the task is aborted.
        assert!(
            tokio::time::timeout(std::time::Duration::from_secs(2), rx.recv())
                .await
                .unwrap()
                .is_none()
        );
    }
}
