public import ClaimFlowCore
public import Foundation
import Logging
public import PostgresNIO

/// What background workers could not do, per encounter (`worker_failures`,
/// sql/0009_worker_failures.sql): attempts, the last error as a code, and when the next attempt
/// is due, or that the item is parked for a person. One bad encounter is retried with
/// exponential backoff and, past its limit, parked; it never holds back the rest of its queue.
public struct WorkerFailureStore: DatabaseStore {
    public let database: Database

    public init(database: Database) { self.database = database }

    /// How a worker retries a failing item: the first retry after `firstDelay`, each later one
    /// after twice the previous delay (at most `maxDelay`); the attempt that reaches
    /// `maxAttempts` parks the item.
    public struct RetryPolicy: Sendable, Hashable {
        public var maxAttempts: Int
        public var firstDelay: Duration
        public var maxDelay: Duration

        public init(maxAttempts: Int = 5, firstDelay: Duration = .seconds(15), maxDelay: Duration = .seconds(3600)) {
            self.maxAttempts = max(1, maxAttempts)
            self.firstDelay = firstDelay
            self.maxDelay = maxDelay
        }

        var firstDelaySeconds: Double { Self.seconds(firstDelay) }
        var maxDelaySeconds: Double { Self.seconds(maxDelay) }

        private static func seconds(_ duration: Duration) -> Double {
            let (seconds, attoseconds) = duration.components
            return Double(seconds) + Double(attoseconds) / 1e18
        }
    }

    // MARK: Handoff

    /// Records a failed handoff attempt of one encounter, in a transaction of its own (the
    /// attempt's own transaction has rolled back): one more attempt, the error code, and the
    /// next attempt after the backoff, or the item parked when this was its last attempt (with
    /// a `handoff.parked` event). Returns the failure as it now stands.
    @discardableResult
    public func recordHandoffFailure(encounterID: UUID, error: String, policy: RetryPolicy) async throws -> WorkerFailure? {
        try await database.transaction { connection in
            let rows = try await connection.query(
                """
                INSERT INTO worker_failures AS f (encounter_id, practice_id, worker, kind, attempts, last_error,
                                                  next_attempt_at, parked_at)
                SELECT e.id, e.practice_id, 'handoff', 'handoff_error', 1, \(error),
                       CASE WHEN \(policy.maxAttempts) > 1 THEN now() + make_interval(secs => \(policy.firstDelaySeconds)) END,
                       CASE WHEN \(policy.maxAttempts) <= 1 THEN now() END
                FROM encounters e WHERE e.id = \(encounterID)
                ON CONFLICT (encounter_id, worker) DO UPDATE SET
                    attempts = f.attempts + 1,
                    last_error = EXCLUDED.last_error,
                    last_failed_at = now(),
                    next_attempt_at = CASE WHEN f.attempts + 1 < \(policy.maxAttempts)
                        THEN now() + make_interval(secs => least(\(policy.firstDelaySeconds) * power(2::float8, f.attempts),
                                                                 \(policy.maxDelaySeconds))) END,
                    parked_at = CASE WHEN f.attempts + 1 >= \(policy.maxAttempts) THEN now() END
                RETURNING \(unescaped: Self.columns)
                """,
                logger: logger
            )
            var failure: WorkerFailure?
            for try await row in rows.decode(WorkerFailure.Row.self) { failure = WorkerFailure(row) }
            if let failure, failure.state == .parked {
                try await AuditEntry(
                    "handoff.parked", by: .system, encounter: "\(encounterID)", practice: "e.practice_id",
                    detail: "jsonb_build_object('failure_id', \(failure.id), 'attempts', \(failure.attempts), 'error', \(error)::text)",
                    rows: "FROM encounters e WHERE e.id = \(encounterID)"
                ).write(on: connection, logger: logger)
            }
            return failure
        }
    }

    /// Forgets the encounter's handoff failure, in the caller's transaction: the handoff went
    /// through.
    func clearHandoffFailure(encounterID: UUID, on connection: PostgresConnection) async throws {
        _ = try await database.rows(
            "DELETE FROM worker_failures WHERE encounter_id = \(encounterID) AND worker = 'handoff'",
            prepared: ClearHandoffFailure.self, on: connection)
    }

    // MARK: Unwritable claims

