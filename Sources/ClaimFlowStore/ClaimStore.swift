public import ClaimFlowCore
public import Foundation
public import PostgresNIO

/// Claims: one row per claim version of an encounter, built from that version's codes.
public struct ClaimStore: QueueStore {
    public let queue: WorkQueue

    public init(queue: WorkQueue) { self.queue = queue }

    /// Passes a coded encounter on to billing: the claim for its current version (created, or
    /// made ready again after billing withdrew it) and a billing work item, in one transaction.
    /// The handoff worker calls this once the handoff rules pass.
    @discardableResult
    public func handOff(encounterID: UUID, audit: AuditContext, on connection: PostgresConnection? = nil) async throws -> UUID {
        try await database.transaction(joining: connection) { connection in
            let claimID = try await claimForHandoff(encounterID, on: connection)
            try await queue.enqueue(
                encounterID: encounterID, from: .coded, to: .readyToBill, audit: audit, action: "handoff.passed",
                detail: try jsonObject(["claim_id": claimID.uuidString]), on: connection
            )
            return claimID
        }
    }

    /// Up to `limit` coded encounters due for the handoff check, oldest change first: those
    /// with no handoff failure, or whose failure's next attempt is due. A parked one waits for a
    /// supervisor's retry (``WorkerFailureStore/retry(failureID:practiceIDs:audit:)``).
    ///
    /// Locks nothing: each is then locked and checked in a transaction of its own
    /// (``lockForHandoff(_:on:)``), so one that fails rolls back alone.
    public func handoffCandidates(limit: Int) async throws -> [UUID] {
        let rows = try await client.query(
            """
            SELECT e.id FROM encounters e
            WHERE e.stage = 'coded'
              AND NOT EXISTS (
                  SELECT 1 FROM worker_failures f
                  WHERE f.encounter_id = e.id AND f.worker = 'handoff' AND (f.parked_at IS NOT NULL OR f.next_attempt_at > now())
              )
            ORDER BY e.updated_at, e.id
            LIMIT \(limit)
            """,
            logger: logger
        )
        var ids: [UUID] = []
        for try await id in rows.decode(UUID.self) { ids.append(id) }
        return ids
    }

    /// Locks one handoff candidate in the caller's transaction, or returns false when another
    /// worker holds it (`SKIP LOCKED`: workers never wait on each other), already handed it
    /// off, or it is no longer due (a worker parked it meanwhile).
    public func lockForHandoff(_ encounterID: UUID, on connection: PostgresConnection) async throws -> Bool {
        let rows = try await database.rows(
            """
            SELECT e.id FROM encounters e
            WHERE e.id = \(encounterID) AND e.stage = 'coded'
              AND NOT EXISTS (
                  SELECT 1 FROM worker_failures f
                  WHERE f.encounter_id = e.id AND f.worker = 'handoff' AND (f.parked_at IS NOT NULL OR f.next_attempt_at > now())
              )
            FOR UPDATE OF e SKIP LOCKED
            """,
            prepared: LockForHandoff.self, on: connection
        )
        return !rows.isEmpty
    }

    /// Notes in the caller's transaction that the encounter's handoff went through, clearing
    /// any earlier failure of it.
    public func handoffSucceeded(_ encounterID: UUID, on connection: PostgresConnection) async throws {
        try await WorkerFailureStore(database: database).clearHandoffFailure(encounterID: encounterID, on: connection)
    }

