/// Checks what a caller must get right (shapes, sizes, counts) and stops with the message when it
/// is wrong. It stands where `precondition` would: the library is always built optimised, and an
/// optimised build drops a precondition's message, so a learner's shape mistake in a backward
/// pass showed only "precondition failure" and a backtrace. `fatalError` keeps it:
/// "Fatal error: gemm: inner dimensions differ (A is 4×3, B is 4×2)".
@usableFromInline @inline(__always)
func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
             file: StaticString = #fileID, line: UInt = #line) {
    if _slowPath(!condition()) { fatalError(message(), file: file, line: line) }
}
