public import ClaimFlowCore
public import ClaimFlowStore
import Foundation
public import Hummingbird
import HummingbirdCore
public import HummingbirdTLS
public import Logging
public import PostgresNIO
public import Prometheus
public import ServiceLifecycle

/// Everything the HTTP application needs, built once at start-up.
public struct AppDependencies: Sendable {
    public let client: PostgresClient
    public let queue: WorkQueue
    public let signals: WorkSignals
    public let logger: Logger
    /// The envelope ClaimFlow puts on 837P output.
    public let x12: X12Settings
    /// What `GET /metrics` renders: the process's registry unless a test brings its own.
    public let metrics: PrometheusCollectorRegistry
    /// Failed authentications allowed per client address and minute before 429.
    public let authFailureLimit: Int
    /// Addresses of the proxies in front of ClaimFlow whose `X-Forwarded-For` is believed.
    public let trustedProxies: Set<String>
    /// How many pulls may wait at once, per user and in all.
    public let longPolls: LongPollLimits
    /// Requests one token may make in a minute before 429.
    public let tokenRequestLimit: Int
    /// Whether a waiting pull ends when its client hangs up (the served application; the
    /// router-mode tests have no connection to watch).
    public var cancelPullsOnHangUp = false

    public init(
        client: PostgresClient, queue: WorkQueue, signals: WorkSignals, logger: Logger, x12: X12Settings = X12Settings(),
        metrics: PrometheusCollectorRegistry = PrometheusMetrics.registry, authFailureLimit: Int = 20,
        trustedProxies: Set<String> = [], longPolls: LongPollLimits = LongPollLimits(),
        tokenRequestLimit: Int = ServerSettings.defaultTokenRequestLimit
    ) {
        self.longPolls = longPolls
        self.tokenRequestLimit = tokenRequestLimit
        self.authFailureLimit = authFailureLimit
        self.trustedProxies = trustedProxies
        self.client = client
        self.queue = queue
        self.signals = signals
        self.logger = logger
        self.x12 = x12
        self.metrics = metrics
    }
}

/// Where the HTTP server listens, and whether it speaks TLS itself.
public struct ServerSettings: Sendable {
    public var host: String
    public var port: Int
    /// Proxies in front of the server whose `X-Forwarded-For` names the client.
    public var trustedProxies: Set<String>
    /// HTTPS served directly with this certificate and key. Nil (the default) serves plain HTTP:
    /// on loopback, or behind a proxy that terminates TLS.
    public var tls: TLSConfiguration?

    /// Failed authentications a client address may make in a minute before it is refused (429).
    public var authFailureLimit: Int
    /// How many pulls may wait at once, per user and in all (429 beyond).
    public var longPolls: LongPollLimits
    /// Requests one token may make in a minute (429 beyond).
    public var tokenRequestLimit: Int
    public static let defaultTokenRequestLimit = 6_000

    public init(
        host: String = "127.0.0.1", port: Int = 8080, trustedProxies: Set<String> = [], tls: TLSConfiguration? = nil,
        authFailureLimit: Int = 20, longPolls: LongPollLimits = LongPollLimits(),
        tokenRequestLimit: Int = defaultTokenRequestLimit
    ) {
        self.longPolls = longPolls
        self.tokenRequestLimit = tokenRequestLimit
        self.host = host
        self.port = port
        self.trustedProxies = trustedProxies
        self.tls = tls
        self.authFailureLimit = authFailureLimit
    }

    /// `https` when the server speaks TLS itself, else `http`.
    public var scheme: String { tls == nil ? "http" : "https" }

    /// HTTP/1.1, inside TLS when a certificate is configured. The TLS context is built when the
    /// server starts; whoever read the certificate and key checks beforehand that it builds.
    var serverBuilder: HTTPServerBuilder {
        guard let tls else { return .http1() }
        return HTTPServerBuilder { responder in
            try TLSChannel(HTTP1Channel(responder: responder), tlsConfiguration: tls)
        }
    }
}

/// Every store the routes use, over the service's pool: controllers take this one value
/// instead of each listing the stores they need. Stores are plain values over one
/// ``Database``, so each is made where it is used.
struct APIStores: Sendable {
    let database: Database
    let queue: WorkQueue
    let signals: WorkSignals
    /// The envelope ClaimFlow puts on 837P output.
    let x12: X12Settings
    /// One for the router: every pull counts against the same limits.
    let longPolls: LongPollGate
    let cancelPullsOnHangUp: Bool

