async fn f(rx: gust_chan::Receiver<i32>) -> i32 {
    gust_chan::select! {
        Some(v) = rx.recv() => v,
        default => "nothing",
    }
}

fn main() {}
