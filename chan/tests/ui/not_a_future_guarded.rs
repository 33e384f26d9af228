async fn f(rx: gust_chan::Receiver<i32>, on: bool) {
    gust_chan::select! {
        v = rx.recv() => drop(v),
        v = 5, if on => drop(v),
    };
}

fn main() {}
