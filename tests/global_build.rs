//! `Builder::build_global` sets the pool the free functions use, once. A test binary of its
//! own: the global pool is one per process, so the order of its steps must be this test's.

mod common;

use std::sync::mpsc;
use std::time::Duration;

use common::{threads_named, wait_until};
use skewer::{Backend, Pool};

#[test]
fn build_global_sets_the_global_pool_once() {
    Pool::builder()
        .num_threads(3)
        .backend(Backend::Channel)
        .thread_name(|i| format!("global-{i}"))
        .build_global()
        .expect("nothing used the global pool before");
    assert_eq!(skewer::current_num_threads(), 3);
    if !cfg!(miri) {
        // Named by each thread as it starts.
        assert!(wait_until(Duration::from_secs(20), || threads_named(
            "global-"
        ) == 3));
    }

    // The free functions use it from outside any pool.
    let (tx, rx) = mpsc::channel();
    for i in 0..4 {
        let tx = tx.clone();
        skewer::spawn_fifo(move || {
            let name = std::thread::current().name().map(String::from);
            tx.send((i, name)).unwrap();
        });
    }
    drop(tx);
    let got: Vec<(i32, Option<String>)> = rx.iter().collect();
    // Every job ran once. Three workers take them in FIFO order but may finish (and send)
    // in any order; the order itself is tested on one worker in tests/rayon_verbs.rs.
    let mut ids: Vec<i32> = got.iter().map(|(i, _)| *i).collect();
    ids.sort_unstable();
    assert_eq!(ids, [0, 1, 2, 3]);
    for (_, name) in &got {
        assert!(
            name.as_deref().is_some_and(|n| n.starts_with("global-")),
            "{name:?}"
        );
    }
    let mut v = [1, 2, 3];
    skewer::scope(|s| {
        for x in v.iter_mut() {
            s.spawn(move |_| *x *= 2);
        }
    });
    assert_eq!(v, [2, 4, 6]);

    // A second call is refused, starts nothing, and says why.
    let err = Pool::builder()
        .num_threads(2)
        .thread_name(|i| format!("second-{i}"))
        .build_global()
        .expect_err("the global pool is set once");
    assert!(err.is_global_already_built());
    assert_eq!(err.env_var(), None);
    assert!(std::error::Error::source(&err).is_none());
    let msg = err.to_string();
    assert!(
        msg.contains("earlier build_global") && msg.contains("once per process"),
        "{msg}"
    );
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(
        threads_named("second-"),
        0,
        "the refused builder started no thread"
    );
    assert_eq!(skewer::current_num_threads(), 3, "the first pool stays");
}
