//! The IDX reader on gzip streams. The first byte chooses how the rest is used:
//!
//! - even: the rest is fed as it is, behind the gzip magic `1f 8b` (so that every input is
//!   taken for gzip): corrupt, truncated, multi-member and bomb-like streams;
//! - odd: the rest is compressed first (valid gzip around arbitrary IDX bytes), and the
//!   result must be the same as reading the rest raw: compression changes nothing.
//!
//! Never a panic, never an allocation beyond the data decompressed.
//!
//! Run: `cargo fuzz run -O -s none idx_gz fuzz/corpus/idx_gz -- -rss_limit_mb=512`

#![no_main]

use std::io::Write;

use axonal::data::idx;
use flate2::write::GzEncoder;
use flate2::Compression;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        let stream = [&[0x1f, 0x8b][..], rest].concat();
        if let Ok(images) = idx::read_images_u8_from(&stream[..]) {
            let (count, rows, cols) = images.dim();
            assert_eq!(count * rows * cols, images.len());
        }
        if let Err(e) = idx::read_labels_from(&stream[..]) {
            let _ = e.to_string();
        }
    } else {
        // Raw bytes that themselves start like gzip would be decompressed twice here.
        if rest.starts_with(&[0x1f, 0x8b]) {
            return;
        }
        let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
        encoder.write_all(rest).unwrap();
        let gz = encoder.finish().unwrap();
        let (raw, zipped) = (
            idx::read_images_u8_from(rest),
            idx::read_images_u8_from(&gz[..]),
        );
        assert_eq!(raw.is_ok(), zipped.is_ok(), "{raw:?} / {zipped:?}");
        if let (Ok(a), Ok(b)) = (&raw, &zipped) {
            assert_eq!(a, b);
        }
        let (raw, zipped) = (idx::read_labels_from(rest), idx::read_labels_from(&gz[..]));
        assert_eq!(raw.is_ok(), zipped.is_ok(), "{raw:?} / {zipped:?}");
        if let (Ok(a), Ok(b)) = (&raw, &zipped) {
            assert_eq!(a, b);
        }
    }
});
