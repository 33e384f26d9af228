async fn f(rx: gust_chan::Receiver<i32>) {
    let enabled = 1;
    gust_chan::select! {
        v = rx.recv(), if enabled => drop(v),
    };
}

fn main() {}
