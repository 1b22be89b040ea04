// `concat` joins along channels, so the branches must agree in height and width; `add` needs
// one shape; a shortcut must end where the body does.
axonal::network! {
    Concat {
        input 4x8x8;
        towers: concat a: { conv2d 8 k=3 pad=1 } b: { conv2d 8 k=3 }
    }
}

axonal::network! {
    Add {
        input 4x8x8;
        both: add { conv2d 4 k=1 } { conv2d 6 k=1 };
        residual { conv2d 4 k=3 pad=1 } shortcut: { conv2d 4 k=1 stride=2 }
    }
}

fn main() {}
