//! Host tests of the `fs` capability's wire format: every request and
//! answer round-trips, listings cut at the size limit continue where they
//! stopped, paths with tabs and newlines survive, and malformed payloads
//! are refused with the expected [`ProtoError`].

use helix_loader::fs_proto::{
    Kind, ListEntry, ListRequest, Listing, ListingWriter, MAX_LISTING, ProtoError, ReadRequest,
    Stat, normalize,
};

#[test]
fn paths_are_normalized_to_the_root() {
    for (given, want) in [
        ("", ""),
        ("/", ""),
        (".", ""),
        ("./", ""),
        ("hello.txt", "hello.txt"),
        ("./hello.txt", "hello.txt"),
        ("/modules/", "modules"),
        ("././/modules/a.ko", "modules/a.ko"),
        ("modules//", "modules"),
    ] {
        assert_eq!(normalize(given), want, "{given:?}");
    }
}

#[test]
fn list_requests_round_trip() {
    for (dir, start) in [("", 0), ("modules", 0), ("modules", 17), ("a b/c", 3)] {
        let req = ListRequest { dir, start };
        assert_eq!(ListRequest::parse(&req.encode()), Ok(req));
    }
    // Typed at the console: a directory only, normalized.
    assert_eq!(
        ListRequest::parse(b"/modules/"),
        Ok(ListRequest {
            dir: "modules",
            start: 0
        })
    );
    assert_eq!(
        ListRequest::parse(b"modules\0x1"),
        Err(ProtoError::BadNumber {
            field: "start",
            text: "x1".into()
        })
    );
    assert_eq!(ListRequest::parse(b"\xff"), Err(ProtoError::NotUtf8));
}

#[test]
fn listings_round_trip_with_escaped_paths() {
    let entries = [
        (12, Kind::File, "hello.txt"),
        (0, Kind::Dir, "modules"),
        (9, Kind::Link, "modules/latest"),
        (0, Kind::Special, "dev/console"),
        (3, Kind::File, "odd\tname\nwith\\escapes\r"),
    ];
    let mut w = ListingWriter::new();
    assert!(w.is_empty());
    for (size, kind, path) in entries {
        assert!(w.push(size, kind, path));
    }
    let payload = w.finish(None);
    let text = String::from_utf8(payload.clone()).unwrap();
    assert!(
        text.starts_with("12\tfile\thello.txt\n0\tdir\tmodules\n"),
        "{text}"
    );
    assert!(
        text.contains("3\tfile\todd\\tname\\nwith\\\\escapes\\r\n"),
        "{text}"
    );
    let listing = Listing::parse(&payload).unwrap();
    assert_eq!(listing.next, None);
    let want: Vec<ListEntry> = entries
        .iter()
        .map(|&(size, kind, path)| ListEntry {
            size,
            kind,
            path: path.into(),
        })
        .collect();
    assert_eq!(listing.entries, want);
}

#[test]
fn a_long_listing_is_cut_within_the_limit_and_says_where_to_go_on() {
    let mut w = ListingWriter::new();
    let name = "x".repeat(200);
    let mut added = 0;
    while w.push(1, Kind::File, &name) {
        added += 1;
    }
    assert!(added > 100, "{added}");
    let payload = w.finish(Some(added));
    assert!(payload.len() <= MAX_LISTING, "{}", payload.len());
    let listing = Listing::parse(&payload).unwrap();
    assert_eq!(listing.entries.len(), added);
    assert_eq!(listing.next, Some(added));
    // One entry larger than the whole answer never fits.
    let mut w = ListingWriter::new();
    assert!(!w.push(1, Kind::File, &"y".repeat(MAX_LISTING)));
    assert!(w.is_empty());
}

#[test]
fn malformed_listings_are_refused() {
    for (payload, want) in [
        (&b"12\tfile"[..], ProtoError::MissingField("path")),
        (b"12", ProtoError::MissingField("kind")),
        (
            b"-1\tfile\ta",
            ProtoError::BadNumber {
                field: "size",
                text: "-1".into(),
            },
        ),
        (b"1\tfolder\ta", ProtoError::UnknownKind("folder".into())),
        (b"1\tfile\ta\\x", ProtoError::BadEscape("a\\x".into())),
        (b"1\tfile\ta\\", ProtoError::BadEscape("a\\".into())),
        (
            b"MORE\tsoon",
            ProtoError::BadNumber {
                field: "next",
                text: "soon".into(),
            },
        ),
        (b"\xc3\x28", ProtoError::NotUtf8),
    ] {
        assert_eq!(
            Listing::parse(payload),
            Err(want),
            "{:?}",
            String::from_utf8_lossy(payload)
        );
    }
    assert_eq!(Listing::parse(b""), Ok(Listing::default()));
}

#[test]
fn stat_answers_round_trip_and_bad_ones_are_refused() {
    let stat = Stat {
        size: 65536,
        kind: Kind::File,
        mode: 0o644,
    };
    assert_eq!(stat.encode(), b"65536\tfile\t0644");
    assert_eq!(Stat::parse(&stat.encode()), Ok(stat));
    let dir = Stat {
        size: 0,
        kind: Kind::Dir,
        mode: 0o1755,
    };
    assert_eq!(Stat::parse(&dir.encode()), Ok(dir));
    assert_eq!(
        Stat::parse(b"1\tfile\t0899"),
        Err(ProtoError::BadNumber {
            field: "mode",
            text: "0899".into()
        })
    );
    assert_eq!(
        Stat::parse(b"1\tfile"),
        Err(ProtoError::MissingField("mode"))
    );
    assert_eq!(
        Stat::parse(b""),
        Err(ProtoError::BadNumber {
            field: "size",
            text: "".into()
        })
    );
}

#[test]
fn read_requests_round_trip_and_bad_ones_are_refused() {
    let req = ReadRequest {
        path: "modules/a b.ko",
        offset: 1 << 40,
        len: 65536,
    };
    assert_eq!(req.encode(), b"1099511627776 65536 modules/a b.ko");
    assert_eq!(ReadRequest::parse(&req.encode()), Ok(req));
    assert_eq!(
        ReadRequest::parse(b"0 16 hello.txt").map(|r| (r.offset, r.len, r.path)),
        Ok((0, 16, "hello.txt"))
    );
    for (payload, want) in [
        (&b"hello.txt"[..], ProtoError::MissingField("length")),
        (b"0 16", ProtoError::MissingField("path")),
        (
            b"+1 16 a",
            ProtoError::BadNumber {
                field: "offset",
                text: "+1".into(),
            },
        ),
        (
            b"0 99999999999999999999999 a",
            ProtoError::BadNumber {
                field: "length",
                text: "99999999999999999999999".into(),
            },
        ),
        (b"0 1 \xff", ProtoError::NotUtf8),
    ] {
        assert_eq!(ReadRequest::parse(payload), Err(want));
    }
}

#[test]
fn errors_and_kinds_read_as_words() {
    assert_eq!(Kind::Dir.to_string(), "directory");
    assert_eq!(Kind::Link.to_string(), "symbolic link");
    assert_eq!(Kind::from_token("special"), Ok(Kind::Special));
    assert_eq!(
        ProtoError::BadNumber {
            field: "offset",
            text: "x".into()
        }
        .to_string(),
        "offset `x` is not a number"
    );
    assert_eq!(ProtoError::MissingField("path").to_string(), "no path");
}
