//! Deterministic combinators for workflow code.
//!
//! The engine delivers one resolution per poll, in journal order, so these
//! combinators observe the same order on every replay. `select` is biased:
//! when both sides are ready in the same poll, the first wins — never a
//! coin flip.

use std::future::Future;
use std::pin::pin;
use std::task::Poll;

pub use futures::future::{Either, join, join_all, join3, try_join, try_join_all};

/// Waits for the first of two futures; the other is dropped (an activity
/// already scheduled still runs, its result is recorded and ignored).
/// Biased: `a` wins a tie.
pub async fn select<A: Future, B: Future>(a: A, b: B) -> Either<A::Output, B::Output> {
    let mut a = pin!(a);
    let mut b = pin!(b);
    std::future::poll_fn(|cx| {
        if let Poll::Ready(v) = a.as_mut().poll(cx) {
            return Poll::Ready(Either::Left(v));
        }
        if let Poll::Ready(v) = b.as_mut().poll(cx) {
            return Poll::Ready(Either::Right(v));
        }
        Poll::Pending
    })
    .await
}

/// Waits for the first of several futures, returning its index and output.
/// Biased toward lower indexes.
pub async fn select_all<F: Future>(futures: impl IntoIterator<Item = F>) -> (usize, F::Output) {
    let mut futures: Vec<_> = futures.into_iter().map(Box::pin).collect();
    std::future::poll_fn(|cx| {
        for (i, f) in futures.iter_mut().enumerate() {
            if let Poll::Ready(v) = f.as_mut().poll(cx) {
                return Poll::Ready((i, v));
            }
        }
        Poll::Pending
    })
    .await
}
