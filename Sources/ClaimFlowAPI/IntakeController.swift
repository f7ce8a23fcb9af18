import ClaimFlowCore
import ClaimFlowStore
import Foundation
import Hummingbird
import Logging
import NIOCore

/// `POST /encounters` and `POST /encounters/batch`: encounters arriving from the clinic.
struct IntakeController: Sendable {
    let stores: APIStores

    func addRoutes(to group: RouterGroup<ClaimFlowRequestContext>) {
        group.post("encounters") { request, context in
            let principal = try context.requirePrincipal()
            let body = try await request.decode(EncounterIntakeRequest.self)
            let outcome = try await receive(body, principal: principal, audit: context.audit, lookups: Lookups())
            return try JSONResponse.make(outcome, status: outcome.created ? .created : .ok)
        }
        group.post("encounters/batch") { request, context in
            let principal = try context.requirePrincipal()
            try JSONBody.requireMediaType(request, "application/x-ndjson")
            let data = try await JSONBody.bytes(request, limit: JSONBody.batchLimit)
            return try JSONResponse.make(
                try await receiveBatch(data, principal: principal, audit: context.audit, logger: context.logger))
        }
    }

    struct Outcome: Encodable {
        let id: UUID
        let created: Bool
        let stage: Stage
    }

    struct LineResult: Encodable {
        let line: Int
        let status: Int
        let id: UUID?
        let problem: ProblemDetails?
    }

    struct BatchOutcome: Encodable {
        let created: Int
        let replayed: Int
        let failed: Int
        let results: [LineResult]
    }

    /// Resolved practice codes, provider NPIs and payer codes, reused across a batch.
    final class Lookups: @unchecked Sendable {
        var practices: [String: UUID?] = [:]
        var providers: [String: UUID?] = [:]
        var payers: [String: UUID?] = [:]
    }

    /// Lines one batch may hold. Every line's result is kept for the answer, so the bound is
    /// what keeps a body of millions of tiny lines from becoming millions of problem documents.
    static let maximumLines = 10_000

    /// A batch: each line is decoded and checked on its own, and the good ones are saved a
    /// chunk at a time (``EncounterStore/receive(chunk:audit:)``), each with the result it
    /// would get alone. A bad line gets its own problem and spoils nothing else, a line the
    /// database fails on included.
    private func receiveBatch(_ data: Data, principal: Principal, audit: AuditContext, logger: Logger) async throws -> BatchOutcome {
        // Scanned as an array: `Data`'s generic element access costs more than the scan.
        let bytes = [UInt8](data)
        let newline = UInt8(ascii: "\n")
        var lineCount = 0
        var blank = true
        for byte in bytes {
            if byte == newline {
                if !blank { lineCount += 1 }
                blank = true
            } else if byte != UInt8(ascii: " ") && byte != UInt8(ascii: "\r") && byte != UInt8(ascii: "\t") {
                blank = false
            }
        }
        if !blank { lineCount += 1 }
        guard lineCount <= Self.maximumLines else {
            throw APIError.payloadTooLarge(
                "the batch holds \(lineCount) lines; at most \(Self.maximumLines) are taken per request, so split it")
        }
        let lookups = Lookups()
        var results: [LineResult] = []
        results.reserveCapacity(lineCount)
        func collect(_ saved: [(line: Int, outcome: EncounterStore.IntakeResult)]) {
            for (line, outcome) in saved {
                switch outcome {
                case .success(let received):
                    results.append(
                        LineResult(line: line, status: received.created ? 201 : 200, id: received.encounterID, problem: nil))
                case .failure(let error):
                    results.append(Self.result(line: line, failure: error, logger: logger))
                }
            }
        }
        let encounters = stores.encounters
        // While one chunk is written, the next is decoded, so the database and this process
        // work side by side; the chunks are still written one after another, in line order.
        try await withThrowingTaskGroup(of: [(line: Int, outcome: EncounterStore.IntakeResult)].self) { writing in
            var chunk: [(line: Int, intake: EncounterIntake)] = []
            func write() async throws {
                guard !chunk.isEmpty else { return }
                if let saved = try await writing.next() { collect(saved) }
                let pending = chunk
                chunk.removeAll(keepingCapacity: true)
                writing.addTask {
                    let outcomes = try await encounters.receive(chunk: pending.map(\.intake), audit: audit)
                    return zip(pending, outcomes).map { ($0.line, $1) }
                }
            }
            for (index, line) in bytes.split(separator: newline, omittingEmptySubsequences: false).enumerated() {
                if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\t") }) { continue }
                let text = Data(line)
                let number = index + 1
                do {
                    let body = try JSONBody.decode(EncounterIntakeRequest.self, from: text, path: "line \(number)")
                    chunk.append((number, try await intake(from: body, principal: principal, lookups: lookups)))
                } catch is CancellationError {
                    throw CancellationError()
                } catch {
                    results.append(Self.result(line: number, failure: error, logger: logger))
                }
                if chunk.count == EncounterStore.intakeChunkSize { try await write() }
            }
            try await write()
            for try await saved in writing { collect(saved) }
        }
        // A refused line is answered at once, a saved one with its chunk: back to line order.
        results.sort { $0.line < $1.line }
        let created = results.count { $0.status == 201 }
        let replayed = results.count { $0.status == 200 }
        return BatchOutcome(created: created, replayed: replayed, failed: results.count - created - replayed, results: results)
    }

