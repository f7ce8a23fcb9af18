import ClaimFlowCore
import ClaimFlowStore
import Foundation
import Hummingbird
import NIOCore

/// `POST /encounters` and `POST /encounters/batch`: encounters arriving from the clinic.
struct IntakeController: Sendable {
    let practices: PracticeStore
    let encounters: EncounterStore

    func addRoutes(to group: RouterGroup<ClaimFlowRequestContext>) {
        group.post("encounters") { request, context in
            let principal = try context.requirePrincipal()
            let reader = try await JSONBody.object(request)
            let outcome = try await receive(reader, principal: principal, audit: context.audit, lookups: Lookups())
            return try JSONResponse.make(outcome, status: outcome.created ? .created : .ok)
        }
        group.post("encounters/batch") { request, context in
            let principal = try context.requirePrincipal()
            try JSONBody.requireMediaType(request, "application/x-ndjson")
            let data = try await JSONBody.bytes(request, limit: JSONBody.batchLimit)
            return try JSONResponse.make(try await receiveBatch(data, principal: principal, audit: context.audit))
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

    /// One NDJSON line at a time: a bad line gets its own problem and spoils nothing else.
    private func receiveBatch(_ data: Data, principal: Principal, audit: AuditContext) async throws -> BatchOutcome {
        let lookups = Lookups()
        var results: [LineResult] = []
        var created = 0
        var replayed = 0
        for (index, line) in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            let text = Data(line)
            if text.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\t") }) { continue }
            let number = index + 1
            do {
                let value = try JSONBody.parse(text, path: "line \(number)")
                guard case .object(let fields) = value else {
                    throw APIError.validation([.init(path: "$", message: "each line must be a JSON object, not \(value.kind)")])
                }
                let outcome = try await receive(
                    FieldReader(fields, path: "$", findings: Findings()), principal: principal, audit: audit, lookups: lookups
                )
                if outcome.created { created += 1 } else { replayed += 1 }
                results.append(LineResult(line: number, status: outcome.created ? 201 : 200, id: outcome.id, problem: nil))
            } catch let error as APIError {
                let problem = error.problem
                results.append(LineResult(line: number, status: problem.status, id: nil, problem: problem))
            } catch let error as StoreError {
                let problem = ErrorMiddleware.problem(for: error)
                results.append(LineResult(line: number, status: problem.status, id: nil, problem: problem))
            }
        }
        return BatchOutcome(created: created, replayed: replayed, failed: results.count - created - replayed, results: results)
    }

    private func receive(_ body: FieldReader, principal: Principal, audit: AuditContext, lookups: Lookups) async throws -> Outcome {
        var body = body
        let findings = body.findings
        let practiceCode = body.string("practice_code", maxLength: 20)
        let externalID = body.string("external_id", maxLength: 80)
        let patientMRN: String?
        let patient: Person?
        if var patientReader = body.object("patient") {
            patientMRN = patientReader.string("mrn", maxLength: 50)
            patient = Self.person(&patientReader)
            patientReader.rejectUnknownFields()
        } else {
            (patientMRN, patient) = (nil, nil)
        }
        var coverageFields: (payerCode: String, memberID: String, group: String?, relationship: String, subscriber: Person?)?
        if var coverage = body.object("coverage") {
            let payerCode = coverage.string("payer_code", maxLength: 80)
            let memberID = coverage.string(
                "member_id", maxLength: 80, pattern: "[A-Za-z0-9-]{2,80}", expected: "2-80 letters, digits or dashes")
            let group = coverage.string("group_number", required: false, maxLength: 50)
            let relationship =
                coverage.string(
                    "relationship", required: false, maxLength: 2, pattern: "01|18|19|20|21|39|40|53|G8",
                    expected: "an X12 relationship code: 18 self, 01 spouse, 19 child, 20 employee, 21 unknown, 39, 40, 53 or G8 other"
                ) ?? "18"
            var subscriber: Person?
            if var subscriberReader = coverage.object("subscriber", required: relationship != "18") {
                subscriber = Self.person(&subscriberReader)
                subscriberReader.rejectUnknownFields()
            }
            coverage.rejectUnknownFields()
            if let payerCode, let memberID {
                coverageFields = (payerCode, memberID, group, relationship, subscriber)
            }
        }
        let providerNPI = body.string(
            "rendering_provider_npi", maxLength: 10, check: { NPI($0) != nil }, expected: "a valid 10-digit NPI"
        )
        let dateOfService = body.date("date_of_service")
        let placeOfService = body.string("place_of_service", maxLength: 2, pattern: "[0-9]{2}", expected: "two digits, such as 11")
        let specialty = body.string(
            "specialty", maxLength: 41, pattern: "[a-z][a-z0-9_]{1,40}", expected: "a specialty name such as family_medicine"
        )
        let priority = body.int("priority", required: false, range: 0...100) ?? 0
        let documentation = body.string("documentation", maxLength: 100_000)
        body.rejectUnknownFields()
        try findings.throwIfAny()
        guard let practiceCode, let externalID, let patientMRN, let patient, let coverageFields, let providerNPI,
            let dateOfService, let placeOfService, let specialty, let documentation
        else { throw APIError.validation(findings.items) }

        // References are checked after the shape, so one response lists every shape problem.
        guard
            let practiceID = try await lookup(
                &lookups.practices, practiceCode,
                {
                    try await practices.practiceID(code: practiceCode, within: principal.practiceIDs)
                })
        else {
            throw APIError.validation([.init(path: "$.practice_code", message: "is not one of your practices")])
        }
        var references: [ProblemDetails.Finding] = []
        let providerID = try await lookup(&lookups.providers, "\(practiceID)/\(providerNPI)") {
            try await practices.providerID(practiceID: practiceID, npi: providerNPI)
        }
        if providerID == nil {
            references.append(.init(path: "$.rendering_provider_npi", message: "is not a provider of practice \(practiceCode)"))
        }
        let payerID = try await lookup(&lookups.payers, coverageFields.payerCode) {
            try await practices.payerID(code: coverageFields.payerCode)
        }
        if payerID == nil { references.append(.init(path: "$.coverage.payer_code", message: "is not a known payer")) }
        guard references.isEmpty, let providerID, let payerID else { throw APIError.validation(references) }

        let intake = EncounterIntake(
            practiceID: practiceID, externalID: externalID, patientMRN: patientMRN, patient: patient,
            coverage: Coverage(
                payerID: payerID, memberID: coverageFields.memberID, groupNumber: coverageFields.group,
                subscriber: coverageFields.subscriber ?? patient, relationship: coverageFields.relationship
            ),
            renderingProviderID: providerID, dateOfService: dateOfService, placeOfService: placeOfService,
            specialty: specialty, priority: priority, documentation: documentation
        )
        let received = try await encounters.receive(intake, audit: audit)
        let stage = try await encounters.stage(of: received.encounterID) ?? .readyToCode
        return Outcome(id: received.encounterID, created: received.created, stage: stage)
    }

    private func lookup(_ cache: inout [String: UUID?], _ key: String, _ fetch: () async throws -> UUID?) async throws -> UUID? {
        if let cached = cache[key] { return cached }
        let value = try await fetch()
        cache[key] = value
        return value
    }

    static func person(_ reader: inout FieldReader) -> Person? {
        let first = reader.string("first_name", maxLength: 35)
        let last = reader.string("last_name", maxLength: 60)
        let birthDate = reader.date("birth_date")
        let sex = reader.string("sex", maxLength: 1, pattern: "[FMU]", expected: "F, M or U")
        var address: PostalAddress?
        if var addressReader = reader.object("address", required: false) {
            address = Self.address(&addressReader)
            addressReader.rejectUnknownFields()
        }
        guard let first, let last, let birthDate, let sex, let parsed = Sex(rawValue: sex) else { return nil }
        return Person(firstName: first, lastName: last, birthDate: birthDate, sex: parsed, address: address)
    }

    static func address(_ reader: inout FieldReader) -> PostalAddress? {
        let line1 = reader.string("line1", maxLength: 55)
        let line2 = reader.string("line2", required: false, maxLength: 55)
        let city = reader.string("city", maxLength: 30)
        let state = reader.string("state", maxLength: 2, pattern: "[A-Z]{2}", expected: "a two-letter state code")
        let postalCode = reader.string("postal_code", maxLength: 9, pattern: "[0-9]{5}([0-9]{4})?", expected: "a 5 or 9 digit ZIP code")
        guard let line1, let city, let state, let postalCode else { return nil }
        return PostalAddress(line1: line1, line2: line2, city: city, state: state, postalCode: postalCode)
    }
}
