//! The CSV reader on arbitrary bytes, through `axonal::data::csv::read_from`, with options
//! taken from the first byte: target column (first, last, index 1, `usize::MAX`), labels or
//! values, 0 or 1 skipped line, delimiter (`,` `;` tab, space). Never a panic; a dataset read
//! has rows, at least one input column, finite inputs and targets.
//!
//! Run: `cargo fuzz run -O -s none csv fuzz/corpus/csv -- -rss_limit_mb=512`

#![no_main]

use axonal::data::csv::{self, Column, Options};
use axonal::TargetsView;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, text)) = data.split_first() else {
        return;
    };
    let column = match mode & 3 {
        0 => Column::Last,
        1 => Column::First,
        2 => Column::Index(1),
        _ => Column::Index(usize::MAX),
    };
    let options = if mode & 4 == 0 {
        Options::labels(column)
    } else {
        Options::values(column)
    };
    let options = options
        .skip(usize::from(mode >> 3 & 1))
        .delimiter([',', ';', '\t', ' '][usize::from(mode >> 4 & 3)]);
    match csv::read_from::<f64>(text, options.clone()) {
        Ok(d) => {
            assert!(!d.is_empty() && d.input_width() > 0);
            assert!(d.inputs().iter().all(|v| v.is_finite()));
            if let TargetsView::Values(v) = d.targets() {
                assert!(v.iter().all(|v| v.is_finite()));
            }
            // f32 reads the same file (values may overflow to inf in f32; no panic either way).
            let _ = csv::read_from::<f32>(text, options);
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
