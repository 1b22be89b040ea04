//! Checkpoint loading on arbitrary bytes, through `axonal::io::from_bytes_with` (what
//! `io::load` runs on a file's bytes), into a small network in f32 and in f64, with and
//! without `allow_non_finite`. Never a panic; on any error the network is unchanged; a
//! checkpoint that loads saves back to bytes that load again to the same tensors; with the
//! default options, every value loaded is finite.
//!
//! Run: `cargo fuzz run -O -s none checkpoint fuzz/corpus/checkpoint -- -rss_limit_mb=512`

#![no_main]

use axonal::io::{self, LoadOptions};
use axonal::{Float, Model};
use libfuzzer_sys::fuzz_target;

axonal::network! {
    /// Parameters and buffers: the seeds in fuzz/corpus/checkpoint are its checkpoints.
    Net { input 3; fc1: dense 4 relu; bn1: batchnorm; out: dense 2; softmax_ce }
}

/// Every value of `net` as bits, in visiting order.
fn state<F: Float>(net: &mut Net<F>) -> Vec<u64> {
    let mut all = Vec::new();
    net.visit_params(&mut |p| all.extend(p.value.iter().map(|v| v.as_f64().to_bits())));
    net.visit_buffers(&mut |b| all.extend(b.value.iter().map(|v| v.as_f64().to_bits())));
    all
}

fn check<F: Float>(data: &[u8], allow_non_finite: bool) {
    let options = LoadOptions::default().allow_non_finite(allow_non_finite);
    let mut net = Net::<F>::seeded(0);
    let before = state(&mut net);
    match io::from_bytes_with(&mut net, data, options) {
        Ok(()) => {
            let loaded = state(&mut net);
            if !allow_non_finite {
                assert!(loaded.iter().all(|&b| f64::from_bits(b).is_finite()));
            }
            let bytes = io::to_bytes(&mut net).expect("a loaded network saves");
            let mut again = Net::<F>::seeded(1);
            io::from_bytes_with(&mut again, &bytes, options).expect("its own checkpoint loads");
            assert_eq!(state(&mut again), loaded);
        }
        Err(e) => {
            let _ = e.to_string();
            assert_eq!(state(&mut net), before, "a failed load changes nothing");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    for allow in [false, true] {
        check::<f32>(data, allow);
        check::<f64>(data, allow);
    }
});
