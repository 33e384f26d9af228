async fn f(tx: gust_chan::Sender<i32>) {
    gust_chan::select! {
        r = tx.send("x") => drop(r),
    };
}

fn main() {}
