import Hummingbird
import Metrics
import NIOCore
public import Prometheus

/// The Prometheus side of ClaimFlow's metrics: one registry per process, swift-metrics
/// bootstrapped onto it, and `GET /metrics` rendering it (reading memory only).
public enum PrometheusMetrics {
    /// The registry every ClaimFlow metric lands in.
    public static let registry = PrometheusCollectorRegistry()

    private static let bootstrapped: Void = {
        var factory = PrometheusMetricsFactory(registry: registry)
        // swift-metrics labels such as Hummingbird's `http.server.request.duration` become valid
        // Prometheus names (`http_server_request_duration`).
        factory.nameAndLabelSanitizer = { name, dimensions in
            (sanitize(name), dimensions.map { (sanitize($0.0), $0.1) })
        }
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
            .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(5), .seconds(10),
            .seconds(30),
        ]
        MetricsSystem.bootstrap(factory)
    }()

    /// Installs the Prometheus backend for swift-metrics, once per process.
    public static func bootstrap() { _ = bootstrapped }

    static func sanitize(_ text: String) -> String {
        String(text.map { $0.isLetter || $0.isNumber || $0 == "_" ? $0 : "_" })
    }
}

/// `GET /metrics`, in the Prometheus text format, without a token.
struct MetricsController: Sendable {
    func addRoutes(to router: Router<ClaimFlowRequestContext>) {
        router.get("metrics") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: PrometheusMetrics.registry.emitToString()))
            )
        }
    }
}
