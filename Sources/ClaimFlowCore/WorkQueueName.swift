/// The two human work queues: coders take from `coding`, billers from `billing`.
public enum WorkQueueName: String, Sendable, Hashable, CaseIterable, Codable {
    case coding
    case billing

    /// The stage an encounter is in while one person holds its lease.
    public var leasedStage: Stage {
        switch self {
        case .coding: .coding
        case .billing: .billing
        }
    }

    /// The stages in which an encounter waits, unleased, in this queue.
    public var waitingStages: Set<Stage> {
        switch self {
        case .coding: [.readyToCode, .returnedToCoding, .rework]
        case .billing: [.readyToBill]
        }
    }

    /// The queue an encounter waiting in `stage` belongs to, if any.
    public static func waiting(in stage: Stage) -> WorkQueueName? {
        allCases.first { $0.waitingStages.contains(stage) }
    }

    /// The role a user needs to pull from this queue.
    public var role: Role {
        switch self {
        case .coding: .coder
        case .billing: .biller
        }
    }
}
