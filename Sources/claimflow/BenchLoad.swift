import ArgumentParser
import AsyncHTTPClient
import ClaimFlowCore
import ClaimFlowStore
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// The benchmark's HTTP client: a small wrapper over AsyncHTTPClient that times each request
/// and keeps its connections open, as a coder's browser or a clinic's interface would.
struct BenchHTTP: Sendable {
    let client: HTTPClient
    let base: String

    init(base: String, connections: Int) {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(120), concurrentHTTP1ConnectionsPerHostSoftLimit: connections)
        configuration.timeout = .init(connect: .seconds(10), read: .seconds(120))
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        self.base = base.hasSuffix("/") ? String(base.dropLast()) : base
    }

    /// The answer of one request: its status, body and how long it took end to end.
    struct Answer {
        let status: Int
        let body: ByteBuffer
        let elapsed: Duration
    }

    func send(
        _ method: HTTPMethod, _ path: String, token: String, body: String? = nil,
        contentType: String = "application/json", limit: Duration = .seconds(120)
    ) async throws -> Answer {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        if let body {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(ByteBuffer(string: body))
        }
        let started = ContinuousClock.now
        let response = try await client.execute(request, timeout: .seconds(Int64(PhaseResult.seconds(limit))))
        let bytes = try await response.body.collect(upTo: 64 << 20)
        return Answer(status: Int(response.status.code), body: bytes, elapsed: ContinuousClock.now - started)
    }

    func shutdown() async {
        try? await client.shutdown()
    }
}

extension BenchCommand {
    /// N coders (or billers), each its own person with its own token, running the work cycle
    /// over HTTP against a running `claimflow serve` for a fixed time.
    struct Load: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Drive the coder cycle (next + codes + complete) or the biller cycle (next + submit) over HTTP.",
            discussion:
                "Mints a token for each of bench-<role>-1 ... through DATABASE_URL, then runs --clients concurrent people for --warmup + --duration seconds against --url. CPU is measured from /proc for --service-pid (the serve process) and --postgres-pid (the postmaster)."
        )

        @Option(help: "coder or biller.") var role: String = "coder"
        @Option(help: "Concurrent people, each with one connection.") var clients: Int = 32
        @Option(help: "Base URL of the running server.") var url: String
        @Option(help: "Seconds measured.") var duration: Double = 30
        @Option(help: "Seconds run before the measured window.") var warmup: Double = 3
        @Option(help: "The serve process's pid.") var servicePID: Int32?
        @Option(help: "The postmaster's pid.") var postgresPID: Int32?
        @Option(help: "Seconds before the phase is given up.") var timeout: Int = 600
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions

        func validate() throws {
            guard role == "coder" || role == "biller" else { throw ValidationError("--role must be coder or biller") }
            guard (1...BenchStore.people).contains(clients) else { throw ValidationError("--clients must be 1...\(BenchStore.people)") }
            guard duration > 0, warmup >= 0 else { throw ValidationError("--duration must be > 0 and --warmup >= 0") }
        }

        func run() async throws {
            let logger = try logging.makeLogger()
            let (roleName, count) = (role, clients)
            let tokens = try await DatabaseSession.with(database, allowEmbedded: false, maximumConnections: 2, logger: logger) {
                client, _ in
                try await BenchPeople.tokens(role: roleName, count: count, client: client, logger: logger)
            }
            let http = BenchHTTP(base: url, connections: count)
            let plan = CyclePlan(
                coder: role == "coder", measureFrom: ContinuousClock.now + .milliseconds(Int64(warmup * 1000)),
                until: ContinuousClock.now + .milliseconds(Int64((warmup + duration) * 1000)))
            let (servicePID, postgresPID) = (servicePID, postgresPID)
            let outcome: (stats: CycleStats, window: CPUWindow, measured: Duration)
            do {
                outcome = try await withPhaseTimeout(.seconds(timeout), phase: "load \(roleName)") {
                    async let window: CPUWindow = {
                        try? await Task.sleep(until: plan.measureFrom)
                        return CPUWindow(servicePID: servicePID, postmasterPID: postgresPID)
                    }()
                    let stats = try await withThrowingTaskGroup(of: CycleStats.self) { group in
                        for token in tokens {
                            group.addTask { await plan.runPerson(http: http, token: token) }
                        }
                        return try await group.reduce(into: CycleStats()) { $0.merge($1) }
                    }
                    let measured = ContinuousClock.now - plan.measureFrom
                    return (stats, await window, measured)
                }
            } catch {
                await http.shutdown()
                throw error
            }
            await http.shutdown()

            let (stats, window, measured) = outcome
            let seconds = PhaseResult.seconds(measured)
            var result = PhaseResult(phase: "\(role)-cycle")
            result["clients"] = clients
            result["seconds"] = PhaseResult.rounded(seconds)
            result["cycles"] = stats.cycles
            result["cycles_per_s"] = PhaseResult.rounded(Double(stats.cycles) / seconds, places: 1)
            stats.all.summarise(into: &result, prefix: "request")
            for (kind, sample) in stats.byKind.sorted(by: { $0.key < $1.key }) {
                sample.summarise(into: &result, prefix: kind)
            }
            result["errors"] = stats.errors
            result["errors_total"] = stats.errors.values.reduce(0, +)
            result["findings_with_errors"] = stats.blockingFindings
            result["queue_ran_dry"] = stats.dry
            result.addCPU(window, units: stats.cycles, unit: "cycle")
            if let servicePID, let memory = ProcessUsage.memory(of: servicePID) {
                result["service_rss_peak_mb"] = PhaseResult.rounded(Double(memory.peakKB) / 1024, places: 1)
                result["service_rss_mb"] = PhaseResult.rounded(Double(memory.currentKB) / 1024, places: 1)
            }
            result.print()
            guard stats.cycles > 0 else { throw CLIError("bench load \(role): no cycle was completed") }
            guard stats.errors.isEmpty, stats.blockingFindings == 0 else {
                throw CLIError("bench load \(role): requests failed: \(stats.errors), blocking findings: \(stats.blockingFindings)")
            }
        }
    }
}

