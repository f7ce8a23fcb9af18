public import ClaimFlowCore
public import Foundation
public import Logging
public import PostgresNIO

/// The PostgreSQL-backed queue that hands each encounter to exactly one person at a time.
///
/// Open work is a row in `work_items`; finished work is deleted from it, and every move is
/// written to `events` in the same statement or transaction as the move itself. Each method
/// moves the encounter's stage only along ``StageTransitions/allowed`` (the database's stage
/// trigger enforces the same list).
public struct WorkQueue: DatabaseBacked {
    public let database: Database
    /// How long a lease lasts before the reaper may return the work to the queue.
    public let leaseDuration: Duration

    public init(client: PostgresClient, logger: Logger, leaseDuration: Duration = .seconds(900), metrics: StoreMetrics = StoreMetrics()) {
        self.init(database: Database(client: client, logger: logger, metrics: metrics), leaseDuration: leaseDuration)
    }

    public init(database: Database, leaseDuration: Duration = .seconds(900)) {
        self.database = database
        self.leaseDuration = leaseDuration
    }

    private var leaseSeconds: Double {
        let (seconds, attoseconds) = leaseDuration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    // MARK: Enqueue

    /// Puts an encounter into a queue, moving it from `from` to `waitingStage` and recording the
    /// move. Runs on the caller's connection, inside the caller's transaction.
    public func enqueue(
        encounterID: UUID,
        from: Stage,
        to waitingStage: Stage,
        priority: Int? = nil,
        offeredTo: UUID? = nil,
        offerFor: Duration = .zero,
        audit: AuditContext,
        action: String = "work.enqueued",
        detail: String = "{}",
        on connection: PostgresConnection
    ) async throws {
        guard let queue = WorkQueueName.waiting(in: waitingStage) else {
            throw StoreError(.illegalTransition, "\(waitingStage.rawValue) is not a queue's waiting stage")
        }
        // The caller's transaction holds the stage move and the new work item together.
        try await moveStage(encounterID, from: from, to: waitingStage, action: action, detail: detail, audit: audit, on: connection)
        try await insertWorkItem(
            encounterID: encounterID, queue: queue, waitingStage: waitingStage, priority: priority, offeredTo: offeredTo,
            offerFor: offerFor, on: connection
        )
        database.metrics.transition(from: from, to: waitingStage)
    }

    /// Moves an encounter from `from` to `to` (checked against ``StageTransitions``) with its
    /// audit event, in one statement on the caller's connection. Refuses with `wrongStage` or
    /// `notFound` when the encounter is not in `from`. The caller counts the transition once
    /// its whole change has been made.
    func moveStage(
        _ encounterID: UUID,
        from: Stage,
        to: Stage,
        action: String,
        detail: String = "{}",
        audit: AuditContext,
        on connection: PostgresConnection
    ) async throws {
        try check(from: from, to: to)
        let logged = AuditEntry(
            action, by: audit, encounter: "id", practice: "practice_id", from: "\(from.rawValue)", to: "\(to.rawValue)",
            detail: "\(detail)::jsonb", rows: "FROM moved"
        )
        let moved =
            try await database.rows(
                """
                WITH moved AS (
                    UPDATE encounters SET stage = \(to.rawValue), updated_at = now()
                    WHERE id = \(encounterID) AND stage = \(from.rawValue)
                    RETURNING id, practice_id
                ), logged AS (
                    \(logged)
                )
                SELECT count(*)::int FROM moved
                """,
                prepared: MoveStage.self, on: connection
            ).first?.decode(Int.self) ?? 0
        if moved == 0 {
            throw try await refusal(encounterID: encounterID, expected: from, on: connection)
        }
    }

    // MARK: Pull

    /// Leases the next piece of work in `queue` that `userID` may take, or returns nil; at the
    /// fair-share cap, answers with work the user already holds instead.
    ///
    /// Fair share: a person holds at most their practice's `lease_cap` live leases of one queue
    /// there (1 unless an administrator raised it). A practice where the puller is at the cap
    /// offers them nothing new; when nothing new can be leased and the puller is at the cap
    /// somewhere, the oldest lease held there is answered again, unchanged (same lease id and
    /// expiry, no new event), so a client that repeats `next` keeps getting its own work.
    ///
    /// One statement, so one round trip: it first takes a transaction-level advisory lock on
    /// (queue, puller) and counts the puller's live leases under it
    /// (`work_practices_under_cap`, sql/0013): concurrent pulls by one person take turns, each
    /// counting the leases the previous one committed, so the cap holds under concurrency;
    /// pulls by different people do not wait on each other (beyond a hash collision). The
    /// user's practices and skills come from the users tables, the row is chosen by priority
    /// then age with `FOR UPDATE SKIP LOCKED` (so concurrent pullers never wait on or receive
    /// the same row), the lease is set, the encounter's stage moves to the queue's leased stage
    /// and the event is written, all atomically. Nobody chooses which encounter they get.
    public func pullNext(userID: UUID, queue: WorkQueueName, audit: AuditContext) async throws -> Lease? {
        try await database.withConnection(nil) { connection in
            if let lease = try await leaseNext(userID: userID, queue: queue, audit: audit, on: connection) { return lease }
            return try await heldAtCap(userID: userID, queue: queue, on: connection)
        }
    }

    private func leaseNext(
        userID: UUID, queue: WorkQueueName, audit: AuditContext, on connection: PostgresConnection
    ) async throws -> Lease? {
        let leasedStage = queue.leasedStage
        let logged = AuditEntry(
            "work.pulled", by: audit.acting(as: userID), encounter: "encounter_id", practice: "practice_id",
            from: "waiting_stage", to: "\(leasedStage.rawValue)", lease: "lease_id", rows: "FROM leased"
        )
        let rows = try await database.rows(
            """
            WITH puller AS MATERIALIZED (
                -- The puller, with the practices where they are under their fair share of this
                -- queue, counted under the pull lock. One row, read once: the pick below sees
                -- it as constants, so it walks work_items_dequeue in order and stops at the
                -- first row it may take instead of sorting every waiting row.
                SELECT u.id, u.skills, work_practices_under_cap(u.id, \(queue.rawValue)) AS practices
                FROM users u
                WHERE u.id = \(userID) AND u.active AND \(queue.role.rawValue) = ANY (u.roles)
            ), picked AS (
                SELECT w.id
                FROM work_items w
                WHERE w.queue = \(queue.rawValue)
                  AND w.lease_id IS NULL
                  AND w.available_at <= now()
                  AND w.practice_id = ANY ((SELECT practices FROM puller)::uuid[])
                  AND (w.required_skill IS NULL OR w.required_skill = ANY ((SELECT skills FROM puller)::text[]))
                  AND (w.offered_to IS NULL OR w.offered_to = (SELECT id FROM puller) OR w.offered_until <= now())
                  -- Segregation of duties: where the practice asks for it, nobody bills what they coded.
                  AND (w.queue <> 'billing' OR NOT EXISTS (
                          SELECT 1 FROM encounters e JOIN practices pr ON pr.id = e.practice_id
                          WHERE e.id = w.encounter_id AND pr.segregate_duties AND e.coded_by = (SELECT id FROM puller)))
                ORDER BY w.priority DESC, w.enqueued_at, w.id
                LIMIT 1
                FOR UPDATE OF w SKIP LOCKED
            ), leased AS (
                UPDATE work_items w
                SET lease_id = gen_random_uuid(), lease_holder = \(userID), leased_at = now(),
                    lease_expires_at = now() + make_interval(secs => \(leaseSeconds)),
                    attempts = w.attempts + 1
                FROM picked WHERE w.id = picked.id
                RETURNING w.encounter_id, w.practice_id, w.lease_id, w.lease_expires_at, w.waiting_stage
            ), moved AS (
                UPDATE encounters e SET stage = \(leasedStage.rawValue), updated_at = now()
                FROM leased WHERE e.id = leased.encounter_id AND e.stage = leased.waiting_stage
                RETURNING e.id
            ), logged AS (
                \(logged)
            )
            SELECT leased.encounter_id, leased.lease_id, leased.lease_expires_at, (SELECT count(*)::int FROM moved),
                   leased.waiting_stage
            FROM leased
            """,
            prepared: PullLease.self, on: connection
        )
        for row in rows {
            let (encounterID, leaseID, expiresAt, moved, waiting) = try row.decode((UUID, UUID, Date, Int, String).self)
            database.metrics.transition(from: waiting, to: leasedStage.rawValue)
            if moved != 1 {
                // The work item and the encounter disagree; only a write outside the store can do this.
                logger.error(
                    "work item leased but encounter stage did not match its waiting stage",
                    metadata: ["encounter_id": "\(encounterID)"]
                )
            }
            return Lease(id: leaseID, encounterID: encounterID, queue: queue, holder: userID, expiresAt: expiresAt)
        }
        return nil
    }

    /// The oldest live lease the user holds in a practice where they are at the fair-share cap
    /// of `queue`, or nil when they are under the cap everywhere.
    private func heldAtCap(userID: UUID, queue: WorkQueueName, on connection: PostgresConnection) async throws -> Lease? {
        let rows = try await database.rows(
            """
            WITH held AS (
                SELECT h.encounter_id, h.lease_id, h.lease_expires_at, h.leased_at, h.id,
                       count(*) OVER (PARTITION BY h.practice_id) AS held, pr.lease_cap
                FROM work_items h
                JOIN practices pr ON pr.id = h.practice_id
                JOIN user_practices up ON up.practice_id = h.practice_id AND up.user_id = h.lease_holder
                WHERE h.queue = \(queue.rawValue) AND h.lease_holder = \(userID) AND h.lease_expires_at > now()
            )
            SELECT encounter_id, lease_id, lease_expires_at FROM held
            WHERE held >= lease_cap
            ORDER BY leased_at, id
            LIMIT 1
            """,
            prepared: PullHeld.self, on: connection
        )
        for row in rows {
            let (encounterID, leaseID, expiresAt) = try row.decode((UUID, UUID, Date).self)
            return Lease(id: leaseID, encounterID: encounterID, queue: queue, holder: userID, expiresAt: expiresAt)
        }
        return nil
    }

    /// Like ``pullNext(userID:queue:audit:)``, but when nothing is available waits up to
    /// `wait` for work to arrive, woken by LISTEN/NOTIFY through `signals` rather than polling.
    /// Once `signals` is shut down, returns nil without taking a lease.
    public func pullNext(
        userID: UUID,
        queue: WorkQueueName,
        audit: AuditContext,
        wait: Duration,
        signals: WorkSignals
    ) async throws -> Lease? {
        let deadline = ContinuousClock.now + wait
        while true {
            // No new leases once shutdown began: the server is draining and a puller woken for
            // it answers "nothing" rather than taking work it may never get to.
            if await signals.isShutDown { return nil }
            // Read the generation before looking, so work that arrives between an empty look and
            // the wait below still wakes us.
            let generation = await signals.generation(of: queue)
            if let lease = try await pullNext(userID: userID, queue: queue, audit: audit) { return lease }
            if ContinuousClock.now >= deadline || Task.isCancelled { return nil }
            // Looked at again at least every few seconds: a wake that went astray costs a few
            // seconds of a waiting pull, never the whole wait.
            await signals.wait(for: queue, after: generation, until: min(deadline, .now + .seconds(5)))
        }
    }

    // MARK: Holder's writes

    /// Extends a lease by the lease duration. Only the current lease id, before it expires.
    public func heartbeat(encounterID: UUID, leaseID: UUID, holder: UUID) async throws -> Lease {
        let rows = try await database.rows(
            """
            UPDATE work_items
            SET lease_expires_at = now() + make_interval(secs => \(leaseSeconds))
            WHERE encounter_id = \(encounterID) AND lease_id = \(leaseID) AND lease_holder = \(holder)
              AND lease_expires_at > now()
            RETURNING queue, lease_expires_at
            """,
            prepared: Heartbeat.self
        )
        for row in rows {
            let (queue, expiresAt) = try row.decode((String, Date).self)
            return Lease(
                id: leaseID,
                encounterID: encounterID,
                queue: WorkQueueName(rawValue: queue) ?? .coding,
                holder: holder,
                expiresAt: expiresAt
            )
        }
        throw try await client.withConnection { try await refusal(encounterID: encounterID, on: $0) }
    }

    /// Checks, inside the caller's transaction, that `leaseID` is the encounter's live lease
    /// held by `holder`, and locks the work item until the transaction ends.
    ///
    /// The row lock is the fence: a reassign or reap that starts after this check waits for the
    /// caller's commit, so no write lands under a lease that has already been taken away.
    public func requireLiveLease(
        encounterID: UUID,
        leaseID: UUID,
        holder: UUID,
        in queue: WorkQueueName? = nil,
        on connection: PostgresConnection
    ) async throws {
        // A lease of the other queue is no lease for this write: codes change only under a
        // coding lease, never while the encounter is being billed.
        let rows = try await database.rows(
            """
            SELECT 1 FROM work_items
            WHERE encounter_id = \(encounterID) AND lease_id = \(leaseID) AND lease_holder = \(holder)
              AND lease_expires_at > now() AND (\(queue?.rawValue)::text IS NULL OR queue = \(queue?.rawValue))
            FOR UPDATE
            """,
            prepared: LiveLease.self, on: connection
        )
        if !rows.isEmpty { return }
        throw try await refusal(encounterID: encounterID, on: connection)
    }

    /// Ends the holder's lease by moving the encounter out of the queue's leased stage to `to`
    /// (`coded` when coding is done, `on_hold` for a provider query, `submitted` for billing)
    /// and deleting the work item. A stale lease changes nothing and throws `staleLease`; so
    /// does one on an encounter outside `practiceIDs`, when given.
    public func finish(
        encounterID: UUID,
        leaseID: UUID,
        holder: UUID,
        queue: WorkQueueName,
        to: Stage,
        action: String,
        detail: String = "{}",
        audit: AuditContext,
        within practiceIDs: Set<UUID>? = nil,
        on connection: PostgresConnection? = nil
    ) async throws {
        let leasedStage = queue.leasedStage
        let practices = practiceIDs.map(Array.init)
        try check(from: leasedStage, to: to)
        let logged = AuditEntry(
            action, by: audit.acting(as: audit.actorID ?? holder), encounter: "id", practice: "practice_id",
            from: "\(leasedStage.rawValue)", to: "\(to.rawValue)", lease: "\(leaseID)", detail: "\(detail)::jsonb",
            rows: "FROM moved"
        )
        try await database.withConnection(connection) { connection in
            let finished = try await database.rows(
                """
                WITH done AS (
                    DELETE FROM work_items
                    WHERE encounter_id = \(encounterID) AND queue = \(queue.rawValue)
                      AND lease_id = \(leaseID) AND lease_holder = \(holder) AND lease_expires_at > now()
                      AND (\(practices)::uuid[] IS NULL OR practice_id = ANY (\(practices)::uuid[]))
                    RETURNING encounter_id, practice_id
                ), moved AS (
                    UPDATE encounters e
                    SET stage = \(to.rawValue), updated_at = now(),
                        coded_by = CASE WHEN \(to.rawValue) = 'coded' THEN \(holder) ELSE e.coded_by END
                    FROM done
                    WHERE e.id = done.encounter_id AND e.stage = \(leasedStage.rawValue)
                    RETURNING e.id, e.practice_id
                ), logged AS (
                    \(logged)
                )
                SELECT count(*)::int FROM moved
                """,
                prepared: Finish.self, on: connection
            ).first?.decode(Int.self)
            guard finished == 1 else { throw try await refusal(encounterID: encounterID, on: connection) }
            database.metrics.transition(from: leasedStage, to: to)
        }
    }

    /// Ends the holder's lease and puts the encounter straight into another queue's waiting
    /// stage (a biller returning a claim to coding), in the caller's transaction.
    ///
    /// `offeredTo` gets the new work first, alone, until `offerFor` has passed.
    public func requeue(
        encounterID: UUID,
        leaseID: UUID,
        holder: UUID,
        from queue: WorkQueueName,
        to waitingStage: Stage,
        offeredTo: UUID? = nil,
        offerFor: Duration = .zero,
        action: String,
        detail: String = "{}",
        audit: AuditContext,
        on connection: PostgresConnection
    ) async throws {
        guard let target = WorkQueueName.waiting(in: waitingStage) else {
            throw StoreError(.illegalTransition, "\(waitingStage.rawValue) is not a queue's waiting stage")
        }
        try await finish(
            encounterID: encounterID, leaseID: leaseID, holder: holder, queue: queue, to: waitingStage,
            action: action, detail: detail, audit: audit, on: connection
        )
        try await insertWorkItem(
            encounterID: encounterID, queue: target, waitingStage: waitingStage, priority: nil, offeredTo: offeredTo,
            offerFor: offerFor, on: connection
        )
    }

    /// The one place a work item is made: for an encounter that has just moved into
    /// `waitingStage`, with the copies of its date of service, filing deadline and current
    /// charges that the supervisor's queue view reads. The insert fires the
    /// `work_items_available` trigger, whose NOTIFY wakes waiting pullers at commit.
    private func insertWorkItem(
        encounterID: UUID,
        queue: WorkQueueName,
        waitingStage: Stage,
        priority: Int?,
        offeredTo: UUID?,
        offerFor: Duration,
        on connection: PostgresConnection
    ) async throws {
        let (seconds, attoseconds) = offerFor.components
        let offerSeconds = Double(seconds) + Double(attoseconds) / 1e18
        // Optional values are cast: a prepared statement keeps the types its first call bound, and
        // a NULL binds no type of its own.
        _ = try await database.rows(
            """
            INSERT INTO work_items (encounter_id, queue, practice_id, required_skill, priority, waiting_stage,
                                    offered_to, offered_until, date_of_service, filing_deadline, charges)
            SELECT e.id, \(queue.rawValue), e.practice_id,
                   CASE WHEN \(queue.rawValue) = 'coding' THEN e.specialty END, coalesce(\(priority)::int8, e.priority),
                   \(waitingStage.rawValue), \(offeredTo)::uuid,
                   CASE WHEN \(offeredTo)::uuid IS NOT NULL THEN now() + make_interval(secs => \(offerSeconds)) END,
                   e.date_of_service, e.date_of_service + p.filing_limit_days,
                   (SELECT coalesce(sum(s.charge), 0) FROM service_lines s WHERE s.encounter_id = e.id AND s.version = e.version)
            FROM encounters e LEFT JOIN payers p ON p.id = e.payer_id
            WHERE e.id = \(encounterID) AND e.stage = \(waitingStage.rawValue)
            """,
            prepared: InsertWorkItem.self, on: connection
        )
    }

    /// The holder gives the work back: the encounter returns to the stage it waited in and the
    /// work item becomes available to anyone (its age is kept, so it is not sent to the back).
    public func release(
        encounterID: UUID,
        leaseID: UUID,
        holder: UUID,
        reason: String?,
        audit: AuditContext,
        on connection: PostgresConnection? = nil
    ) async throws {
        try await database.withConnection(connection) { connection in
            let released = try await unlease(
                encounterID, matching: leaseID, holder: holder, action: "work.released", reason: reason, audit: audit,
                on: connection)
            if !released {
                throw try await refusal(encounterID: encounterID, on: connection)
            }
        }
    }

    /// Whether `holder`'s lease `leaseID` already ended with `action` on this encounter (and,
    /// when given, for this claim): a replay of a write that committed but whose answer the
    /// client never saw. The audit trail is the record: the finishing event names the lease.
    public func alreadyFinished(
        encounterID: UUID? = nil,
        claimID: UUID? = nil,
        leaseID: UUID,
        holder: UUID,
        action: String
    ) async throws -> Bool {
        try await database.count(
            """
            SELECT count(*)::int FROM events
            WHERE lease_id = \(leaseID) AND actor_id = \(holder) AND action = \(action)
              AND (\(encounterID)::uuid IS NULL OR encounter_id = \(encounterID))
              AND (\(claimID?.uuidString)::text IS NULL OR detail ->> 'claim_id' = \(claimID?.uuidString))
            """
        ) > 0
    }

    // MARK: Supervisor

    /// Gives the encounter's work to `userID` with a fresh lease. Any earlier lease id stops
    /// working at once: the work item's row lock orders this against a holder's write.
    ///
    /// The assignee must be active, hold the queue's role, belong to the practice and have the
    /// required skill.
    public func reassign(encounterID: UUID, to userID: UUID, reason: String?, audit: AuditContext) async throws -> Lease {
        try await database.transaction { connection in
            let current = try await connection.query(
                """
                SELECT w.queue, w.waiting_stage, w.lease_id, w.lease_holder, e.stage,
                       EXISTS (
                           SELECT 1 FROM users u JOIN user_practices up ON up.user_id = u.id
                           WHERE u.id = \(userID) AND u.active AND up.practice_id = w.practice_id
                             AND (CASE w.queue WHEN 'coding' THEN 'coder' ELSE 'biller' END) = ANY (u.roles)
                             AND (w.required_skill IS NULL OR w.required_skill = ANY (u.skills))
                             AND (w.queue <> 'billing' OR NOT EXISTS (
                                     SELECT 1 FROM practices pr
                                     WHERE pr.id = w.practice_id AND pr.segregate_duties AND e.coded_by = u.id))
                       )
                FROM work_items w JOIN encounters e ON e.id = w.encounter_id
                WHERE w.encounter_id = \(encounterID)
                FOR UPDATE OF w
                """,
                logger: logger
            )
            var found: (String, String, UUID?, UUID?, String, Bool)?
            for try await row in current.decode((String, String, UUID?, UUID?, String, Bool).self) { found = row }
            guard let (queueName, waitingName, oldLease, oldHolder, stageName, eligible) = found,
                let queue = WorkQueueName(rawValue: queueName),
                let waiting = Stage(rawValue: waitingName)
            else {
                throw StoreError(.notFound, "encounter \(encounterID) has no open work to reassign")
            }
            guard eligible else {
                throw StoreError(.invalidAssignee, "user \(userID) cannot take \(queue.rawValue) work of this encounter")
            }
            let fromStage = Stage(rawValue: stageName) ?? waiting
            if oldLease == nil { try check(from: waiting, to: queue.leasedStage) }
            let detail = try jsonObject(["reason": reason, "previous_holder": oldHolder?.uuidString])
            let logged = AuditEntry(
                "work.reassigned", by: audit, encounter: "encounter_id", practice: "practice_id",
                from: "\(fromStage.rawValue)", to: "\(queue.leasedStage.rawValue)", lease: "lease_id",
                detail: "\(detail)::jsonb", rows: "FROM leased"
            )
            let rows = try await connection.query(
                """
                WITH leased AS (
                    UPDATE work_items
                    SET lease_id = gen_random_uuid(), lease_holder = \(userID), leased_at = now(),
                        lease_expires_at = now() + make_interval(secs => \(leaseSeconds)),
                        attempts = attempts + 1, offered_to = NULL, offered_until = NULL
                    WHERE encounter_id = \(encounterID)
                    RETURNING encounter_id, practice_id, lease_id, lease_expires_at
                ), moved AS (
                    UPDATE encounters SET stage = \(queue.leasedStage.rawValue), updated_at = now()
                    WHERE id = \(encounterID) AND stage <> \(queue.leasedStage.rawValue)
                ), logged AS (
                    \(logged)
                )
                SELECT lease_id, lease_expires_at FROM leased
                """,
                logger: logger
            )
            for try await (leaseID, expiresAt) in rows.decode((UUID, Date).self) {
                if oldLease == nil { database.metrics.transition(from: waiting, to: queue.leasedStage) }
                return Lease(id: leaseID, encounterID: encounterID, queue: queue, holder: userID, expiresAt: expiresAt)
            }
            throw StoreError(.notFound, "encounter \(encounterID) has no open work to reassign")
        }
    }

    /// A supervisor returns leased work to the queue; the holder's lease dies at once.
    public func releaseLease(encounterID: UUID, reason: String?, audit: AuditContext) async throws {
        let released = try await unlease(
            encounterID, matching: nil, holder: nil, action: "work.released_by_supervisor", reason: reason, audit: audit
        )
        if !released {
            throw StoreError(.notFound, "encounter \(encounterID) has no leased work to release")
        }
    }

    /// Changes the priority of the encounter's open work (0 lowest, 100 highest).
    public func setPriority(encounterID: UUID, priority: Int, reason: String? = nil, audit: AuditContext) async throws {
        let logged = AuditEntry(
            "work.priority_changed", by: audit, encounter: "encounter_id", practice: "practice_id",
            detail: "jsonb_build_object('priority', \(priority), 'reason', \(reason)::text)", rows: "FROM changed"
        )
        let changed = try await database.count(
            """
            WITH changed AS (
                UPDATE work_items SET priority = \(priority)
                WHERE encounter_id = \(encounterID)
                RETURNING encounter_id, practice_id
            ), encounter AS (
                UPDATE encounters SET priority = \(priority), updated_at = now()
                FROM changed WHERE encounters.id = changed.encounter_id
            ), logged AS (
                \(logged)
            )
            SELECT count(*)::int FROM changed
            """
        )
        guard changed == 1 else { throw StoreError(.notFound, "encounter \(encounterID) has no open work") }
    }

    // MARK: Reaper

    /// What one upkeep pass did.
    public struct Upkeep: Sendable, Hashable {
        /// Expired leases returned to their queues.
        public let reaped: Int
        /// Work items moved up because their filing limit is near.
        public let raised: Int
    }

    /// The lease reaper's pass, a singleton by agreement: in one transaction holding the
    /// reaper's transaction-level advisory lock (so it also works behind PgBouncer in
    /// transaction mode), returns every expired lease to its queue, `batch` at a time, and
    /// moves work near its timely filing limit up. Nil, at once, when another process holds
    /// the lock. The reap itself would be safe to run concurrently (it claims rows with SKIP
    /// LOCKED); the lock only saves duplicate work.
    public func upkeep(batch: Int = 500) async throws -> Upkeep? {
        try await database.transaction { connection in
            guard try await database.tryLock(.leaseReaper, on: connection) else { return nil }
            var reaped = 0
            while true {
                let returned = try await reapExpiredLeases(limit: batch, connection)
                reaped += returned
                if returned < batch { break }
            }
            let raised = try await raisePriorityNearFilingLimit(on: connection)
            // Answers kept for retries live a day; the pass that tidies leases tidies them too.
            try await IdempotencyStore(database: database).purgeExpired(on: connection)
            return Upkeep(reaped: reaped, raised: raised)
        }
    }

    /// Returns up to `limit` expired leases to their queues and reports how many it returned.
    ///
    /// Safe to run from several processes: rows are claimed with SKIP LOCKED, and a holder's
    /// in-flight write (which locks the row) finishes before its lease can be reaped.
    public func reapExpiredLeases(limit: Int = 500, on connection: PostgresConnection? = nil) async throws -> Int {
        try await database.withConnection(connection) { connection in try await reapExpiredLeases(limit: limit, connection) }
    }

    private func reapExpiredLeases(limit: Int, _ connection: PostgresConnection) async throws -> Int {
        let returned = returnToWaiting(
            "lease.expired", by: .system, detail: "jsonb_build_object('previous_holder', old_holder)"
        )
        let rows = try await connection.query(
            """
            WITH expired AS (
                SELECT id, lease_id, lease_holder FROM work_items
                WHERE lease_id IS NOT NULL AND lease_expires_at <= now()
                ORDER BY lease_expires_at
                LIMIT \(limit)
                FOR UPDATE SKIP LOCKED
            ), freed AS (
                UPDATE work_items w
                SET lease_id = NULL, lease_holder = NULL, leased_at = NULL, lease_expires_at = NULL
                FROM expired WHERE w.id = expired.id
                RETURNING w.encounter_id, w.practice_id, w.queue, w.waiting_stage,
                          expired.lease_id AS old_lease, expired.lease_holder AS old_holder
            ), \(fragment: returned)
            SELECT queue, waiting_stage, count(*)::int FROM freed GROUP BY queue, waiting_stage
            """,
            logger: logger
        )
        var reaped = 0
        for try await (queue, waiting, count) in rows.decode((String, String, Int).self) {
            database.metrics.transition(from: queue, to: waiting, count: count)
            reaped += count
        }
        return reaped
    }

    /// Moves work whose encounter is within `days` of its payer's timely filing limit (or past
    /// it) up to at least `priority`, so it is pulled first. Returns how many items moved up.
    public func raisePriorityNearFilingLimit(
        days: Int = 30, priority: Int = 90, on connection: PostgresConnection? = nil
    ) async throws -> Int {
        let logged = AuditEntry(
            "work.priority_raised", by: .system, encounter: "encounter_id", practice: "practice_id",
            detail: "jsonb_build_object('priority', \(priority), 'reason', 'near the timely filing limit')",
            rows: "FROM raised"
        )
        return try await database.count(
            """
            WITH raised AS (
                UPDATE work_items SET priority = \(priority)
                WHERE priority < \(priority) AND filing_deadline - \(days)::int <= current_date
                RETURNING encounter_id, practice_id
            ), logged AS (
                \(logged)
            )
            SELECT count(*)::int FROM raised
            """,
            on: connection
        )
    }

    // MARK: Helpers

    /// Clears a lease (the holder's when `matching` is given, any otherwise) and puts the
    /// encounter back in its waiting stage, in one statement. Returns false when there was no
    /// such lease.
    private func unlease(
        _ encounterID: UUID,
        matching leaseID: UUID?,
        holder: UUID?,
        action: String,
        reason: String?,
        audit: AuditContext,
        on connection: PostgresConnection? = nil
    ) async throws -> Bool {
        let detail = try jsonObject(["reason": reason])
        let returned = returnToWaiting(action, by: audit, detail: "\(detail)::jsonb")
        let rows = try await database.query(
            """
            WITH current AS (
                SELECT id, lease_id, lease_holder FROM work_items
                WHERE encounter_id = \(encounterID) AND lease_id IS NOT NULL
                  AND (\(leaseID)::uuid IS NULL
                       OR (lease_id = \(leaseID) AND lease_holder = \(holder) AND lease_expires_at > now()))
                FOR UPDATE
            ), freed AS (
                UPDATE work_items w
                SET lease_id = NULL, lease_holder = NULL, leased_at = NULL, lease_expires_at = NULL,
                    available_at = now()
                FROM current WHERE w.id = current.id
                RETURNING w.encounter_id, w.practice_id, w.queue, w.waiting_stage, current.lease_id AS old_lease
            ), \(fragment: returned)
            SELECT queue, waiting_stage FROM freed
            """,
            on: connection
        )
        // Leased -> waiting is allowed for every queue (a ClaimFlowCore test holds the table to it).
        for try await (queue, waiting) in rows.decode((String, String).self) {
            database.metrics.transition(from: queue, to: waiting)
            return true
        }
        return false
    }

    /// What both lease-returning statements share. Given the CTE `freed` (work items whose
    /// lease was just cleared, with encounter_id, practice_id, queue, waiting_stage and
    /// old_lease), it moves each encounter from the queue's leased stage back to the stage it
    /// waited in, and logs `action` for it.
    private func returnToWaiting(_ action: String, by audit: AuditContext, detail: SQLFragment) -> SQLFragment {
        let logged = AuditEntry(
            action, by: audit, encounter: "encounter_id", practice: "practice_id", from: "queue", to: "waiting_stage",
            lease: "old_lease", detail: detail, rows: "FROM freed"
        )
        return """
            moved AS (
                UPDATE encounters e SET stage = freed.waiting_stage, updated_at = now()
                FROM freed
                WHERE e.id = freed.encounter_id
                  AND e.stage = CASE freed.queue WHEN 'coding' THEN 'coding' ELSE 'billing' END
            ), logged AS (
                \(logged)
            )
            """
    }

    private func check(from: Stage, to: Stage) throws {
        do {
            try StageTransitions.check(from: from, to: to)
        } catch {
            throw StoreError(.illegalTransition, error.description)
        }
    }

    /// Explains why a holder's write found nothing to change: no such encounter, or a lease
    /// that is no longer the live one.
    func refusal(
        encounterID: UUID,
        expected: Stage? = nil,
        on connection: PostgresConnection
    ) async throws -> StoreError {
        let rows = try await connection.query(
            "SELECT stage FROM encounters WHERE id = \(encounterID)",
            logger: logger
        )
        for try await stageName in rows.decode(String.self) {
            if let expected {
                return StoreError(
                    .wrongStage,
                    "encounter \(encounterID) is \(stageName), not \(expected.rawValue)"
                )
            }
            return StoreError(
                .staleLease,
                "the lease is not the live lease of encounter \(encounterID): it expired, was released or was reassigned"
            )
        }
        return StoreError(.notFound, "encounter \(encounterID) not found")
    }
}

/// A small JSON object for an event's `detail` column, built with JSONSerialization so that
/// free text (a reason) is escaped properly. Nil values are left out.
func jsonObject(_ fields: [String: String?]) throws -> String {
    let present = fields.compactMapValues { $0 }
    let data = try JSONSerialization.data(withJSONObject: present, options: [.sortedKeys])
    return String(decoding: data, as: UTF8.self)
}

/// The queue's hot-path statements, each prepared once per connection (see ``PreparedName``).
enum PullLease: PreparedName {}
enum PullHeld: PreparedName {}
enum Finish: PreparedName {}
enum Heartbeat: PreparedName {}
enum LiveLease: PreparedName {}
enum InsertWorkItem: PreparedName {}
enum MoveStage: PreparedName {}
