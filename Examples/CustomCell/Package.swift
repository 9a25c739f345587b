// swift-tools-version:6.0
// A cell of your own on bptt's step protocol, checked, trained and explained through the library.
import PackageDescription

let bptt = Target.Dependency.product(name: "BPTT", package: "bptt")
let package = Package(name: "CustomCell", dependencies: [.package(name: "bptt", path: "../..")],  // the root package
                      targets: [.target(name: "MGU", dependencies: [bptt]), .testTarget(name: "MGUTests", dependencies: ["MGU", bptt])],
                      swiftLanguageModes: [.v5])
