// A loss over classes needs one score per class. (Elementwise losses such as
// `binary_crossentropy` take any width: `dense 10; binary_crossentropy` compiles.)
axonal::network! {
    pub Net { input 4; dense 1; categorical_crossentropy }
}

fn main() {}
