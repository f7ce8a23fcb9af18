public import ClaimFlowCore
public import ClaimFlowStore
public import Foundation

extension CodeSetStore {
    /// Imports a code-set file (plain or gzip) as release `label`: reads and decompresses it
    /// here, beside the service, and hands the bytes to the store, which owns the one
    /// transaction (see ``CodeSetStore/importContents(_:fileName:kind:label:effectiveFrom:effectiveTo:progress:)``).
    public func importFile(
        _ url: URL,
        kind: CodeSetKind,
        label: String,
        effectiveFrom: CalendarDate,
        effectiveTo: CalendarDate?,
        progress: (@Sendable (Double) -> Void)? = nil
    ) async throws -> ImportSummary {
        try await importContents(
            try CodeSetFileContents.read(url), fileName: url.lastPathComponent, kind: kind, label: label,
            effectiveFrom: effectiveFrom, effectiveTo: effectiveTo, progress: progress
        )
    }
}

/// The bytes of a code-set file as published: CMS and CDC ship some of them gzip-compressed.
enum CodeSetFileContents {
    /// The file's bytes, decompressed when it starts with the gzip magic number. `gzip`
    /// (in every Debian system) does the decompression and reports a truncated file.
    static func read(_ url: URL) throws -> Data {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw CodeSetImportError("\(url.path): cannot read the file")
        }
        guard data.starts(with: [0x1F, 0x8B]) else { return data }
        let output = FileManager.default.temporaryDirectory.appending(path: "claimflow-codes-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: output) }
        let pid = try ChildProcess.spawn(
            "/bin/gzip", ["-dc", url.path], standardOutput: output.path, standardError: output.path + ".err"
        )
        defer { try? FileManager.default.removeItem(atPath: output.path + ".err") }
        let status = try ChildProcess.exitStatus(of: pid, waiting: true)
        guard status == 0 else {
            let message =
                (try? String(contentsOfFile: output.path + ".err", encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            throw CodeSetImportError(
                "\(url.lastPathComponent): not a readable gzip file (truncated or corrupt: \(message))"
            )
        }
        return try Data(contentsOf: output)
    }
}