/// What one person (or all of them) did in the measured window.
struct CycleStats: Sendable {
    var cycles = 0
    var all = LatencySample()
    var byKind: [String: LatencySample] = [:]
    /// Unexpected answers, as "request status" (or "request transport") and how many.
    var errors: [String: Int] = [:]
    /// Saved codes whose findings included an error: the seed or the codes are not valid.
    var blockingFindings = 0
    var dry = false

    mutating func merge(_ other: CycleStats) {
        cycles += other.cycles
        all.append(contentsOf: other.all)
        for (kind, sample) in other.byKind { byKind[kind, default: LatencySample()].append(contentsOf: sample) }
        errors.merge(other.errors, uniquingKeysWith: +)
        blockingFindings += other.blockingFindings
        dry = dry || other.dry
    }
}

/// The cycle one benchmark person runs, and when.
struct CyclePlan: Sendable {
    let coder: Bool
    let measureFrom: ContinuousClock.Instant
    let until: ContinuousClock.Instant

    /// A pulled piece of work: the lease, and the encounter (coder) or claim (biller).
    private struct Pulled: Decodable {
        struct Reference: Decodable {
            let id: String
            let specialty: String?
        }
        let lease: Reference
        let encounter: Reference?
        let claim: Reference?
    }

    /// The codes a coder assigns for each specialty, as the API takes them.
    private static let codeBodies: [String: String] = {
        var bodies: [String: String] = [:]
        for (specialty, _, codes) in BenchStore.codeSets {
            let diagnoses = codes.diagnoses.map { code in
                // The API takes codes with or without the dot; a coder types the dot.
                code.count > 3 ? "\"\(code.prefix(3)).\(code.dropFirst(3))\"" : "\"\(code)\""
            }
            let lines = codes.lines.map { line in
                let modifiers = line.modifiers.map { "\"\($0)\"" }.joined(separator: ",")
                let charge = MoneyAmount.text(line.charge)
                return
                    "{\"code\":\"\(line.code)\",\"modifiers\":[\(modifiers)],\"units\":\(line.units),\"charge\":\"\(charge)\",\"pointers\":\(line.pointers)}"
            }
            bodies[specialty] = "\"diagnoses\":[\(diagnoses.joined(separator: ","))],\"lines\":[\(lines.joined(separator: ","))]"
        }
        return bodies
    }()

