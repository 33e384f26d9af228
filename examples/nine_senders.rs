//! Nine goroutines send on one channel and `main` receives all nine values,
//! then ranges over the channel until the last sender's handle is dropped.
//!
//! ```go
//! ch := make(chan string)
//! for i := 1; i <= 9; i++ {
//!     go func(i int) { ch <- fmt.Sprintf("hello from goroutine %d", i) }(i)
//! }
//! for i := 0; i < 9; i++ { fmt.Println(<-ch) }
//! ```

use gust::chan;

fn main() {
    gust::block_on(async {
        let (tx, rx) = chan::<String>(0);
        for i in 1..=9 {
            let tx = tx.clone();
            gust::spawn(async move {
                tx.send(format!("hello from goroutine {i}"))
                    .await
                    .expect("main is receiving");
            });
        }
        // Our own sending handle goes, so the channel closes once all nine
        // goroutines have sent and dropped theirs: `recv` then yields `None`.
        drop(tx);
        let mut received = 0;
        while let Some(msg) = rx.recv().await {
            println!("{msg}");
            received += 1;
        }
        println!("received {received} messages; the channel is closed");
        assert_eq!(received, 9);
    });
}
