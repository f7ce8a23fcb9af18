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
                try await BenchSeeder(client: client, logger: logger)
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
                let coders = try await client.query("SELECT id FROM users WHERE username = 'bench-coder'", logger: logger)
                var coder: UUID?
                for try await id in coders.decode(UUID.self) { coder = id }
                guard let coder else { throw CLIError("no bench-coder: seed the database with `claimflow bench seed` first") }
                let started = ContinuousClock.now
                let pairs = try await withThrowingTaskGroup(of: Int.self) { group in
                    for _ in 0..<clientCount {
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

/// Bulk SQL for benchmark data: one statement per table, generate_series for the rows.
struct BenchSeeder {
    let client: PostgresClient
    let logger: Logger

    func seed(encounters: Int, open: Int, practices: Int) async throws {
        let existing = try await client.query("SELECT count(*)::int FROM encounters", logger: logger)
        for try await count in existing.decode(Int.self) where count > 0 {
            throw CLIError("the database already has \(count) encounters; seed an empty scratch database")
        }
        let statements: [PostgresQuery] = [
            """
            INSERT INTO practices (code, name, npi, tax_id, taxonomy, address_line1, city, state, postal_code)
            SELECT 'BENCH' || n, 'Bench Practice ' || n, '1234567893', '123456789', '207Q00000X', '1 Bench Way', 'Springfield', 'IL', '62701'
            FROM generate_series(1, \(practices)) AS n
            """,
            """
            INSERT INTO payers (payer_code, name, filing_limit_days)
            SELECT 'BENCHPAY' || n, 'Bench Payer ' || n, (ARRAY[90, 180, 365])[1 + n % 3] FROM generate_series(1, 6) AS n
            """,
            """
            INSERT INTO providers (practice_id, npi, first_name, last_name)
            SELECT id, '1234567893', 'Bench', 'Provider' FROM practices
            """,
            """
            INSERT INTO users (username, display_name, roles, skills)
            VALUES ('bench-coder', 'Bench Coder', '{coder}', '{family_medicine,cardiology,orthopedics}'),
                   ('bench-biller', 'Bench Biller', '{biller}', '{}'),
                   ('bench-supervisor', 'Bench Supervisor', '{supervisor}', '{}')
            """,
            "INSERT INTO user_practices (user_id, practice_id) SELECT u.id, p.id FROM users u, practices p",
            """
            INSERT INTO patients (practice_id, mrn, first_name, last_name, birth_date, sex)
            SELECT p.id, 'B' || n, 'Bench', 'Patient' || n, date '1940-01-01' + (n % 25000)::int, (ARRAY['F', 'M'])[1 + n % 2]
            FROM generate_series(1, 100000) AS n
            JOIN (SELECT id, row_number() OVER (ORDER BY code) - 1 AS i FROM practices) p ON p.i = n % \(practices)
            """,
            """
            INSERT INTO encounters (practice_id, external_id, patient_id, payer_id, rendering_provider_id, date_of_service,
                                    place_of_service, specialty, stage, documentation)
            SELECT pt.practice_id, 'E' || n, pt.id, (SELECT id FROM payers ORDER BY payer_code OFFSET n % 6 LIMIT 1),
                   (SELECT id FROM providers v WHERE v.practice_id = pt.practice_id LIMIT 1),
                   current_date - (n % 720)::int, '11', (ARRAY['family_medicine', 'cardiology', 'orthopedics'])[1 + n % 3],
                   CASE WHEN n <= \(open) THEN (CASE WHEN n % 4 = 0 THEN 'ready_to_bill' ELSE 'ready_to_code' END) ELSE 'closed' END,
                   'Bench visit.'
            FROM generate_series(1, \(encounters)) AS n
            JOIN patients pt ON pt.mrn = 'B' || (1 + n % 100000)
            """,
            """
            INSERT INTO service_lines (encounter_id, version, line_number, code, units, charge, pointers)
            SELECT id, 1, 1, '99213', 1, 125.00, '{1}' FROM encounters WHERE stage IN ('ready_to_code', 'ready_to_bill')
            """,
            """
            INSERT INTO work_items (encounter_id, queue, practice_id, required_skill, waiting_stage, enqueued_at,
                                    date_of_service, filing_deadline, charges)
            SELECT e.id, CASE e.stage WHEN 'ready_to_bill' THEN 'billing' ELSE 'coding' END, e.practice_id,
                   CASE e.stage WHEN 'ready_to_code' THEN e.specialty END, e.stage, now() - (random() * interval '20 days'),
                   e.date_of_service, e.date_of_service + p.filing_limit_days, 125.00
            FROM encounters e JOIN payers p ON p.id = e.payer_id WHERE e.stage IN ('ready_to_code', 'ready_to_bill')
            """,
            "ANALYZE",
        ]
        for statement in statements {
            try await client.query(statement, logger: logger)
        }
    }
}