    /// Runs cycles until the window ends or the queue runs dry. A cycle begun before the
    /// window opened is not counted; one begun inside it is finished and counted.
    func runPerson(http: BenchHTTP, token: String) async -> CycleStats {
        var stats = CycleStats()
        while ContinuousClock.now < until, !Task.isCancelled {
            let started = ContinuousClock.now
            var cycle = CycleStats()
            let finished: Bool
            do {
                finished = coder ? try await coderCycle(http, token, &cycle) : try await billerCycle(http, token, &cycle)
            } catch {
                cycle.errors["transport", default: 0] += 1
                finished = false
            }
            if cycle.dry {
                stats.dry = true
                break
            }
            guard started >= measureFrom else { continue }
            if finished { cycle.cycles = 1 }
            stats.merge(cycle)
            // A person whose requests keep failing stops rather than spinning.
            if stats.errors.values.reduce(0, +) > 50 { break }
        }
        return stats
    }

    private func record(_ kind: String, _ answer: BenchHTTP.Answer, expect: Int, into stats: inout CycleStats) -> Bool {
        stats.all.append(answer.elapsed)
        stats.byKind[kind, default: LatencySample()].append(answer.elapsed)
        guard answer.status == expect else {
            stats.errors["\(kind) \(answer.status)", default: 0] += 1
            return false
        }
        return true
    }

    private func pull(
        _ http: BenchHTTP, _ token: String, path: String, kind: String, into stats: inout CycleStats
    ) async throws
        -> Pulled?
    {
        let answer = try await http.send(.POST, path, token: token)
        if answer.status == 204 {
            stats.dry = true
            return nil
        }
        guard record(kind, answer, expect: 200, into: &stats) else { return nil }
        return try JSONDecoder().decode(Pulled.self, from: Data(answer.body.readableBytesView))
    }

    private func coderCycle(_ http: BenchHTTP, _ token: String, _ stats: inout CycleStats) async throws -> Bool {
        guard let pulled = try await pull(http, token, path: "/api/v1/coder/next", kind: "coder_next", into: &stats),
            let encounter = pulled.encounter
        else { return false }
        let codes = Self.codeBodies[encounter.specialty ?? ""] ?? Self.codeBodies.values.sorted()[0]
        let saved = try await http.send(
            .PUT, "/api/v1/coder/encounters/\(encounter.id)/codes", token: token,
            body: "{\"lease_id\":\"\(pulled.lease.id)\",\(codes)}")
        guard record("coder_codes", saved, expect: 200, into: &stats) else { return false }
        if String(buffer: saved.body).contains("\"severity\":\"error\"") { stats.blockingFindings += 1 }
        let completed = try await http.send(
            .POST, "/api/v1/coder/encounters/\(encounter.id)/complete", token: token, body: "{\"lease_id\":\"\(pulled.lease.id)\"}")
        return record("coder_complete", completed, expect: 200, into: &stats)
    }

    private func billerCycle(_ http: BenchHTTP, _ token: String, _ stats: inout CycleStats) async throws -> Bool {
        guard let pulled = try await pull(http, token, path: "/api/v1/biller/next", kind: "biller_next", into: &stats),
            let claim = pulled.claim
        else { return false }
        let submitted = try await http.send(
            .POST, "/api/v1/biller/claims/\(claim.id)/submit", token: token, body: "{\"lease_id\":\"\(pulled.lease.id)\"}")
        return record("biller_submit", submitted, expect: 200, into: &stats)
    }
}

