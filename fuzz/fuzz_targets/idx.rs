//! The IDX reader on arbitrary bytes (raw, or gzip when they start with `1f 8b`), through
//! `axonal::data::idx::*_from`: never a panic, never an allocation beyond the data present
//! (`-rss_limit_mb` and libFuzzer's malloc limit catch one), and what is read is consistent:
//! the shape accounts for every byte, and the scaled reading agrees with the unscaled one.
//!
//! Run: `cargo fuzz run -O -s none idx fuzz/corpus/idx -- -rss_limit_mb=512`

#![no_main]

use axonal::data::idx;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match idx::read_images_u8_from(data) {
        Ok(images) => {
            let (count, rows, cols) = images.dim();
            assert_eq!(count * rows * cols, images.len());
            assert!(images.len() as u64 <= idx::MAX_DATA_BYTES);
            let scaled = idx::read_images_from::<f32>(data).expect("read unscaled, so scaled too");
            assert_eq!(scaled.dim(), (count, rows * cols));
            // Image i, pixel (r, c) is row i, column r · cols + c, scaled by 1/255.
            let scale = (1.0f64 / 255.0) as f32;
            for (&p, &x) in images.iter().zip(scaled.iter()) {
                assert_eq!(x, f32::from(p) * scale, "pixel {p}");
            }
        }
        Err(e) => {
            let _ = e.to_string();
            assert!(idx::read_images_from::<f64>(data).is_err());
        }
    }
    match idx::read_labels_from(data) {
        Ok(labels) => assert!(labels.iter().all(|&l| l <= 255)),
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
