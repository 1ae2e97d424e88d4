//! Files through the `fs` capability (`kernel::fs`): the `initrd_fs` module
//! serves the initrd, and kernel code reads it with `fs::read_file`,
//! `fs::list`, `fs::stat` and `fs::read_at`, every call an IPC request
//! through the registry.
//!
//! Booted by `cargo ktest` without an initrd, every call is refused with
//! the provider's "no initrd" error. `harness/tests/initrd.rs` boots this
//! kernel with the archive it describes (`files_archive` there): a text
//! file, a 300 000-byte file read in several chunks, a directory of
//! [`MANY`] files whose listing is cut at the answer limit and continued,
//! and a file in directories the archive has no entries for.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use helix_modules::v2::{Context, ModuleInfo, ModuleTrait, Request, Response};
use helix_modules::{Caller, ModuleError, Registry};
use kernel::fs::{self, FsError, Kind, Stat};
use kernel::testing::up;
use kernel::{kprintln, ktest};

kernel::test_kernel!();

/// The text file's contents.
const HELLO: &str = "Hello from the initrd!\nA second line,\twith a tab.\n";
/// The large file's size: more than four 64 KiB chunks.
const BIG_LEN: usize = 300_000;
/// Files in `many/`: more than one `list` answer holds.
const MANY: usize = 1000;

/// The large file's byte `i`.
fn big_byte(i: usize) -> u8 {
    (i * 7 % 251) as u8
}

/// The name of file `i` in `many/` (long, so the listing is cut).
fn many_name(i: usize) -> String {
    format!("many/{i:04}-{}", "x".repeat(70))
}

fn has_initrd() -> bool {
    kernel::bootinfo::initrd().is_some()
}

/// The registry, brought up, if the kernel was booted with an initrd (the
/// tests that read it pass without one: the harness boots them with it).
fn with_initrd() -> Option<&'static Registry> {
    has_initrd().then(up)
}

ktest!(
    fn without_an_initrd_every_call_says_so() {
        if has_initrd() {
            return;
        }
        let r = up();
        let no_initrd = |e: FsError| {
            let text = format!("{e}");
            assert!(matches!(e, FsError::Provider(_)), "{e:?}");
            assert!(
                text.starts_with("no initrd: the kernel was booted without one"),
                "{text}"
            );
        };
        no_initrd(fs::read_file(r, Caller::Kernel, "hello.txt").unwrap_err());
        no_initrd(fs::list(r, Caller::Kernel, "").unwrap_err());
        no_initrd(fs::stat(r, Caller::Kernel, "").unwrap_err());
    }
);

ktest!(
    fn a_large_file_is_read_whole_in_chunks() {
        let Some(r) = with_initrd() else {
            return;
        };
        let stat = fs::stat(r, Caller::Kernel, "modules/big.bin").unwrap();
        assert_eq!(stat.size, BIG_LEN as u64);
        let before = kernel::testing::ask(r, "initrd_fs", "stats", b"").unwrap();
        let data = fs::read_file(r, Caller::Kernel, "/modules/big.bin").unwrap();
        assert_eq!(data.len(), BIG_LEN);
        assert_eq!(data.capacity(), BIG_LEN, "reserved once, exactly");
        if let Some(i) = (0..BIG_LEN).find(|&i| data[i] != big_byte(i)) {
            panic!("byte {i} is {:#x}, not {:#x}", data[i], big_byte(i));
        }
        let after = kernel::testing::ask(r, "initrd_fs", "stats", b"").unwrap();
        // One stat and ceil(300000 / 65536) = 5 reads.
        let requests = |s: &str| -> u64 {
            let n = s.split_whitespace().next().unwrap();
            n.strip_prefix("requests=").unwrap().parse().unwrap()
        };
        assert_eq!(
            requests(&after) - requests(&before),
            6,
            "{before} -> {after}"
        );
        // harness/tests/initrd.rs looks for this line: the test ran with
        // its initrd.
        kprintln!("files: read {BIG_LEN} bytes of modules/big.bin in 1 stat and 5 reads");
        let text = fs::read_file(r, Caller::Kernel, "hello.txt").unwrap();
        assert_eq!(text, HELLO.as_bytes());
    }
);

