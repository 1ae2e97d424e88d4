//! Host tests of the cpio "newc" reader and writer: round trips, directories,
//! empty files, the trailer, and every malformed case refused with the
//! expected error value.

use helix_loader::cpio::{self, CpioError, Entry, S_IFDIR, S_IFREG, WriteError, Writer};

fn collect(archive: &[u8]) -> Result<Vec<Entry<'_>>, CpioError> {
    cpio::entries(archive).collect()
}

fn sample() -> Vec<u8> {
    let mut w = Writer::new();
    w.add_dir("modules", 0o755).unwrap();
    w.add_file("modules/hello.ko", 0o644, b"hello, world")
        .unwrap();
    w.add_file("empty", 0o600, b"").unwrap();
    w.add_file("abc", 0o644, b"abc").unwrap();
    w.finish()
}

/// A single hand-written header for `name` with `filesize` and `namesize` as given.
fn header(name: &str, filesize: u32, namesize: u32) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(b"070701");
    for value in [
        1,
        S_IFREG | 0o644,
        0,
        0,
        1,
        0,
        filesize,
        0,
        0,
        0,
        0,
        namesize,
        0,
    ] {
        v.extend_from_slice(format!("{value:08x}").as_bytes());
    }
    v.extend_from_slice(name.as_bytes());
    v.push(0);
    v
}

#[test]
fn round_trip() {
    let archive = sample();
    assert_eq!(archive.len() % 4, 0);
    let all = collect(&archive).unwrap();
    let names: Vec<&str> = all.iter().map(|e| e.name).collect();
    assert_eq!(names, ["modules", "modules/hello.ko", "empty", "abc"]);
    assert_eq!(all[1].data, b"hello, world");
    assert_eq!(all[1].mode, S_IFREG | 0o644);
    assert!(all[1].is_file() && !all[1].is_dir());
    assert_eq!(all[1].permissions(), 0o644);
    assert_eq!(all[3].data, b"abc");
    assert_eq!(all.iter().map(|e| e.ino).collect::<Vec<_>>(), [1, 2, 3, 4]);
    assert_eq!(all[0].offset, 0);
    for e in &all {
        assert_eq!(e.offset % 4, 0);
    }
}

#[test]
fn directories() {
    let archive = sample();
    let dir = cpio::find(&archive, "modules").unwrap().unwrap();
    assert!(dir.is_dir());
    assert_eq!(dir.mode, S_IFDIR | 0o755);
    assert_eq!(dir.nlink, 2);
    assert!(dir.data.is_empty());
}

#[test]
fn empty_files() {
    let archive = sample();
    let e = cpio::find(&archive, "empty").unwrap().unwrap();
    assert!(e.is_file());
    assert_eq!(e.data, b"");
    assert_eq!(e.permissions(), 0o600);
}

#[test]
fn empty_archive_is_just_a_trailer() {
    let archive = Writer::new().finish();
    assert_eq!(collect(&archive).unwrap(), []);
    assert_eq!(cpio::find(&archive, "x"), Ok(None));
}

#[test]
fn find_ignores_leading_dot_slash() {
    let mut w = Writer::new();
    w.add_file("./init", 0o755, b"#!").unwrap();
    let archive = w.finish();
    assert_eq!(cpio::find(&archive, "init").unwrap().unwrap().data, b"#!");
    assert_eq!(
        cpio::find(&archive, "/init").unwrap().unwrap().name,
        "./init"
    );
    assert_eq!(cpio::find(&archive, "missing"), Ok(None));
}

#[test]
fn stops_after_trailer_and_ignores_padding() {
    let mut archive = sample();
    archive.extend_from_slice(&[0u8; 512]);
    archive.extend_from_slice(b"garbage after the trailer");
    assert_eq!(collect(&archive).unwrap().len(), 4);
}

#[test]
fn trailer_padding_may_be_cut_off() {
    let mut archive = Writer::new().finish();
    // The trailer header + "TRAILER!!!\0" is 121 bytes, padded to 124.
    assert_eq!(archive.len(), 124);
    archive.truncate(121);
    assert_eq!(collect(&archive).unwrap(), []);
}

#[test]
fn uppercase_hex_is_accepted() {
    let mut archive = header("a", 0, 2);
    archive.make_ascii_uppercase();
    // Restore the name's case (the header's hex digits stay uppercase).
    archive[110] = b'a';
    // 110 + 2 bytes: already 4-aligned, no padding.
    archive.extend_from_slice(&Writer::new().finish());
    let all = collect(&archive).unwrap();
    assert_eq!(all[0].name, "a");
    assert_eq!(all[0].mode, S_IFREG | 0o644);
}

#[test]
fn missing_trailer() {
    let mut archive = sample();
    archive.truncate(archive.len() - 124);
    let last = cpio::entries(&archive).last().unwrap();
    assert_eq!(
        last,
        Err(CpioError::MissingTrailer {
            offset: archive.len()
        })
    );
    assert_eq!(collect(&[]), Err(CpioError::MissingTrailer { offset: 0 }));
}

