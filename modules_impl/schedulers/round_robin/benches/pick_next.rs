//! pick_next + enqueue cost with 10 and with 10,000 runnable threads on
//! one CPU, measured in the same run: the ratio shows whether the run queue
//! is O(1). Each iteration is one `pick_next`, which re-enqueues the
//! running thread at the tail and dequeues the head.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use helix_modules::services::scheduler::{Priority, Scheduler, ThreadId};
use round_robin::RoundRobin;
use std::hint::black_box;
use std::time::Duration;

fn pick_next(c: &mut Criterion) {
    let mut group = c.benchmark_group("round_robin_pick_next_enqueue");
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for n in [10u64, 10_000] {
        let rr = RoundRobin::new(1);
        for i in 0..n {
            rr.add(ThreadId(i), Priority::NORMAL).unwrap();
        }
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| black_box(rr.pick_next(black_box(0))));
        });
    }
    group.finish();
}

criterion_group!(benches, pick_next);
criterion_main!(benches);
