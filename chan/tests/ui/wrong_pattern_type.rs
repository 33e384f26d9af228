async fn f(rx: gust_chan::Receiver<i32>) {
    gust_chan::select! {
        Ok(v) = rx.recv() => drop(v),
    };
}

fn main() {}