#[test]
fn truncated_header() {
    let archive = sample();
    assert_eq!(
        collect(&archive[..50]),
        Err(CpioError::TruncatedHeader {
            offset: 0,
            available: 50
        })
    );
}

#[test]
fn bad_magic() {
    let mut archive = sample();
    archive[5] = b'2'; // 070702 (the crc variant) is not accepted either
    assert_eq!(collect(&archive), Err(CpioError::BadMagic { offset: 0 }));
    // A bad second header is reported at its offset.
    let mut archive = sample();
    let second = collect(&archive).unwrap()[1].offset;
    archive[second] = b'X';
    let got: Vec<_> = cpio::entries(&archive).collect();
    assert_eq!(got.len(), 2);
    assert_eq!(got[1], Err(CpioError::BadMagic { offset: second }));
}

#[test]
fn bad_hex_fields() {
    for (index, field) in ["ino", "mode", "uid", "gid", "nlink", "mtime", "filesize"]
        .into_iter()
        .enumerate()
    {
        let mut archive = sample();
        archive[6 + index * 8 + 3] = b'g';
        assert_eq!(
            collect(&archive),
            Err(CpioError::BadHexField {
                offset: 6 + index * 8,
                field
            }),
            "{field}"
        );
    }
    let mut archive = sample();
    archive[6 + 11 * 8] = b' ';
    assert_eq!(
        collect(&archive),
        Err(CpioError::BadHexField {
            offset: 94,
            field: "namesize"
        })
    );
    let mut archive = sample();
    archive[6 + 12 * 8 + 7] = b'-';
    assert_eq!(
        collect(&archive),
        Err(CpioError::BadHexField {
            offset: 102,
            field: "check"
        })
    );
}

#[test]
fn empty_name() {
    let archive = header("", 0, 0);
    assert_eq!(collect(&archive), Err(CpioError::EmptyName { offset: 0 }));
}

#[test]
fn name_past_end() {
    let archive = header("abc", 0, 100);
    assert_eq!(
        collect(&archive),
        Err(CpioError::NamePastEnd {
            offset: 0,
            namesize: 100
        })
    );
    let archive = header("abc", 0, u32::MAX);
    assert_eq!(
        collect(&archive),
        Err(CpioError::NamePastEnd {
            offset: 0,
            namesize: u32::MAX
        })
    );
}

#[test]
fn name_not_terminated() {
    // namesize 3 covers "abc" but not its NUL.
    let mut archive = header("abc", 0, 3);
    archive.extend_from_slice(&[0; 16]);
    assert_eq!(
        collect(&archive),
        Err(CpioError::NameNotTerminated { offset: 0 })
    );
    // An inner NUL.
    let mut archive = header("a\0c", 0, 4);
    archive.extend_from_slice(&[0; 16]);
    assert_eq!(
        collect(&archive),
        Err(CpioError::NameNotTerminated { offset: 0 })
    );
}

#[test]
fn name_not_utf8() {
    let mut archive = header("abc", 0, 4);
    archive[111] = 0xff;
    archive.extend_from_slice(&[0; 16]);
    assert_eq!(collect(&archive), Err(CpioError::NameNotUtf8 { offset: 0 }));
}

#[test]
fn data_past_end() {
    let mut archive = header("abc", 10, 4);
    archive.extend_from_slice(b"short");
    assert_eq!(
        collect(&archive),
        Err(CpioError::DataPastEnd {
            offset: 0,
            size: 10
        })
    );
    let archive = header("abc", u32::MAX, 4);
    assert_eq!(
        collect(&archive),
        Err(CpioError::DataPastEnd {
            offset: 0,
            size: u32::MAX
        })
    );
}

#[test]
fn find_reports_errors_before_the_match() {
    let mut archive = sample();
    archive[0] = b'1';
    assert_eq!(
        cpio::find(&archive, "abc"),
        Err(CpioError::BadMagic { offset: 0 })
    );
}

#[test]
fn iteration_stops_after_the_first_error() {
    let archive = b"not an archive at all, but long enough to hold one header .......................................................";
    let mut it = cpio::entries(archive);
    assert_eq!(it.next(), Some(Err(CpioError::BadMagic { offset: 0 })));
    assert_eq!(it.next(), None);
    assert_eq!(it.next(), None);
}

#[test]
fn writer_refuses_bad_names() {
    let mut w = Writer::new();
    assert_eq!(w.add_file("", 0o644, b""), Err(WriteError::BadName));
    assert_eq!(w.add_file("a\0b", 0o644, b""), Err(WriteError::BadName));
    assert_eq!(
        w.add_file("TRAILER!!!", 0o644, b""),
        Err(WriteError::BadName)
    );
    assert_eq!(collect(&w.finish()).unwrap(), []);
}

#[test]
fn errors_display_their_offset() {
    let e = CpioError::DataPastEnd {
        offset: 124,
        size: 10,
    };
    assert_eq!(
        e.to_string(),
        "cpio entry at offset 124: data of 10 bytes runs past the end"
    );
    let e: &dyn std::error::Error = &CpioError::BadMagic { offset: 8 };
    assert!(e.to_string().contains("offset 8"));
}
