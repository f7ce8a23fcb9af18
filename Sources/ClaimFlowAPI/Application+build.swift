public import ClaimFlowCore
public import ClaimFlowStore
import Foundation
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
    /// The envelope ClaimFlow puts on 837P output.
    public let x12: X12Settings

    public init(client: PostgresClient, queue: WorkQueue, signals: WorkSignals, logger: Logger, x12: X12Settings = X12Settings()) {
        self.client = client
        self.queue = queue
        self.signals = signals
        self.logger = logger
        self.x12 = x12
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

/// The routes, filled in once the router is built, for the 404/405 distinction.
final class RouteTable: @unchecked Sendable {
    var routes: [(method: HTTPRequest.Method, path: [Substring])] = []
}

/// The router with every ClaimFlow route, shared by the server and the tests.
///
/// Middleware is added before routes (Hummingbird binds middleware to a route when the
/// route is added): errors and request logging first, then authentication and roles per group.
public func buildRouter(_ dependencies: AppDependencies) -> Router<ClaimFlowRequestContext> {
    let client = dependencies.client
    let logger = dependencies.logger
    let queue = dependencies.queue
    let users = UserStore(client: client, logger: logger)
    let practices = PracticeStore(client: client, logger: logger)
    let encounters = EncounterStore(client: client, logger: logger, queue: queue)
    let coding = CodingStore(client: client, logger: logger, queue: queue)
    let claims = ClaimStore(client: client, logger: logger, queue: queue)
    let supervision = SupervisorStore(client: client, logger: logger)

    let table = RouteTable()
    let router = Router(context: ClaimFlowRequestContext.self)
    // Outermost, so the duration and status it records are those of the final response.
    router.add(middleware: MetricsMiddleware())
    router.add(middleware: ErrorMiddleware(table: table))

    HealthController(client: client, logger: logger).addRoutes(to: router)
    OpenAPIController().addRoutes(to: router)
    MetricsController().addRoutes(to: router)
    DashboardController(overrideDirectory: ProcessInfo.processInfo.environment["CLAIMFLOW_DASHBOARD_DIR"])
        .addRoutes(to: router)

    let api = router.group("api/v1").add(middleware: AuthMiddleware(users: users))
    IntakeController(practices: practices, encounters: encounters)
        .addRoutes(to: api.group().add(middleware: RoleMiddleware(.intake)))
    CoderController(
        queue: queue, signals: dependencies.signals, coding: coding, encounters: encounters,
        codeSets: CodeSetStore(client: client, logger: logger)
    )
    .addRoutes(to: api.group("coder").add(middleware: RoleMiddleware(.coder)))
    QueryAnswerController(coding: coding, encounters: encounters)
        .addRoutes(to: api.group("encounters").add(middleware: RoleMiddleware(.intake, .supervisor)))
    BillerController(
        queue: queue, signals: dependencies.signals, claims: claims,
        submissions: SubmissionStore(client: client, logger: logger, queue: queue), x12: dependencies.x12
    )
    .addRoutes(to: api.group("biller").add(middleware: RoleMiddleware(.biller)))
    AnswersController(answers: AnswerStore(client: client, logger: logger, queue: queue))
        .addRoutes(to: api.group().add(middleware: RoleMiddleware(.biller)))
    let supervisor = SupervisorController(
        queue: queue, supervision: supervision, encounters: encounters, practices: practices, users: users
    )
    supervisor.addRoutes(to: api.group("supervisor").add(middleware: RoleMiddleware(.supervisor)))
    supervisor.addHistoryRoute(to: api.group("encounters").add(middleware: RoleMiddleware(.supervisor)))
    AdminController(users: users, practices: practices)
        .addRoutes(to: api.group("admin").add(middleware: RoleMiddleware(.admin)))

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
        router: buildRouter(dependencies),
        configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "ClaimFlow"),
        services: services,
        logger: dependencies.logger
    )
}
