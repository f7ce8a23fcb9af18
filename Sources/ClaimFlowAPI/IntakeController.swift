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

    /// One NDJSON line at a time: a bad line gets its own problem and spoils nothing else, a
    /// line the database fails on included.
    private func receiveBatch(_ data: Data, principal: Principal, audit: AuditContext, logger: Logger) async throws -> BatchOutcome {
        let newline = UInt8(ascii: "\n")
        var lineCount = 0
        var blank = true
        for byte in data {
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
        var created = 0
        var replayed = 0
        for (index, line) in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            let text = Data(line)
            if text.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\t") }) { continue }
            let number = index + 1
            do {
                let body = try JSONBody.decode(EncounterIntakeRequest.self, from: text, path: "line \(number)")
                let outcome = try await receive(body, principal: principal, audit: audit, lookups: lookups)
                if outcome.created { created += 1 } else { replayed += 1 }
                results.append(LineResult(line: number, status: outcome.created ? 201 : 200, id: outcome.id, problem: nil))
            } catch let error as APIError {
                let problem = error.problem
                results.append(LineResult(line: number, status: problem.status, id: nil, problem: problem))
            } catch let error as StoreError {
                let problem = ErrorMiddleware.problem(for: error)
                results.append(LineResult(line: number, status: problem.status, id: nil, problem: problem))
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                // The lines before it are saved; this one is not, and says so with a problem of its
                // own rather than turning the whole answer into a 500.
                logger.error("batch line failed", metadata: ["line": "\(number)", "error": "\(logSafeDescription(of: error))"])
                let problem = ProblemDetails(
                    type: "internal", title: "Internal Server Error", status: .internalServerError,
                    detail: "line \(number) could not be saved; send it again")
                results.append(LineResult(line: number, status: problem.status, id: nil, problem: problem))
            }
        }
        return BatchOutcome(created: created, replayed: replayed, failed: results.count - created - replayed, results: results)
    }

    private func receive(
        _ body: EncounterIntakeRequest, principal: Principal, audit: AuditContext, lookups: Lookups
    ) async throws -> Outcome {
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
        let intake = EncounterIntake(
            practiceID: practiceID, externalID: body.externalID, patientMRN: body.patient.mrn, patient: patient,
            coverage: Coverage(
                payerID: payerID, memberID: coverage.memberID, groupNumber: coverage.groupNumber,
                subscriber: coverage.subscriber?.person ?? patient, relationship: coverage.relationshipCode
            ),
            renderingProviderID: providerID, dateOfService: body.dateOfService, placeOfService: body.placeOfService,
            specialty: body.specialty, priority: body.priority ?? 0, documentation: body.documentation
        )
        let received = try await stores.encounters.receive(intake, audit: audit)
        let stage = try await stores.encounters.stage(of: received.encounterID) ?? .readyToCode
        return Outcome(id: received.encounterID, created: received.created, stage: stage)
    }

    private func lookup(_ cache: inout [String: UUID?], _ key: String, _ fetch: () async throws -> UUID?) async throws -> UUID? {
        if let cached = cache[key] { return cached }
        let value = try await fetch()
        cache[key] = value
        return value
    }
}
