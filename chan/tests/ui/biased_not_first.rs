async fn f(rx: gust_chan::Receiver<i32>) {
    gust_chan::select! {
        v = rx.recv() => drop(v),
        biased;
    };
}

fn main() {}
