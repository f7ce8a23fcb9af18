public import ClaimFlowCore
public import Metrics

/// The counters the store keeps as it works, exported through swift-metrics (Prometheus
/// in `claimflow serve`). Counted where the change happens, so a scrape costs no query.
///
/// The factory is the process's (`MetricsSystem.factory`, looked up at each count, so it may
/// be bootstrapped after the stores are made) unless one is given, so a test can read exact
/// values from a registry of its own.
public struct StoreMetrics: Sendable {
    private let chosen: (any MetricsFactory)?

    public init(factory: (any MetricsFactory)? = nil) { self.chosen = factory }

    /// The factory metrics are made by now.
    public var factory: any MetricsFactory { chosen ?? MetricsSystem.factory }

    /// One encounter moved from one stage to another.
    public func transition(from: String, to: String, count: Int = 1) {
        guard count > 0 else { return }
        Counter(label: "claimflow_transitions_total", dimensions: [("from", from), ("to", to)], factory: factory)
            .increment(by: count)
    }

    func transition(from: Stage, to: Stage) {
        transition(from: from.rawValue, to: to.rawValue)
    }
}
