async fn f(rx: gust_chan::Receiver<String>) {
    gust_chan::select! {
        Ok(mut s) = rx.recv() => s.push('!'),
    };
}

fn main() {}