ktest!(
    fn reads_at_an_offset_stop_at_the_end() {
        let Some(r) = with_initrd() else {
            return;
        };
        let k = Caller::Kernel;
        assert_eq!(fs::read_at(r, k, "hello.txt", 6, 4).unwrap(), b"from");
        let tail = fs::read_at(r, k, "hello.txt", 40, 1000).unwrap();
        assert_eq!(tail, &HELLO.as_bytes()[40..]);
        assert!(
            fs::read_at(r, k, "hello.txt", HELLO.len() as u64, 1)
                .unwrap()
                .is_empty()
        );
        let past = fs::read_at(r, k, "hello.txt", 1 + HELLO.len() as u64, 1).unwrap_err();
        assert_eq!(
            format!("{past}"),
            format!(
                "offset {} is past the end of `hello.txt` ({} bytes)",
                1 + HELLO.len(),
                HELLO.len()
            )
        );
        // One read answers at most 64 KiB, however much is asked for.
        let chunk = fs::read_at(r, k, "modules/big.bin", 1, usize::MAX).unwrap();
        assert_eq!(chunk.len(), 64 * 1024);
        assert_eq!(chunk[0], big_byte(1));
    }
);

ktest!(
    fn a_long_listing_is_followed_to_its_end() {
        let Some(r) = with_initrd() else {
            return;
        };
        let answer = kernel::testing::ask(r, "fs", "list", b"many").unwrap();
        assert!(answer.contains("\nMORE\t"), "one answer holds them all");
        let entries = fs::list(r, Caller::Kernel, "many/").unwrap();
        assert_eq!(entries.len(), MANY);
        for (i, e) in entries.iter().enumerate() {
            assert_eq!(e.path, many_name(i));
            assert_eq!((e.size, e.kind), (i as u64, Kind::File));
        }
        kprintln!("files: listed {MANY} entries of many/");
        let all = fs::list(r, Caller::Kernel, "").unwrap();
        assert!(all.iter().any(|e| e.path == "deep/a/b.txt"));
        assert!(
            all.iter()
                .any(|e| e.path == "modules" && e.kind == Kind::Dir)
        );
    }
);

ktest!(
    fn directories_without_entries_exist_and_errors_are_typed() {
        let Some(r) = with_initrd() else {
            return;
        };
        let k = Caller::Kernel;
        let dir = Stat {
            size: 0,
            kind: Kind::Dir,
            mode: 0o755,
        };
        assert_eq!(fs::stat(r, k, "deep/a").unwrap(), dir);
        assert_eq!(fs::stat(r, k, "").unwrap(), dir);
        assert_eq!(fs::list(r, k, "deep").unwrap().len(), 1);
        assert_eq!(
            fs::read_file(r, k, "deep/a/"),
            Err(FsError::NotAFile {
                path: "deep/a".into(),
                kind: Kind::Dir
            })
        );
        let missing = fs::read_file(r, k, "nothing").unwrap_err();
        assert_eq!(
            missing,
            FsError::Provider("no such file or directory: `nothing`".into())
        );
        let not_dir = fs::list(r, k, "hello.txt").unwrap_err();
        assert_eq!(
            format!("{not_dir}"),
            "`hello.txt` is a file, not a directory"
        );
    }
);

/// A module the kernel does not ship, to call the file API as.
struct Stranger;

impl ModuleTrait for Stranger {
    fn info(&self) -> ModuleInfo {
        ModuleInfo::new("stranger")
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
    fn handle_request(&mut self, _: &Request) -> Result<Response, ModuleError> {
        Ok(Response::ok(alloc::vec![]))
    }
}

ktest!(
    fn callers_are_named_and_a_stopped_provider_is_an_ipc_error() {
        let r = up();
        // A shipped module calls under its own name.
        let uptime = Caller::Module(r.id_of("uptime").unwrap());
        let shipped = fs::stat(r, uptime, "");
        assert!(
            !matches!(shipped, Err(FsError::Ipc(_) | FsError::UnknownCaller(_))),
            "{shipped:?}"
        );
        let stranger = Caller::Module(r.register_v2(Stranger).unwrap());
        assert_eq!(
            fs::stat(r, stranger, ""),
            Err(FsError::UnknownCaller("stranger".into()))
        );
        r.stop(Caller::Kernel, fs::NAME).unwrap();
        let stopped = fs::read_file(r, Caller::Kernel, "hello.txt");
        assert!(
            matches!(
                stopped,
                Err(FsError::Ipc(ModuleError::TargetNotRunning { .. }))
            ),
            "{stopped:?}"
        );
        r.start(Caller::Kernel, fs::NAME).unwrap();
        let again = fs::stat(r, Caller::Kernel, "");
        assert!(!matches!(again, Err(FsError::Ipc(_))), "{again:?}");
    }
);
