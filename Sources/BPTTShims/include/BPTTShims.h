// What Swift (without the Synchronization module, which older macOS deployment targets lack)
// cannot say itself: software prefetch and atomic loads, stores and exchanges on a plain word.
// All are static inline, so they are inlined into the Swift code that calls them.
#ifndef BPTT_SHIMS_H
#define BPTT_SHIMS_H

/// Asks for the cache line holding p, to be written soon (PREFETCHW on x86-64). A hint: no fault, no effect on results.
static inline void bptt_prefetch_for_write(const void *p) { __builtin_prefetch(p, 1, 3); }

/// Asks for the cache line holding p, to be read soon (PREFETCHT0). A hint: no fault, no effect on results.
static inline void bptt_prefetch_for_read(const void *p) { __builtin_prefetch(p, 0, 3); }

/// Sequentially consistent atomic load, store and exchange of a word shared between threads.
static inline long bptt_atomic_load(const long *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }
static inline void bptt_atomic_store(long *p, long v) { __atomic_store_n(p, v, __ATOMIC_SEQ_CST); }
static inline long bptt_atomic_exchange(long *p, long v) { return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST); }
/// Sets *p to `desired` if it holds `expected`; returns whether it did.
static inline int bptt_atomic_compare_exchange(long *p, long expected, long desired) {
    return __atomic_compare_exchange_n(p, &expected, desired, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

/// A spin-wait hint to the CPU (PAUSE on x86-64).
static inline void bptt_spin_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

#endif
