public import ClaimFlowCore
public import Foundation
import PostgresNIO

/// The supervisor's read side: queue health and the work list. Ids and stages only, no PHI.
public struct SupervisorStore: DatabaseStore {
    public let database: Database

    public init(database: Database) { self.database = database }

    /// Every queue of every practice in `practiceIDs`, with depth, leases and aging.
    public func queues(practiceIDs: Set<UUID>) async throws -> (queues: [QueueSummary], holds: [HoldSummary]) {
        let practices = Array(practiceIDs)
        let rows = try await client.query(
            """
            SELECT w.queue, p.code,
                   count(*) FILTER (WHERE w.lease_id IS NULL)::int,
                   count(*) FILTER (WHERE w.lease_id IS NOT NULL)::int,
                   count(*) FILTER (WHERE w.waiting_stage IN ('returned_to_coding', 'rework'))::int,
                   extract(epoch FROM now() - min(w.enqueued_at))::int,
                   count(*) FILTER (WHERE current_date - w.date_of_service <= 1)::int,
                   count(*) FILTER (WHERE current_date - w.date_of_service BETWEEN 2 AND 3)::int,
                   count(*) FILTER (WHERE current_date - w.date_of_service BETWEEN 4 AND 7)::int,
                   count(*) FILTER (WHERE current_date - w.date_of_service BETWEEN 8 AND 14)::int,
                   count(*) FILTER (WHERE current_date - w.date_of_service >= 15)::int,
                   coalesce(sum(w.charges), 0)::numeric,
                   count(*) FILTER (WHERE w.filing_deadline - 30 <= current_date)::int
            FROM work_items w
            JOIN practices p ON p.id = w.practice_id
            WHERE w.practice_id = ANY (\(practices))
            GROUP BY w.queue, p.code
            ORDER BY w.queue, p.code
            """,
            logger: logger
        )
        var queues: [QueueSummary] = []
        for try await row in rows.decode((String, String, Int, Int, Int, Int?, Int, Int, Int, Int, Int, Decimal, Int).self) {
            guard let queue = WorkQueueName(rawValue: row.0) else { continue }
            var summary = QueueSummary(
                queue: queue, practiceCode: row.1, waiting: row.2, leased: row.3, returned: row.4, oldestAgeSeconds: row.5,
                aging: ["0-1": row.6, "2-3": row.7, "4-7": row.8, "8-14": row.9, "15+": row.10]
            )
            summary.dnfbCharges = row.11
            summary.nearFilingLimit = row.12
            queues.append(summary)
        }
        let holdRows = try await client.query(
            """
            SELECT p.code, count(*)::int, extract(epoch FROM now() - min(q.asked_at))::int
            FROM encounters e
            JOIN practices p ON p.id = e.practice_id
            LEFT JOIN provider_queries q ON q.encounter_id = e.id AND q.answered_at IS NULL
            WHERE e.stage = 'on_hold' AND e.practice_id = ANY (\(practices))
            GROUP BY p.code ORDER BY p.code
            """,
            logger: logger
        )
        var holds: [HoldSummary] = []
        for try await (code, count, oldest) in holdRows.decode((String, Int, Int?).self) {
            holds.append(HoldSummary(practiceCode: code, onHold: count, oldestAgeSeconds: oldest))
        }
        return (queues, holds)
    }

    /// A page of the work list, ordered by date of service then id, after the `after` cursor.
    /// Keyset pagination: each page costs the same however deep it is.
    public func workList(
        filter: WorkFilter,
        practiceIDs: Set<UUID>,
        after cursor: (CalendarDate, UUID)?,
        limit: Int
    ) async throws -> [WorkListItem] {
        let practices = Array(practiceIDs)
        let afterDate = cursor?.0.description
        let afterID = cursor?.1
        let rows = try await client.query(
            """
            SELECT e.id, e.external_id, p.code, e.stage, w.queue, coalesce(w.priority, e.priority),
                   e.date_of_service::text, e.specialty, w.lease_holder, u.username, w.lease_expires_at, w.enqueued_at
            FROM encounters e
            JOIN practices p ON p.id = e.practice_id
            LEFT JOIN work_items w ON w.encounter_id = e.id
            LEFT JOIN users u ON u.id = w.lease_holder
            WHERE e.practice_id = ANY (\(practices))
              AND (\(filter.practiceID)::uuid IS NULL OR e.practice_id = \(filter.practiceID))
              AND (\(filter.queue?.rawValue)::text IS NULL OR w.queue = \(filter.queue?.rawValue))
              AND (\(filter.stage?.rawValue)::text IS NULL OR e.stage = \(filter.stage?.rawValue))
              AND (\(filter.assignee)::uuid IS NULL OR w.lease_holder = \(filter.assignee))
              AND (\(filter.dateOfServiceFrom?.description)::date IS NULL
                   OR e.date_of_service >= \(filter.dateOfServiceFrom?.description)::date)
              AND (\(filter.dateOfServiceTo?.description)::date IS NULL
                   OR e.date_of_service <= \(filter.dateOfServiceTo?.description)::date)
              AND (\(afterDate)::date IS NULL OR (e.date_of_service, e.id) > (\(afterDate)::date, \(afterID)::uuid))
            ORDER BY e.date_of_service, e.id
            LIMIT \(limit)
            """,
            logger: logger
        )
        var items: [WorkListItem] = []
        for try await row in rows.decode(
            (UUID, String, String, String, String?, Int, String, String, UUID?, String?, Date?, Date?).self
        ) {
            items.append(
                WorkListItem(
                    encounterID: row.0, externalID: row.1, practiceCode: row.2, stage: Stage(rawValue: row.3) ?? .received,
                    queue: row.4.flatMap(WorkQueueName.init(rawValue:)), priority: row.5,
                    dateOfService: CalendarDate(row.6) ?? CalendarDate(year: 1900, month: 1, day: 1)!, specialty: row.7,
                    assignee: row.8, assigneeUsername: row.9, leaseExpiresAt: row.10, enqueuedAt: row.11
                )
            )
        }
        return items
    }

