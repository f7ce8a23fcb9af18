import ClaimFlowCore
import ClaimFlowStore
import Foundation
import Hummingbird

/// The coder's routes: pull the next encounter, save codes, complete, ask the provider,
/// release, heartbeat. Every write names the lease id it holds.
struct CoderController: Sendable {
    let stores: APIStores

    func addRoutes(to group: RouterGroup<ClaimFlowRequestContext>) {
        group.post("next") { request, context in
            try await PullNext(stores: stores).pull(.coding, request, context) { lease, principal -> CoderEncounterView? in
                try await stores.coding.coderView(encounterID: lease.encounterID, practiceIDs: principal.practiceIDs, audit: context.audit)
            }
        }
        group.put("encounters/{id}/codes") { request, context in
            let (body, bytes) = try await request.decodeKeepingBytes(SaveCodesRequest.self)
            let (principal, id) = (try context.requirePrincipal(), try context.pathID())
            let codes = body.codes
            return try await IdempotentWrite(stores: stores).run(
                request, context, operation: "coder.save_codes", body: bytes, writesInOneStatement: true
            ) { connection in
                let draft = try await stores.encounters.hidingForeign(id, from: principal) {
                    try await stores.coding.saveDraft(
                        encounterID: id, leaseID: body.leaseID, holder: principal.userID, codes: codes, audit: context.audit,
                        within: principal.practiceIDs, on: connection
                    )
                }
                // The same rules the handoff worker applies, so the coder sees the same findings now.
                let findings = CodingRules.check(draft, facts: try await stores.codeSets.facts(for: draft, on: connection))
                return try .json(SavedCodes(encounterId: id, codes: codes, findings: findings))
            }
        }
        group.post("encounters/{id}/complete") { request, context in
            let (body, bytes) = try await request.decodeKeepingBytes(LeaseRequest.self)
            let (principal, id) = (try context.requirePrincipal(), try context.pathID())
            return try await IdempotentWrite(stores: stores).run(
                request, context, operation: "coder.complete", body: bytes, writesInOneStatement: true
            ) { connection in
                do {
                    try await stores.queue.finish(
                        encounterID: id, leaseID: body.leaseID, holder: principal.userID, queue: .coding, to: .coded,
                        action: "coding.completed", audit: context.audit, within: principal.practiceIDs, on: connection
                    )
                } catch {
                    // This lease completed the encounter already: a retry, answered as the first time.
                    guard
                        try await replayedFinish(
                            error, stores: stores, encounterID: id, leaseID: body.leaseID, holder: principal.userID,
                            action: "coding.completed")
                    else { throw try await stores.encounters.foreignOr(error, id, from: principal) }
                }
                return try .json(WorkUpdate(encounterId: id, stage: .coded))
            }
        }
        group.post("encounters/{id}/query") { request, context in
            let body = try await request.decode(ProviderQueryRequest.self)
            let (principal, id) = try await visibleEncounter(context)
            let queryID = try await stores.coding.askProvider(
                encounterID: id, leaseID: body.leaseID, holder: principal.userID, question: body.question, audit: context.audit
            )
            return try JSONResponse.make(WorkUpdate(encounterId: id, stage: .onHold, queryId: queryID))
        }
        group.post("encounters/{id}/release") { request, context in
            let (body, bytes) = try await request.decodeKeepingBytes(CoderReleaseRequest.self)
            let (principal, id) = try await visibleEncounter(context)
            return try await IdempotentWrite(stores: stores).run(request, context, operation: "coder.release", body: bytes) {
                connection in
                try await stores.queue.release(
                    encounterID: id, leaseID: body.leaseID, holder: principal.userID, reason: body.reason, audit: context.audit,
                    on: connection
                )
                let stage = try await stores.encounters.stage(of: id, on: connection) ?? .readyToCode
                return try .json(WorkUpdate(encounterId: id, stage: stage))
            }
        }
        group.post("encounters/{id}/heartbeat") { request, context in
            let body = try await request.decode(LeaseRequest.self)
            let (principal, id) = try await visibleEncounter(context)
            let lease = try await stores.queue.heartbeat(encounterID: id, leaseID: body.leaseID, holder: principal.userID)
            return try JSONResponse.make(["lease": LeaseBody(lease)])
        }
    }

