import Foundation

/// Labelled greyscale images: `images` is N × (height·width), pixel values scaled to [0, 1].
public struct ImageDataset {
    public var images: Matrix<Float>
    public var labels: [Int]
    public let height: Int
    public let width: Int
    public var count: Int { labels.count }
    public var pixels: Int { height * width }

    public init(images: Matrix<Float>, labels: [Int], height: Int, width: Int) {
        require(images.rows == labels.count && images.cols == height * width, "image dataset: shape mismatch")
        self.images = images
        self.labels = labels
        self.height = height
        self.width = width
    }

    /// Builds a data set from an images IDX array (N×H×W) and a labels IDX array (N).
    public init(images: IDXArray, labels: IDXArray, name: String) throws {
        guard images.dims.count == 3 else { throw BPTTError.input("\(name): images file has \(images.dims.count) dimensions, expected 3 (N×H×W)") }
        guard labels.dims.count == 1 else { throw BPTTError.input("\(name): labels file has \(labels.dims.count) dimensions, expected 1") }
        guard images.dims[0] == labels.dims[0] else {
            throw BPTTError.input("\(name): \(images.dims[0]) images but \(labels.dims[0]) labels")
        }
        let (n, h, w) = (images.dims[0], images.dims[1], images.dims[2])
        guard n > 0, h > 0, w > 0 else { throw BPTTError.input("\(name): empty image set (\(n)×\(h)×\(w))") }
        var m = Matrix<Float>(rows: n, cols: h * w)
        for i in 0..<m.count { m.data[i] = Float(images.bytes[i]) / 255 }
        self.init(images: m, labels: labels.bytes.map(Int.init), height: h, width: w)
    }

    /// The rows listed in `indices`.
    public func subset(_ indices: [Int]) -> ImageDataset {
        var m = Matrix<Float>(rows: indices.count, cols: pixels)
        for (r, i) in indices.enumerated() {
            m.data.replaceSubrange((r * pixels)..<((r + 1) * pixels), with: images.data[(i * pixels)..<((i + 1) * pixels)])
        }
        return ImageDataset(images: m, labels: indices.map { labels[$0] }, height: height, width: width)
    }

    /// Copies the images `indices` into the rows of `x` (reshaped to indices.count × pixels).
    public func gather(_ indices: ArraySlice<Int>, into x: inout Matrix<Float>) {
        ensure(&x, indices.count, pixels)
        x.data.withUnsafeMutableBufferPointer { dst in
            images.data.withUnsafeBufferPointer { src in
                for (r, i) in indices.enumerated() {
                    (dst.baseAddress! + r * pixels).update(from: src.baseAddress! + i * pixels, count: pixels)
                }
            }
        }
    }

    /// Mean image (1 × pixels).
    public var meanImage: Matrix<Float> {
        var mean = Matrix<Float>(rows: 1, cols: pixels)
        var sum = [Double](repeating: 0, count: pixels)
        for r in 0..<count { for c in 0..<pixels { sum[c] += Double(images.data[r * pixels + c]) } }
        for c in 0..<pixels { mean.data[c] = Float(sum[c] / Double(max(count, 1))) }
        return mean
    }
}

/// A train/test pair, as read from `--data`.
public struct ImageData {
    public var train: ImageDataset
    public var test: ImageDataset
    /// Where it came from, for messages ("built-in digits8x8", a folder).
    public var source: String
    public var classes: Int { max((train.labels.max() ?? 0), (test.labels.max() ?? 0)) + 1 }
    public var height: Int { train.height }
    public var width: Int { train.width }
    public var pixels: Int { train.pixels }

    public static let fashionMNISTFolder = "/usr/share/datasets/fashion-mnist"

    public init(train: ImageDataset, test: ImageDataset, source: String) {
        self.train = train
        self.test = test
        self.source = source
    }

    /// `count` training and `count / 4` test images of height×width pixels uniform in [0, 1],
    /// labels uniform in 0..<classes, drawn from `seed`: timing data (`bench --mlp`) that needs no download.
    public static func random(count: Int, height: Int, width: Int, classes: Int = 10, seed: UInt64 = 1) -> ImageData {
        var rng = RNG(seed: seed)
        func set(_ n: Int) -> ImageDataset {
            var m = Matrix<Float>(rows: n, cols: height * width)
            for i in 0..<m.count { m.data[i] = Float(rng.uniform()) }
            let labels = (0..<n).map { _ in rng.int(below: classes) }
            return ImageDataset(images: m, labels: labels, height: height, width: width)
        }
        let train = set(count), test = set(max(count / 4, 1))
        return ImageData(train: train, test: test, source: "random \(height)×\(width) images")
    }

