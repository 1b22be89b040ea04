//! LeNet-5 of `bench/compare.sh` (the same network as `bench/peers.py`'s), shared by the
//! benches (`throughput`, `lenet_layers`).

axonal::network! {
    /// LeNet-5: conv 1->6 k=5 pad=2 ReLU, maxpool 2, conv 6->16 k=5 ReLU, maxpool 2,
    /// flatten, dense 120 ReLU, 84 ReLU, 10, softmax cross-entropy.
    pub Lenet {
        input 1x28x28;
        conv1: conv2d 1->6 k=5 pad=2 relu init=he;
        pool1: maxpool 2;
        conv2: conv2d 16 k=5 relu init=he;
        pool2: maxpool 2;
        flatten;
        fc1: dense 120 relu init=he;
        fc2: dense 84 relu init=he;
        fc3: dense 10;
        softmax_ce
    }
}
