// swift-tools-version:6.0
// Exercises that grade themselves: the step backward of the RNN, the LSTM and the GRU, blanked.
import Foundation
import PackageDescription

// The root package (two levels up) is known by its folder's name: "bptt" in a plain clone.
let bptt = URL(fileURLWithPath: Context.packageDirectory).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

let package = Package(
    name: "Exercises",
    dependencies: [.package(path: "../..")],
    targets: [
        .target(name: "Exercises", dependencies: [.product(name: "BPTT", package: bptt)]),
        .testTarget(name: "ExercisesTests", dependencies: ["Exercises", .product(name: "BPTT", package: bptt)]),
    ],
    swiftLanguageModes: [.v5]
)
