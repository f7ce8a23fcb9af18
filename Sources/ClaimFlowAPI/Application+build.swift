public import ClaimFlowStore
public import Hummingbird
public import Logging
public import PostgresNIO
public import ServiceLifecycle

/// Everything the HTTP application needs, built once at start-up.
public struct AppDependencies: Sendable {
    public let client: PostgresClient
    public let queue: WorkQueue
    public let signals: WorkSignals
    public let logger: Logger

    public init(client: PostgresClient, queue: WorkQueue, signals: WorkSignals, logger: Logger) {
        self.client = client
        self.queue = queue
        self.signals = signals
        self.logger = logger
    }
}

/// Where the HTTP server listens.
public struct ServerSettings: Sendable {
    public var host: String
    public var port: Int

    public init(host: String = "127.0.0.1", port: Int = 8080) {
        self.host = host
        self.port = port
    }
}

/// The router with every ClaimFlow route, shared by the server and the tests.
public func buildRouter(_ dependencies: AppDependencies) -> Router<BasicRequestContext> {
    let router = Router(context: BasicRequestContext.self)
    HealthController(client: dependencies.client, logger: dependencies.logger).addRoutes(to: router)
    return router
}

/// The ClaimFlow HTTP application. Its services (background workers) run in the
/// application's service group and shut down with it.
public func buildApplication(
    _ dependencies: AppDependencies,
    settings: ServerSettings,
    services: [any Service] = []
) -> some ApplicationProtocol {
    Application(
        router: buildRouter(dependencies),
        configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "ClaimFlow"),
        services: services,
        logger: dependencies.logger
    )
}
