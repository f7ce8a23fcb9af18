import ArgumentParser
import ClaimFlowAPI
import ClaimFlowHosting
import ClaimFlowStore
import ClaimFlowWorkers
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import PostgresNIO
import ServiceLifecycle
import UnixSignals

/// `claimflow serve`: the HTTP API and, unless disabled, the background workers.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the HTTP API and the background workers.",
        discussion: "With no DATABASE_URL, starts a private PostgreSQL in --data-dir and stops it on exit."
    )

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var server: ServerOptions
    @OptionGroup var queue: QueueOptions
    @OptionGroup var submission: SubmissionOptions
    @OptionGroup var logging: LoggingOptions

    @Flag(help: "Run only the HTTP API; run the workers with `claimflow work` elsewhere.")
    var noWorkers = false

    @Flag(help: "Do not apply pending migrations at start-up (then they must already be applied).")
    var noMigrate = false

    func run() async throws {
        let logger = try logging.makeLogger()
        // Read before the database is touched, so a bad certificate stops the server at once.
        let settings = try server.settings(logger: logger)
        try await DatabaseSession.with(database, allowEmbedded: true, maximumConnections: 2, logger: logger) { owner, url in
            try await Runtime.prepareSchema(owner, migrate: !noMigrate, logger: logger)
            try await DatabaseSession.withClient(url, role: DatabaseURL.serviceRole, logger: logger) { client in
                try await DatabaseSession.withListenClient(database, logger: logger) { listener in
                    try await Runtime(client: client, listener: listener, logger: logger, queue: queue, submission: submission)
                        .serve(settings: settings, workers: !noWorkers, databaseURL: url)
                }
            }
        }
    }
}

/// Host and port of the HTTP server, and its certificate when it serves HTTPS itself.
struct ServerOptions: ParsableArguments {
    @Option(help: "Address to listen on (env CLAIMFLOW_HOST).")
    var host: String = environment("CLAIMFLOW_HOST") ?? "127.0.0.1"

    @Option(help: "Port to listen on; 0 lets the system pick one, which the 'ClaimFlow listening' line reports (env CLAIMFLOW_PORT).")
    var port: Int = environment("CLAIMFLOW_PORT").flatMap(Int.init) ?? 8080

    @Option(
        name: .customLong("trusted-proxy"),
        help: "A proxy whose X-Forwarded-For names the client; repeat for several (env CLAIMFLOW_TRUSTED_PROXIES, comma-separated)."
    )
    var trustedProxies: [String] = (environment("CLAIMFLOW_TRUSTED_PROXIES") ?? "").split(separator: ",").map {
        $0.trimmingCharacters(in: .whitespaces)
    }

    @Option(
        name: .customLong("auth-failure-limit"),
        help:
            "Failed authentications a client address may make in a minute before every request from it is answered 429 (env CLAIMFLOW_AUTH_FAILURE_LIMIT)."
    )
    var authFailureLimit: Int = environment("CLAIMFLOW_AUTH_FAILURE_LIMIT").flatMap(Int.init) ?? 20

    @Option(
        name: .customLong("long-polls-per-user"),
        help: "Pulls with wait > 0 one user may have waiting at once; more are answered 429 (env CLAIMFLOW_LONG_POLLS_PER_USER)."
    )
    var longPollsPerUser: Int =
        environment("CLAIMFLOW_LONG_POLLS_PER_USER").flatMap(Int.init) ?? LongPollLimits.defaultPerUser

    @Option(
        name: .customLong("long-polls"),
        help: "Pulls with wait > 0 the server holds at once, all users together; more are answered 429 (env CLAIMFLOW_LONG_POLLS)."
    )
    var longPolls: Int = environment("CLAIMFLOW_LONG_POLLS").flatMap(Int.init) ?? LongPollLimits.defaultTotal

    @Option(
        name: .customLong("token-rate-limit"),
        help: "Requests one API token may make in a minute; more are answered 429 until the minute ends (env CLAIMFLOW_TOKEN_RATE_LIMIT)."
    )
    var tokenRateLimit: Int =
        environment("CLAIMFLOW_TOKEN_RATE_LIMIT").flatMap(Int.init) ?? ServerSettings.defaultTokenRequestLimit

    @Option(
        name: .customLong("tls-certificate"),
        help: "PEM file with the server's certificate, then any intermediates: serve HTTPS (env CLAIMFLOW_TLS_CERTIFICATE)."
    )
    var tlsCertificateOption: String?

    /// The flag, else `CLAIMFLOW_TLS_CERTIFICATE`; nil serves plain HTTP.
    var tlsCertificate: String? { tlsCertificateOption ?? environment("CLAIMFLOW_TLS_CERTIFICATE") }

    @Option(
        name: .customLong("tls-key"),
        help: "PEM file with the unencrypted private key of --tls-certificate (env CLAIMFLOW_TLS_KEY)."
    )
    var tlsKeyOption: String?

    var tlsKey: String? { tlsKeyOption ?? environment("CLAIMFLOW_TLS_KEY") }

