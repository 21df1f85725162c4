//! `Builder::build_global` after the global pool was used is an error that says so. A test
//! binary of its own: the global pool is one per process.

mod common;

use std::time::Duration;

use common::threads_named;
use skewer::Pool;

#[test]
fn build_global_after_the_first_use_is_refused_and_says_why() {
    // The first use builds the global pool with the default settings.
    assert_eq!(skewer::join(|| 1, || 2), (1, 2));
    let threads = skewer::current_num_threads();

    let err = Pool::builder()
        .num_threads(threads + 1)
        .thread_name(|i| format!("late-{i}"))
        .build_global()
        .expect_err("the global pool exists");
    assert!(err.is_global_already_built());
    let msg = err.to_string();
    assert!(
        msg.contains("default settings by its first use") && msg.contains("start of main"),
        "{msg}"
    );
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(
        threads_named("late-"),
        0,
        "the refused builder started no thread"
    );
    assert_eq!(skewer::current_num_threads(), threads);
}
