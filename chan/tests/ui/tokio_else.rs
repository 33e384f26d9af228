async fn f(rx: gust_chan::Receiver<i32>) -> i32 {
    gust_chan::select! {
        v = rx.recv() => v.unwrap_or(0),
        else => 1,
    }
}

fn main() {}
