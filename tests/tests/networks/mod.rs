//! Networks that more than one test binary exports: every statement, every activation, every
//! block kind (nested), and the fused output activations. `tests/onnx.rs` runs them in ONNX
//! Runtime, `tests/torch.rs` in PyTorch. Each comes with a function giving its source text.

#![allow(dead_code)] // each test binary uses some of them

/// Declares networks with `network!` and a function `$source()` giving their source text as
/// the macro reads it, so the Python and the Rust come from one text.
macro_rules! networks {
    ($source:ident: $($body:tt)*) => {
        axonal::network! { $($body)* }
        pub fn $source() -> String {
            let tokens: proc_macro2::TokenStream =
                stringify!($($body)*).parse().expect("the macro's tokens");
            axonal_dsl::tokens::MacroSource::new(tokens).text
        }
    };
}

networks! { everything:
    /// Every layer statement and activation (`every_statement` of snapshots.rs).
    pub Everything {
        input 8;
        fc1: dense 8->16 leaky_relu 0.1 init=he bias=0.01 l2=1e-4;
        bn1: batchnorm momentum=0.1 eps=1e-5;
        drop1: dropout 0.25;
        mx: maxout 16->8 k=3 init=xavier_uniform;
        elu 0.5;
        dense 8 selu;
        gelu; gelu_tanh; silu; swish; softplus; mish; hard_sigmoid;
        dense 8 step init=uniform(-0.1, 0.1);
        identity; sigmoid; tanh; relu;
        dense 8 init=lecun_uniform bias=[0, 1, 2, 3, 4, 5, 6, 7];
        log_softmax;
        dense 4 init=normal(0, 0.01);
        huber delta=0.5 reduction=sum
    }
}

networks! { activations:
    /// Every activation side by side on the same input (in `Everything` a step hides what
    /// came before it).
    pub Activations {
        input 6;
        all: concat
            a: { identity } b: { step } c: { sigmoid } d: { tanh } e: { relu }
            f: { leaky_relu 0.2 } g: { elu 0.7 } h: { selu } i: { gelu } j: { gelu_tanh }
            k: { silu } l: { softplus } m: { mish } n: { hard_sigmoid } o: { softmax }
            p: { log_softmax } q: { swish } r: { linear }
    }
}

networks! { images:
    /// Convolutions, pooling and normalization in every form the language has, activations
    /// on images (tests/onnx.rs's `Images`).
    pub Images {
        input 2x9x8;
        c1: conv2d 2->4 k=3x2 stride=2x1 pad=1x0 dilation=1 elu;
        bn: batchnorm;
        same: conv2d 4 k=3 pad=same gelu;
        dil: conv2d 3 k=2 dilation=2 hard_sigmoid;
        mp: maxpool 2 stride=1 pad=1 dilation=1x2;
        ap: avgpool 3 stride=2 pad=1;
        ln: layernorm;
        mish;
        drop: dropout 0.5;
        flatten;
        log_softmax;
        dense 5 silu;
        mse
    }
    /// One-dimensional signals: conv1d, pools, global average pooling (tests/onnx.rs's
    /// `Signals`).
    pub Signals {
        input 3x20;
        conv1d 3->6 k=5 stride=2 pad=2 relu;
        avgpool 2 count_include_pad=false pad=1;
        batchnorm;
        conv1d 4 k=3 pad=same tanh;
        maxpool 3 stride=2;
        layernorm eps=1e-3;
        global_avgpool;
        dense 3 softmax;
        cross_entropy
    }
}

networks! { blocks:
    /// A small ResNet: an identity residual repeated, a projection residual, branches
    /// joined by concatenation and by sum (tests/blocks.rs's `Res`).
    pub Res {
        input 3x6x6;
        stem: conv2d 4 k=3 pad=1;
        stage1: repeat 2 {
            residual relu {
                conv1: conv2d 4 k=3 pad=1; bn1: batchnorm; relu;
                conv2: conv2d 4 k=3 pad=1; bn2: batchnorm
            }
        }
        down: residual relu {
            conv1: conv2d 6 k=3 stride=2 pad=1; bn1: batchnorm
        } shortcut: {
            conv2d 6 k=1 stride=2; batchnorm
        }
        towers: concat wide: { conv2d 2 k=1 } deep: { fc: conv2d 3 k=3 pad=1 tanh }
        global_avgpool;
        both: add { dense 4 } { dense 4 tanh; dense 4 }
        dense 3;
        softmax_ce
    }
    /// Vectors: a residual inside a repeat inside a branch; three branches summed
    /// (tests/onnx.rs's `Nested`).
    pub Nested {
        input 5;
        dense 6 tanh;
        split: concat a: {
            repeat 2 { residual tanh { dense 6 tanh l2=0.1; dense 6 } }
        } b: {
            dense 3 sigmoid
        }
        three: add selu { dense 4 } { dense 4 tanh } { dense 4 step }
        out: dense 2;
        bce from_logits=true
    }
}

networks! { fused:
    /// softmax + categorical cross-entropy: trained on logits.
    pub Categorical { input 4; dense 3 softmax; categorical_crossentropy }
    /// sigmoid + binary cross-entropy: trained on logits.
    pub Binary { input 4; dense 8 relu; dense 1; sigmoid; bce }
    /// Already on logits: nothing to fuse.
    pub Logits { input 4; dense 3; sparse_categorical_crossentropy from_logits=true reduction=none }
}
