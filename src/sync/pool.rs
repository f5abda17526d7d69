//! The one worker pool of the sync engine: runs a function over a list on at most `jobs`
//! threads and returns the outputs in the list's order.
//!
//! Hand-written (25 lines of std) rather than rayon: a run wants its own width per call
//! (`--jobs`, the servers' `jobs`), not a process-wide pool, and it must build on AIX.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Below this many items, small file system work per item (a few system calls each) is as
/// fast in one thread as in several.
pub const PARALLEL_FROM: usize = 512;

/// Threads for small file system work over `items` items: one below [`PARALLEL_FROM`], else
/// the machine's cores, at most 4 (the work is system calls, not computation).
pub fn io_threads(items: usize) -> usize {
    if items < PARALLEL_FROM {
        return 1;
    }
    std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
}

/// `f` applied to `items` cut in [`io_threads`] contiguous chunks, on as many threads: the
/// chunks' outputs in the items' order (one output for fewer than [`PARALLEL_FROM`] items).
pub fn per_chunk<T: Sync, R: Send>(items: &[T], f: impl Fn(&[T]) -> R + Sync) -> Vec<R> {
    per_chunk_on(items, io_threads(items.len()), f)
}

/// [`per_chunk`] with `threads` chunks (at least one, even of no items).
fn per_chunk_on<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&[T]) -> R + Sync,
) -> Vec<R> {
    if threads < 2 || items.len() < 2 {
        return vec![f(items)];
    }
    let chunks: Vec<&[T]> = items.chunks(items.len().div_ceil(threads)).collect();
    map(&chunks, threads, |c| f(c))
}

/// `f` applied to every item, at most `jobs` at once; output `i` belongs to item `i`.
pub fn map<T: Sync, R: Send>(items: &[T], jobs: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let out: Mutex<Vec<Option<R>>> = Mutex::new(items.iter().map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..jobs.clamp(1, items.len().max(1)) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(item) = items.get(i) else { break };
                let r = f(item);
                out.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(r);
            });
        }
    });
    out.into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .flatten()
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn outputs_keep_the_items_order_and_width_is_bounded() {
        let running = std::sync::atomic::AtomicUsize::new(0);
        let most = std::sync::atomic::AtomicUsize::new(0);
        let items: Vec<u64> = (0..40).collect();
        let out = super::map(&items, 3, |i| {
            let now = running.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            most.fetch_max(now, std::sync::atomic::Ordering::SeqCst);
            std::thread::sleep(std::time::Duration::from_millis(40 - i));
            running.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
            i * 2
        });
        assert_eq!(out, items.iter().map(|i| i * 2).collect::<Vec<_>>());
        assert!(most.load(std::sync::atomic::Ordering::SeqCst) <= 3);
        assert!(super::map(&[] as &[u8], 4, |_| 0).is_empty());
    }

    #[test]
    fn chunks_are_contiguous_and_in_the_items_order() {
        for (n, threads, chunks) in [(0, 3, 1), (1, 3, 1), (2, 1, 1), (7, 3, 3), (5003, 4, 4)] {
            let items: Vec<usize> = (0..n).collect();
            let out = super::per_chunk_on(&items, threads, |c| c.to_vec());
            assert_eq!(out.len(), chunks, "{n} items in {threads} threads");
            assert_eq!(out.concat(), items, "{n} items in {threads} threads");
        }
        assert_eq!(super::io_threads(super::PARALLEL_FROM - 1), 1);
        assert_eq!(super::per_chunk(&[1, 2, 3], |c| c.len()), [3]);
    }
}
