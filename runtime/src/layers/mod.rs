//! Layers with const-generic widths, the building blocks generated networks are made of.
//!
//! Each layer owns its parameters, gradients and buffers. The common shape of the API:
//! `forward(x, mode)` keeps what backward needs, `output()` borrows the result,
//! `backward(x, grad_out, input_grad)` overwrites parameter gradients (and the input
//! gradient if asked), `grad_input()` borrows it, and `predict(&self, x)` is an allocating
//! eval-mode forward that leaves the layer untouched.

mod activation;
mod batchnorm;
mod dense;
mod dropout;
mod maxout;

pub use activation::Activation;
pub use batchnorm::BatchNorm;
pub use dense::Dense;
pub use dropout::Dropout;
pub use maxout::Maxout;
