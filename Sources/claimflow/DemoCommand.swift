import ArgumentParser
import ClaimFlowAPI
import ClaimFlowCore
import ClaimFlowStore
import Foundation
import Logging
import PostgresNIO

/// `claimflow demo`: seeds a demo practice and a few hundred encounters, prints a token for
/// each demo user, then serves like `claimflow serve`.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Seed demo data (practice, payers, providers, users, encounters) and serve it.",
        discussion: "With no DATABASE_URL, runs on the embedded PostgreSQL in --data-dir."
    )

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var server: ServerOptions
    @OptionGroup var queue: QueueOptions
    @OptionGroup var submission: SubmissionOptions
    @OptionGroup var logging: LoggingOptions

    @Option(help: "How many demo encounters to create on first run.")
    var encounters: Int = 300

    @Flag(help: "Seed and print the tokens, then exit instead of serving.")
    var seedOnly = false

    @Option(
        help:
            "The ICD-10-CM order file to load when no release is loaded yet; a relative path is looked for in the current folder, then in the checkout or installation the binary belongs to."
    )
    var icd10cm: String = "data/icd10cm-order-2026.txt.gz"

    func validate() throws {
        guard (0...100_000).contains(encounters) else { throw ValidationError("--encounters must be 0...100000") }
    }

    func run() async throws {
        let logger = try logging.makeLogger()
        let settings = try server.settings(logger: logger)
        let count = encounters
        let serveAfter = !seedOnly
        let icdPath = icd10cm
        try await DatabaseSession.with(database, allowEmbedded: true, maximumConnections: 2, logger: logger) { owner, url in
            try await Runtime.prepareSchema(owner, migrate: true, logger: logger)
            try await DatabaseSession.withClient(url, role: DatabaseURL.serviceRole, logger: logger) { client in
                let runtime = Runtime(client: client, logger: logger, queue: queue, submission: submission)
                try await DemoCommand.loadDiagnosisCodes(path: icdPath, client: client, logger: logger)
                let seeded = try await DemoSeeder(client: client, logger: logger, queue: runtime.workQueue)
                    .seed(encounters: count)
                printWelcome(seeded, settings: settings)
                if serveAfter {
                    try await runtime.serve(settings: settings, workers: true, databaseURL: url)
                }
            }
        }
    }

    /// Loads the shipped ICD-10-CM release (April 2026) once, in force from 2026-04-01 until
    /// a later release is imported, so the handoff check can judge the demo's codes.
    static func loadDiagnosisCodes(path: String, client: PostgresClient, logger: Logger) async throws {
        let store = CodeSetStore(client: client, logger: logger)
        guard try await !store.releases().contains(where: { $0.kind == CodeSetKind.icd10cm.rawValue }) else { return }
        // Without a diagnosis code set the handoff check returns every encounter to coding, so a
        // demo without one is no demo: refuse to start rather than warn.
        guard let file = locate(path) else {
            throw CLIError(
                "the ICD-10-CM release \(path) was not found in \(FileManager.default.currentDirectoryPath) nor next to "
                    + "the claimflow binary; pass --icd10cm with the file's path (the checkout ships it as data/icd10cm-order-2026.txt.gz)"
            )
        }
        let line = try await CodesCommand.importFile(
            client: client, logger: logger, url: file, kind: .icd10cm, label: "2026-04",
            from: CalendarDate(year: 2026, month: 4, day: 1)!, to: nil, showProgress: false
        )
        logger.notice("\(line)")
    }

    /// The file at `path`: as given when absolute or present in the current folder, else
    /// relative to the checkout (`<checkout>/.build/<triple>/<config>/claimflow`) or the
    /// installation (`<prefix>/bin/claimflow`, with data in `<prefix>/share/claimflow`) the
    /// running binary belongs to.
    static func locate(_ path: String) -> URL? {
        let manager = FileManager.default
        if manager.fileExists(atPath: path) { return URL(fileURLWithPath: path) }
        guard !path.hasPrefix("/") else { return nil }
        let executable = Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])
        let binary = executable.resolvingSymlinksInPath().deletingLastPathComponent()
        var candidates: [URL] = []
        var folder = binary
        for _ in 0..<4 {
            candidates.append(folder.appending(path: path))
            folder = folder.deletingLastPathComponent()
        }
        candidates.append(binary.deletingLastPathComponent().appending(path: "share/claimflow").appending(path: path))
        return candidates.first { manager.fileExists(atPath: $0.path) }
    }

    private func printWelcome(_ seeded: DemoSeeder.Result, settings: ServerSettings) {
        let base = "\(settings.scheme)://\(settings.host == "0.0.0.0" ? "127.0.0.1" : settings.host):\(settings.port)"
        var lines = [
            "",
            "ClaimFlow demo: practice DEMO with \(seeded.encounterCount) encounters (\(seeded.created) new).",
            "",
            "Demo users and their tokens (shown once; a new run issues new ones):",
        ]
        for user in seeded.users {
            let name = user.username.padding(toLength: 12, withPad: " ", startingAt: 0)
            let roles = user.roles.padding(toLength: 18, withPad: " ", startingAt: 0)
            lines.append("  \(name) \(roles) \(user.token)")
        }
        let coder = seeded.users.first { $0.username == "coder" }?.token ?? "TOKEN"
        let supervisor = seeded.users.first { $0.username == "supervisor" }?.token ?? "TOKEN"
        lines += [
            "",
            "Try:",
            "  curl \(base)/healthz",
            "  curl \(base)/openapi.yaml",
            "  curl -X POST -H 'Authorization: Bearer \(coder)' '\(base)/api/v1/coder/next?wait=5'",
            "  curl -H 'Authorization: Bearer \(supervisor)' \(base)/api/v1/supervisor/queues",
            "",
            "Press Ctrl-C to stop.",
            "",
        ]
        print(lines.joined(separator: "\n"))
        // Standard output may be a file or a pipe; the tokens must appear before the server runs.
        fflush(nil)
    }
}