    /// Records, in the caller's transaction, that the 837P writer refused the claim for
    /// `reason` (the field it named): parked at once, since only billing can fix it.
    func recordUnwritableClaim(_ claimID: UUID, encounterID: UUID, reason: String, on connection: PostgresConnection) async throws {
        try await connection.query(
            """
            INSERT INTO worker_failures AS f (encounter_id, practice_id, worker, kind, claim_id, attempts, last_error, parked_at)
            SELECT e.id, e.practice_id, 'submission_batcher', 'unwritable_claim', \(claimID), 1, \(reason), now()
            FROM encounters e WHERE e.id = \(encounterID)
            ON CONFLICT (encounter_id, worker) DO UPDATE SET
                claim_id = EXCLUDED.claim_id, attempts = f.attempts + 1, last_error = EXCLUDED.last_error,
                last_failed_at = now(), next_attempt_at = NULL, parked_at = now()
            """,
            logger: logger
        )
    }

    /// Forgets the unwritable-claim failures of the encounters whose claims just went into an
    /// interchange, in the caller's transaction: billing fixed what the writer refused.
    func clearUnwritableClaims(ofBatchedClaims claimIDs: [UUID], on connection: PostgresConnection) async throws {
        try await connection.query(
            """
            DELETE FROM worker_failures
            WHERE worker = 'submission_batcher'
              AND encounter_id IN (SELECT encounter_id FROM claims WHERE id = ANY (\(claimIDs)))
            """,
            logger: logger
        )
    }

    // MARK: The supervisor's list

    /// Every open failure in `practiceIDs`, parked first, then the most recent failure first
    /// (at most `limit`). Ids, counts, codes and times only: no PHI.
    public func failures(practiceIDs: Set<UUID>, limit: Int = 500) async throws -> [WorkerFailure] {
        let rows = try await client.query(
            """
            SELECT \(unescaped: Self.columns) FROM worker_failures
            WHERE practice_id = ANY (\(Array(practiceIDs)))
            ORDER BY parked_at IS NULL, last_failed_at DESC, id
            LIMIT \(limit)
            """,
            logger: logger
        )
        var result: [WorkerFailure] = []
        for try await row in rows.decode(WorkerFailure.Row.self) { result.append(WorkerFailure(row)) }
        return result
    }

    /// A supervisor's retry of a handoff failure in one of `practiceIDs`: the next pass of the
    /// handoff worker tries the encounter again (once: if it fails again it is parked again).
    /// `notFound` for another practice's failure or none; `conflict` for an unwritable claim,
    /// which billing fixes and submits again instead.
    public func retry(failureID: UUID, practiceIDs: Set<UUID>, audit: AuditContext) async throws -> WorkerFailure {
        try await database.transaction { connection in
            let kinds = try await connection.query(
                """
                SELECT kind FROM worker_failures WHERE id = \(failureID) AND practice_id = ANY (\(Array(practiceIDs))) FOR UPDATE
                """,
                logger: logger
            )
            var kind: String?
            for try await value in kinds.decode(String.self) { kind = value }
            guard let kind else { throw StoreError(.notFound, "failure \(failureID) not found") }
            guard kind == WorkerFailure.Kind.handoffError.rawValue else {
                throw StoreError(
                    .conflict, "failure \(failureID) is an unwritable claim: billing fixes the claim and submits it again")
            }
            let rows = try await connection.query(
                """
                UPDATE worker_failures SET parked_at = NULL, next_attempt_at = now()
                WHERE id = \(failureID)
                RETURNING \(unescaped: Self.columns)
                """,
                logger: logger
            )
            var failure: WorkerFailure?
            for try await row in rows.decode(WorkerFailure.Row.self) { failure = WorkerFailure(row) }
            guard let failure else { throw StoreError(.notFound, "failure \(failureID) not found") }
            try await AuditEntry(
                "handoff.retry_requested", by: audit, encounter: "\(failure.encounterID)", practice: "e.practice_id",
                detail: "jsonb_build_object('failure_id', \(failureID), 'attempts', \(failure.attempts))",
                rows: "FROM encounters e WHERE e.id = \(failure.encounterID)"
            ).write(on: connection, logger: logger)
            return failure
        }
    }

    static let columns = """
        id, kind, worker, encounter_id, claim_id, attempts, last_error, first_failed_at, last_failed_at, next_attempt_at, parked_at
        """
}

