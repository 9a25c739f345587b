// swift-tools-version:6.0
// A cell of your own on bptt's step protocol, checked, trained and explained through the library.
import Foundation
import PackageDescription

// The root package (two levels up) is known by its folder's name: "bptt" in a plain clone.
let bptt = URL(fileURLWithPath: Context.packageDirectory).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

let package = Package(
    name: "CustomCell",
    dependencies: [.package(path: "../..")],
    targets: [
        .target(name: "MGU", dependencies: [.product(name: "BPTT", package: bptt)]),
        .testTarget(name: "MGUTests", dependencies: ["MGU", .product(name: "BPTT", package: bptt)]),
    ],
    swiftLanguageModes: [.v5]
)
