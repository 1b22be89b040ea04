axonal::network! {
    pub Net { dense 4->2 }
    Net { dense 4->3 }
}

fn main() {}
