import ArgumentParser
import ClaimFlowCore
import ClaimFlowStore
import Foundation
import Logging
import PostgresNIO

extension BenchCommand {
    /// The background workers, exactly as `claimflow work` runs them, draining the coded
    /// encounters of a seeded database through the handoff check; timed until none is left.
    struct Handoff: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the workers as `claimflow work` does until no encounter is left in `coded`; print encounters/s.",
            discussion:
                "Every coded encounter must pass into a claim (the seed is valid end to end): one returned to coding or failing counts as an error."
        )

        @Option(help: "The postmaster's pid, to measure PostgreSQL's CPU.") var postgresPID: Int32?
        @Option(help: "Seconds before the phase is given up.") var timeout: Int = 1800
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var queue: QueueOptions
        @OptionGroup var submission: SubmissionOptions
        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            let logger = try logging.makeLogger()
            let (queue, submission, postmaster) = (queue, submission, postgresPID)
            let timeLimit = Duration.seconds(timeout)
            try await DatabaseSession.with(database, allowEmbedded: false, maximumConnections: 2, logger: logger) { owner, url in
                try await Runtime.prepareSchema(owner, migrate: true, logger: logger)
                let before = try await BenchStore(client: owner, logger: logger).stageCounts()
                let coded = before["coded", default: 0]
                guard coded > 0 else { throw CLIError("bench handoff: no coded encounter to hand off") }
                try await DatabaseSession.withClient(url, role: DatabaseURL.serviceRole, logger: logger) { client in
                    let runtime = Runtime(client: client, logger: logger, queue: queue, submission: submission)
                    let window = CPUWindow(servicePID: 0, postmasterPID: postmaster)
                    let started = ContinuousClock.now
                    let drained = try await withPhaseTimeout(timeLimit, phase: "handoff") {
                        try await withThrowingTaskGroup(of: Duration?.self) { group in
                            group.addTask {
                                try await runtime.work()
                                return nil
                            }
                            group.addTask {
                                // Polled, not waited on: the workers run as in production and
                                // nothing in them knows a benchmark is watching.
                                while true {
                                    if try await !Self.anyCodedLeft(owner, logger: logger) { return ContinuousClock.now - started }
                                    try await Task.sleep(for: .milliseconds(100))
                                }
                            }
                            defer { group.cancelAll() }
                            while let next = try await group.next() {
                                if let elapsed = next { return elapsed }
                            }
                            throw CLIError("bench handoff: the workers stopped before the coded encounters were handed off")
                        }
                    }
                    let after = try await BenchStore(client: owner, logger: logger).stageCounts()
                    let passed = after["ready_to_bill", default: 0] - before["ready_to_bill", default: 0]
                    let returned = after["returned_to_coding", default: 0] - before["returned_to_coding", default: 0]
                    let seconds = PhaseResult.seconds(drained)
                    var result = PhaseResult(phase: "handoff")
                    result["coded"] = coded
                    result["passed"] = passed
                    result["returned"] = returned
                    result["seconds"] = PhaseResult.rounded(seconds, places: 3)
                    result["encounters_per_s"] = PhaseResult.rounded(Double(coded) / seconds, places: 1)
                    result.addCPU(window, units: coded, unit: "encounter", service: "worker")
                    result.print()
                    guard passed == coded, returned == 0 else {
                        throw CLIError("bench handoff: \(passed) of \(coded) passed, \(returned) returned to coding; the seed is not valid")
                    }
                }
            }
        }

        /// Whether coded encounters are left to hand off, parked ones included (they would never leave,
        /// and the phase's time limit then reports them).
        static func anyCodedLeft(_ client: PostgresClient, logger: Logger) async throws -> Bool {
            try await BenchStore(client: client, logger: logger).anyCodedLeft()
        }
    }

    /// The X12 837P writer alone, in process, on one core: interchanges of 100 realistic claims
    /// (the batcher's size), built from the same practice, payers, providers and codes the seed
    /// uses.
    struct X12: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "x12", abstract: "Write 837P interchanges from in-memory claims on one core; print claims/s.")

        @Option(help: "Claims to write.") var claims: Int = 200_000
        @Option(help: "Claims per interchange.") var perInterchange: Int = 100
        @OptionGroup var logging: LoggingOptions

        func validate() throws {
            guard claims > 0, (1...999_999).contains(perInterchange) else {
                throw ValidationError("need --claims > 0 and --per-interchange 1...999999")
            }
        }

        func run() async throws {
            let batch = (0..<min(claims, perInterchange)).map(Self.claim)
            let settings = X12Settings()
            // The warm-up writes one interchange untimed, so the first timed one is not the
            // one that pays for lazy initialisation.
            _ = try X12Writer.interchange(settings.envelope(interchange: 1, group: 1, at: Date()), claims: batch)
            var written = 0
            var bytes = 0
            var interchange = 2
            let started = ContinuousClock.now
            while written < claims {
                let count = min(perInterchange, claims - written)
                let envelope = settings.envelope(interchange: interchange, group: interchange, at: Date())
                let text = try X12Writer.interchange(envelope, claims: count == batch.count ? batch : Array(batch.prefix(count)))
                bytes += text.utf8.count
                written += count
                interchange += 1
            }
            let seconds = PhaseResult.seconds(ContinuousClock.now - started)
            var result = PhaseResult(phase: "x12")
            result["claims"] = written
            result["per_interchange"] = perInterchange
            result["bytes"] = bytes
            result["seconds"] = PhaseResult.rounded(seconds, places: 3)
            result["claims_per_s"] = PhaseResult.rounded(Double(written) / seconds, places: 1)
            result.print()
        }

        /// Claim `index`: one of the seed's specialties with its codes, a payer, a patient who is
        /// their own subscriber (or, one in four, a dependent child), as the snapshot would hold.
        static func claim(_ index: Int) -> X12Claim {
            let practice = Practice(
                code: "BENCH1", name: "Bench Family Practice 1", npi: NPI.withCheckDigit(firstNine: "123456789")!.digits,
                taxID: "741852001", taxonomy: "207Q00000X",
                address: PostalAddress(line1: "100 Main Street", city: "Springfield", state: "IL", postalCode: "627011234")
            )
            let (_, taxonomy, codes) = BenchStore.codeSets[index % BenchStore.codeSets.count]
            let provider = BenchStore.providers[index % BenchStore.providers.count]
            let (firstName, sex) = BenchStore.firstNames[index % BenchStore.firstNames.count]
            let address = PostalAddress(line1: "\(100 + index % 900) Oak Avenue", city: "Springfield", state: "IL", postalCode: "62704")
            let subscriber = Person(
                firstName: firstName, lastName: BenchStore.lastNames[(index / 20) % BenchStore.lastNames.count],
                birthDate: CalendarDate(year: 1950 + index % 50, month: 1 + index % 12, day: 1 + index % 28)!,
                sex: sex == "F" ? .female : .male, address: address
            )
            let dependent = index % 4 == 3
            let patient =
                dependent
                ? Person(
                    firstName: "Kai", lastName: subscriber.lastName, birthDate: CalendarDate(year: 2015, month: 6, day: 1)!,
                    sex: .male, address: address)
                : subscriber
            return X12Claim(
                claimID: UUID(), totalCharge: codes.totalCharge, placeOfService: index % 10 == 0 ? "02" : "11",
                dateOfService: CalendarDate(year: 2026, month: 11, day: 1 + index % 28)!, billingProvider: practice,
                renderingProvider: X12Claim.RenderingProvider(
                    npi: provider.npi, firstName: provider.firstName, lastName: provider.lastName, taxonomy: taxonomy),
                payer: BenchStore.payers[index % BenchStore.payers.count], memberID: "W\(100_000_000 + index)",
                groupNumber: "G\(1000 + index % 9000)", subscriber: subscriber, relationship: dependent ? "19" : "18",
                patient: patient, diagnoses: codes.diagnoses, lines: codes.lines
            )
        }
    }
}
