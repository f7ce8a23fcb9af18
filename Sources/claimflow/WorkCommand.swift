import ArgumentParser

/// `claimflow work`: the background workers alone, for running them apart from the API.
struct WorkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "work",
        abstract: "Run the background workers (lease reaper) without the HTTP API."
    )

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var queue: QueueOptions
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let logger = try logging.makeLogger()
        try await DatabaseSession.with(database, allowEmbedded: false, logger: logger) { client, _ in
            let runtime = Runtime(client: client, logger: logger, queue: queue)
            try await runtime.migrate()
            try await runtime.work()
        }
    }
}
