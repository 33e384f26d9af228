async fn f(rx: gust_chan::Receiver<i32>) {
    gust_chan::select! {
        v = rx => drop(v),
    };
}

fn main() {}
