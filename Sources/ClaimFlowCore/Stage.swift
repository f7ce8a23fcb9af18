/// Where an encounter is in the revenue cycle.
///
/// The raw values are the database's stage values (`encounters.stage`).
public enum Stage: String, Sendable, Hashable, CaseIterable, Codable {
    case received
    case readyToCode = "ready_to_code"
    case coding
    case onHold = "on_hold"
    case coded
    case returnedToCoding = "returned_to_coding"
    case readyToBill = "ready_to_bill"
    case billing
    case submitted
    case accepted
    case rejected
    case denied
    case rework
    case paid
    case closed
}

/// One legal move of an encounter from one stage to another.
public struct StageTransition: Sendable, Hashable, CustomStringConvertible {
    public let from: Stage
    public let to: Stage

    public init(from: Stage, to: Stage) {
        self.from = from
        self.to = to
    }

    public var description: String { "\(from.rawValue) -> \(to.rawValue)" }
}

/// The one table of allowed stage transitions.
///
/// The store checks every move against it before writing, and `claimflow migrate` copies it
/// into the database's `stage_transitions` table, whose trigger refuses any other move, so a
/// client that bypasses the store is held to the same rules.
public enum StageTransitions {
    /// Every allowed move. A supervisor reassigning a leased item changes its holder, not its
    /// stage, so reassignment needs no entry here.
    public static let allowed: Set<StageTransition> = [
        // Intake puts a received encounter in the coding queue.
        .init(from: .received, to: .readyToCode),
        // A coder (or a supervisor's assignment) takes work from any coding wait stage.
        .init(from: .readyToCode, to: .coding),
        .init(from: .returnedToCoding, to: .coding),
        .init(from: .rework, to: .coding),
        // Release or lease expiry puts the encounter back in the stage it waited in.
        .init(from: .coding, to: .readyToCode),
        .init(from: .coding, to: .returnedToCoding),
        .init(from: .coding, to: .rework),
        // Provider query: on hold until the clinician answers.
        .init(from: .coding, to: .onHold),
        .init(from: .onHold, to: .readyToCode),
        // Coding done; the handoff check sends it on to billing or back with findings.
        .init(from: .coding, to: .coded),
        .init(from: .coded, to: .readyToBill),
        .init(from: .coded, to: .returnedToCoding),
        // Billing.
        .init(from: .readyToBill, to: .billing),
        .init(from: .billing, to: .readyToBill),
        .init(from: .billing, to: .submitted),
        .init(from: .billing, to: .returnedToCoding),
        // Payer answers: 277CA accepts or rejects; the 835 pays or denies (an 835 may come
        // without a 277CA first).
        .init(from: .submitted, to: .accepted),
        .init(from: .submitted, to: .rejected),
        .init(from: .submitted, to: .paid),
        .init(from: .submitted, to: .denied),
        .init(from: .accepted, to: .paid),
        .init(from: .accepted, to: .denied),
        // An acknowledgment may be followed by a rejection of the same claim (A1, then A7).
        .init(from: .accepted, to: .rejected),
        // A rejection is fixed by billing; a denial is reworked by coding or by billing.
        .init(from: .rejected, to: .readyToBill),
        .init(from: .denied, to: .rework),
        .init(from: .denied, to: .readyToBill),
        // A line denied on an otherwise paid claim is corrected the same ways.
        .init(from: .paid, to: .rework),
        .init(from: .paid, to: .readyToBill),
        .init(from: .paid, to: .closed),
    ]

    /// Whether the move is allowed.
    public static func isAllowed(from: Stage, to: Stage) -> Bool {
        allowed.contains(.init(from: from, to: to))
    }

    /// Throws ``IllegalStageTransition`` unless the move is allowed.
    public static func check(from: Stage, to: Stage) throws(IllegalStageTransition) {
        guard isAllowed(from: from, to: to) else {
            throw IllegalStageTransition(transition: .init(from: from, to: to))
        }
    }
}

/// A stage move that ``StageTransitions`` does not allow.
public struct IllegalStageTransition: Error, Sendable, Hashable, CustomStringConvertible {
    public let transition: StageTransition

    public init(transition: StageTransition) {
        self.transition = transition
    }

    public var description: String { "illegal stage transition \(transition)" }
}
