axonal::network! {
    pub Gate { dense 2->1 step weights=[0.5, 0.5, 0.5] bias=-0.7 }
}

fn main() {}
