import BPTT

/// `--report DIR` (train, sweep, curriculum, gradflow, autoencoder, gan): writes DIR/report.html,
/// one self-contained file (configuration, headline figures, inline SVG charts and PNG images).
let reportOption = Option("report", "DIR", "write DIR/report.html: configuration, headline figures, charts and images in one self-contained file").writes(.folder(default: nil), files: ["report.html"])

/// Writes the report when `--report DIR` was given and says where (before any --json line; also
/// under --quiet, which hides progress only).
func writeReport(_ dir: String?, _ make: () throws -> Report) throws {
    guard let dir else { return }
    let path = try make().write(toDirectory: dir)
    print("wrote \(path)")
}

/// `--quiet` (every training and experiment command): hides progress only.
let quietOption = Option("quiet", nil, "hide progress lines; results, the --out files written and the --json line still print")