    /// Per user and day in `from...to`: encounters coded, claims submitted, handle time (mean
    /// and 90th percentile, lease to completion), the share the handoff sent back; and per user,
    /// the denial rate of claims they coded. Read from the audit trail.
    public func productivity(practiceIDs: Set<UUID>, from: CalendarDate, to: CalendarDate) async throws -> [UserProductivity] {
        let practices = Array(practiceIDs)
        let (start, end) = (from.description, to.description)
        let rows = try await client.query(
            """
            WITH completions AS (
                SELECT c.actor_id, c.occurred_at::date AS day, c.encounter_id, c.occurred_at,
                       extract(epoch FROM c.occurred_at - s.occurred_at)::float8 AS handle
                FROM events c
                LEFT JOIN LATERAL (
                    SELECT p.occurred_at FROM events p
                    WHERE p.lease_id = c.lease_id AND p.action IN ('work.pulled', 'work.reassigned')
                    ORDER BY p.id LIMIT 1
                ) s ON true
                WHERE c.action = 'coding.completed' AND c.occurred_at >= \(start)::date
                  AND c.occurred_at < \(end)::date + 1 AND c.practice_id = ANY (\(practices))
            ), coded AS (
                SELECT actor_id, day, count(*)::int AS coded, avg(handle) AS mean_handle,
                       percentile_cont(0.9) WITHIN GROUP (ORDER BY handle) AS p90_handle,
                       avg(CASE WHEN EXISTS (
                               SELECT 1 FROM events r WHERE r.encounter_id = completions.encounter_id
                                 AND r.action = 'handoff.returned' AND r.occurred_at >= completions.occurred_at)
                           THEN 1.0 ELSE 0.0 END)::float8 AS returned_share
                FROM completions GROUP BY actor_id, day
            ), submitted AS (
                SELECT actor_id, occurred_at::date AS day, count(*)::int AS submitted
                FROM events
                WHERE action = 'claim.submitted' AND occurred_at >= \(start)::date AND occurred_at < \(end)::date + 1
                  AND practice_id = ANY (\(practices))
                GROUP BY actor_id, occurred_at::date
            )
            SELECT u.id, u.username, d.day::text, coalesce(c.coded, 0), coalesce(s.submitted, 0),
                   c.mean_handle::float8, c.p90_handle::float8, c.returned_share
            FROM (SELECT actor_id, day FROM coded UNION SELECT actor_id, day FROM submitted) d
            JOIN users u ON u.id = d.actor_id
            LEFT JOIN coded c ON c.actor_id = d.actor_id AND c.day = d.day
            LEFT JOIN submitted s ON s.actor_id = d.actor_id AND s.day = d.day
            ORDER BY u.username, d.day
            """,
            logger: logger
        )
        var byUser: [UUID: UserProductivity] = [:]
        var order: [UUID] = []
        for try await row in rows.decode((UUID, String, String, Int, Int, Double?, Double?, Double?).self) {
            let day = ProductivityDay(
                day: CalendarDate(row.2) ?? from, encountersCoded: row.3, claimsSubmitted: row.4, meanHandleSeconds: row.5,
                p90HandleSeconds: row.6, returnedShare: row.7
            )
            if byUser[row.0] == nil {
                byUser[row.0] = UserProductivity(userID: row.0, username: row.1, days: [], denialRate: nil)
                order.append(row.0)
            }
            byUser[row.0]?.days.append(day)
        }
        let denials = try await client.query(
            """
            SELECT c.coded_by,
                   (count(*) FILTER (WHERE a.outcome = 'denied'))::float8 / count(*)::float8
            FROM claim_answers a JOIN claims c ON c.id = a.claim_id JOIN encounters e ON e.id = c.encounter_id
            WHERE a.kind = '835' AND a.received_at >= \(start)::date AND a.received_at < \(end)::date + 1
              AND e.practice_id = ANY (\(practices)) AND c.coded_by IS NOT NULL
            GROUP BY c.coded_by
            """,
            logger: logger
        )
        for try await (user, rate) in denials.decode((UUID, Double).self) where byUser[user] != nil {
            byUser[user]?.denialRate = rate
        }
        return order.compactMap { byUser[$0] }
    }
}

