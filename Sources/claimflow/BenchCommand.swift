import ArgumentParser
import ClaimFlowCore
import ClaimFlowStore
import Foundation
import Logging
import PostgresNIO
import Synchronization

/// `claimflow bench`: the phases of the benchmark scripts/bench runs, each against a scratch
/// database. Every phase prints one JSON object with its figures on standard output.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmark phases (scripts/bench drives them; each prints one JSON object).",
        subcommands: [
            Seed.self, QueueReceived.self, Throughput.self, Pulls.self, Load.self, Handoff.self, Intake.self, X12.self,
            CPU.self,
        ]
    )

    /// Fills an empty, migrated database with valid data: practices, payers, providers,
    /// patients with their subscribers, users, and encounters in the stages asked for.
    struct Seed: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Seed a scratch database with valid encounters in the stages asked for. Refuses a database that has encounters."
        )

        @Option(help: "Practices to spread the encounters over.") var practices: Int = 1
        @Option(help: "Encounters waiting in the coding queue.") var coding: Int = 0
        @Option(help: "Encounters coded with valid codes, due for the handoff check.") var coded: Int = 0
        @Option(help: "Encounters with claim version 1 waiting in the billing queue.") var billing: Int = 0
        @Option(help: "Encounters received but not queued (`bench queue-received` queues them).") var received: Int = 0
        @Option(help: "Finished encounters (history).") var closed: Int = 0
        @Option(
            help: "ICD-10-CM order file to import when no release is loaded (the handoff check needs it); none when empty."
        )
        var icd10cm: String = ""
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions

        func validate() throws {
            guard [coding, coded, billing, received, closed].allSatisfy({ $0 >= 0 }), (1...100).contains(practices) else {
                throw ValidationError("need counts >= 0 and 1...100 practices")
            }
        }

        func run() async throws {
            let logger = try logging.makeLogger()
            var asked = BenchStore.Volume()
            (asked.practices, asked.coding, asked.coded, asked.billing) = (practices, coding, coded, billing)
            (asked.received, asked.closed) = (received, closed)
            let volume = asked
            let icdPath = icd10cm
            try await DatabaseSession.with(database, allowEmbedded: false, maximumConnections: 2, logger: logger) { client, _ in
                try await Migrator(client: client, logger: logger).migrate()
                if !icdPath.isEmpty {
                    try await DemoCommand.loadDiagnosisCodes(path: icdPath, client: client, logger: logger)
                }
                let started = ContinuousClock.now
                let store = BenchStore(client: client, logger: logger)
                try await store.seed(volume)
                var result = PhaseResult(phase: "seed")
                result["encounters"] = volume.total
                result["seconds"] = PhaseResult.rounded(PhaseResult.seconds(ContinuousClock.now - started))
                result["stages"] = try await store.stageCounts()
                result.print()
            }
        }
    }

    /// Queues every received encounter at once (a large delivery from the clinic).
    struct QueueReceived: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "queue-received", abstract: "Put every received encounter of a seeded database in the coding queue.")

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            let logger = try logging.makeLogger()
            try await DatabaseSession.with(database, allowEmbedded: false, maximumConnections: 2, logger: logger) { client, _ in
                let started = ContinuousClock.now
                let queued = try await BenchStore(client: client, logger: logger).queueReceived()
                var result = PhaseResult(phase: "queue-received")
                result["queued"] = queued
                result["seconds"] = PhaseResult.rounded(PhaseResult.seconds(ContinuousClock.now - started))
                result.print()
            }
        }
    }

    /// Prints the CPU seconds a PostgreSQL cluster (and optionally one process) has used so
    /// far, so the script can measure a window around a tool of its own (pgbench, psql).
    struct CPU: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print CPU seconds used so far by a PostgreSQL cluster.")

        @Option(help: "The postmaster's pid.") var postgresPID: Int32

        func run() async throws {
            guard let seconds = ProcessUsage.postgresSeconds(postmaster: postgresPID) else {
                throw CLIError("no process \(postgresPID) in /proc")
            }
            print(String(format: "%.3f", seconds))
        }
    }
}

