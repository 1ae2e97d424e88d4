//! Criterion benchmarks of the framework's hot paths, each measured next to
//! its baseline in the same run:
//! - IPC request/response through the registry, by name and by a kept
//!   module id, vs a direct `dyn` call of the same handler;
//! - Tick dispatch to 64 registered modules of which 8 subscribe vs 8
//!   direct `dyn` calls, with a trivial handler and with one doing a small
//!   fixed amount of work;
//! - dependency resolution of 1,000 and of 10,000 modules (linearity);
//! - registering 1,000 modules, and `start_all` of 1,000 registered ones
//!   vs a loop that calls `init` and `start` directly on 1,000 modules.
//!
//! Runs are kept short (2 s measurement, 0.5 s warm-up, 20 samples).

use std::hint::black_box;
use std::time::Duration;

use std::sync::Arc;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use helix_modules::host::HostLink;
use helix_modules::v2::ModuleHandle;
use helix_modules::v2::{
    Context, Event, EventKinds, EventResponse, ModuleInfo, ModuleTrait, Request, Response,
};
use helix_modules::{Caller, ModuleError, Registry};
use helix_modules::{DispatchSummary, ModuleId};

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// The reference's request handler.
struct Status;

impl ModuleTrait for Status {
    fn info(&self) -> ModuleInfo {
        ModuleInfo::new("status").version(1, 0, 0)
    }
    fn init(&mut self, _: &Context) -> Result<(), ModuleError> {
        Ok(())
    }
    fn start(&mut self) -> Result<(), ModuleError> {
        Ok(())
    }
    fn stop(&mut self) -> Result<(), ModuleError> {
        Ok(())
    }
    fn handle_request(&mut self, request: &Request) -> Result<Response, ModuleError> {
        match request.request_type.as_str() {
            "get_status" => Ok(Response::ok(b"OK".to_vec())),
            _ => Ok(Response::err("Unknown request")),
        }
    }
}

fn ipc(c: &mut Criterion) {
    let registry = Registry::new();
    registry.register_v2(Status).unwrap();
    registry.start_all(Caller::Kernel);
    let mut direct: Box<dyn ModuleTrait> = Box::new(Status);
    let mut g = c.benchmark_group("ipc");
    g.bench_function("direct_dyn_call", |b| {
        b.iter(|| {
            let request = Request {
                source: "bench",
                request_type: String::from("get_status"),
                payload: vec![],
            };
            black_box(direct.handle_request(black_box(&request)))
        })
    });
    g.bench_function("registry_request", |b| {
        b.iter(|| {
            let request = Request {
                source: "bench",
                request_type: String::from("get_status"),
                payload: vec![],
            };
            black_box(registry.request(Caller::Kernel, black_box("status"), request))
        })
    });
    let id = registry.lookup("status").unwrap();
    g.bench_function("registry_request_by_id", |b| {
        b.iter(|| {
            let request = Request {
                source: "bench",
                request_type: String::from("get_status"),
                payload: vec![],
            };
            black_box(registry.request_id(Caller::Kernel, black_box(id), request))
        })
    });
    g.finish();
}

/// A tick subscriber; `work` is the size of a per-tick accounting pass
/// (0 = trivial handler).
struct Ticker {
    info: ModuleInfo,
    ticks: u64,
    slots: [u64; 32],
    work: usize,
}

impl ModuleTrait for Ticker {
    fn info(&self) -> ModuleInfo {
        self.info
    }
    fn init(&mut self, _: &Context) -> Result<(), ModuleError> {
        Ok(())
    }
    fn start(&mut self) -> Result<(), ModuleError> {
        Ok(())
    }
    fn stop(&mut self) -> Result<(), ModuleError> {
        Ok(())
    }
    fn handle_event(&mut self, event: &Event) -> EventResponse {
        if let Event::Tick { timestamp_ns } = event {
            self.ticks += 1;
            for i in 0..self.work {
                let s = &mut self.slots[i % 32];
                *s = s.wrapping_mul(31).wrapping_add(*timestamp_ns ^ i as u64);
            }
            EventResponse::Handled
        } else {
            EventResponse::Ignored
        }
    }
}

fn ticker(name: &'static str, subscribe: bool, work: usize) -> Ticker {
    let kinds = if subscribe {
        EventKinds::TICK
    } else {
        EventKinds::SHUTDOWN | EventKinds::CUSTOM
    };
    Ticker {
        info: ModuleInfo::new(name).events(kinds),
        ticks: 0,
        slots: [0; 32],
        work,
    }
}

fn tick(c: &mut Criterion) {
    for (label, work) in [("trivial", 0usize), ("work64", 64)] {
        let registry = Registry::new();
        for i in 0..64 {
            registry
                .register_v2(ticker(leak(format!("t{label}{i}")), i % 8 == 0, work))
                .unwrap();
        }
        registry.start_all(Caller::Kernel);
        let mut direct: Vec<Box<dyn ModuleTrait>> = (0..8)
            .map(|i| {
                Box::new(ticker(leak(format!("d{label}{i}")), true, work)) as Box<dyn ModuleTrait>
            })
            .collect();
        let mut g = c.benchmark_group(format!("tick_{label}"));
        g.bench_function("direct_8_calls", |b| {
            let mut t = 0u64;
            b.iter(|| {
                t += 1;
                let event = Event::Tick { timestamp_ns: t };
                for m in direct.iter_mut() {
                    black_box(m.handle_event(black_box(&event)));
                }
            })
        });
        g.bench_function("dispatch_64_modules_8_subscribed", |b| {
            let mut t = 0u64;
            b.iter(|| {
                t += 1;
                black_box(registry.dispatch(black_box(&Event::Tick { timestamp_ns: t })))
            })
        });
        g.finish();
    }
}

