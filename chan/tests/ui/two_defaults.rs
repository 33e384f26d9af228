async fn f(rx: gust_chan::Receiver<i32>) -> i32 {
    gust_chan::select! {
        v = rx.recv() => v.unwrap_or(0),
        default => 1,
        default => 2,
    }
}

fn main() {}
