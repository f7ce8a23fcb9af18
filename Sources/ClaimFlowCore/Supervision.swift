public import Foundation

/// The state of one queue in one practice, for the supervisor's queue view.
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

    public init(
        queue: WorkQueueName, practiceCode: String, waiting: Int, leased: Int, returned: Int, oldestAgeSeconds: Int?,
        aging: [String: Int]
    ) {
        self.queue = queue
        self.practiceCode = practiceCode
        self.waiting = waiting
        self.leased = leased
        self.returned = returned
        self.oldestAgeSeconds = oldestAgeSeconds
        self.aging = aging
    }
}

/// Encounters on hold for a provider query, per practice.
public struct HoldSummary: Sendable, Hashable, Codable {
    public var practiceCode: String
    public var onHold: Int
    public var oldestAgeSeconds: Int?

    public init(practiceCode: String, onHold: Int, oldestAgeSeconds: Int?) {
        self.practiceCode = practiceCode
        self.onHold = onHold
        self.oldestAgeSeconds = oldestAgeSeconds
    }
}

/// Filters for the supervisor's work list.
public struct WorkFilter: Sendable, Hashable {
    public var queue: WorkQueueName?
    public var stage: Stage?
    public var practiceID: UUID?
    public var assignee: UUID?
    public var dateOfServiceFrom: CalendarDate?
    public var dateOfServiceTo: CalendarDate?

    public init(
        queue: WorkQueueName? = nil, stage: Stage? = nil, practiceID: UUID? = nil, assignee: UUID? = nil,
        dateOfServiceFrom: CalendarDate? = nil, dateOfServiceTo: CalendarDate? = nil
    ) {
        self.queue = queue
        self.stage = stage
        self.practiceID = practiceID
        self.assignee = assignee
        self.dateOfServiceFrom = dateOfServiceFrom
        self.dateOfServiceTo = dateOfServiceTo
    }
}

/// One row of the supervisor's work list: ids, stage, queue and lease, no PHI.
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

    public init(
        encounterID: UUID, externalID: String, practiceCode: String, stage: Stage, queue: WorkQueueName?, priority: Int,
        dateOfService: CalendarDate, specialty: String, assignee: UUID?, assigneeUsername: String?, leaseExpiresAt: Date?,
        enqueuedAt: Date?
    ) {
        self.encounterID = encounterID
        self.externalID = externalID
        self.practiceCode = practiceCode
        self.stage = stage
        self.queue = queue
        self.priority = priority
        self.dateOfService = dateOfService
        self.specialty = specialty
        self.assignee = assignee
        self.assigneeUsername = assigneeUsername
        self.leaseExpiresAt = leaseExpiresAt
        self.enqueuedAt = enqueuedAt
    }
}

/// One user's work on one day.
public struct ProductivityDay: Sendable, Hashable, Codable {
    public var day: CalendarDate
    public var encountersCoded: Int
    public var claimsSubmitted: Int
    /// Lease to completion, over the encounters coded that day.
    public var meanHandleSeconds: Double?
    public var p90HandleSeconds: Double?
    /// Of the encounters coded that day, the share the handoff check sent back.
    public var returnedShare: Double?

    public init(
        day: CalendarDate, encountersCoded: Int, claimsSubmitted: Int, meanHandleSeconds: Double?, p90HandleSeconds: Double?,
        returnedShare: Double?
    ) {
        self.day = day
        self.encountersCoded = encountersCoded
        self.claimsSubmitted = claimsSubmitted
        self.meanHandleSeconds = meanHandleSeconds
        self.p90HandleSeconds = p90HandleSeconds
        self.returnedShare = returnedShare
    }
}

/// One user's productivity over a date range.
public struct UserProductivity: Sendable, Hashable, Codable {
    public var userID: UUID
    public var username: String
    public var days: [ProductivityDay]
    /// Of the claims of encounters this user coded that the payer answered in the range, the
    /// share denied; nil when none were answered.
    public var denialRate: Double?

    public init(userID: UUID, username: String, days: [ProductivityDay], denialRate: Double?) {
        self.userID = userID
        self.username = username
        self.days = days
        self.denialRate = denialRate
    }
}
