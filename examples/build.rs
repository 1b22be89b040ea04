//! Compiles every `models/*.nn` into `OUT_DIR`, exactly as a user's crate would.

fn main() {
    let mut models: Vec<_> = std::fs::read_dir("models")
        .expect("examples/models exists")
        .map(|entry| entry.expect("readable models/ entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "nn"))
        .collect();
    models.sort();
    println!("cargo:rerun-if-changed=models");
    if let Err(err) = axonal_dsl::build::compile(&models) {
        panic!("{err}");
    }
}