    /// Loads `spec`: nil or `digits` → the built-in 8×8 digits; `fashion-mnist` → Debian's
    /// dataset-fashion-mnist package; anything else → a folder holding IDX files (raw or .gz).
    /// A folder with `train-*` and `t10k-*`/`test-*` files uses that split; a folder with a single
    /// images/labels pair (and the built-in set) is split with a fixed shuffle, `testFraction` held out.
    public static func load(_ spec: String?, testFraction: Double = 0.2) throws -> ImageData {
        switch spec {
        case nil, "digits", "digits8x8":
            let files = try builtinDigitsFiles()
            let images = try IDXArray(parsing: files.images, name: "built-in digits images")
            let labels = try IDXArray(parsing: files.labels, name: "built-in digits labels")
            let all = try ImageDataset(images: images, labels: labels, name: "built-in digits")
            return try split(all, testFraction: testFraction, source: "built-in digits8x8")
        case "fashion-mnist":
            guard FileManager.default.fileExists(atPath: fashionMNISTFolder) else {
                throw BPTTError.input("--data fashion-mnist: \(fashionMNISTFolder) not found (install it with: apt-get install dataset-fashion-mnist)")
            }
            return try load(folder: fashionMNISTFolder, testFraction: testFraction)
        case let path?:
            return try load(folder: path, testFraction: testFraction)
        }
    }

    /// The two IDX files of the built-in digits, inflated from their embedded gzip copies.
    public static func builtinDigitsFiles() throws -> (images: [UInt8], labels: [UInt8]) {
        (try inflateEmbedded(BuiltinDigits.imagesGzipBase64, "images"), try inflateEmbedded(BuiltinDigits.labelsGzipBase64, "labels"))
    }

    static func inflateEmbedded(_ base64: String, _ what: String) throws -> [UInt8] {
        guard let d = Data(base64Encoded: base64, options: .ignoreUnknownCharacters) else {
            throw BPTTError.input("built-in digits \(what): bad embedded data")
        }
        return try Gzip.decompress([UInt8](d), name: "built-in digits \(what)")
    }

    public static func load(folder: String, testFraction: Double) throws -> ImageData {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDir), isDir.boolValue else {
            throw BPTTError.input("--data: \(folder) is not a folder (give a folder of IDX files, 'digits' or 'fashion-mnist')")
        }
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
        func find(_ prefixes: [String], _ kind: String) -> String? {
            files.first { f in
                let l = f.lowercased()
                return l.contains(kind) && (prefixes.isEmpty || prefixes.contains { l.hasPrefix($0) })
            }.map { folder + "/" + $0 }
        }
        func pair(_ prefixes: [String], _ name: String) throws -> ImageDataset? {
            guard let i = find(prefixes, "images-idx3"), let l = find(prefixes, "labels-idx1") else { return nil }
            return try ImageDataset(images: try IDXArray(contentsOf: i), labels: try IDXArray(contentsOf: l), name: "\(folder) (\(name))")
        }
        if let train = try pair(["train"], "train") {
            if let test = try pair(["t10k", "test"], "test") {
                guard train.height == test.height && train.width == test.width else {
                    throw BPTTError.input("\(folder): train images are \(train.height)×\(train.width), test images \(test.height)×\(test.width)")
                }
                return ImageData(train: train, test: test, source: folder)
            }
            return try split(train, testFraction: testFraction, source: folder)
        }
        if let all = try pair([], "all") { return try split(all, testFraction: testFraction, source: folder) }
        throw BPTTError.input("\(folder): no IDX files found (expected *images-idx3-ubyte[.gz] and *labels-idx1-ubyte[.gz])")
    }

    /// A fixed shuffle (seed independent of `--seed`, so every run tests on the same images).
    /// Refuses a set too small to give both sides at least one image.
    public static func split(_ all: ImageDataset, testFraction: Double, source: String) throws -> ImageData {
        guard all.count >= 2 else {
            throw BPTTError.input("\(source): \(all.count) image\(all.count == 1 ? "" : "s"): too few to split into train and test (at least 2 needed)")
        }
        var order = Array(0..<all.count)
        var rng = RNG(seed: 0x5EED_5B11)
        rng.shuffle(&order)
        let nTest = max(1, min(all.count - 1, Int((Double(all.count) * testFraction).rounded())))
        return ImageData(train: all.subset(Array(order[nTest...])), test: all.subset(Array(order[..<nTest])), source: source)
    }
}