extension BenchCommand {
    /// NDJSON intake of many encounters over HTTP, in batches, and the same rows written as a
    /// CSV file for scripts/bench to `\copy` into a flat table beside it.
    struct Intake: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send encounters to POST /api/v1/encounters/batch (NDJSON) and write the same rows as CSV."
        )

        @Option(help: "Base URL of the running server.") var url: String
        @Option(help: "Encounters in all.") var lines: Int = 100_000
        @Option(help: "Lines per batch (the server takes at most 10,000).") var batchLines: Int = 10_000
        @Option(help: "Batches sent at once.") var concurrency: Int = 1
        @Option(help: "Where to write the same rows as CSV (for psql \\copy).") var csv: String
        @Option(help: "The serve process's pid.") var servicePID: Int32?
        @Option(help: "The postmaster's pid.") var postgresPID: Int32?
        @Option(help: "Seconds before the phase is given up.") var timeout: Int = 1200
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions

        func validate() throws {
            guard lines > 0, (1...10_000).contains(batchLines), (1...16).contains(concurrency) else {
                throw ValidationError("need --lines > 0, --batch-lines 1...10000, --concurrency 1...16")
            }
        }

        func run() async throws {
            let logger = try logging.makeLogger()
            let (token, references) = try await DatabaseSession.with(
                database, allowEmbedded: false, maximumConnections: 2, logger: logger
            ) { client, _ in
                let token = try await BenchPeople.tokens(role: "intake", count: 0, client: client, logger: logger)[0]
                return (
                    token, try await BenchStore(client: client, logger: logger).intakeReferences(practiceCode: BenchStore.intakePractice)
                )
            }
            guard !references.payerCodes.isEmpty, references.providerNPIs.count == BenchStore.codeSets.count else {
                throw CLIError("the database has no bench practice \(BenchStore.intakePractice): run `claimflow bench seed` first")
            }
            let rows = IntakeRows(count: lines, payerCodes: references.payerCodes, providerNPIs: references.providerNPIs)
            try rows.csv().write(toFile: csv, atomically: true, encoding: .utf8)
            let batches = stride(from: 0, to: lines, by: batchLines).map { start in
                rows.ndjson(from: start, count: min(batchLines, lines - start))
            }
            let http = BenchHTTP(base: url, connections: concurrency)
            let (servicePID, postgresPID, parallel) = (servicePID, postgresPID, concurrency)
            let window = CPUWindow(servicePID: servicePID, postmasterPID: postgresPID)
            let started = ContinuousClock.now
            let outcome: IntakeOutcome
            do {
                outcome = try await withPhaseTimeout(.seconds(timeout), phase: "intake") {
                    try await Self.send(batches, http: http, token: token, parallel: parallel)
                }
            } catch {
                await http.shutdown()
                throw error
            }
            await http.shutdown()
            let seconds = PhaseResult.seconds(ContinuousClock.now - started)
            var result = PhaseResult(phase: "intake")
            result["lines"] = lines
            result["batches"] = batches.count
            result["batch_lines"] = batchLines
            result["concurrency"] = concurrency
            result["created"] = outcome.created
            result["failed"] = outcome.failed
            result["seconds"] = PhaseResult.rounded(seconds, places: 3)
            result["encounters_per_s"] = PhaseResult.rounded(Double(outcome.created) / seconds, places: 1)
            outcome.latencies.summarise(into: &result, prefix: "batch")
            result.addCPU(window, units: outcome.created, unit: "encounter")
            result.print()
            guard outcome.created == lines, outcome.failed == 0 else {
                throw CLIError("bench intake: \(outcome.created) of \(lines) created, \(outcome.failed) failed (\(outcome.statuses))")
            }
        }

        struct IntakeOutcome: Sendable {
            var created = 0
            var failed = 0
            var statuses: [Int: Int] = [:]
            var latencies = LatencySample()
        }

        private struct BatchAnswer: Decodable {
            let created: Int
            let replayed: Int
            let failed: Int
        }

        /// Sends the batches, `parallel` at a time, in order.
        static func send(_ batches: [String], http: BenchHTTP, token: String, parallel: Int) async throws -> IntakeOutcome {
            var outcome = IntakeOutcome()
            for group in stride(from: 0, to: batches.count, by: parallel) {
                let slice = Array(batches[group..<min(group + parallel, batches.count)])
                let answers = try await withThrowingTaskGroup(of: BenchHTTP.Answer.self) { tasks in
                    for body in slice {
                        tasks.addTask {
                            try await http.send(
                                .POST, "/api/v1/encounters/batch", token: token, body: body, contentType: "application/x-ndjson",
                                limit: .seconds(600))
                        }
                    }
                    return try await tasks.reduce(into: [BenchHTTP.Answer]()) { $0.append($1) }
                }
                for answer in answers {
                    outcome.latencies.append(answer.elapsed)
                    outcome.statuses[answer.status, default: 0] += 1
                    guard answer.status == 200,
                        let parsed = try? JSONDecoder().decode(BatchAnswer.self, from: Data(answer.body.readableBytesView))
                    else {
                        outcome.failed += 1
                        continue
                    }
                    outcome.created += parsed.created
                    outcome.failed += parsed.failed
                }
            }
            return outcome
        }
    }
}

