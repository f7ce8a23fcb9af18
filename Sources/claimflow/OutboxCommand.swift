import ArgumentParser
import ClaimFlowStore
import ClaimFlowWorkers
import Foundation

/// `claimflow outbox flush`: one pass of the submission batcher, now.
struct OutboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outbox",
        abstract: "The 837P outbox.",
        subcommands: [Flush.self]
    )

    struct Flush: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write every submitted claim into 837P interchange files now (what the batcher does every few seconds)."
        )

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var submission: SubmissionOptions
        @OptionGroup var logging: LoggingOptions

        @Option(help: "Claims per interchange.") var batchSize: Int = 100

        /// Holds each pass between writing a file and recording it as written: the window the
        /// crash test kills the process in.
        @Option(help: .hidden) var pauseAfterWrite: Double?

        func run() async throws {
            let logger = try logging.makeLogger()
            let (outbox, settings, pause, size) = (submission.outboxURL, submission.settings, pauseAfterWrite, batchSize)
            try await DatabaseSession.with(
                database, allowEmbedded: false, maximumConnections: 2, role: DatabaseURL.serviceRole, logger: logger
            ) {
                client, _ in
                let batcher = SubmissionBatcher(
                    client: client, queue: WorkQueue(client: client, logger: logger), outbox: outbox, settings: settings, logger: logger,
                    batchSize: size
                )
                let sent = try await batcher.runOnce(pauseAfterWrite: pause.map { .milliseconds(Int($0 * 1000)) })
                print("\(sent) claim(s) written to \(outbox.path)")
            }
        }
    }
}
