import ClaimFlowCore
import Testing

@Suite("Stage transitions")
struct StageTransitionTests {
    @Test("each queue's waiting stages lease to its leased stage and come back")
    func queueMovesAreAllowed() {
        for queue in WorkQueueName.allCases {
            #expect(!queue.waitingStages.isEmpty, "\(queue) has no waiting stage")
            for waiting in queue.waitingStages {
                #expect(StageTransitions.isAllowed(from: waiting, to: queue.leasedStage), "\(waiting) -> \(queue.leasedStage)")
                #expect(StageTransitions.isAllowed(from: queue.leasedStage, to: waiting), "\(queue.leasedStage) -> \(waiting)")
            }
        }
    }

    @Test(
        "moves that skip the handoff or billing are refused",
        arguments: [
            (Stage.received, Stage.coded),
            (.readyToCode, .readyToBill),
            (.coding, .readyToBill),
            (.coded, .submitted),
            (.paid, .coding),
            (.closed, .readyToCode),
            (.submitted, .billing),
        ])
    func illegalMoves(from: Stage, to: Stage) {
        #expect(!StageTransitions.isAllowed(from: from, to: to))
        #expect(throws: IllegalStageTransition(transition: .init(from: from, to: to))) {
            try StageTransitions.check(from: from, to: to)
        }
    }

    @Test("every stage can be reached from received, and every stage but closed leads on")
    func everyStageIsConnected() {
        var reached: Set<Stage> = [.received]
        var frontier: [Stage] = [.received]
        while let stage = frontier.popLast() {
            for move in StageTransitions.allowed where move.from == stage && !reached.contains(move.to) {
                reached.insert(move.to)
                frontier.append(move.to)
            }
        }
        #expect(reached == Set(Stage.allCases))
        let deadEnds = Set(Stage.allCases).subtracting(StageTransitions.allowed.map(\.from))
        #expect(deadEnds == [.closed])
    }

    @Test("a stage belongs to at most one queue")
    func waitingStagesAreDisjoint() {
        #expect(WorkQueueName.coding.waitingStages.isDisjoint(with: WorkQueueName.billing.waitingStages))
        #expect(WorkQueueName.waiting(in: .returnedToCoding) == .coding)
        #expect(WorkQueueName.waiting(in: .readyToBill) == .billing)
        #expect(WorkQueueName.waiting(in: .submitted) == nil)
    }
}

@Suite("Values")
struct ValueTests {
    @Test("NPI check digit", arguments: [("1234567893", true), ("1234567890", false), ("123456789", false), ("12345678a3", false)])
    func npi(text: String, valid: Bool) {
        #expect((NPI(text) != nil) == valid)
    }

    @Test("NPI built from nine digits carries the Luhn check digit")
    func npiWithCheckDigit() {
        #expect(NPI.withCheckDigit(firstNine: "123456789")?.digits == "1234567893")
    }

    @Test(
        "calendar dates parse only real days",
        arguments: [
            ("2026-11-28", true), ("2024-02-29", true), ("2026-02-29", false), ("2026-13-01", false),
            ("2026-1-01", false), ("26-11-28", false), ("2026-11-28T00:00:00Z", false),
        ])
    func calendarDate(text: String, valid: Bool) {
        let date = CalendarDate(text)
        #expect((date != nil) == valid)
        if let date { #expect(date.description == text) }
    }
}
