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

    func run() async throws {
        let logger = try logging.makeLogger()
        try await DatabaseSession.with(database, allowEmbedded: false, maximumConnections: 2, logger: logger) { owner, url in
            try await Runtime.prepareSchema(owner, migrate: true, logger: logger)
            try await DatabaseSession.withClient(url, role: DatabaseURL.serviceRole, logger: logger) { client in
                try await Runtime(client: client, logger: logger, queue: queue, submission: submission).work()
            }
        }
    }
}