    /// The result of a line that was not saved.
    private static func result(line: Int, failure error: any Error, logger: Logger) -> LineResult {
        switch error {
        case let error as APIError:
            let problem = error.problem
            return LineResult(line: line, status: problem.status, id: nil, problem: problem)
        case let error as StoreError:
            let problem = ErrorMiddleware.problem(for: error)
            return LineResult(line: line, status: problem.status, id: nil, problem: problem)
        default:
            // The lines before it are saved; this one is not, and says so with a problem of its
            // own rather than turning the whole answer into a 500.
            logger.error("batch line failed", metadata: ["line": "\(line)", "error": "\(logSafeDescription(of: error))"])
            let problem = ProblemDetails(
                type: "internal", title: "Internal Server Error", status: .internalServerError,
                detail: "line \(line) could not be saved; send it again")
            return LineResult(line: line, status: problem.status, id: nil, problem: problem)
        }
    }

    private func receive(
        _ body: EncounterIntakeRequest, principal: Principal, audit: AuditContext, lookups: Lookups
    ) async throws -> Outcome {
        let received = try await stores.encounters.receive(
            try await intake(from: body, principal: principal, lookups: lookups), audit: audit)
        let stage = try await stores.encounters.stage(of: received.encounterID) ?? .readyToCode
        return Outcome(id: received.encounterID, created: received.created, stage: stage)
    }

    /// The body with its practice, provider and payer resolved to ids; a 422 naming each that
    /// is not one of the caller's.
    private func intake(from body: EncounterIntakeRequest, principal: Principal, lookups: Lookups) async throws -> EncounterIntake {
        let practiceCode = body.practiceCode
        let providerNPI = body.renderingProviderNPI
        let coverage = body.coverage
        // References are checked after the shape, so one response lists every shape problem.
        guard
            let practiceID = try await lookup(
                &lookups.practices, practiceCode,
                {
                    try await stores.practices.practiceID(code: practiceCode, within: principal.practiceIDs)
                })
        else {
            throw APIError.validation([.init(path: "$.practice_code", message: "is not one of your practices")])
        }
        var references: [ProblemDetails.Finding] = []
        let providerID = try await lookup(&lookups.providers, "\(practiceID)/\(providerNPI)") {
            try await stores.practices.providerID(practiceID: practiceID, npi: providerNPI)
        }
        if providerID == nil {
            references.append(.init(path: "$.rendering_provider_npi", message: "is not a provider of practice \(practiceCode)"))
        }
        let payerID = try await lookup(&lookups.payers, coverage.payerCode) {
            try await stores.practices.payerID(code: coverage.payerCode)
        }
        if payerID == nil { references.append(.init(path: "$.coverage.payer_code", message: "is not a known payer")) }
        guard references.isEmpty, let providerID, let payerID else { throw APIError.validation(references) }

        let patient = body.patient.person.person
        return EncounterIntake(
            practiceID: practiceID, externalID: body.externalID, patientMRN: body.patient.mrn, patient: patient,
            coverage: Coverage(
                payerID: payerID, memberID: coverage.memberID, groupNumber: coverage.groupNumber,
                subscriber: coverage.subscriber?.person ?? patient, relationship: coverage.relationshipCode
            ),
            renderingProviderID: providerID, dateOfService: body.dateOfService, placeOfService: body.placeOfService,
            specialty: body.specialty, priority: body.priority ?? 0, documentation: body.documentation,
            claimDetails: body.claimDetails
        )
    }

    private func lookup(_ cache: inout [String: UUID?], _ key: String, _ fetch: () async throws -> UUID?) async throws -> UUID? {
        if let cached = cache[key] { return cached }
        let value = try await fetch()
        cache[key] = value
        return value
    }
}
