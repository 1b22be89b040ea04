axonal::network! {
    pub Net { input 4; dense 1; huber delta=-1 reduction=average }
}

fn main() {}