/// A module carrying arbitrary static info, for the dependency graphs.
struct Node(ModuleInfo);

impl ModuleTrait for Node {
    fn info(&self) -> ModuleInfo {
        self.0
    }
    fn init(&mut self, _: &Context) -> Result<(), ModuleError> {
        Ok(())
    }
    fn start(&mut self) -> Result<(), ModuleError> {
        Ok(())
    }
    fn stop(&mut self) -> Result<(), ModuleError> {
        Ok(())
    }
}

fn deps(c: &mut Criterion) {
    let mut g = c.benchmark_group("resolve");
    for n in [1_000usize, 10_000] {
        let registry = dag(n);
        assert_eq!(registry.resolve().unwrap().len(), n);
        g.bench_function(format!("{n}_modules"), |b| {
            b.iter(|| black_box(registry.resolve()))
        });
    }
    g.finish();
}

/// A registry of `n` modules, each depending on up to three earlier ones,
/// by name, by capability, optionally or with a version requirement.
fn dag(n: usize) -> Registry {
    let registry = Registry::new();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for i in 0..n {
        let mut deps = Vec::new();
        if i > 0 {
            for k in 0..(next() % 4) {
                let j = (next() as usize) % i;
                deps.push(match (k + next()) % 4 {
                    0 => format!("m{j}"),
                    1 => format!("cap{j}"),
                    2 => format!("?m{j}"),
                    _ => format!("m{j}>=1.0"),
                });
            }
        }
        let deps: &'static [&'static str] = Box::leak(
            deps.into_iter()
                .map(leak)
                .collect::<Vec<_>>()
                .into_boxed_slice(),
        );
        let provides: &'static [&'static str] =
            Box::leak(vec![leak(format!("cap{i}"))].into_boxed_slice());
        let info = ModuleInfo::new(leak(format!("m{i}")))
            .version(1, 2, 0)
            .dependencies(deps)
            .provides(provides);
        registry.register_v2(Node(info)).unwrap();
    }
    registry
}

/// A link for the direct baseline's one `Context` (nothing calls it).
struct NoLink;

impl HostLink for NoLink {
    fn request(&self, _: &str, _: Request) -> Result<Response, ModuleError> {
        Err(ModuleError::Failed("no host"))
    }
    fn publish(&self, _: &str, _: Vec<u8>) -> Result<DispatchSummary, ModuleError> {
        Err(ModuleError::Failed("no host"))
    }
    fn report_param(&self, _: &str, _: &str) -> Result<(), ModuleError> {
        Err(ModuleError::Failed("no host"))
    }
}

/// 1,000 modules with no dependencies, named `p0..p999`.
fn plain_modules(names: &[&'static str]) -> Vec<Node> {
    names.iter().map(|n| Node(ModuleInfo::new(n))).collect()
}

/// The same modules as trait objects, for the direct baselines.
fn boxed(names: &[&'static str]) -> Vec<Box<dyn ModuleTrait>> {
    plain_modules(names)
        .into_iter()
        .map(|m| Box::new(m) as Box<dyn ModuleTrait>)
        .collect()
}

fn registered(names: &[&'static str]) -> Registry {
    let r = Registry::new();
    for m in plain_modules(names) {
        r.register_v2(m).unwrap();
    }
    r
}

fn lifecycle(c: &mut Criterion) {
    let names: Vec<&'static str> = (0..1000).map(|i| leak(format!("p{i}"))).collect();
    let mut g = c.benchmark_group("lifecycle_1000");
    g.bench_function("register", |b| {
        b.iter_batched(
            || (Registry::new(), plain_modules(&names)),
            |(r, modules)| {
                for m in modules {
                    r.register_v2(m).unwrap();
                }
                r
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("start_all", |b| {
        b.iter_batched(
            || registered(&names),
            |r| {
                let report = r.start_all(Caller::Kernel);
                assert_eq!(report.started.len(), 1000);
                r
            },
            BatchSize::LargeInput,
        )
    });
    let id = ModuleId::hosted(1);
    let ctx = Context::hosted(
        id,
        String::from("p"),
        Vec::new(),
        ModuleHandle::hosted(id, Arc::new(NoLink)),
        Err(helix_modules::services::hw::HwError::Unavailable),
    );
    g.bench_function("direct_init_start", |b| {
        b.iter_batched(
            || boxed(&names),
            |mut modules| {
                for m in modules.iter_mut() {
                    m.init(black_box(&ctx)).unwrap();
                    m.start().unwrap();
                }
                modules
            },
            BatchSize::LargeInput,
        )
    });
    // What calling init directly costs when each module gets a context of
    // its own, as it must (its id, name, handle and hardware access).
    let link: Arc<dyn HostLink> = Arc::new(NoLink);
    g.bench_function("direct_init_start_own_context", |b| {
        b.iter_batched(
            || boxed(&names),
            |mut modules| {
                for (i, m) in modules.iter_mut().enumerate() {
                    let id = ModuleId::hosted(i as u32);
                    let ctx = Context::hosted(
                        id,
                        String::from(names[i]),
                        Vec::new(),
                        ModuleHandle::hosted(id, link.clone()),
                        Err(helix_modules::services::hw::HwError::Unavailable),
                    );
                    m.init(black_box(&ctx)).unwrap();
                    m.start().unwrap();
                }
                modules
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500))
        .sample_size(20)
}

criterion_group! {
    name = benches;
    config = config();
    targets = ipc, tick, deps, lifecycle
}
criterion_main!(benches);
