// swift-tools-version:6.0
// bptt: recurrent and MLP networks with hand-derived backpropagation. No package dependencies.
import PackageDescription

// The numeric library is always optimised (also under `swift test`, whose debug build would
// otherwise run the kernels ~40x slower) and built as one module so generic code specialises.
var engineFlags: [String] = ["-O"]
#if arch(x86_64)
// AVX2 + FMA: the SIMD8<Float> GEMM runs ~80x faster than with baseline x86-64 codegen.
// Haswell at most (never `native`): a binary built here may run on another machine of this kind.
engineFlags += ["-target-cpu", "haswell"]
#endif
// √ without errno: otherwise the C shim behind Float.squareRoot() (compiled with glibc's default
// math-errno) tests every lane for a negative argument and calls sqrtf, so SIMD8's squareRoot()
// (Adam, RMSprop) ran as eight scalar square roots. IEEE √ is correctly rounded either way: the
// same bits, only vectorised.
engineFlags += ["-Xcc", "-fno-math-errno"]

// One small module, the GEMM micro-kernel on 16-lane vectors, is built for AVX-512; the engine
// calls it only when the CPU it runs on reports AVX-512 (Core/GEMMKernels.swift).
var kernel512Flags: [String] = ["-O"]
#if arch(x86_64)
kernel512Flags += ["-target-cpu", "skylake-avx512"]
#endif

let package = Package(
    name: "bptt",
    products: [
        .library(name: "BPTT", targets: ["BPTT"]),
        .executable(name: "bptt", targets: ["BPTTCLI"]),
    ],
    targets: [
        // Static inline C functions Swift lacks: software prefetch (the AVX-512 micro-kernel) and
        // atomics on a plain word (the two-thread pool, Core/Parallel.swift).
        .target(
            name: "BPTTShims",
            path: "Sources/BPTTShims"
        ),
        .target(
            name: "BPTTKernels512",
            dependencies: ["BPTTShims"],
            path: "Sources/BPTTKernels512",
            swiftSettings: [.unsafeFlags(kernel512Flags)]
        ),
        .target(
            name: "BPTT",
            dependencies: ["BPTTKernels512", "BPTTShims"],
            path: "Sources/BPTT",
            swiftSettings: [.unsafeFlags(engineFlags)]
        ),
        .executableTarget(
            name: "BPTTCLI",
            dependencies: ["BPTT"],
            path: "Sources/bptt"
        ),
        .testTarget(
            name: "BPTTTests",
            dependencies: ["BPTT"],
            path: "Tests/BPTTTests",
            // The tests' own code is glue around the library (always optimised, above) and the
            // `bptt` binary: compiled unoptimised it builds in a fraction of the time, so running
            // the tests after `swift run -c release` (or the reverse) recompiles only this module.
            swiftSettings: [.unsafeFlags(["-Onone"])]
        ),
    ],
    swiftLanguageModes: [.v5]
)
