fn main() {
    let (_tx, rx) = gust_chan::chan::<i32>(1);
    let _ = async move {
        gust_chan::select! {
            r = rx.send(1) => drop(r),
        };
    };
}
