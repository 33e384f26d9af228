//! The stand-ins' count (`scheduler/stand_in.rs`) under loom: a stand-in
//! deciding to leave races a worker coming back from a blocking wait and
//! blocking again. Whatever the interleaving, someone can run tasks after
//! both (`runners > blocked`): the stand-in stayed, or the worker's block
//! counted a new one in. Checked to fail: with `try_leave` reading the word
//! and then storing `runners - 1` (no compare-exchange), loom finds a run
//! that ends with nobody to run tasks.

use crate::scheduler::stand_in::Count;
use loom::sync::Arc;
use loom::thread;

#[test]
fn loom_stand_in_count_keeps_a_runner() {
    loom::model(|| {
        // One worker, blocked; one stand-in running.
        let count = Arc::new(Count::new(1));
        assert!(count.block(true), "the only worker blocks: a stand-in");
        let worker = {
            let count = count.clone();
            thread::spawn(move || {
                count.unblock();
                count.block(true)
            })
        };
        let left = count.try_leave();
        let started = worker.join().unwrap();
        let (runners, blocked) = count.get();
        assert!(
            runners > blocked,
            "nobody can run tasks: {runners} runners, {blocked} blocked"
        );
        // Exactly the runners counted: the worker, the first stand-in
        // unless it left, and one more if the worker started one.
        assert_eq!(runners, 1 + u64::from(!left) + u64::from(started));
    });
}
