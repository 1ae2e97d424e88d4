//! `module-sign`: makes the module-signing key pair, signs module binaries
//! and checks signed ones (see the library docs for the formats).
//!
//! ```text
//! module-sign keygen [--force] DIR
//! module-sign sign --key DIR/module-signing.key [--signer NAME] IN OUT
//! module-sign verify --pub DIR/module-signing.pub IN
//! ```
//!
//! Exits with status 0 on success, 1 on any error (printed on stderr),
//! 2 when the command line is wrong.

use std::path::PathBuf;
use std::process::ExitCode;

use module_sign::{DEFAULT_SIGNER, Error, Usage, hex};

const USAGE: &str = "usage:
  module-sign keygen [--force] DIR
  module-sign sign --key KEYFILE [--signer NAME] IN OUT
  module-sign verify --pub PUBFILE IN";

/// A parsed command line.
enum Command {
    Keygen {
        dir: PathBuf,
        force: bool,
    },
    Sign {
        key: PathBuf,
        signer: String,
        input: PathBuf,
        output: PathBuf,
    },
    Verify {
        public: PathBuf,
        input: PathBuf,
    },
}

/// Options (`--name VALUE` or a bare `--force`) and operands of a subcommand.
#[derive(Default)]
struct Args {
    key: Option<PathBuf>,
    public: Option<PathBuf>,
    signer: Option<String>,
    force: bool,
    operands: Vec<String>,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, Usage> {
    let mut out = Args::default();
    while let Some(arg) = args.next() {
        let mut value = |name| args.next().ok_or(Usage::Missing(name));
        match arg.as_str() {
            "--force" => out.force = true,
            "--key" => out.key = Some(value("the value of --key")?.into()),
            "--pub" => out.public = Some(value("the value of --pub")?.into()),
            "--signer" => out.signer = Some(value("the value of --signer")?),
            o if o.starts_with("--") => return Err(Usage::UnknownOption(arg)),
            _ => out.operands.push(arg),
        }
    }
    Ok(out)
}

/// Takes exactly `N` operands.
fn operands<const N: usize>(a: &mut Args, what: &'static str) -> Result<[String; N], Usage> {
    if a.operands.len() > N {
        return Err(Usage::Extra(a.operands.swap_remove(N)));
    }
    <[String; N]>::try_from(core::mem::take(&mut a.operands)).map_err(|_| Usage::Missing(what))
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Command, Usage> {
    let command = args.next().ok_or(Usage::NoCommand)?;
    let mut a = parse_args(args)?;
    let refuse = |present: bool, option: &str| {
        if present {
            Err(Usage::UnknownOption(String::from(option)))
        } else {
            Ok(())
        }
    };
    match command.as_str() {
        "keygen" => {
            refuse(a.key.is_some(), "--key")?;
            refuse(a.public.is_some(), "--pub")?;
            refuse(a.signer.is_some(), "--signer")?;
            let [dir] = operands(&mut a, "the key directory")?;
            Ok(Command::Keygen {
                dir: dir.into(),
                force: a.force,
            })
        }
        "sign" => {
            refuse(a.public.is_some(), "--pub")?;
            refuse(a.force, "--force")?;
            let key = a.key.take().ok_or(Usage::Missing("--key KEYFILE"))?;
            let [input, output] = operands(&mut a, "IN and OUT")?;
            Ok(Command::Sign {
                key,
                signer: a
                    .signer
                    .take()
                    .unwrap_or_else(|| String::from(DEFAULT_SIGNER)),
                input: input.into(),
                output: output.into(),
            })
        }
        "verify" => {
            refuse(a.key.is_some(), "--key")?;
            refuse(a.signer.is_some(), "--signer")?;
            refuse(a.force, "--force")?;
            let public = a.public.take().ok_or(Usage::Missing("--pub PUBFILE"))?;
            let [input] = operands(&mut a, "the signed file")?;
            Ok(Command::Verify {
                public,
                input: input.into(),
            })
        }
        _ => Err(Usage::UnknownCommand(command)),
    }
}

fn run(command: Command) -> Result<String, Error> {
    match command {
        Command::Keygen { dir, force } => {
            let (key, public) = module_sign::keygen(&dir, force)?;
            Ok(format!("wrote {} and {}", key.display(), public.display()))
        }
        Command::Sign {
            key,
            signer,
            input,
            output,
        } => {
            let id = module_sign::sign(&key, &signer, &input, &output)?;
            Ok(format!(
                "signed {} as {signer} (key {}): {}",
                input.display(),
                hex(&id),
                output.display()
            ))
        }
        Command::Verify { public, input } => {
            let v = module_sign::verify(&public, &input)?;
            Ok(format!(
                "{}: good signature by {} (key {}) over {} bytes",
                input.display(),
                v.signer,
                hex(&v.key_id),
                v.payload_len
            ))
        }
    }
}

fn main() -> ExitCode {
    let command = match parse(std::env::args().skip(1)) {
        Ok(command) => command,
        Err(e) => {
            eprintln!("module-sign: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(command) {
        Ok(message) => {
            println!("{message}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("module-sign: {e}");
            ExitCode::FAILURE
        }
    }
}
