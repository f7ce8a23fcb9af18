import ArgumentParser
import ClaimFlowStore
import Foundation

/// `claimflow migrate`: applies pending schema migrations, or lists them with `--status`.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply pending database migrations (safe to run from several processes at once)."
    )

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var logging: LoggingOptions

    @Flag(help: "List the migrations and whether each is applied; change nothing.")
    var status = false

    static func number(_ version: Int) -> String {
        let text = String(version)
        return String(repeating: "0", count: max(0, 4 - text.count)) + text
    }

    func run() async throws {
        let logger = try logging.makeLogger()
        let listOnly = status
        try await DatabaseSession.with(database, allowEmbedded: false, maximumConnections: 2, logger: logger) { client, _ in
            let migrator = Migrator(client: client, logger: logger)
            if listOnly {
                let formatter = ISO8601DateFormatter()
                for migration in try await migrator.status() {
                    let state = migration.appliedAt.map { "applied \(formatter.string(from: $0))" } ?? "pending"
                    let name = migration.name.padding(toLength: 30, withPad: " ", startingAt: 0)
                    print("\(MigrateCommand.number(migration.version))  \(name)  \(state)")
                }
            } else {
                let applied = try await migrator.migrate()
                if applied.isEmpty {
                    print("schema is up to date (\(Migration.all.count) migrations)")
                } else {
                    for migration in applied { print("applied \(MigrateCommand.number(migration.version)) \(migration.name)") }
                }
            }
        }
    }
}