// MARK: - What the supervisor's queries return

/// The state of one queue in one practice, for the supervisor's queue view.
///
/// Lives beside the query that fills it: only ``SupervisorStore/queues(practiceIDs:)`` makes
/// one, so the memberwise initialiser Swift writes serves; callers only read it.
public struct QueueSummary: Sendable, Hashable, Codable {
    public var queue: WorkQueueName
    public var practiceCode: String
    /// Items waiting, not leased.
    public var waiting: Int
    /// Items leased to someone right now.
    public var leased: Int
    /// Items waiting because coding or billing sent them back with findings or a reason.
    public var returned: Int
    /// Age in seconds of the oldest item in the queue, by time queued.
    public var oldestAgeSeconds: Int?
    /// Items by days since the date of service: "0-1", "2-3", "4-7", "8-14", "15+".
    public var aging: [String: Int]
    /// Not-final-billed dollars: the charges of the items' current codes (none yet: 0).
    @MoneyAmount public var dnfbCharges: Decimal = 0
    /// Items within 30 days of their payer's timely filing limit (or past it).
    public var nearFilingLimit: Int = 0
}

/// Encounters on hold for a provider query, per practice.
///
/// Lives beside the query that counts them: only ``SupervisorStore/queues(practiceIDs:)``
/// makes one.
public struct HoldSummary: Sendable, Hashable, Codable {
    public var practiceCode: String
    public var onHold: Int
    public var oldestAgeSeconds: Int?
}

/// Filters for the supervisor's work list: each one set narrows it, none set lists everything
/// the supervisor may see.
///
/// Lives beside ``SupervisorStore/workList(filter:practiceIDs:after:limit:)``, the one query
/// that reads it.
public struct WorkFilter: Sendable, Hashable {
    public var queue: WorkQueueName?
    public var stage: Stage?
    public var practiceID: UUID?
    public var assignee: UUID?
    public var dateOfServiceFrom: CalendarDate?
    public var dateOfServiceTo: CalendarDate?

    /// No filter; set the properties that should narrow the list.
    public init() {}
}

/// One row of the supervisor's work list: ids, stage, queue and lease, no PHI.
///
/// Lives beside the query that fills it: only
/// ``SupervisorStore/workList(filter:practiceIDs:after:limit:)`` makes one.
public struct WorkListItem: Sendable, Hashable, Codable {
    public var encounterID: UUID
    public var externalID: String
    public var practiceCode: String
    public var stage: Stage
    public var queue: WorkQueueName?
    public var priority: Int
    public var dateOfService: CalendarDate
    public var specialty: String
    public var assignee: UUID?
    public var assigneeUsername: String?
    public var leaseExpiresAt: Date?
    public var enqueuedAt: Date?
}

/// One user's work on one day.
///
/// Lives beside the query that fills it: only
/// ``SupervisorStore/productivity(practiceIDs:from:to:)`` makes one.
public struct ProductivityDay: Sendable, Hashable, Codable {
    public var day: CalendarDate
    public var encountersCoded: Int
    public var claimsSubmitted: Int
    /// Lease to completion, over the encounters coded that day.
    public var meanHandleSeconds: Double?
    public var p90HandleSeconds: Double?
    /// Of the encounters coded that day, the share the handoff check sent back.
    public var returnedShare: Double?
}

/// One user's productivity over a date range.
///
/// Lives beside the query that fills it: only
/// ``SupervisorStore/productivity(practiceIDs:from:to:)`` makes one.
public struct UserProductivity: Sendable, Hashable, Codable {
    public var userID: UUID
    public var username: String
    public var days: [ProductivityDay]
    /// Of the claims of encounters this user coded that the payer answered in the range, the
    /// share denied; nil when none were answered.
    public var denialRate: Double?
}

// MARK: - The scrubber's record