    /// The claim version that carries the encounter's current coding version to billing: a
    /// new version every time, whose snapshot the database takes from the live rows as it goes
    /// in (sql/0005_claim_snapshots.sql). It replaces (frequency 7) the version the payer
    /// answered, if any; after a version billing withdrew unsubmitted, which the payer never
    /// saw, it replaces what that one replaced.
    private func claimForHandoff(_ encounterID: UUID, on connection: PostgresConnection) async throws -> UUID {
        var replaced: (id: UUID, payerNumber: String?)?
        var version = 0
        let rows = try await database.rows(
            """
            SELECT id, version, status, replaces_claim_id, payer_claim_number FROM claims
            WHERE encounter_id = \(encounterID) ORDER BY version DESC LIMIT 1
            """,
            prepared: LatestClaim.self, on: connection
        )
        for row in rows {
            let (id, latest, status, replaces, payerNumber) = try row.decode((UUID, Int, String, UUID?, String?).self)
            version = latest
            if status == "withdrawn" {
                replaced = replaces.map { ($0, payerNumber) }
            } else if ["accepted", "paid", "denied"].contains(status) {
                replaced = (id, payerNumber)
            }
        }
        // Optional values are cast: a prepared statement keeps the types its first call bound, and
        // a NULL binds no type of its own.
        let inserted = try await database.rows(
            """
            INSERT INTO claims (encounter_id, version, coding_version, frequency_code, replaces_claim_id, payer_claim_number,
                                total_charge, coded_by)
            SELECT e.id, \(version + 1), e.version, \(replaced == nil ? "1" : "7"), \(replaced?.id)::uuid,
                   \(replaced?.payerNumber)::text,
                   coalesce((SELECT sum(charge) FROM service_lines s WHERE s.encounter_id = e.id AND s.version = e.version), 0),
                   e.coded_by
            FROM encounters e WHERE e.id = \(encounterID) AND e.stage = 'coded'
            RETURNING id
            """,
            prepared: InsertClaim.self, on: connection
        )
        for row in inserted { return try row.decode(UUID.self) }
        throw StoreError(.wrongStage, "encounter \(encounterID) is not coded")
    }

    /// The biller's view of a claim in one of `practiceIDs`, recording the read of PHI.
    ///
    /// What the claim says comes from its snapshot alone; its status, the encounter's stage and
    /// the practice's current rule on segregation of duties (which submit enforces) are live.
    public func billerView(claimID: UUID, practiceIDs: Set<UUID>, audit: AuditContext) async throws -> BillerClaimView? {
        try await billerView(of: "c.id = \(claimID)", practiceIDs: practiceIDs, audit: audit, prepared: BillerView.self)
    }

    /// The biller's view of the encounter's current claim (its latest version), if it has one
    /// in `practiceIDs`, recording the read of PHI: what a biller's pull answers with.
    public func currentBillerView(encounterID: UUID, practiceIDs: Set<UUID>, audit: AuditContext) async throws -> BillerClaimView? {
        try await billerView(
            of: "c.id = (SELECT l.id FROM claims l WHERE l.encounter_id = \(encounterID) ORDER BY l.version DESC LIMIT 1)",
            practiceIDs: practiceIDs, audit: audit, prepared: CurrentBillerView.self)
    }

    /// The view of the claim `condition` names (over `c`), and the event of its read, in one
    /// statement: one snapshot, one round trip, the event written only when the claim is found.
    private func billerView<Name: PreparedName>(
        of condition: SQLFragment, practiceIDs: Set<UUID>, audit: AuditContext, prepared name: Name.Type
    ) async throws -> BillerClaimView? {
        let logged = AuditEntry(
            "phi.viewed", by: audit, encounter: "encounter_id", practice: "practice_id",
            detail: "jsonb_build_object('view', 'biller')", rows: "FROM found"
        )
        let rows = try await database.rows(
            """
            WITH found AS (
                SELECT c.id, c.encounter_id, c.version, c.status, e.stage, pr.segregate_duties, c.snapshot::text AS snapshot,
                       e.practice_id
                FROM claims c
                JOIN encounters e ON e.id = c.encounter_id
                JOIN practices pr ON pr.id = e.practice_id
                WHERE \(fragment: condition) AND e.practice_id = ANY (\(Array(practiceIDs)))
            ), logged AS (
                \(logged)
            )
            SELECT id, encounter_id, version, status, stage, segregate_duties, snapshot FROM found
            """,
            prepared: name
        )
        guard let row = rows.first else { return nil }
        let (id, encounterID, version, status, stage, segregateDuties, json) = try row.decode(
            (UUID, UUID, Int, String, String, Bool, String).self)
        let snapshot = try ClaimSnapshot(json: json, claimID: id)
        var practice = snapshot.billingProvider
        practice.segregateDuties = segregateDuties
        let patient = snapshot.patient
        // With no subscriber on file the claim names the patient, without an address.
        let subscriber =
            snapshot.subscriber
            ?? Person(firstName: patient.firstName, lastName: patient.lastName, birthDate: patient.birthDate, sex: patient.sex)
        let rendering = snapshot.renderingProvider
        return BillerClaimView(
            id: id, encounterID: encounterID, version: version, frequencyCode: snapshot.frequencyCode, status: status,
            stage: Stage(rawValue: stage) ?? .received, totalCharge: snapshot.totalCharge, practice: practice,
            renderingProviderNPI: rendering?.npi ?? "",
            renderingProviderName: rendering.map { "\($0.firstName) \($0.lastName)" } ?? "",
            payerCode: snapshot.payer?.payerCode ?? "", payerName: snapshot.payer?.name ?? "",
            memberID: snapshot.memberID ?? "", groupNumber: snapshot.groupNumber, relationship: snapshot.relationship,
            subscriber: BillerClaimView.Party(subscriber), patient: BillerClaimView.Party(patient),
            dateOfService: snapshot.dateOfService, placeOfService: snapshot.placeOfService, codes: snapshot.codes
        )
    }

