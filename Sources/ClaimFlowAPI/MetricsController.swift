import Hummingbird
import Metrics
import NIOCore
public import Prometheus

/// The Prometheus side of ClaimFlow's metrics: one registry per process, swift-metrics
/// bootstrapped onto it, and `GET /metrics` rendering it (reading memory only).
public enum PrometheusMetrics {
    /// The registry every ClaimFlow metric lands in.
    public static let registry = PrometheusCollectorRegistry()

    private static let bootstrapped: Void = { MetricsSystem.bootstrap(factory(for: registry)) }()

    /// A swift-metrics factory that lands in `registry`: the process's at bootstrap, or a test's own.
    public static func factory(for registry: PrometheusCollectorRegistry) -> PrometheusMetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        // swift-metrics labels such as Hummingbird's `http.server.request.duration` become valid
        // Prometheus names (`http_server_request_duration`).
        factory.nameAndLabelSanitizer = { name, dimensions in
            (renamed[name] ?? sanitize(name), dimensions.map { (sanitize($0.0), $0.1) })
        }
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
            .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(5), .seconds(10),
            .seconds(30),
        ]
        return factory
    }

    /// Installs the Prometheus backend for swift-metrics, once per process.
    public static func bootstrap() { _ = bootstrapped }

    /// Hummingbird's counters, named as Prometheus wants counters named (`_total`).
    static let renamed = [
        "hb.requests": "http_server_requests_total",
        "hb.request.errors": "http_server_request_errors_total",
    ]

    /// What each metric means, for the `# HELP` lines Prometheus tooling expects.
    static let help: [String: String] = [
        "claimflow_queue_depth": "Work items waiting, unleased, per queue (sampled).",
        "claimflow_active_leases": "Work items leased to someone now, per queue (sampled).",
        "claimflow_queue_oldest_age_seconds": "Age of the oldest waiting work item per queue, in seconds (sampled).",
        "claimflow_transitions_total": "Encounter stage transitions, by from and to stage.",
        "claimflow_handoff_findings_total": "Findings of the handoff check, by rule.",
        "claimflow_claims": "Claim versions by status (sampled).",
        "http_server_request_duration": "HTTP request duration in seconds, by route, method and status.",
        "http_server_active_requests": "HTTP requests in progress.",
        "http_server_requests_total": "HTTP requests served.",
        "http_server_request_errors_total": "HTTP requests that failed with an error.",
    ]

    /// Adds a `# HELP` line before every metric family that has none: swift-metrics carries no
    /// help text, and the registry refuses to mix families with and without it.
    static func withHelp(_ text: String) -> String {
        var lines: [Substring] = []
        var previous: Substring = ""
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("# TYPE ") {
                let name = line.dropFirst(7).split(separator: " ").first.map(String.init) ?? ""
                if !previous.hasPrefix("# HELP \(name) ") {
                    lines.append(Substring("# HELP \(name) \(help[name] ?? "ClaimFlow metric \(name).")"))
                }
            }
            lines.append(line)
            previous = line
        }
        return lines.joined(separator: "\n")
    }

    static func sanitize(_ text: String) -> String {
        String(text.map { $0.isLetter || $0.isNumber || $0 == "_" ? $0 : "_" })
    }
}

/// `GET /metrics`, in the Prometheus text format, without a token.
struct MetricsController: Sendable {
    /// The registry rendered: the process's, or a test's own.
    let registry: PrometheusCollectorRegistry

    func addRoutes(to router: Router<ClaimFlowRequestContext>) {
        router.get("metrics") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: PrometheusMetrics.withHelp(registry.emitToString())))
            )
        }
    }
}
