import Foundation

/// Per-thread scratch memory for kernels (GEMM panels and tiles): grown when a larger size is
/// asked for, otherwise reused, so hot loops never allocate. Freed when the thread exits.
/// The returned memory is valid until the same thread asks again.
@inline(__always)
func threadScratch<Real>(_ type: Real.Type, count: Int) -> UnsafeMutablePointer<Real> {
    let bytes = count * MemoryLayout<Real>.stride
    if let p = pthread_getspecific(scratchKey) {
        let header = p.assumingMemoryBound(to: Int.self)
        if header.pointee >= bytes { return (p + 64).assumingMemoryBound(to: Real.self) }
        free(p)
    }
    let capacity = max(bytes, 64 * 1024)
    var raw: UnsafeMutableRawPointer? = nil
    guard posix_memalign(&raw, 64, capacity + 64) == 0, let p = raw else { fatalError("out of memory for GEMM scratch (\(capacity) bytes)") }
    p.assumingMemoryBound(to: Int.self).pointee = capacity
    pthread_setspecific(scratchKey, p)
    return (p + 64).assumingMemoryBound(to: Real.self)
}

private let scratchKey: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key) { p in free(p) }
    return key
}()