/// The encounters the intake benchmark sends: valid, as a clinic's interface sends them, for
/// the bench practice; patients recur (one in five visits is a new patient).
struct IntakeRows {
    let count: Int
    let payerCodes: [String]
    let providerNPIs: [String]

    /// The flat table scripts/bench copies the same rows into, column by column.
    static let columns = [
        "practice_code", "external_id", "mrn", "first_name", "last_name", "birth_date", "sex", "address_line1", "city", "state",
        "postal_code", "payer_code", "member_id", "group_number", "rendering_provider_npi", "date_of_service",
        "place_of_service", "specialty", "priority", "documentation",
    ]

    func row(_ index: Int) -> [String] {
        let patient = index % max(1, count / 5)
        let (firstName, sex) = BenchStore.firstNames[patient % BenchStore.firstNames.count]
        let lastName = BenchStore.lastNames[(patient / 20) % BenchStore.lastNames.count]
        let birth = CalendarDate(year: 1940 + patient % 70, month: 1 + patient % 12, day: 1 + patient % 28)!
        let specialty = index % BenchStore.codeSets.count
        let day = Date().addingTimeInterval(-Double(index % 28) * 86_400)
        let parts = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC")!, from: day)
        let dateOfService = CalendarDate(year: parts.year!, month: parts.month!, day: parts.day!)!
        return [
            BenchStore.intakePractice, "INTAKE-\(index + 1)", "IMRN\(patient + 1)", firstName, lastName, birth.description, sex,
            "\(100 + patient % 900) Elm Street", "Springfield", "IL", "62704", payerCodes[patient % payerCodes.count],
            "X\(200_000_000 + patient)", "G\(1000 + patient % 9000)", providerNPIs[specialty], dateOfService.description,
            index % 10 == 0 ? "02" : "11", BenchStore.codeSets[specialty].specialty, index % 8 == 0 ? "50" : "0",
            BenchStore.notes[specialty],
        ]
    }

    /// Lines `start ..< start + count` as NDJSON request bodies.
    func ndjson(from start: Int, count: Int) -> String {
        var body = ""
        for index in start..<(start + count) {
            let r = row(index)
            let object: [String: Any] = [
                "practice_code": r[0], "external_id": r[1],
                "patient": [
                    "mrn": r[2], "first_name": r[3], "last_name": r[4], "birth_date": r[5], "sex": r[6],
                    "address": ["line1": r[7], "city": r[8], "state": r[9], "postal_code": r[10]],
                ],
                "coverage": ["payer_code": r[11], "member_id": r[12], "group_number": r[13]],
                "rendering_provider_npi": r[14], "date_of_service": r[15], "place_of_service": r[16], "specialty": r[17],
                "priority": Int(r[18])!, "documentation": r[19],
            ]
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
            body += String(decoding: data, as: UTF8.self) + "\n"
        }
        return body
    }

    /// Every row as CSV (RFC 4180 quoting), no header.
    func csv() -> String {
        var text = ""
        for index in 0..<count {
            text += row(index).map(Self.quoted).joined(separator: ",") + "\n"
        }
        return text
    }

    private static func quoted(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