/// Describes why an item failed, for `worker_failures.last_error`: an error code, SQLSTATE,
/// constraint or the 837P field the writer named, never a message that could quote PHI.
public func failureCode(of error: any Error) -> String {
    let text: String
    switch error {
    case let error as PSQLError:
        var parts = ["SQLSTATE \(error.serverInfo?[.sqlState] ?? "none")"]
        if let constraint = error.serverInfo?[.constraintName] { parts.append("constraint \(constraint)") }
        if error.serverInfo == nil { parts.append("\(error.code)") }
        text = parts.joined(separator: ", ")
    case let error as StoreError:
        text = "store error \(error.code.rawValue)"
    case let error as X12Error:
        text = unwritableField(of: error)
    default:
        text = String(describing: type(of: error))
    }
    return String(text.prefix(200))
}

/// The 837P element or loop an ``X12Error`` names, without the value it refused (which may be
/// a diagnosis code or another piece of PHI).
public func unwritableField(of error: X12Error) -> String {
    switch error {
    case .noClaims, .tooManyClaims: "GE01 number of transaction sets"
    case .controlNumberOutOfRange(let field, _), .invalidEnvelope(let field, _): "envelope \(field)"
    case .noDiagnoses, .tooManyDiagnoses, .invalidDiagnosis, .duplicateDiagnosis: "2300 HI diagnosis codes"
    case .noServiceLines, .tooManyServiceLines: "2400 service lines"
    case .invalidProcedureCode(_, let line, _): "2400 SV101-2 procedure code, line \(line)"
    case .tooManyModifiers(_, let line, _), .invalidModifier(_, let line, _): "2400 SV101-3 modifiers, line \(line)"
    case .invalidPointers(_, let line, _), .pointerOutOfRange(_, let line, _, _): "2400 SV107 diagnosis pointers, line \(line)"
    case .invalidAmount(_, let field, _): field
    case .totalChargeMismatch: "CLM02 total charge"
    case .invalidFrequencyCode: "CLM05-3 claim frequency code"
    case .missingPayerClaimControlNumber: "2300 REF*F8 payer claim control number"
    case .invalidRelationship: "SBR02 or PAT01 patient relationship"
    case .missingAddress(_, let party): "\(party) address"
    case .invalidValue(_, let field, _): field
    }
}

/// One open failure of a background worker, as supervisors see it: ids, counts, codes, times.
///
/// Lives beside the queries that fill it (``WorkerFailureStore``); callers only read it.
public struct WorkerFailure: Sendable, Hashable, Codable {
    /// What failed.
    public enum Kind: String, Sendable, Hashable, Codable {
        /// The handoff check failed with an error (findings are not failures).
        case handoffError = "handoff_error"
        /// The 837P writer refused a submitted claim; the encounter went back to billing.
        case unwritableClaim = "unwritable_claim"
    }

    /// Whether a worker tries again by itself.
    public enum State: String, Sendable, Hashable, Codable {
        /// The next attempt is due at `nextAttemptAt`.
        case retrying
        /// No more automatic attempts: a person acts (a supervisor's retry, or billing's fix).
        case parked
    }

    public var id: UUID
    public var kind: Kind
    public var worker: String
    public var state: State
    public var encounterID: UUID
    public var claimID: UUID?
    public var attempts: Int
    public var lastError: String
    public var firstFailedAt: Date
    public var lastFailedAt: Date
    public var nextAttemptAt: Date?
    public var parkedAt: Date?

    typealias Row = (UUID, String, String, UUID, UUID?, Int, String, Date, Date, Date?, Date?)

    init(_ row: Row) {
        let (id, kind, worker, encounterID, claimID, attempts, lastError, first, last, next, parked) = row
        self.init(
            id: id, kind: Kind(rawValue: kind) ?? .handoffError, worker: worker, state: parked == nil ? .retrying : .parked,
            encounterID: encounterID, claimID: claimID, attempts: attempts, lastError: lastError, firstFailedAt: first,
            lastFailedAt: last, nextAttemptAt: next, parkedAt: parked
        )
    }

    init(
        id: UUID, kind: Kind, worker: String, state: State, encounterID: UUID, claimID: UUID?, attempts: Int, lastError: String,
        firstFailedAt: Date, lastFailedAt: Date, nextAttemptAt: Date?, parkedAt: Date?
    ) {
        self.id = id
        self.kind = kind
        self.worker = worker
        self.state = state
        self.encounterID = encounterID
        self.claimID = claimID
        self.attempts = attempts
        self.lastError = lastError
        self.firstFailedAt = firstFailedAt
        self.lastFailedAt = lastFailedAt
        self.nextAttemptAt = nextAttemptAt
        self.parkedAt = parkedAt
    }
}

/// The worker-failure store's hot-path statement (see ``PreparedName``).
enum ClearHandoffFailure: PreparedName {}
