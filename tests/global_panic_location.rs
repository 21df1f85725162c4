//! When the global pool cannot be built (an invalid `SKEWER_NUM_THREADS`), the free function
//! that needed it panics with a message naming the variable, at the caller's line. The
//! checks run in a child process of this test binary that has the bad variable set (setting
//! it in this process would race with other threads reading the environment).

use std::panic::{self, AssertUnwindSafe};
use std::process::Command;
use std::sync::Mutex;

/// Where the last panic of this process happened, and its message.
static LAST: Mutex<Option<(String, u32, String)>> = Mutex::new(None);

/// Runs `f`, which must panic, and returns the file, line and message of its panic.
fn panic_of<R>(f: impl FnOnce() -> R) -> (String, u32, String) {
    *LAST.lock().unwrap() = None;
    assert!(
        panic::catch_unwind(AssertUnwindSafe(f)).is_err(),
        "expected a panic"
    );
    LAST.lock().unwrap().take().expect("the hook saw the panic")
}

/// The checks, in the child. Ignored in a plain run: the parent runs it with the variable.
#[test]
#[ignore = "run by `the_global_pool_panic_points_at_the_caller` in a child process"]
fn child_checks_the_panic_locations() {
    assert_eq!(
        std::env::var("SKEWER_NUM_THREADS").as_deref(),
        Ok("many"),
        "run by the parent test, which sets the variable"
    );
    panic::set_hook(Box::new(|info| {
        let location = info.location().expect("a location");
        let message = info
            .payload()
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| info.payload().downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        eprintln!("panic at {location}: {message}");
        *LAST.lock().unwrap() = Some((location.file().to_string(), location.line(), message));
    }));
    let mut checked = Vec::new();
    let mut check = |what: &str, line: u32, (file, at, message): (String, u32, String)| {
        assert_eq!((file.as_str(), at), (file!(), line), "{what}: {message}");
        assert!(
            message.contains("cannot build the global pool")
                && message.contains("SKEWER_NUM_THREADS=\"many\""),
            "{what}: {message}"
        );
        checked.push(what.to_string());
    };
    let line = line!() + 1;
    let p = panic_of(|| skewer::join(|| (), || ()));
    check("join", line, p);
    let line = line!() + 1;
    let p = panic_of(|| skewer::join_context(|_| (), |_| ()));
    check("join_context", line, p);
    let line = line!() + 1;
    let p = panic_of(|| skewer::scope(|_| ()));
    check("scope", line, p);
    let line = line!() + 1;
    let p = panic_of(|| skewer::scope_fifo(|_| ()));
    check("scope_fifo", line, p);
    let line = line!() + 1;
    let p = panic_of(|| skewer::in_place_scope(|_| ()));
    check("in_place_scope", line, p);
    let line = line!() + 1;
    let p = panic_of(|| skewer::in_place_scope_fifo(|_| ()));
    check("in_place_scope_fifo", line, p);
    let line = line!() + 1;
    let p = panic_of(|| skewer::spawn(|| ()));
    check("spawn", line, p);
    let line = line!() + 1;
    let p = panic_of(|| skewer::spawn_fifo(|| ()));
    check("spawn_fifo", line, p);
    // A closure, not the function as a value: called through a function pointer, a
    // `#[track_caller]` function reports the pointer's call site in core.
    let line = line!() + 1;
    let p = panic_of(|| skewer::current_num_threads());
    check("current_num_threads", line, p);
    println!("CHECKED {}", checked.join(","));
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot start a process")]
fn the_global_pool_panic_points_at_the_caller() {
    let out = Command::new(std::env::current_exe().expect("this test binary"))
        .args([
            "--exact",
            "child_checks_the_panic_locations",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("SKEWER_NUM_THREADS", "many")
        .output()
        .expect("run the child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains(
            "CHECKED join,join_context,scope,scope_fifo,in_place_scope,in_place_scope_fifo,\
             spawn,spawn_fifo,current_num_threads"
        ),
        "{stdout}"
    );
}
