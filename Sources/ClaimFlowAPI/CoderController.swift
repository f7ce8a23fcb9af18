import ClaimFlowCore
import ClaimFlowStore
import Foundation
import Hummingbird

/// The coder's routes: pull the next encounter, save codes, complete, ask the provider,
/// release, heartbeat. Every write names the lease id it holds.
struct CoderController: Sendable {
    let queue: WorkQueue
    let signals: WorkSignals
    let coding: CodingStore
    let encounters: EncounterStore
    let codeSets: CodeSetStore

    func addRoutes(to group: RouterGroup<ClaimFlowRequestContext>) {
        group.post("next") { request, context in
            let principal = try context.requirePrincipal()
            let wait = try Self.waitSeconds(request)
            guard
                let lease = try await queue.pullNext(
                    userID: principal.userID, queue: .coding, audit: context.audit, wait: .seconds(wait), signals: signals
                )
            else { return Response(status: .noContent) }
            guard
                let encounter = try await coding.coderView(
                    encounterID: lease.encounterID, practiceIDs: principal.practiceIDs, audit: context.audit
                )
            else { throw APIError.notFound("encounter \(lease.encounterID) not found") }
            return try JSONResponse.make(Pulled(lease: LeaseBody(lease), encounter: encounter))
        }
        group.put("encounters/{id}/codes") { request, context in
            let (principal, id) = try await visibleEncounter(context)
            var body = try await JSONBody.object(request)
            let leaseID = body.uuid("lease_id")
            let codes = Self.codes(&body)
            body.rejectUnknownFields()
            try body.findings.throwIfAny()
            guard let leaseID, let codes else { throw APIError.validation(body.findings.items) }
            try await coding.saveDraft(
                encounterID: id, leaseID: leaseID, holder: principal.userID, codes: codes, audit: context.audit
            )
            // The same rules the handoff worker applies, so the coder sees the same findings now.
            var findings: [CodingFinding] = []
            if let draft = try await coding.draft(of: id) {
                findings = CodingRules.check(draft, facts: try await codeSets.facts(for: draft))
            }
            return try JSONResponse.make(SavedCodes(encounterId: id, codes: codes, findings: findings))
        }
        group.post("encounters/{id}/complete") { request, context in
            let (principal, id) = try await visibleEncounter(context)
            let leaseID = try await Self.leaseOnly(request)
            try await queue.finish(
                encounterID: id, leaseID: leaseID, holder: principal.userID, queue: .coding, to: .coded,
                action: "coding.completed", audit: context.audit
            )
            return try JSONResponse.make(StageBody(encounterId: id, stage: .coded))
        }
        group.post("encounters/{id}/query") { request, context in
            let (principal, id) = try await visibleEncounter(context)
            var body = try await JSONBody.object(request)
            let leaseID = body.uuid("lease_id")
            let question = body.string("question", maxLength: 4000)
            body.rejectUnknownFields()
            try body.findings.throwIfAny()
            guard let leaseID, let question else { throw APIError.validation(body.findings.items) }
            let queryID = try await coding.askProvider(
                encounterID: id, leaseID: leaseID, holder: principal.userID, question: question, audit: context.audit
            )
            return try JSONResponse.make(QueryBody(encounterId: id, stage: .onHold, queryId: queryID))
        }
        group.post("encounters/{id}/release") { request, context in
            let (principal, id) = try await visibleEncounter(context)
            var body = try await JSONBody.object(request)
            let leaseID = body.uuid("lease_id")
            let reason = body.string("reason", required: false, maxLength: 500)
            body.rejectUnknownFields()
            try body.findings.throwIfAny()
            guard let leaseID else { throw APIError.validation(body.findings.items) }
            try await queue.release(encounterID: id, leaseID: leaseID, holder: principal.userID, reason: reason, audit: context.audit)
            let stage = try await encounters.stage(of: id) ?? .readyToCode
            return try JSONResponse.make(StageBody(encounterId: id, stage: stage))
        }
        group.post("encounters/{id}/heartbeat") { request, context in
            let (principal, id) = try await visibleEncounter(context)
            let leaseID = try await Self.leaseOnly(request)
            let lease = try await queue.heartbeat(encounterID: id, leaseID: leaseID, holder: principal.userID)
            return try JSONResponse.make(["lease": LeaseBody(lease)])
        }
    }

    private func visibleEncounter(_ context: ClaimFlowRequestContext) async throws -> (Principal, UUID) {
        try await encounters.visibleEncounter(context)
    }

    static func pathID(_ context: ClaimFlowRequestContext, _ name: String = "id") throws -> UUID {
        guard let text = context.parameters.get(name), let id = UUID(uuidString: text) else {
            throw APIError.notFound("no such resource: the id must be a UUID")
        }
        return id
    }

    /// `wait=N` seconds for a long poll, 0 to 30.
    static func waitSeconds(_ request: Request) throws -> Int {
        guard let text = request.uri.queryParameters.get("wait") else { return 0 }
        guard let seconds = Int(text), (0...30).contains(seconds) else {
            throw APIError.validation([.init(path: "query.wait", message: "must be a whole number of seconds from 0 to 30")])
        }
        return seconds
    }

