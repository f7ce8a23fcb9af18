import ClaimFlowHosting
public import Foundation

/// pyx12's validator (from PyPI, in the test tools' environment). Its exit status is not
/// reliable, so the verdict is read from its last line: `FILE: OK` or `FILE: Failure`.
public enum PyX12 {
    public struct Verdict: Sendable {
        public let ok: Bool
        public let output: String
    }

    /// Validates one X12 file.
    public static func validate(_ file: URL) throws -> Verdict {
        let python = try PythonTools.interpreter()
        let validator = URL(fileURLWithPath: python).deletingLastPathComponent().appending(path: "x12valid").path
        let outcome = try ChildProcess.run(validator, [file.path])
        let lines = outcome.output.split(separator: "\n").map(String.init)
        let verdict = lines.last { $0.hasPrefix(file.path + ":") } ?? ""
        let ok = verdict.hasSuffix(": OK") && !lines.contains { $0.contains("ERROR") }
        return Verdict(ok: ok, output: outcome.output)
    }

    /// Validates X12 text by writing it to a temporary file first.
    public static func validate(text: String, name: String) throws -> Verdict {
        let directory = FileManager.default.temporaryDirectory.appending(path: "claimflow-x12-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appending(path: "\(name).x12")
        try text.write(to: file, atomically: true, encoding: .utf8)
        return try validate(file)
    }
}
