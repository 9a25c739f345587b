// swift-tools-version:6.0
// Exercises that grade themselves: the step backward of the RNN, the LSTM and the GRU, blanked.
import PackageDescription

let bptt = Target.Dependency.product(name: "BPTT", package: "bptt")

let package = Package(
    name: "Exercises",
    dependencies: [.package(name: "bptt", path: "../..")],   // the root package, whatever its folder is called
    targets: [
        .target(name: "Exercises", dependencies: [bptt]),
        .testTarget(name: "ExercisesTests", dependencies: ["Exercises", bptt]),
    ],
    swiftLanguageModes: [.v5]
)
