axonal::network! {
    pub Net { input 4; dense 10; binary_crossentropy }
}

fn main() {}
