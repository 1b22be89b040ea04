// A repeat count of 0, a block without a body, braces after a layer, one branch, and a loss
// inside a block: every mistake at once.
axonal::network! {
    Net {
        input 4;
        repeat 0 { dense 4 relu };
        residual;
        dense 4 { relu };
        concat { dense 2 };
        repeat 2 { dense 4; mse }
    }
}

fn main() {}
