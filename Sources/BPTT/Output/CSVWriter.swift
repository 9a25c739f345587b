import Foundation

/// Writes a CSV file row by row (logs of long runs are readable while they grow).
public final class CSVWriter {
    private let handle: FileHandle
    public let path: String
    private let columns: Int

    public init(path: String, header: [String]) throws {
        self.path = path
        columns = header.count
        let target = writeTarget(path)
        guard FileManager.default.createFile(atPath: target, contents: nil),
              let h = FileHandle(forWritingAtPath: target) else {
            throw BPTTError.input("cannot write \(path)")
        }
        handle = h
        try write(header)
    }

    public func write(_ row: [String]) throws {
        require(row.count == columns, "CSV row has \(row.count) fields, header has \(columns)")
        let line = row.map { $0.contains(",") || $0.contains("\"") ? "\"" + $0.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : $0 }
            .joined(separator: ",") + "\n"
        handle.write(line.data(using: .utf8)!)
    }

    public func close() throws { try handle.close() }
}