    /// Submits the claim: ends the biller's lease (checked), marks the claim submitted and
    /// moves the encounter to `submitted`, atomically.
    ///
    /// Runs in the caller's transaction when `connection` is given (a keyed write keeps its
    /// answer in the same transaction).
    public func submit(
        claimID: UUID, leaseID: UUID, holder: UUID, practiceIDs: Set<UUID>, audit: AuditContext,
        on connection: PostgresConnection? = nil
    ) async throws {
        try await database.transaction(joining: connection) { connection in
            // The claim (locked), whether this biller coded it where duties are segregated, and
            // its snapshot, in one statement.
            let rows = try await database.rows(
                """
                SELECT c.encounter_id, c.status, pr.segregate_duties AND e.coded_by IS NOT DISTINCT FROM \(holder),
                       c.snapshot::text
                FROM claims c JOIN encounters e ON e.id = c.encounter_id JOIN practices pr ON pr.id = e.practice_id
                WHERE c.id = \(claimID) AND e.practice_id = ANY (\(Array(practiceIDs)))
                FOR UPDATE OF c
                """,
                prepared: ClaimToSubmit.self, on: connection
            )
            guard let row = rows.first else { throw StoreError(.notFound, "claim \(claimID) not found") }
            let (encounterID, status, codedByBiller, json) = try row.decode((UUID, String, Bool, String).self)
            guard status == "ready" else { throw StoreError(.wrongStage, "claim \(claimID) is \(status), not ready") }
            if codedByBiller {
                throw StoreError(.segregationOfDuties, "the coder of encounter \(encounterID) may not bill it in this practice")
            }
            // Refuse now what the batcher could not write later.
            let claim = try ClaimSnapshot(json: json, claimID: claimID).x12Claim(id: claimID)
            do {
                _ = try X12Writer.interchange(X12Settings().envelope(interchange: 1, group: 1, at: Date()), claims: [claim])
            } catch {
                throw StoreError(.unsubmittable, "claim \(claimID) cannot be written as an 837P: \(error)")
            }
            try await queue.finish(
                encounterID: encounterID, leaseID: leaseID, holder: holder, queue: .billing, to: .submitted,
                action: "claim.submitted", detail: try jsonObject(["claim_id": claimID.uuidString]), audit: audit,
                on: connection
            )
            try await connection.query(
                "UPDATE claims SET status = 'submitted', submitted_by = \(holder), submitted_at = now() WHERE id = \(claimID)",
                logger: logger
            )
        }
    }

