import ArgumentParser
import ClaimFlowCore
import ClaimFlowHosting
import ClaimFlowStore
import Foundation
import Logging
import PostgresNIO

/// `claimflow codes`: import the official code-set files and list what is loaded.
struct CodesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "codes",
        abstract: "Import code sets (ICD-10-CM, HCPCS, CPT licensee table, NCCI PTP, MUE) and list them.",
        subcommands: [Import.self, List.self]
    )

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import one code-set file (plain or gzip) as a release; importing it again changes nothing.",
            discussion: """
                KIND is icd10cm (CMS order file), hcpcs (CMS HCPCS file with modifiers), cpt (a licensee's \
                code,description CSV), ncci_ptp (CMS tab-delimited PTP edits), mue (CMS MUE table) or \
                icd10cm_tabular (the CDC's ICD-10-CM tabular XML: Excludes1 notes and manifestation codes) or \
                pfs_rvu (the physician fee schedule's RVU CSV: PC/TC and bilateral indicators). \
                A file that fails to parse changes nothing.
                """
        )

        @Argument(help: "icd10cm, hcpcs, cpt, ncci_ptp, mue, icd10cm_tabular or pfs_rvu.") var kind: String
        @Argument(help: "The file, plain or .gz.") var file: String
        @Option(help: "The release's name, such as 2026-04 (default: the file name).") var release: String?
        @Option(help: "First day the release is in force (YYYY-MM-DD).") var effectiveFrom: String
        @Option(help: "Last day the release is in force (YYYY-MM-DD); open-ended when omitted.") var effectiveTo: String?
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            guard let kind = CodeSetKind(rawValue: kind) else {
                throw CLIError("unknown code set '\(self.kind)'; use icd10cm, hcpcs, cpt, ncci_ptp, mue, icd10cm_tabular or pfs_rvu")
            }
            guard let from = CalendarDate(effectiveFrom) else { throw CLIError("--effective-from must be YYYY-MM-DD") }
            let to = try effectiveTo.map { text -> CalendarDate in
                guard let date = CalendarDate(text), date >= from else {
                    throw CLIError("--effective-to must be YYYY-MM-DD, on or after --effective-from")
                }
                return date
            }
            let url = URL(fileURLWithPath: file)
            let label = release ?? url.lastPathComponent
            let logger = try logging.makeLogger()
            try await DatabaseSession.with(database, allowEmbedded: false, maximumConnections: 2, logger: logger) { client, _ in
                let summary = try await CodesCommand.importFile(
                    client: client, logger: logger, url: url, kind: kind, label: label, from: from, to: to,
                    showProgress: isatty(STDOUT_FILENO) == 1
                )
                print(summary)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the imported releases.")

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            let logger = try logging.makeLogger()
            try await DatabaseSession.with(database, allowEmbedded: false, maximumConnections: 2, logger: logger) { client, _ in
                for release in try await CodeSetStore(client: client, logger: logger).releases() {
                    print("\(release.kind)\t\(release.label)\t\(release.from) .. \(release.to ?? "open")\t\(release.rows) rows")
                }
            }
        }
    }

    /// Imports and returns the summary line; on a terminal, draws a progress bar meanwhile.
    static func importFile(
        client: PostgresClient,
        logger: Logger,
        url: URL,
        kind: CodeSetKind,
        label: String,
        from: CalendarDate,
        to: CalendarDate?,
        showProgress: Bool
    ) async throws -> String {
        let started = ContinuousClock.now
        var progress: (@Sendable (Double) -> Void)?
        if showProgress {
            progress = { fraction in
                let width = 30
                let filled = Int(fraction * Double(width))
                let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
                FileHandle.standardOutput.write(Data("\r[\(bar)] \(Int(fraction * 100))%".utf8))
            }
        }
        let summary: CodeSetStore.ImportSummary
        do {
            summary = try await CodeSetStore(client: client, logger: logger).importFile(
                url, kind: kind, label: label, effectiveFrom: from, effectiveTo: to, progress: progress
            )
        } catch let error as CodeSetImportError {
            throw CLIError("import failed, nothing changed: \(error.description)")
        }
        if showProgress { FileHandle.standardOutput.write(Data("\r".utf8)) }
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let timing = String(format: "%.1f s", seconds)
        let state = summary.changed ? "imported" : "already imported, nothing changed"
        if kind == .icd10cm {
            return "\(kind.rawValue) \(label): \(summary.rows) rows, \(summary.billableRows) billable; "
                + "\(summary.stored) distinct codes (\(summary.billable) billable); \(state) in \(timing)"
        }
        if kind == .icd10cmTabular {
            return "\(kind.rawValue) \(label): \(summary.rows) codes read; \(summary.stored) Excludes1 ranges and "
                + "\(summary.billable) manifestation codes stored; \(state) in \(timing)"
        }
        if kind == .hcpcs {
            return "\(kind.rawValue) \(label): \(summary.rows) rows; \(summary.stored) Level II codes stored, "
                + "\(summary.billable) of them with a termination date; \(state) in \(timing)"
        }
        return "\(kind.rawValue) \(label): \(summary.rows) rows, \(summary.stored) stored; \(state) in \(timing)"
    }
}
