//! Layers with const-generic shapes, the building blocks generated networks are made of.
//!
//! Each layer owns its parameters, gradients and buffers. The common shape of the API:
//! `forward(x, mode)` keeps what backward needs, `output()` borrows the result,
//! `backward(x, grad_out, input_grad)` overwrites parameter gradients (and the input
//! gradient if asked), `grad_input()` borrows it, and `predict(&self, x)` is an allocating
//! eval-mode forward that leaves the layer untouched.
//!
//! A batch is always a `[batch, width]` matrix, one sample per row. A sample with a shape
//! (`[C, L]` or `[C, H, W]`, PyTorch's order) is stored flattened in row-major order, so a
//! batch of images is `[batch, C·H·W]` in NCHW order: element-wise layers ([`Activation`],
//! [`Dropout`]) work on any shape unchanged, and flattening is free.
//!
//! One module per kind:
//!
//! * `dense`: [`Dense`], the fully connected layer (`nn.Linear` + activation);
//! * `maxout`: [`Maxout`];
//! * `conv`: [`Conv2d`] and [`Conv1d`] (`nn.Conv2d`/`nn.Conv1d` + activation);
//! * `pool`: [`MaxPool2d`], [`MaxPool1d`], [`AvgPool2d`], [`AvgPool1d`] and
//!   [`GlobalAvgPool`];
//! * `window`: [`Window`] ([`Window2`], [`Window1`]), the kernel, stride, padding and
//!   dilation of convolutions and pooling;
//! * `batchnorm`: [`BatchNorm`], per feature or per channel (`nn.BatchNorm1d`/`2d`);
//! * `layernorm`: [`LayerNorm`] (`nn.LayerNorm` over the whole sample);
//! * `dropout`: [`Dropout`];
//! * `activation`: [`Activation`], an activation function as a layer of its own;
//! * `join`: [`Sum`] and [`Concat`], the joins of residual blocks and branches, and
//!   [`Fork`], the gradient of a block's input that several of its parts read.

mod activation;
mod batchnorm;
mod conv;
mod dense;
mod dropout;
mod join;
mod layernorm;
mod maxout;
mod pool;
pub(crate) mod window;

pub use activation::Activation;
pub use batchnorm::BatchNorm;
pub use conv::{Conv1d, Conv2d};
pub use dense::Dense;
pub use dropout::Dropout;
pub use join::{Concat, Fork, Sum};
pub use layernorm::LayerNorm;
pub use maxout::Maxout;
pub use pool::{AvgPool1d, AvgPool2d, GlobalAvgPool, MaxPool1d, MaxPool2d};
pub use window::{Window, Window1, Window2};
