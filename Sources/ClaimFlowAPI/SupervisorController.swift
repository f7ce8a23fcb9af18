import ClaimFlowCore
import ClaimFlowStore
import Foundation
import Hummingbird

/// The supervisor's routes: queue health, the work list, and control over individual work
/// (reassign, release, priority). Every change is audited with the supervisor as actor.
struct SupervisorController: Sendable {
    let stores: APIStores

    struct QueuesBody: Encodable {
        let queues: [QueueSummary]
        let holds: [HoldSummary]
    }

    struct WorkPage: Encodable {
        let items: [WorkListItem]
        /// Pass as `after` for the next page; absent on the last page.
        let next: String?
    }

    func addRoutes(to group: RouterGroup<ClaimFlowRequestContext>) {
        addFailureRoutes(to: group)
        group.get("queues") { _, context in
            let principal = try context.requirePrincipal()
            let (queues, holds) = try await stores.supervision.queues(practiceIDs: principal.practiceIDs)
            return try JSONResponse.make(QueuesBody(queues: queues, holds: holds))
        }
        group.get("productivity") { request, context in
            let principal = try context.requirePrincipal()
            let (from, to) = try dateRange(request)
            // A range that ends before it starts holds no day: nobody did anything in it.
            let people = to < from ? [] : try await stores.supervision.productivity(practiceIDs: principal.practiceIDs, from: from, to: to)
            return try JSONResponse.make(ProductivityBody(from: from, to: to, users: people))
        }
        group.get("scrubber") { request, context in
            let principal = try context.requirePrincipal()
            let (from, to) = try dateRange(request)
            let practices =
                to < from ? [] : try await stores.supervision.scrubberReport(practiceIDs: principal.practiceIDs, from: from, to: to)
            return try JSONResponse.make(ScrubberBody(from: from, to: to, practices: practices))
        }
        group.get("users") { _, context in
            let principal = try context.requirePrincipal()
            let people = try await stores.users.users(inAnyOf: principal.practiceIDs).filter {
                $0.active && !$0.roles.isDisjoint(with: [.coder, .biller])
            }
            return try JSONResponse.make([
                "users": people.map {
                    Assignee(
                        id: $0.id ?? UUID(), username: $0.username, displayName: $0.displayName, roles: $0.roles.map(\.rawValue).sorted())
                }
            ])
        }
        group.get("work") { request, context in
            let principal = try context.requirePrincipal()
            let (query, cursor, limit) = try await workQuery(request, principal: principal)
            guard let filter = query else { return try JSONResponse.make(WorkPage(items: [], next: nil)) }
            let items = try await stores.supervision.workList(
                filter: filter, practiceIDs: principal.practiceIDs, after: cursor, limit: limit + 1
            )
            let page = Array(items.prefix(limit))
            let next = items.count > limit ? page.last.map { "\($0.dateOfService)_\($0.encounterID.uuidString.lowercased())" } : nil
            return try JSONResponse.make(WorkPage(items: page, next: next))
        }
        group.post("work/{id}/reassign") { request, context in
            let body = try await request.decode(ReassignRequest.self)
            let id = try await visibleEncounter(context)
            let lease = try await stores.queue.reassign(encounterID: id, to: body.toUser, reason: body.reason, audit: context.audit)
            return try JSONResponse.make(WorkUpdate(encounterId: id, holder: lease.holder, lease: LeaseBody(lease)))
        }
        group.post("work/{id}/release") { request, context in
            let body = try await request.decode(SupervisorReleaseRequest.self)
            let id = try await visibleEncounter(context)
            try await stores.queue.releaseLease(encounterID: id, reason: body.reason, audit: context.audit)
            return try JSONResponse.make(WorkUpdate(encounterId: id, stage: try await stores.encounters.stage(of: id) ?? .readyToCode))
        }
        group.post("work/{id}/priority") { request, context in
            let body = try await request.decode(PriorityRequest.self)
            let id = try await visibleEncounter(context)
            try await stores.queue.setPriority(encounterID: id, priority: body.priority, reason: body.reason, audit: context.audit)
            return try JSONResponse.make(WorkUpdate(encounterId: id, priority: body.priority))
        }
    }

    /// `GET /supervisor/failures` and `POST /supervisor/failures/{id}/retry`: what the
    /// background workers could not do in the caller's practices, and a retry of a parked
    /// handoff check (another practice's failure is 404).
    func addFailureRoutes(to group: RouterGroup<ClaimFlowRequestContext>) {
        group.get("failures") { _, context in
            let principal = try context.requirePrincipal()
            return try JSONResponse.make(FailureList(items: try await stores.supervision.failures(practiceIDs: principal.practiceIDs)))
        }
        group.post("failures/{id}/retry") { _, context in
            let principal = try context.requirePrincipal()
            let failure = try await stores.supervision.retryFailure(
                id: try context.pathID(), practiceIDs: principal.practiceIDs, audit: context.audit
            )
            return try JSONResponse.make(failure)
        }
    }

    struct FailureList: Encodable {
        let items: [WorkerFailure]
    }

    /// `GET /encounters/{id}/history`, the audit trail (registered on its own path).
    func addHistoryRoute(to group: RouterGroup<ClaimFlowRequestContext>) {
        group.get("{id}/history") { _, context in
            let principal = try context.requirePrincipal()
            let id = try context.pathID()
            guard let events = try await stores.encounters.history(of: id, practiceIDs: principal.practiceIDs, audit: context.audit)
            else { throw APIError.notFound("encounter \(id) not found") }
            return try JSONResponse.make(["events": events])
        }
    }