    private func visibleEncounter(_ context: ClaimFlowRequestContext) async throws -> (Principal, UUID) {
        try await stores.encounters.visibleEncounter(context)
    }
}

/// `POST /coder/next` and `POST /biller/next`: one handler for both queues. The puller never
/// chooses the item; the queue hands out the next one, or 204 when none comes within `wait`.
struct PullNext: Sendable {
    let stores: APIStores

    struct Pulled<Work: Encodable>: Encodable {
        let lease: LeaseBody
        let work: Work
        let key: String

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: DynamicKey.self)
            try container.encode(lease, forKey: DynamicKey("lease"))
            try container.encode(work, forKey: DynamicKey(key))
        }
    }

    func pull<Work: Encodable>(
        _ name: WorkQueueName,
        _ request: Request,
        _ context: ClaimFlowRequestContext,
        view: (Lease, Principal) async throws -> Work?
    ) async throws -> Response {
        let principal = try context.requirePrincipal()
        let wait = try request.waitSeconds()
        // A keyed pull keeps which lease it answered with (never the view, which carries PHI and
        // is read again, audited, on a replay). The key is recorded just after the lease is
        // taken; should that record be lost, the fair-share cap still answers a repeated pull
        // with the lease already held.
        let key = try IdempotentWrite.key(request, context, operation: "\(name.rawValue).next", body: Data())
        if let key, let known = try await stores.idempotency.lookup(key) {
            return try await answer(known, key: key, name, principal, view: view)
        }
        // A pull that may wait holds a place until it answers; none free is a 429 at once.
        let place = wait > 0 ? stores.longPolls.enter(principal.userID) : nil
        if wait > 0, place == nil { return stores.longPolls.refusal() }
        defer { withExtendedLifetime(place) {} }
        guard wait > 0, stores.cancelPullsOnHangUp else {
            let lease = try await stores.queue.pullNext(
                userID: principal.userID, queue: name, audit: context.audit, wait: .seconds(wait), signals: stores.signals
            )
            return try await answerPulled(lease, key: key, name, principal, view: view)
        }
        // A client that hangs up while it waits ends the wait: nobody is handed a lease it will
        // never see. A lease taken in the instant of the hang-up is given back at once.
        var response: Response
        do {
            let lease = try await request.body.consumeWithCancellationOnInboundClose { _ in
                let lease = try await stores.queue.pullNext(
                    userID: principal.userID, queue: name, audit: context.audit, wait: .seconds(wait), signals: stores.signals
                )
                if let lease, Task.isCancelled { throw HungUp(lease: lease) }
                return lease
            }
            response = try await answerPulled(lease, key: key, name, principal, view: view)
        } catch let hungUp as HungUp {
            try await stores.queue.release(
                encounterID: hungUp.lease.encounterID, leaseID: hungUp.lease.id, holder: principal.userID,
                reason: "the client hung up before the answer", audit: context.audit)
            response = Response(status: .noContent)
        } catch is CancellationError {
            response = Response(status: .noContent)
        }
        // Watching for the hang-up reads past this request, so the connection carries no other:
        // the server closes it after this answer, and says so, so a client opens a new one
        // instead of racing the close.
        response.headers[.connection] = "close"
        return response
    }

    /// The answer to a pull that leased `lease` (or found nothing), kept under `key` first.
    private func answerPulled<Work: Encodable>(
        _ lease: Lease?,
        key: IdempotencyKey?,
        _ name: WorkQueueName,
        _ principal: Principal,
        view: (Lease, Principal) async throws -> Work?
    ) async throws -> Response {
        if let key {
            let answer =
                try lease.map { try StoredAnswer.json(PulledLease($0)) } ?? StoredAnswer(status: 204, body: [])
            let recorded = try await stores.idempotency.recordPull(key, answer: answer)
            if recorded != .replay(answer) { return try await self.answer(recorded, key: key, name, principal, view: view) }
        }
        guard let lease else { return Response(status: .noContent) }
        return try await respond(lease, name, principal, replayed: false, view: view)
    }

    private func answer<Work: Encodable>(
        _ known: IdempotencyClaim,
        key: IdempotencyKey,
        _ name: WorkQueueName,
        _ principal: Principal,
        view: (Lease, Principal) async throws -> Work?
    ) async throws -> Response {
        switch known {
        case .mismatch(let operation): throw IdempotentWrite.reused(key, operation)
        case .fresh: throw APIError.notFound("no answer kept for this Idempotency-Key")
        case .replay(let stored):
            guard stored.status == 200 else { return IdempotentWrite.response(stored, replayed: true) }
            let decoder = JSONDecoder()
            decoder.keyDecodingStrategy = .convertFromSnakeCase
            let pulled = try decoder.decode(PulledLease.self, from: Data(stored.body))
            let lease = Lease(
                id: pulled.leaseId, encounterID: pulled.encounterId, queue: name, holder: principal.userID,
                expiresAt: Date(timeIntervalSince1970: pulled.expiresAt))
            return try await respond(lease, name, principal, replayed: true, view: view)
        }
    }

    private func respond<Work: Encodable>(
        _ lease: Lease,
        _ name: WorkQueueName,
        _ principal: Principal,
        replayed: Bool,
        view: (Lease, Principal) async throws -> Work?
    ) async throws -> Response {
        guard let work = try await view(lease, principal) else {
            throw APIError.notFound("no work found for encounter \(lease.encounterID)")
        }
        var response = try JSONResponse.make(
            Pulled(lease: LeaseBody(lease), work: work, key: name == .coding ? "encounter" : "claim")
        )
        if replayed { response.headers[IdempotentWrite.replayedHeader] = "true" }
        return response
    }
}

