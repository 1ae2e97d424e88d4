//! `pack-initrd OUT FILE...`: writes a cpio (newc) archive at OUT holding
//! each FILE as `modules/<its file name>`, the initrd `scripts/run.sh -m`
//! boots with (and where the console's `insmod NAME` looks).

use helix_loader::cpio::Writer;
use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [out, files @ ..] = args.as_slice() else {
        eprintln!("usage: pack-initrd OUT FILE...");
        return ExitCode::from(2);
    };
    let mut w = Writer::new();
    if let Err(e) = w.add_dir("modules", 0o755) {
        eprintln!("pack-initrd: {e}");
        return ExitCode::FAILURE;
    }
    for file in files {
        let Some(name) = Path::new(file).file_name().and_then(|n| n.to_str()) else {
            eprintln!("pack-initrd: {file}: not a file name");
            return ExitCode::FAILURE;
        };
        let bytes = match std::fs::read(file) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("pack-initrd: {file}: {e}");
                return ExitCode::FAILURE;
            }
        };
        if let Err(e) = w.add_file(&format!("modules/{name}"), 0o644, &bytes) {
            eprintln!("pack-initrd: {file}: {e}");
            return ExitCode::FAILURE;
        }
    }
    if let Err(e) = std::fs::write(out, w.finish()) {
        eprintln!("pack-initrd: {out}: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