    /// Billing sends the claim back to coding with a reason: the unsubmitted claim is
    /// withdrawn and the encounter goes to the coding queue, offered first to its coder.
    public func returnToCoding(
        claimID: UUID,
        leaseID: UUID,
        holder: UUID,
        reason: String,
        practiceIDs: Set<UUID>,
        offerToCoderFor: Duration = .seconds(3600),
        audit: AuditContext,
        on connection: PostgresConnection? = nil
    ) async throws {
        try await database.transaction(joining: connection) { connection in
            let encounterID = try await encounter(ofClaim: claimID, status: "ready", practiceIDs: practiceIDs, on: connection)
            var coder: UUID?
            let rows = try await connection.query("SELECT coded_by FROM encounters WHERE id = \(encounterID)", logger: logger)
            for try await codedBy in rows.decode(UUID?.self) { coder = codedBy }
            try await queue.requeue(
                encounterID: encounterID, leaseID: leaseID, holder: holder, from: .billing, to: .returnedToCoding,
                offeredTo: coder, offerFor: offerToCoderFor, action: "claim.returned_to_coding",
                detail: try jsonObject(["claim_id": claimID.uuidString, "reason": reason]), audit: audit, on: connection
            )
            try await connection.query("UPDATE claims SET status = 'withdrawn' WHERE id = \(claimID)", logger: logger)
        }
    }

    /// Everything the 837P needs for one claim version, read in the caller's transaction: its
    /// snapshot, and nothing live.
    public func x12Claim(_ claimID: UUID, on connection: PostgresConnection? = nil) async throws -> X12Claim {
        try await database.withConnection(connection) { connection in
            let rows = try await connection.query("SELECT snapshot::text FROM claims WHERE id = \(claimID)", logger: logger)
            for try await json in rows.decode(String.self) {
                return try ClaimSnapshot(json: json, claimID: claimID).x12Claim(id: claimID)
            }
            throw StoreError(.notFound, "claim \(claimID) not found, or it has no payer or subscriber")
        }
    }

    private func encounter(
        ofClaim claimID: UUID,
        status: String,
        practiceIDs: Set<UUID>,
        on connection: PostgresConnection
    ) async throws -> UUID {
        let rows = try await connection.query(
            """
            SELECT c.encounter_id, c.status FROM claims c JOIN encounters e ON e.id = c.encounter_id
            WHERE c.id = \(claimID) AND e.practice_id = ANY (\(Array(practiceIDs)))
            FOR UPDATE OF c
            """,
            logger: logger
        )
        for try await (encounterID, current) in rows.decode((UUID, String).self) {
            guard current == status else {
                throw StoreError(.wrongStage, "claim \(claimID) is \(current), not \(status)")
            }
            return encounterID
        }
        throw StoreError(.notFound, "claim \(claimID) not found")
    }
}

// MARK: - What the biller reads

/// What a biller sees of a claim: what the 837P needs, and no clinical documentation.
///
/// Lives beside the query that fills it: only
/// ``ClaimStore/billerView(claimID:practiceIDs:audit:)`` makes one, so the memberwise
/// initialiser Swift writes serves; callers only read it.
public struct BillerClaimView: Sendable, Hashable, Codable {
    /// The subscriber or the patient, as the claim names them.
    public struct Party: Sendable, Hashable, Codable {
        public var firstName: String
        public var lastName: String
        public var birthDate: CalendarDate
        public var sex: Sex
        public var address: PostalAddress?
    }

    public var id: UUID
    public var encounterID: UUID
    public var version: Int
    public var frequencyCode: String
    public var status: String
    public var stage: Stage
    @MoneyAmount public var totalCharge: Decimal
    public var practice: Practice
    public var renderingProviderNPI: String
    public var renderingProviderName: String
    public var payerCode: String
    public var payerName: String
    public var memberID: String
    public var groupNumber: String?
    public var relationship: String
    public var subscriber: Party
    public var patient: Party
    public var dateOfService: CalendarDate
    public var placeOfService: String
    public var codes: CodeAssignment
}

extension BillerClaimView.Party {
    init(_ person: Person) {
        self.init(
            firstName: person.firstName, lastName: person.lastName, birthDate: person.birthDate, sex: person.sex,
            address: person.address
        )
    }
}

/// The claim store's hot-path statements (see ``PreparedName``).
enum BillerView: PreparedName {}
enum LockForHandoff: PreparedName {}
enum LatestClaim: PreparedName {}
enum InsertClaim: PreparedName {}
enum CurrentBillerView: PreparedName {}
enum ClaimToSubmit: PreparedName {}
