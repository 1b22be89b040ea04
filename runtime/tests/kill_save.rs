//! No data lost: a process killed (SIGKILL) at a random point while it saves checkpoints in
//! a loop leaves at the path either the old checkpoint or the new one, always loadable,
//! never a broken file (`axonal::io::save` writes a temporary `PATH.<pid>.<n>.<random>.tmp`,
//! fsyncs it, renames it over `PATH`).
//!
//! The test binary is its own child: `kill_save_child` does nothing unless
//! `AXONAL_KILL_SAVE_DIR` is set, in which case it saves two alternating weight sets to
//! `DIR/net.safetensors` until killed. The parent kills it after a random delay, many
//! times (bounded to a few seconds), and loads what is left.
//!
//! A SIGKILL loses no data the kernel has accepted, so this shows atomicity against a
//! crash of the process, not against a power cut (which the fsyncs are for and which a
//! test cannot stage).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use axonal::rand::{rngs::StdRng, Rng, SeedableRng};
use axonal::{io, Model};

axonal::network! {
    /// Big enough (about 1 MB of f32) that a save takes long enough to be interrupted.
    Net { input 256; fc1: dense 256 tanh; bn: batchnorm; fc2: dense 256; fc3: dense 128; out: dense 10; softmax_ce }
}

const CHILD_ENV: &str = "AXONAL_KILL_SAVE_DIR";

/// Every parameter and buffer of `net`, by name.
fn tensors(net: &mut Net) -> Vec<(String, Vec<f32>)> {
    let mut out = Vec::new();
    net.visit_params(&mut |p| out.push((p.full_name(), p.value.to_vec())));
    net.visit_buffers(&mut |b| out.push((b.full_name(), b.value.to_vec())));
    out
}

/// The two weight sets the child alternates between.
fn versions() -> [Net; 2] {
    [Net::<f32>::seeded(1), Net::<f32>::seeded(2)]
}

/// The child: saves version 0, 1, 0, 1, … to `$AXONAL_KILL_SAVE_DIR/net.safetensors` until
/// killed. Without the variable (a normal `cargo test`), it returns at once.
#[test]
fn kill_save_child() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let path = Path::new(&dir).join("net.safetensors");
    let mut nets = versions();
    for i in 0.. {
        io::save(&mut nets[i % 2], &path).expect("save");
        if i == 0 {
            // Tell the parent that saving has begun.
            std::fs::write(Path::new(&dir).join("started"), b"").expect("marker");
        }
    }
}

#[test]
fn a_killed_save_leaves_the_old_or_the_new_checkpoint() {
    if std::env::var(CHILD_ENV).is_ok() {
        return; // This is the child process: only `kill_save_child` runs here.
    }
    let dir = std::env::temp_dir().join(format!("axonal-kill-save-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("net.safetensors");
    let expected: Vec<_> = versions().iter_mut().map(tensors).collect();
    // The old checkpoint before the first child runs: version 1.
    io::save(&mut Net::<f32>::seeded(2), &path).unwrap();

    let exe = std::env::current_exe().unwrap();
    let mut rng = StdRng::seed_from_u64(7);
    let (mut kills, mut mid_save) = (0, 0);
    let start = Instant::now();
    while kills < 200 && (start.elapsed() < Duration::from_secs(4) || kills < 10) {
        let _ = std::fs::remove_file(dir.join("started"));
        let mut child = Command::new(&exe)
            .args([
                "kill_save_child",
                "--exact",
                "--test-threads=1",
                "--nocapture",
            ])
            .env(CHILD_ENV, &dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Wait until it saves, then a random time more: anywhere within a few saves.
        let waited = Instant::now();
        while !dir.join("started").exists() && waited.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_micros(200));
        }
        std::thread::sleep(Duration::from_micros(rng.random_range(0..20_000)));
        child.kill().unwrap();
        let status = child.wait().unwrap();
        assert!(!status.success(), "the child was killed, it did not finish");
        kills += 1;
        // Killed between creating its temporary file and renaming it: the file stays (each
        // save has its own name), so count and remove it.
        let mut stale = false;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let p = entry.unwrap().path();
            if p.extension().is_some_and(|e| e == "tmp") {
                std::fs::remove_file(p).unwrap();
                stale = true;
            }
        }
        mid_save += usize::from(stale);

        let mut loaded = Net::<f32>::seeded(99);
        io::load(&mut loaded, &path)
            .unwrap_or_else(|e| panic!("after kill {kills}, the checkpoint does not load: {e}"));
        let got = tensors(&mut loaded);
        assert!(
            expected.contains(&got),
            "after kill {kills}, the checkpoint is neither the old nor the new weights"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
    eprintln!("{kills} kills, {mid_save} in the middle of a save");
    assert!(
        mid_save > 0,
        "no kill landed in the middle of a save ({kills} kills): the test proves nothing"
    );
}
