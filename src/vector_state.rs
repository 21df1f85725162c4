//! What a thread does to its vector registers when it comes back from blocking.
//!
//! On some virtual machines a virtual CPU that halted, because every thread on it blocked,
//! comes back with its vector registers in a state that slows legacy SSE instructions: the
//! scalar `f64` arithmetic of code compiled for baseline x86-64 then runs as if the upper
//! halves of the AVX registers were dirty, each instruction merging with them. On the
//! project's AMD EPYC VM (KVM, CPU family 26) a scalar floating-point loop ran 1.23x slower
//! after a 1 ms sleep than after a busy wait, on any thread, until the thread executed
//! `vzeroupper`, although `xgetbv(1)` reported the upper state clean; with another thread
//! keeping the same virtual CPU busy, the sleep cost nothing. A pool's workers and the
//! callers that wait for them block all the time, so without this every job run after a
//! wake-up paid that, until some library routine (glibc's AVX string functions end with
//! `vzeroupper`) happened to clear it (`docs/benchmarks.md`, "The tiles ran slower, not the
//! scheduler").
//!
//! So every wait on the crate's condition variable, and the fan-out map's wait for its
//! results, ends with [`after_block`], which clears the upper halves where the CPU has AVX:
//! one instruction after a futex wait that costs microseconds.

/// Clears the upper halves of the AVX registers (`vzeroupper`) on x86-64 CPUs that have
/// AVX; does nothing elsewhere, and under Miri, which cannot run inline assembly.
#[inline]
pub(crate) fn after_block() {
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    if std::arch::is_x86_feature_detected!("avx") {
        // SAFETY: the CPU has AVX (checked just above), so `vzeroupper` exists. It zeroes
        // bits 128 and up of ymm0-15 (and of zmm0-15), touches no memory, no stack and no
        // flags, and changes no lower 128 bits. No caller holds a value in those upper bits
        // across this call: the calling conventions treat them as clobbered by every call,
        // and `clobber_abi("C")` tells the compiler the same of this block.
        unsafe {
            std::arch::asm!(
                "vzeroupper",
                clobber_abi("C"),
                options(nomem, nostack, preserves_flags)
            );
        }
    }
}

#[cfg(all(test, target_arch = "x86_64", not(miri)))]
mod tests {
    use super::after_block;
    use crate::sync::{Condvar, Mutex};
    use std::time::Duration;

    /// The processor's record of which register states are in use (`xgetbv` with ECX = 1),
    /// where the CPU reports it (CPUID leaf 0xD, sub-leaf 1, EAX bit 2).
    fn in_use() -> Option<u64> {
        // CPUID leaf 0xD exists on every CPU with XSAVE, which AVX requires (the tests ask
        // only after checking AVX).
        let leaf = std::arch::x86_64::__cpuid_count(0xD, 1);
        if leaf.eax & (1 << 2) == 0 {
            return None;
        }
        let (lo, hi): (u32, u32);
        // SAFETY: the CPU supports `xgetbv` with ECX = 1 (checked above); it only reads.
        unsafe {
            std::arch::asm!("xgetbv", in("ecx") 1u32, out("eax") lo, out("edx") hi,
                options(nomem, nostack, preserves_flags));
        }
        Some(u64::from(lo) | (u64::from(hi) << 32))
    }

    /// Bit 2 of the in-use record: the upper halves of ymm0-15.
    const YMM_UPPER: u64 = 1 << 2;

    /// Whether the upper halves of ymm0-15 are in use now.
    fn upper_in_use() -> bool {
        in_use().expect("checked by `observable`") & YMM_UPPER != 0
    }

    /// Whether this CPU lets the tests see the state they check: it has AVX (otherwise
    /// `after_block` has nothing to clear) and reports which states are in use.
    fn observable() -> bool {
        std::arch::is_x86_feature_detected!("avx") && in_use().is_some()
    }

    /// Sets every bit of ymm1, which puts the upper halves in use; returns its lower 64 bits.
    fn dirty_upper_halves() -> u64 {
        let lower: u64;
        // SAFETY: callers check that the CPU has AVX. The block sets every bit of ymm1
        // (declared as clobbered), which puts its upper half in use, and reads the lower
        // half back into `lower`.
        unsafe {
            std::arch::asm!(
                "vcmpps ymm1, ymm1, ymm1, 15",
                "vmovq {lower}, xmm1",
                lower = out(reg) lower,
                out("xmm1") _,
                options(nomem, nostack, preserves_flags)
            );
        }
        lower
    }

    #[test]
    fn after_block_leaves_the_upper_halves_clean() {
        if !observable() {
            return;
        }
        assert_eq!(dirty_upper_halves(), u64::MAX);
        assert!(upper_in_use(), "the upper half was just written");
        after_block();
        assert!(!upper_in_use(), "after_block left it in use");
    }

    #[test]
    fn a_wait_on_the_crates_condvar_comes_back_with_the_upper_halves_clean() {
        if !observable() {
            return;
        }
        let (lock, cvar) = (Mutex::new(()), Condvar::new());
        let guard = lock.lock();
        dirty_upper_halves();
        assert!(upper_in_use(), "the upper half was just written");
        // Nobody notifies: the wait blocks until its timeout, then returns.
        let guard = cvar.wait_timeout(guard, Duration::from_millis(2));
        assert!(!upper_in_use(), "the wait left it in use");
        drop(guard);
    }
}
