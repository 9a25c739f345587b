import BPTT

/// `--report DIR` (train, sweep, curriculum, gradflow, autoencoder, gan): writes DIR/report.html,
/// one self-contained file (configuration, headline figures, inline SVG charts and PNG images).
let reportOption = Option("report", "DIR", "write DIR/report.html: configuration, headline figures, charts and images in one self-contained file")

/// Writes the report when `--report DIR` was given and says where (before any --json line).
func writeReport(_ dir: String?, quiet: Bool = false, _ make: () throws -> Report) throws {
    guard let dir else { return }
    let path = try make().write(toDirectory: dir)
    if !quiet { print("wrote \(path)") }
}