extension SupervisorStore {
    /// The handoff check's record over the days `from` through `to`, per practice of
    /// `practiceIDs`: checks run, passed and sent back to coding, and how often each blocking
    /// rule was among the reasons an encounter went back. Read from the audit trail's
    /// `handoff.passed` and `handoff.returned` events, so it covers every check ever run.
    public func scrubberReport(practiceIDs: Set<UUID>, from: CalendarDate, to: CalendarDate) async throws -> [ScrubberPractice] {
        let practices = Array(practiceIDs)
        let (start, end) = (from.description, to.description)
        let rows = try await client.query(
            """
            WITH checks AS (
                SELECT practice_id, action, detail FROM events
                WHERE action IN ('handoff.passed', 'handoff.returned')
                  AND occurred_at >= \(start)::date AND occurred_at < \(end)::date + 1
                  AND practice_id = ANY (\(practices))
            ), totals AS (
                SELECT practice_id, count(*)::int AS checked,
                       (count(*) FILTER (WHERE action = 'handoff.passed'))::int AS passed,
                       (count(*) FILTER (WHERE action = 'handoff.returned'))::int AS returned
                FROM checks GROUP BY practice_id
            ), rules AS (
                -- The blocking rules of each return; a return recorded before they were kept
                -- apart lists every rule it found, warnings included.
                SELECT c.practice_id, r.rule, count(*)::int AS returned
                FROM checks c
                CROSS JOIN LATERAL unnest(string_to_array(coalesce(c.detail ->> 'blocking', c.detail ->> 'rules', ''), ',')) AS r(rule)
                WHERE c.action = 'handoff.returned' AND r.rule <> ''
                GROUP BY c.practice_id, r.rule
            )
            SELECT p.code, t.checked, t.passed, t.returned,
                   coalesce(array_agg(r.rule ORDER BY r.returned DESC, r.rule) FILTER (WHERE r.rule IS NOT NULL), '{}'),
                   coalesce(array_agg(r.returned ORDER BY r.returned DESC, r.rule) FILTER (WHERE r.rule IS NOT NULL), '{}')
            FROM totals t
            JOIN practices p ON p.id = t.practice_id
            LEFT JOIN rules r ON r.practice_id = t.practice_id
            GROUP BY p.code, t.checked, t.passed, t.returned
            ORDER BY p.code
            """,
            logger: logger
        )
        var report: [ScrubberPractice] = []
        for try await (code, checked, passed, returned, rules, counts) in rows.decode((String, Int, Int, Int, [String], [Int]).self) {
            report.append(
                ScrubberPractice(
                    practiceCode: code, checked: checked, passed: passed, returned: returned,
                    rules: ScrubberRule.list(zip(rules, counts), returned: returned)))
        }
        return report
    }
}

/// One blocking rule's share of the encounters the handoff check sent back.
public struct ScrubberRule: Sendable, Hashable, Codable {
    public var rule: String
    /// Encounters sent back with this rule among the reasons.
    public var returned: Int
    /// `returned` over all encounters sent back in the range (a return may have several rules).
    public var share: Double

    /// The rules of `counts`, most returns first, each with its share of `returned`.
    public static func list(_ counts: some Sequence<(String, Int)>, returned: Int) -> [ScrubberRule] {
        counts.map { ScrubberRule(rule: $0.0, returned: $0.1, share: returned == 0 ? 0 : Double($0.1) / Double(returned)) }
            .sorted { ($1.returned, $0.rule) < ($0.returned, $1.rule) }
    }
}

/// One practice's handoff checks over a date range.
///
/// Lives beside the query that fills it: only
/// ``SupervisorStore/scrubberReport(practiceIDs:from:to:)`` makes one.
public struct ScrubberPractice: Sendable, Hashable, Codable {
    public var practiceCode: String
    public var checked: Int
    public var passed: Int
    public var returned: Int
    public var rules: [ScrubberRule]
}

// MARK: - Background work that failed

extension SupervisorStore {
    /// What the background workers could not do in `practiceIDs`: handoff checks that failed
    /// with an error (retrying or parked) and claims the 837P writer refused. Ids, counts,
    /// error codes and times only.
    public func failures(practiceIDs: Set<UUID>) async throws -> [WorkerFailure] {
        try await WorkerFailureStore(database: database).failures(practiceIDs: practiceIDs)
    }

    /// Makes a failed handoff check due again now (see ``WorkerFailureStore/retry(failureID:practiceIDs:audit:)``).
    public func retryFailure(id: UUID, practiceIDs: Set<UUID>, audit: AuditContext) async throws -> WorkerFailure {
        try await WorkerFailureStore(database: database).retry(failureID: id, practiceIDs: practiceIDs, audit: audit)
    }
}