extension BenchCommand {
    /// Concurrent coders pulling and completing through the real WorkQueue (no HTTP, no codes),
    /// each its own person; stops after `pairs` pairs or when the queue is empty.
    struct Throughput: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Pull-next + complete pairs through WorkQueue from concurrent coders, in process."
        )

        @Option(help: "Concurrent clients (each its own coder and connection).") var clients: Int = 32
        @Option(help: "Pairs to do in all; 0 drains the coding queue.") var pairs: Int = 0
        @Option(help: "Seconds before the phase is given up.") var timeout: Int = 1800
        @Option(help: "The postmaster's pid, to measure PostgreSQL's CPU.") var postgresPID: Int32?
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions

        func validate() throws {
            guard (1...BenchStore.people).contains(clients) else { throw ValidationError("--clients must be 1...\(BenchStore.people)") }
        }

        func run() async throws {
            let logger = try logging.makeLogger()
            let (clientCount, limit, postmaster) = (clients, pairs, postgresPID)
            let timeLimit = Duration.seconds(timeout)
            try await DatabaseSession.with(database, allowEmbedded: false, maximumConnections: clientCount, logger: logger) {
                client, _ in
                let queue = WorkQueue(client: client, logger: logger)
                let coders = try await BenchPeople.ids(role: "coder", count: clientCount, client: client, logger: logger)
                let budget = PairBudget(limit: limit)
                let window = CPUWindow(servicePID: 0, postmasterPID: postmaster)
                let started = ContinuousClock.now
                let done = try await withPhaseTimeout(timeLimit, phase: "throughput") {
                    try await withThrowingTaskGroup(of: Int.self) { group in
                        for coder in coders {
                            group.addTask {
                                var done = 0
                                while budget.take() {
                                    guard let lease = try await queue.pullNext(userID: coder, queue: .coding, audit: .system) else {
                                        break
                                    }
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
                }
                let seconds = PhaseResult.seconds(ContinuousClock.now - started)
                var result = PhaseResult(phase: "throughput")
                result["clients"] = clientCount
                result["pairs"] = done
                result["seconds"] = PhaseResult.rounded(seconds)
                result["pairs_per_s"] = PhaseResult.rounded(Double(done) / seconds, places: 1)
                result.addCPU(window, units: done, unit: "pair", service: "claimflow")
                result.print()
                guard done > 0 else { throw CLIError("bench throughput: no pair was done (is the coding queue empty?)") }
            }
        }
    }

    /// One coder pulling and completing in turn: the latency of the pull alone, at the queue's
    /// current depth.
    struct Pulls: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Time single pulls through WorkQueue (one coder, each pull then completed) at the current backlog."
        )

        @Option(help: "Pulls to time.") var samples: Int = 2000
        @Option(help: "Untimed pulls first.") var warmup: Int = 50
        @Option(help: "A label for the result (the backlog it was measured at).") var label: String = "pulls"
        @Option(help: "Seconds before the phase is given up.") var timeout: Int = 600
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            let logger = try logging.makeLogger()
            let (count, warm, name) = (samples, warmup, label)
            let timeLimit = Duration.seconds(timeout)
            try await DatabaseSession.with(database, allowEmbedded: false, maximumConnections: 2, logger: logger) { client, _ in
                let queue = WorkQueue(client: client, logger: logger)
                let coder = try await BenchPeople.ids(role: "coder", count: 1, client: client, logger: logger)[0]
                let waiting = try await BenchStore(client: client, logger: logger).waitingForCoding()
                let latencies = try await withPhaseTimeout(timeLimit, phase: "pulls") {
                    var latencies = LatencySample()
                    for index in 0..<(warm + count) {
                        let started = ContinuousClock.now
                        guard let lease = try await queue.pullNext(userID: coder, queue: .coding, audit: .system) else {
                            throw CLIError("bench pulls: the coding queue ran dry after \(index) pulls")
                        }
                        if index >= warm { latencies.append(ContinuousClock.now - started) }
                        try await queue.finish(
                            encounterID: lease.encounterID, leaseID: lease.id, holder: coder, queue: .coding, to: .coded,
                            action: "coding.completed", audit: .system
                        )
                    }
                    return latencies
                }
                var result = PhaseResult(phase: name)
                result["waiting"] = waiting
                latencies.summarise(into: &result, prefix: "pull")
                result.print()
            }
        }
    }
}

/// How many pairs the throughput clients may still start, shared by all of them.
final class PairBudget: Sendable {
    private let remaining: Mutex<Int>

    /// `limit` 0 means no limit.
    init(limit: Int) { remaining = Mutex(limit > 0 ? limit : Int.max) }

    func take() -> Bool {
        remaining.withLock { value in
            guard value > 0 else { return false }
            value -= 1
            return true
        }
    }
}

/// The seeded people (`bench-coder-1` ...) a benchmark acts as.
enum BenchPeople {
    static func ids(role: String, count: Int, client: PostgresClient, logger: Logger) async throws -> [UUID] {
        let users = UserStore(client: client, logger: logger)
        var ids: [UUID] = []
        for number in 1...count {
            guard let id = try await users.user(named: "bench-\(role)-\(number)")?.id else {
                throw CLIError("no bench-\(role)-\(number): seed the database with `claimflow bench seed` first")
            }
            ids.append(id)
        }
        return ids
    }

    /// A fresh token for each of `bench-<role>-1` ... `bench-<role>-<count>` (or for the one
    /// user `bench-<role>` when `count` is 0).
    static func tokens(role: String, count: Int, client: PostgresClient, logger: Logger) async throws -> [String] {
        let users = UserStore(client: client, logger: logger)
        let names = count == 0 ? ["bench-\(role)"] : (1...count).map { "bench-\(role)-\($0)" }
        var tokens: [String] = []
        for name in names {
            guard let id = try await users.user(named: name)?.id else {
                throw CLIError("no \(name): seed the database with `claimflow bench seed` first")
            }
            tokens.append(try await users.issueToken(userID: id, label: "bench", audit: .system))
        }
        return tokens
    }
}
