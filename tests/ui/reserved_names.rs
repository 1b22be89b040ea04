// Only the names that no Rust identifier can stand for, not even a raw one, are refused;
// `type`, `Option`, `None`, `f32` and every other name work (see tests/tests/names.rs).
axonal::network! {
    self { input 2; dense 1 }
    Net { input 2; crate: dense 2; _: relu; Self: mse }
}

fn main() {}
