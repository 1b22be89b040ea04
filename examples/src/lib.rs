//! The example networks of axonal, compiled from `models/*.nn` by this crate's
//! `build.rs` exactly as a user's crate would compile its own. Each module holds
//! the networks of one `.nn` file; the binaries in `src/bin/` run them.

/// Perceptron logic gates with fixed weights (`models/gates.nn`).
pub mod gates {
    include!(concat!(env!("OUT_DIR"), "/gates.rs"));
}

/// A small MLP that learns XOR (`models/xor.nn`).
pub mod xor {
    include!(concat!(env!("OUT_DIR"), "/xor.rs"));
}

/// The computational graph f = w·x + b (`models/backprop.nn`).
pub mod backprop {
    include!(concat!(env!("OUT_DIR"), "/backprop.rs"));
}

/// The course's worked loss example: scores handed straight to a loss (`models/losses.nn`).
pub mod losses {
    include!(concat!(env!("OUT_DIR"), "/losses.rs"));
}

/// A classifier for three interleaved spirals (`models/spiral.nn`).
pub mod spiral {
    include!(concat!(env!("OUT_DIR"), "/spiral.rs"));
}

/// The course's weight-initialization experiment (`models/init.nn`): six stacks of 5 dense
/// layers of 100 units that differ only in their initial weights, and the code that runs them.
pub mod init {
    include!(concat!(env!("OUT_DIR"), "/init.rs"));
    mod experiment;
    pub use experiment::*;
}

/// A multilayer perceptron with batch normalization and dropout for MNIST digits (`models/mnist.nn`).
pub mod mnist {
    include!(concat!(env!("OUT_DIR"), "/mnist.rs"));

    /// The `mnist` example's settings, chosen by measurement (`models/mnist.nn`): 4 epochs of
    /// Adam at 5e-3, batch 256.
    pub const RECIPE: crate::classify::Recipe = crate::classify::Recipe {
        epochs: 4,
        batch: 256,
        lr: 5e-3,
        seed: 1,
    };
}

/// LeNet-5 for MNIST digits: two convolution and max-pooling stages, then three dense layers
/// (`models/lenet.nn`).
pub mod lenet {
    include!(concat!(env!("OUT_DIR"), "/lenet.rs"));

    /// The `cnn` example's settings, chosen by measurement (`models/lenet.nn`): 3 epochs of
    /// Adam at 5e-3, batch 128.
    pub const RECIPE: crate::classify::Recipe = crate::classify::Recipe {
        epochs: 3,
        batch: 128,
        lr: 5e-3,
        seed: 1,
    };
}

/// A small CNN with batch normalization for Fashion-MNIST clothing (`models/fashion.nn`).
pub mod fashion {
    include!(concat!(env!("OUT_DIR"), "/fashion.rs"));

    /// The `fashion` example's settings, chosen by measurement (`models/fashion.nn`): 4 epochs
    /// of Adam at 3e-3, batch 64.
    pub const RECIPE: crate::classify::Recipe = crate::classify::Recipe {
        epochs: 4,
        batch: 64,
        lr: 3e-3,
        seed: 1,
    };
}

/// A small residual CNN with batch normalization for Fashion-MNIST clothing: residual stages
/// written as blocks, then global average pooling (`models/resnet.nn`).
pub mod resnet {
    include!(concat!(env!("OUT_DIR"), "/resnet.rs"));

    /// The `resnet` example's settings (`models/resnet.nn`): 10 epochs of Adam at 3e-3, batch
    /// 64, the `fashion` example's optimizer settings. Measured with seed 1 in a release build
    /// on 2 shared cores: 92.70% test accuracy, 33–52 s per epoch (37.7 s on average).
    pub const RECIPE: crate::classify::Recipe = crate::classify::Recipe {
        epochs: 10,
        batch: 64,
        lr: 3e-3,
        seed: 1,
    };
}

pub mod classify;
pub mod data;
pub mod plot;