    init(_ dependencies: AppDependencies) {
        longPolls = LongPollGate(limits: dependencies.longPolls, factory: PrometheusMetrics.factory(for: dependencies.metrics))
        cancelPullsOnHangUp = dependencies.cancelPullsOnHangUp
        database = Database(client: dependencies.client, logger: dependencies.logger, metrics: dependencies.queue.database.metrics)
        queue = WorkQueue(database: database, leaseDuration: dependencies.queue.leaseDuration)
        signals = dependencies.signals
        x12 = dependencies.x12
    }

    var users: UserStore { UserStore(database: database, principals: signals.principals) }
    var practices: PracticeStore { PracticeStore(database: database) }
    var codeSets: CodeSetStore { CodeSetStore(database: database) }
    var supervision: SupervisorStore { SupervisorStore(database: database) }
    var encounters: EncounterStore { EncounterStore(queue: queue) }
    var coding: CodingStore { CodingStore(queue: queue) }
    var claims: ClaimStore { ClaimStore(queue: queue) }
    var submissions: SubmissionStore { SubmissionStore(queue: queue) }
    var answers: AnswerStore { AnswerStore(queue: queue) }
    var remittances: RemittanceStore { RemittanceStore(queue: queue) }
}

/// The routes, filled in once the router is built, for the 404/405 distinction.
final class RouteTable: @unchecked Sendable {
    var routes: [(method: HTTPRequest.Method, path: [Substring])] = []
}

/// The router with every ClaimFlow route, shared by the server and the tests.
///
/// Middleware is added before routes (Hummingbird binds middleware to a route when the
/// route is added): errors and request logging first, then authentication and roles per group.
public func buildRouter(_ dependencies: AppDependencies) -> Router<ClaimFlowRequestContext> {
    let stores = APIStores(dependencies)
    let table = RouteTable()
    let router = Router(context: ClaimFlowRequestContext.self)
    // Outermost, so the duration and status it records are those of the final response.
    router.add(middleware: MetricsMiddleware())
    router.add(middleware: ErrorMiddleware(table: table, signals: dependencies.signals))
    router.add(middleware: ForwardedClientMiddleware(trustedProxies: dependencies.trustedProxies))

    HealthController(client: dependencies.client, logger: dependencies.logger, signals: dependencies.signals).addRoutes(to: router)
    OpenAPIController().addRoutes(to: router)
    MetricsController(registry: dependencies.metrics).addRoutes(to: router)
    DashboardController(overrideDirectory: ProcessInfo.processInfo.environment["CLAIMFLOW_DASHBOARD_DIR"])
        .addRoutes(to: router)

    let failures = AuthFailureLimiter(limit: dependencies.authFailureLimit)
    let requests = AuthFailureLimiter(limit: dependencies.tokenRequestLimit)
    let api = router.group("api/v1").add(middleware: AuthMiddleware(users: stores.users, failures: failures, requests: requests))
    IntakeController(stores: stores).addRoutes(to: api.group().add(middleware: RoleMiddleware(.intake)))
    CoderController(stores: stores).addRoutes(to: api.group("coder").add(middleware: RoleMiddleware(.coder)))
    QueryAnswerController(stores: stores)
        .addRoutes(to: api.group("encounters").add(middleware: RoleMiddleware(.intake, .supervisor)))
    BillerController(stores: stores).addRoutes(to: api.group("biller").add(middleware: RoleMiddleware(.biller)))
    AnswersController(stores: stores).addRoutes(to: api.group().add(middleware: RoleMiddleware(.biller)))
    let supervisor = SupervisorController(stores: stores)
    supervisor.addRoutes(to: api.group("supervisor").add(middleware: RoleMiddleware(.supervisor)))
    supervisor.addHistoryRoute(to: api.group("encounters").add(middleware: RoleMiddleware(.supervisor)))
    AdminController(stores: stores).addRoutes(to: api.group("admin").add(middleware: RoleMiddleware(.admin)))

    table.routes = router.routes.map { route in
        (route.method, route.path.description.split(separator: "/"))
    }
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
        // The outage responder sits outside the router so that it can answer for a request lost
        // with its database connection.
        responder: DatabaseOutageResponder(base: buildRouter(dependencies).buildResponder(), signals: dependencies.signals),
        server: settings.serverBuilder,
        configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "ClaimFlow"),
        services: services,
        logger: dependencies.logger
    )
}
