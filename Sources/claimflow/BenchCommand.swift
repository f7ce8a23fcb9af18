import ArgumentParser
import ClaimFlowCore
import ClaimFlowStore
import Foundation
import Logging
import PostgresNIO

/// `claimflow bench`: data for benchmarks, run against a scratch database.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmark helpers (scripts/bench drives them).",
        subcommands: [Seed.self, Throughput.self]
    )

    /// Fills an empty, migrated database with a realistic volume: many finished encounters and
    /// a working set in the queues, as a billing office accumulates over years.
    struct Seed: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Seed a scratch database with encounters (most finished, some in the queues). Refuses a database that has encounters."
        )

        @Option(help: "Encounters in all.") var encounters: Int = 1_000_000
        @Option(help: "How many of them are open work (in the coding and billing queues).") var open: Int = 20_000
        @Option(help: "Practices to spread them over.") var practices: Int = 5
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions

        func validate() throws {
            guard encounters > 0, (0...encounters).contains(open), (1...100).contains(practices) else {
                throw ValidationError("need encounters > 0, 0 <= open <= encounters, 1...100 practices")
            }
        }

        func run() async throws {
            let logger = try logging.makeLogger()
            let (total, openCount, practiceCount) = (encounters, open, practices)
            try await DatabaseSession.with(database, allowEmbedded: false, maximumConnections: 2, logger: logger) { client, _ in
                try await Migrator(client: client, logger: logger).migrate()
                let started = ContinuousClock.now
                try await BenchStore(client: client, logger: logger)
                    .seed(encounters: total, open: openCount, practices: practiceCount)
                print("seeded \(total) encounters (\(openCount) open) in \(ContinuousClock.now - started)")
            }
        }
    }
}

extension BenchCommand {
    /// Drains the coding queue of a seeded scratch database with concurrent coders, each
    /// pulling (one statement) and completing (one statement) through the real WorkQueue, and
    /// prints the pairs per second.
    struct Throughput: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Time pull-next + complete pairs from concurrent clients on a database seeded by `bench seed`."
        )

        @Option(help: "Concurrent clients (each its own connection).") var clients: Int = 32
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            let logger = try logging.makeLogger()
            let clientCount = clients
            try await DatabaseSession.with(database, allowEmbedded: false, maximumConnections: clientCount, logger: logger) {
                client, _ in
                let queue = WorkQueue(client: client, logger: logger)
                // Each client is a coder of its own: the fair-share cap gives a person one lease at a time.
                guard clientCount <= BenchStore.coders else { throw CLIError("at most \(BenchStore.coders) clients") }
                var coders: [UUID] = []
                for number in 1...clientCount {
                    guard let coder = try await UserStore(client: client, logger: logger).user(named: "bench-coder-\(number)")?.id else {
                        throw CLIError("no bench-coder-\(number): seed the database with `claimflow bench seed` first")
                    }
                    coders.append(coder)
                }
                let started = ContinuousClock.now
                let pairs = try await withThrowingTaskGroup(of: Int.self) { group in
                    for coder in coders {
                        group.addTask {
                            var done = 0
                            while let lease = try await queue.pullNext(userID: coder, queue: .coding, audit: .system) {
                                try await queue.finish(
                                    encounterID: lease.encounterID, leaseID: lease.id, holder: coder, queue: .coding,
                                    to: .coded, action: "coding.completed", audit: .system
                                )
                                done += 1
                            }
                            return done
                        }
                    }
                    return try await group.reduce(0, +)
                }
                let elapsed = ContinuousClock.now - started
                let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                print(
                    String(format: "%d pairs in %.2f s: %.0f pairs/s with %d clients", pairs, seconds, Double(pairs) / seconds, clientCount)
                )
            }
        }
    }
}
