//! Boot configuration: the command line as the kernel sees it and the
//! logging spec parser, including its errors.
#![no_std]
#![no_main]

extern crate alloc;

use kernel::ktest;
use kernel::logger::{LogSpec, LogSpecError};
use log::LevelFilter;

kernel::test_kernel!();

ktest!(
    fn log_spec_default_and_rules() {
        let spec =
            LogSpec::parse("info,kernel::mm=trace,round_robin=debug", LevelFilter::Warn).unwrap();
        assert_eq!(spec.default, LevelFilter::Info);
        assert_eq!(spec.level_for("kernel::mm::heap"), LevelFilter::Trace);
        assert_eq!(spec.level_for("kernel::mmx"), LevelFilter::Info);
        assert_eq!(spec.level_for("round_robin"), LevelFilter::Debug);
        assert_eq!(spec.level_for("kernel"), LevelFilter::Info);
        assert_eq!(spec.max_level(), LevelFilter::Trace);
    }
);

ktest!(
    fn log_spec_longest_prefix_wins() {
        let spec = LogSpec::parse("kernel=error,kernel::time=debug", LevelFilter::Info).unwrap();
        assert_eq!(spec.level_for("kernel::time"), LevelFilter::Debug);
        assert_eq!(spec.level_for("kernel::mm"), LevelFilter::Error);
        assert_eq!(spec.level_for("other"), LevelFilter::Info);
    }
);

ktest!(
    fn log_spec_errors_are_typed() {
        assert!(matches!(
            LogSpec::parse("loud", LevelFilter::Info),
            Err(LogSpecError::UnknownLevel(l)) if l.as_str() == "loud"
        ));
        assert_eq!(
            LogSpec::parse("=debug", LevelFilter::Info),
            Err(LogSpecError::BadTarget)
        );
        let many = "a=info,b=info,c=info,d=info,e=info,f=info,g=info,h=info,i=info,j=info,k=info,l=info,m=info,n=info,o=info,p=info,q=info";
        assert_eq!(
            LogSpec::parse(many, LevelFilter::Info),
            Err(LogSpecError::TooManyRules)
        );
    }
);

ktest!(
    fn start_info_and_command_line_are_available() {
        let info = kernel::bootinfo::start_info();
        assert!(
            info.usable_bytes() > 64 << 20,
            "QEMU gives the test kernels 128 MiB"
        );
        assert!(info.rsdp.is_some(), "QEMU provides an RSDP through PVH");
        // The runner passes test options on the command line.
        let _ = kernel::bootinfo::cmdline().get("test.filter");
    }
);

ktest!(
    fn supervisor_limits_from_the_command_line() {
        use kernel::supervisor::{PolicyError, policy};
        let (p, errors) = policy(&boot::Cmdline::new(
            "supervisor.max_restarts=2 supervisor.window_ms=500 supervisor.backoff_ms=5 supervisor.backoff_max_ms=40",
        ));
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            (p.max_restarts, p.window, p.backoff_base, p.backoff_max),
            (2, 500_000_000, 5_000_000, 40_000_000)
        );
        let (p, errors) = policy(&boot::Cmdline::new(
            "supervisor.max_restarts=lots supervisor.window_ms=0",
        ));
        assert_eq!(
            errors.as_slice(),
            &[
                PolicyError {
                    key: "max_restarts",
                    reason: "not a whole number"
                },
                PolicyError {
                    key: "window_ms",
                    reason: "out of range"
                }
            ]
        );
        assert_eq!(p, helix_modules::SupervisorPolicy::default());
        let (_, errors) = policy(&boot::Cmdline::new(
            "supervisor.backoff_ms=100 supervisor.backoff_max_ms=10",
        ));
        assert_eq!(
            alloc::format!("{}", errors[0]),
            "supervisor.backoff_max_ms: smaller than backoff_ms"
        );
    }
);

ktest!(
    fn s5_sleep_type_is_parsed_from_aml() {
        use kernel::arch::x86_64::acpi_power::parse_s5;
        // Name (_S5, Package (0x04) { Zero, Zero, Zero, Zero }), as QEMU emits it.
        assert_eq!(
            parse_s5(&[
                0x10, 0x08, b'_', b'S', b'5', b'_', 0x12, 0x06, 0x04, 0, 0, 0, 0
            ]),
            Some((0, 0))
        );
        // Root prefix, BytePrefix values, a two-byte package length.
        let aml = [
            0xaa, 0x08, b'\\', b'_', b'S', b'5', b'_', 0x12, 0x40, 0x00, 0x02, 0x0a, 0x07, 0x01,
        ];
        assert_eq!(parse_s5(&aml), Some((7, 1)));
        // Not a Name, truncated, too few elements, an unknown element encoding.
        assert_eq!(
            parse_s5(&[0x14, b'_', b'S', b'5', b'_', 0x12, 0x04, 0x02, 0, 0]),
            None
        );
        assert_eq!(
            parse_s5(&[0x08, b'_', b'S', b'5', b'_', 0x12, 0x04, 0x02, 0x0a]),
            None
        );
        assert_eq!(
            parse_s5(&[0x08, b'_', b'S', b'5', b'_', 0x12, 0x03, 0x01, 0]),
            None
        );
        assert_eq!(
            parse_s5(&[0x08, b'_', b'S', b'5', b'_', 0x12, 0x05, 0x02, 0x0b, 0, 0]),
            None
        );
        assert_eq!(parse_s5(b"no sleep states here"), None);
    }
);
