import Foundation

/// Ctrl-C (SIGINT) and SIGTERM during training: the first asks the loop to stop after the
/// current step (it then saves a checkpoint, if asked to, and exits cleanly); a second one
/// exits at once.
public enum Interrupt {
    nonisolated(unsafe) private static var count: sig_atomic_t = 0

    /// True once a stop was requested.
    public static var requested: Bool { count > 0 }

    public static func install() {
        let handler: @convention(c) (Int32) -> Void = { sig in
            Interrupt.count += 1
            if Interrupt.count > 1 {
                let msg = "\nbptt: interrupted again, exiting now\n"
                _ = msg.withCString { write(STDERR_FILENO, $0, strlen($0)) }
                _exit(130)
            }
        }
        signal(SIGINT, handler)
        signal(SIGTERM, handler)
    }

    /// For tests.
    public static func reset() { count = 0 }
}
