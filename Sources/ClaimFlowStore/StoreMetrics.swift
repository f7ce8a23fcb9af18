public import ClaimFlowCore
import Metrics

/// The counters the store keeps as it works, exported through swift-metrics (Prometheus
/// in `claimflow serve`). Counted where the change happens, so a scrape costs no query.
public enum StoreMetrics {
    /// One encounter moved from one stage to another.
    public static func transition(from: String, to: String, count: Int = 1) {
        guard count > 0 else { return }
        Counter(label: "claimflow_transitions_total", dimensions: [("from", from), ("to", to)]).increment(by: count)
    }

    static func transition(from: Stage, to: Stage) {
        transition(from: from.rawValue, to: to.rawValue)
    }
}
