// Software prefetch for the GEMM micro-kernel: Swift has no prefetch of its own, and these
// static inline functions are inlined into the Swift code that calls them.
#ifndef BPTT_PREFETCH_H
#define BPTT_PREFETCH_H

/// Asks for the cache line holding p, to be written soon (PREFETCHW on x86-64). A hint: no fault, no effect on results.
static inline void bptt_prefetch_for_write(const void *p) { __builtin_prefetch(p, 1, 3); }

/// Asks for the cache line holding p, to be read soon (PREFETCHT0). A hint: no fault, no effect on results.
static inline void bptt_prefetch_for_read(const void *p) { __builtin_prefetch(p, 0, 3); }

#endif