    /// The server's settings, with the certificate and key read and checked when TLS is asked for.
    func settings(logger: Logger) throws -> ServerSettings {
        var settings = ServerSettings(
            host: host, port: port, trustedProxies: Set(trustedProxies), authFailureLimit: authFailureLimit,
            longPolls: LongPollLimits(perUser: longPollsPerUser, total: longPolls), tokenRequestLimit: tokenRateLimit)
        guard let tlsCertificate, let tlsKey else { return settings }
        do {
            settings.tls = try ServerTLS.configuration(certificateFile: tlsCertificate, keyFile: tlsKey)
        } catch {
            throw CLIError("cannot serve HTTPS: \(error.description)")
        }
        if let tls = settings.tls, let expiry = ServerTLS.expiry(of: tls), expiry < Date() {
            logger.warning(
                "the TLS certificate has expired; clients will refuse it",
                metadata: ["certificate": "\(tlsCertificate)", "expired": "\(expiry)"]
            )
        }
        return settings
    }

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
        switch (tlsCertificate, tlsKey) {
        case (nil, .some): throw ValidationError("--tls-key needs --tls-certificate (env CLAIMFLOW_TLS_CERTIFICATE)")
        case (.some, nil): throw ValidationError("--tls-certificate needs --tls-key (env CLAIMFLOW_TLS_KEY)")
        default: break
        }
    }
}

/// The running pieces of one ClaimFlow process, wired together.
struct Runtime {
    let client: PostgresClient
    /// The LISTEN connection's pool, when it is not `client` (`CLAIMFLOW_LISTEN_URL`).
    let listener: PostgresClient?
    let logger: Logger
    let workQueue: WorkQueue
    let submission: SubmissionOptions
    let signals = WorkSignals()

    init(client: PostgresClient, listener: PostgresClient? = nil, logger: Logger, queue: QueueOptions, submission: SubmissionOptions) {
        self.client = client
        self.listener = listener
        self.logger = logger
        self.workQueue = WorkQueue(client: client, logger: logger, leaseDuration: .seconds(queue.leaseSeconds))
        self.submission = submission
    }

    /// The LISTEN connection's service: wakes waiting pulls and the handoff check, and empties
    /// the principal cache when access changes.
    var notifier: WorkNotifier { WorkNotifier(client: listener ?? client, signals: signals, logger: logger) }

    /// The background services: the lease reaper, the handoff check and the submission batcher.
    var workerServices: [any Service] {
        [
            QueueMetricsSampler(client: client, logger: logger),
            LeaseReaper(queue: workQueue, logger: logger),
            HandoffWorker(client: client, logger: logger, signals: signals),
            SubmissionBatcher(
                client: client, queue: workQueue, outbox: submission.outboxURL, settings: submission.settings, logger: logger
            ),
        ]
    }

    /// Applies pending migrations over the owner's connection (the service role may not
    /// change the schema), or, with `migrate` false, refuses to go on with an old schema.
    static func prepareSchema(_ owner: PostgresClient, migrate: Bool, logger: Logger) async throws {
        let migrator = Migrator(client: owner, logger: logger)
        if migrate {
            let applied = try await migrator.migrate()
            if !applied.isEmpty {
                logger.info("schema migrated", metadata: ["applied": "\(applied.map(\.version))"])
            }
        } else if try await !migrator.isCurrent() {
            throw CLIError("the database schema is not current; run `claimflow migrate` first")
        }
    }

    func serve(settings: ServerSettings, workers: Bool, databaseURL: DatabaseURL) async throws {
        PrometheusMetrics.bootstrap()
        var dependencies = AppDependencies(
            client: client, queue: workQueue, signals: signals, logger: logger, x12: submission.settings,
            authFailureLimit: settings.authFailureLimit, trustedProxies: settings.trustedProxies,
            longPolls: settings.longPolls, tokenRequestLimit: settings.tokenRequestLimit
        )
        dependencies.cancelPullsOnHangUp = true
        var services: [any Service] = [notifier]
        if workers { services += workerServices }
        let base = buildApplication(dependencies, settings: settings, services: services)
        // Said once the socket is bound, with the bound port: the kernel's choice when --port is 0.
        let app = AnnouncedApplication(base: base) { [logger] boundPort in
            let port = boundPort ?? settings.port
            logger.notice(
                "ClaimFlow listening",
                metadata: [
                    "url": "\(settings.scheme)://\(settings.host):\(port)", "port": "\(port)", "database": "\(databaseURL.redacted)",
                ]
            )
        }
        // The long-poll closer comes after the server: the group shuts services down last to first,
        // so open long polls end with 204 before the server waits for in-flight requests.
        var configuration = ServiceGroupConfiguration(
            services: [app, LongPollShutdown(signals: signals)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        )
        // A stop always ends: what has not drained after 8 s is cancelled, and a process that
        // still cannot end 2 s later stops hard rather than ignoring the signal.
        configuration.maximumGracefulShutdownDuration = .seconds(8)
        configuration.maximumCancellationDuration = .seconds(2)
        let group = ServiceGroup(configuration: configuration)
        try await group.run()
    }

    func work() async throws {
        PrometheusMetrics.bootstrap()
        let group = ServiceGroup(
            configuration: .init(
                // The listener wakes the handoff check when an encounter is coded.
                services: ([notifier] + workerServices).map {
                    .init(service: $0)
                },
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        logger.notice("ClaimFlow workers running")
        try await group.run()
    }
}

/// An application that says where it listens once the socket is bound, so `--port 0`
/// reports the port the kernel picked.
struct AnnouncedApplication<Base: ApplicationProtocol>: ApplicationProtocol {
    typealias Responder = Base.Responder

    let base: Base
    let announce: @Sendable (Int?) -> Void

    var responder: Responder { get async throws { try await base.responder } }
    var server: HTTPServerBuilder { base.server }
    var eventLoopGroup: any EventLoopGroup { base.eventLoopGroup }
    var configuration: ApplicationConfiguration { base.configuration }
    var logger: Logger { base.logger }
    var services: [any Service] { base.services }
    var processesRunBeforeServerStart: [@Sendable () async throws -> Void] { base.processesRunBeforeServerStart }

    @Sendable func onServerRunning(_ channel: any Channel) async {
        await base.onServerRunning(channel)
        announce(channel.localAddress?.port)
    }
}