/// What a keyed pull keeps: the lease it answered with.
struct PulledLease: Codable {
    let encounterId: UUID
    let leaseId: UUID
    /// Seconds since 1970, so the kept answer does not depend on a date format.
    let expiresAt: Double

    init(_ lease: Lease) {
        encounterId = lease.encounterID
        leaseId = lease.id
        expiresAt = lease.expiresAt.timeIntervalSince1970
    }
}

/// A lease pulled for a client that had already hung up.
private struct HungUp: Error {
    let lease: Lease
}

/// A coding key named at run time.
struct DynamicKey: CodingKey {
    let stringValue: String
    var intValue: Int? { nil }
    init(_ name: String) { stringValue = name }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
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

extension EncounterStore {
    /// The principal and the `{id}` encounter, which must be in one of their practices (404
    /// otherwise, so another practice's encounters cannot even be confirmed to exist).
    func visibleEncounter(_ context: ClaimFlowRequestContext) async throws -> (Principal, UUID) {
        let principal = try context.requirePrincipal()
        let id = try context.pathID()
        guard try await isVisible(id, to: principal.practiceIDs) else {
            throw APIError.notFound("encounter \(id) not found")
        }
        return (principal, id)
    }

    /// Runs a write whose statement checks the caller's practices itself (so a visible
    /// encounter costs no extra round trip); a refusal for an encounter the caller cannot see
    /// becomes the same 404 ``visibleEncounter(_:)`` answers.
    func hidingForeign<Result>(_ id: UUID, from principal: Principal, _ write: () async throws -> Result) async throws -> Result {
        do {
            return try await write()
        } catch {
            throw try await foreignOr(error, id, from: principal)
        }
    }

    /// `error`, or a 404 when it is a lease or stage refusal for an encounter outside the
    /// caller's practices.
    func foreignOr(_ error: any Error, _ id: UUID, from principal: Principal) async throws -> any Error {
        guard let refusal = error as? StoreError, [.staleLease, .wrongStage, .notFound].contains(refusal.code) else { return error }
        return try await isVisible(id, to: principal.practiceIDs) ? error : APIError.notFound("encounter \(id) not found")
    }
}

struct SavedCodes: Encodable {
    let encounterId: UUID
    let codes: CodeAssignment
    /// Errors block the handoff to billing; completing with errors is allowed, and the handoff
    /// check then returns the encounter with these same findings.
    let findings: [CodingFinding]
}

/// What a change to one encounter's work answers: the encounter, where it stands now, and what
/// the change made (a query, a new holder and lease, a priority). Absent parts are left out.
struct WorkUpdate: Encodable {
    let encounterId: UUID
    var stage: Stage?
    var queryId: UUID?
    var holder: UUID?
    var lease: LeaseBody?
    var priority: Int?
}
