import ArgumentParser
import ClaimFlowStore

/// `claimflow work`: the background workers alone, for running them apart from the API.
struct WorkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "work",
        abstract: "Run the background workers (lease reaper, handoff check, submission batcher) without the HTTP API."
    )

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var queue: QueueOptions
    @OptionGroup var submission: SubmissionOptions
    @OptionGroup var logging: LoggingOptions

    @Flag(help: "Do not apply pending migrations at start-up (then they must already be applied).")
    var noMigrate = false

    func run() async throws {
        let logger = try logging.makeLogger()
        try await DatabaseSession.with(database, allowEmbedded: false, maximumConnections: 2, logger: logger) { owner, url in
            try await Runtime.prepareSchema(owner, migrate: !noMigrate, logger: logger)
            try await DatabaseSession.withClient(url, role: DatabaseURL.serviceRole, logger: logger) { client in
                try await DatabaseSession.withListenClient(database, logger: logger) { listener in
                    try await Runtime(client: client, listener: listener, logger: logger, queue: queue, submission: submission)
                        .work()
                }
            }
        }
    }
}