    /// Someone work can be assigned to: ids and names only.
    struct Assignee: Encodable {
        let id: UUID
        let username: String
        let displayName: String
        let roles: [String]
    }

    struct ProductivityBody: Encodable {
        let from: CalendarDate
        let to: CalendarDate
        let users: [UserProductivity]
    }

    /// The scrubber report: every practice's figures, and the rules over all of them.
    struct ScrubberBody: Encodable {
        let from: CalendarDate
        let to: CalendarDate
        let checked: Int
        let passed: Int
        let returned: Int
        let rules: [ScrubberRule]
        let practices: [ScrubberPractice]

        init(from: CalendarDate, to: CalendarDate, practices: [ScrubberPractice]) {
            self.from = from
            self.to = to
            self.checked = practices.reduce(0) { $0 + $1.checked }
            self.passed = practices.reduce(0) { $0 + $1.passed }
            let returned = practices.reduce(0) { $0 + $1.returned }
            self.returned = returned
            let byRule = practices.flatMap(\.rules).reduce(into: [String: Int]()) { $0[$1.rule, default: 0] += $1.returned }
            self.rules = ScrubberRule.list(byRule.map { ($0.key, $0.value) }, returned: returned)
            self.practices = practices
        }
    }

    /// The required `from` and `to` dates of a report (inclusive).
    private func dateRange(_ request: Request) throws -> (CalendarDate, CalendarDate) {
        let query = request.uri.queryParameters
        var findings: [ProblemDetails.Finding] = []
        let from = query.get("from").flatMap { CalendarDate($0) }
        let to = query.get("to").flatMap { CalendarDate($0) }
        if from == nil { findings.append(.init(path: "query.from", message: "is required, as YYYY-MM-DD")) }
        if to == nil { findings.append(.init(path: "query.to", message: "is required, as YYYY-MM-DD")) }
        guard findings.isEmpty, let from, let to else { throw APIError.validation(findings) }
        return (from, to)
    }

    private func visibleEncounter(_ context: ClaimFlowRequestContext) async throws -> UUID {
        try await stores.encounters.visibleEncounter(context).1
    }

    /// The work list's filter, cursor and page size; nil filter when the caller named a practice
    /// that is not theirs, whose page is empty.
    private func workQuery(_ request: Request, principal: Principal) async throws -> (WorkFilter?, (CalendarDate, UUID)?, Int) {
        let query = request.uri.queryParameters
        var findings: [ProblemDetails.Finding] = []
        func add(_ path: String, _ message: String) { findings.append(.init(path: path, message: message)) }
        var filter = WorkFilter()
        if let text = query.get("queue") {
            filter.queue = WorkQueueName(rawValue: text)
            if filter.queue == nil { add("query.queue", "must be coding or billing") }
        }
        if let text = query.get("stage") {
            filter.stage = Stage(rawValue: text)
            if filter.stage == nil { add("query.stage", "is not a stage") }
        }
        if let text = query.get("assignee") {
            filter.assignee = UUID(uuidString: text)
            if filter.assignee == nil { add("query.assignee", "must be a user id") }
        }
        var foreignPractice = false
        if let text = query.get("practice") {
            if text.wholeMatch(of: /[A-Z0-9_-]{2,20}/) != nil {
                filter.practiceID = try await stores.practices.practiceID(code: text, within: principal.practiceIDs)
                // Not one of the caller's (or no such practice): nothing of it is theirs to see.
                foreignPractice = filter.practiceID == nil
            } else {
                add("query.practice", "must be a practice code (2 to 20 of A-Z, 0-9, _ and -)")
            }
        }
        if let text = query.get("from") {
            filter.dateOfServiceFrom = CalendarDate(text)
            if filter.dateOfServiceFrom == nil { add("query.from", "must be a date as YYYY-MM-DD") }
        }
        if let text = query.get("to") {
            filter.dateOfServiceTo = CalendarDate(text)
            if filter.dateOfServiceTo == nil { add("query.to", "must be a date as YYYY-MM-DD") }
        }
        var cursor: (CalendarDate, UUID)?
        if let text = query.get("after") {
            let parts = text.split(separator: "_", maxSplits: 1)
            if parts.count == 2, let date = CalendarDate(cursorDay: String(parts[0])), let id = UUID(uuidString: String(parts[1])) {
                cursor = (date, id)
            } else {
                add("query.after", "must be the `next` value of the previous page")
            }
        }
        var limit = 50
        if let text = query.get("limit") {
            if let value = Int(text), (1...500).contains(value) {
                limit = value
            } else {
                add("query.limit", "must be from 1 to 500")
            }
        }
        guard findings.isEmpty else { throw APIError.validation(findings) }
        return (foreignPractice ? nil : filter, cursor, limit)
    }
}

extension CalendarDate {
    /// The day of a work-list cursor (`YYYY-MM-DD`), a day past the end of its month read as the
    /// month's last day: a cursor only orders, so any date-shaped one is a place in the list.
    init?(cursorDay text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]), (1...31).contains(day),
            (1...12).contains(month)
        else { return nil }
        self.init(year: year, month: month, day: min(day, Self.daysIn(month: month, year: year)))
    }
}