    /// A body of just `{"lease_id": ...}`.
    static func leaseOnly(_ request: Request) async throws -> UUID {
        var body = try await JSONBody.object(request)
        let leaseID = body.uuid("lease_id")
        body.rejectUnknownFields()
        try body.findings.throwIfAny()
        guard let leaseID else { throw APIError.validation(body.findings.items) }
        return leaseID
    }

    /// Diagnoses and service lines, with dots accepted in ICD-10-CM codes and removed.
    static func codes(_ body: inout FieldReader) -> CodeAssignment? {
        let findings = body.findings
        var diagnoses: [String] = []
        for (path, value) in body.array("diagnoses", maxCount: 12) ?? [] {
            guard case .string(let text) = value, let code = CodeFormat.normalizedDiagnosis(text) else {
                findings.add(path, "must be an ICD-10-CM code such as E11.9 or E119")
                continue
            }
            diagnoses.append(code)
        }
        var lines: [ServiceLine] = []
        for (path, value) in body.array("lines", maxCount: 50) ?? [] {
            guard case .object(let fields) = value else {
                findings.add(path, "must be an object, not \(value.kind)")
                continue
            }
            var line = FieldReader(fields, path: path, findings: findings)
            let code = line.string(
                "code", maxLength: 5, check: CodeFormat.isProcedure,
                expected: "a CPT (5 digits, or 4 digits and F, T or U) or HCPCS Level II (letter and 4 digits) code"
            )
            var modifiers: [String] = []
            for (modifierPath, modifier) in line.array("modifiers", required: false, maxCount: 4) ?? [] {
                guard case .string(let text) = modifier, CodeFormat.isModifier(text) else {
                    findings.add(modifierPath, "must be a two-character modifier such as 25 or XS")
                    continue
                }
                modifiers.append(text)
            }
            let units = decimal(&line, "units", places: 3, range: Decimal(string: "0.001")!...Decimal(9_999))
            let charge = decimal(&line, "charge", places: 2, range: Decimal(string: "0.00")!...Decimal(9_999_999), asString: true)
            var pointers: [Int] = []
            let pointerValues = line.array("pointers", maxCount: 4) ?? []
            if pointerValues.isEmpty { findings.add(line.at("pointers"), "must point at 1 to 4 diagnoses") }
            for (pointerPath, pointer) in pointerValues {
                guard case .number(let number) = pointer, let value = Int(exactly: number), (1...12).contains(value) else {
                    findings.add(pointerPath, "must be a diagnosis position from 1 to 12")
                    continue
                }
                pointers.append(value)
            }
            line.rejectUnknownFields()
            if let code, let units, let charge {
                lines.append(ServiceLine(code: code, modifiers: modifiers, units: units, charge: charge, pointers: pointers))
            }
        }
        guard findings.items.isEmpty else { return nil }
        return CodeAssignment(diagnoses: diagnoses, lines: lines)
    }

    /// A decimal with at most `places` decimal places, as a JSON number (or, for money, a
    /// string such as "125.00", which keeps its exact value).
    private static func decimal(
        _ reader: inout FieldReader,
        _ key: String,
        places: Int,
        range: ClosedRange<Decimal>,
        asString: Bool = false
    ) -> Decimal? {
        let text: String?
        if asString {
            text = reader.string(
                key, maxLength: 12, pattern: "[0-9]{1,7}(\\.[0-9]{1,\(places)})?", expected: "an amount such as \"125.00\""
            )
        } else if let number = reader.int(key, range: 1...9_999) {
            text = String(number)
        } else {
            text = nil
        }
        guard let text, let value = Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")) else { return nil }
        guard range.contains(value) else {
            reader.findings.add(reader.at(key), "must be between \(range.lowerBound) and \(range.upperBound)")
            return nil
        }
        return value
    }
}

/// A lease as the API shows it.
struct LeaseBody: Encodable {
    let id: UUID
    let expiresAt: Date

    init(_ lease: Lease) {
        self.id = lease.id
        self.expiresAt = lease.expiresAt
    }
}

struct Pulled<Work: Encodable>: Encodable {
    let lease: LeaseBody
    let encounter: Work
}

extension EncounterStore {
    /// The principal and the `{id}` encounter, which must be in one of their practices (404
    /// otherwise, so another practice's encounters cannot even be confirmed to exist).
    func visibleEncounter(_ context: ClaimFlowRequestContext) async throws -> (Principal, UUID) {
        let principal = try context.requirePrincipal()
        let id = try CoderController.pathID(context)
        guard try await isVisible(id, to: principal.practiceIDs) else {
            throw APIError.notFound("encounter \(id) not found")
        }
        return (principal, id)
    }
}

struct SavedCodes: Encodable {
    let encounterId: UUID
    let codes: CodeAssignment
    /// Errors block the handoff to billing; completing with errors is allowed, and the handoff
    /// check then returns the encounter with these same findings.
    let findings: [CodingFinding]
}

struct StageBody: Encodable {
    let encounterId: UUID
    let stage: Stage
}

struct QueryBody: Encodable {
    let encounterId: UUID
    let stage: Stage
    let queryId: UUID
}
