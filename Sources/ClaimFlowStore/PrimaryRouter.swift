import Foundation
public import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO
import Synchronization

/// Carries the connection pool's connections on to the host of a multi-host `DATABASE_URL`
/// that ClaimFlow may use, and moves them to another host after a failover.
///
/// PostgresNIO's pool connects to one fixed address, and libpq's `host1,host2` with
/// `target_session_attrs=read-write` is not among its options; so the pool connects to this
/// router's Unix socket instead (in a folder only this process's user may enter), and the
/// router opens each connection to the host that qualifies: the first, in the URL's order,
/// that accepts writes (`read-write`), is not a standby (`primary`), or answers at all (`any`).
/// The host found is kept while it keeps qualifying: a watch asks it once a second, and when it
/// stops qualifying (a standby promoted elsewhere, the old primary back as read-only), does not
/// answer (down, or a pooler in front of it failing every login), or a new connection to it
/// fails, every connection to it is closed and the hosts are asked again. A
/// new connection waits up to five seconds for a host that qualifies (a promotion under way),
/// then fails, so the pool's own retry and the API's 503 take over.
///
/// TLS is the router's side of the connection: it asks each server for TLS as the URL's
/// `sslmode` says and checks the server's certificate against that host's own name, as libpq
/// does; the socket between the pool and the router is local and private.
public final class PrimaryRouter: Sendable {
    /// The path the pool connects to.
    public let socketPath: String
    private let folder: String
    private let url: DatabaseURL
    private let logger: Logger
    private let tls: NIOSSLContext?
    private let server: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>
    private let state = Mutex(State())

    private struct State {
        var target: DatabaseURL.Endpoint?
        var locating: Task<DatabaseURL.Endpoint, any Error>?
        var carried: [UInt64: (endpoint: DatabaseURL.Endpoint, channel: any Channel)] = [:]
        var nextID: UInt64 = 0
    }

    /// How long a new connection waits for a host that qualifies.
    static let hold: Duration = .seconds(5)
    /// How often the watch asks the chosen host whether it still qualifies.
    static let watchEvery: Duration = .seconds(1)
    /// How long one host may take to connect and answer the question.
    static let askTimeout: Duration = .seconds(3)

    /// Binds the router's socket; ``run()`` then serves it.
    public init(url: DatabaseURL, logger: Logger) async throws {
        self.url = url
        self.logger = logger
        self.tls = url.tlsMode == .disable ? nil : try NIOSSLContext(configuration: url.tlsSettings)
        // A short path: a Unix socket's path has room for about 100 bytes.
        let folder = "/tmp/claimflow-router-\(UUID().uuidString.prefix(12).lowercased())"
        try FileManager.default.createDirectory(
            atPath: folder, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        self.folder = folder
        self.socketPath = folder + "/.s.PGSQL.5432"
        do {
            server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .bind(unixDomainSocketPath: socketPath, cleanupExistingSocketFile: true) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            try? FileManager.default.removeItem(atPath: folder)
            throw error
        }
    }

    /// Serves the socket until cancelled; then closes it and every connection it carries.
    public func run() async {
        defer { try? FileManager.default.removeItem(atPath: folder) }
        await withDiscardingTaskGroup { group in
            group.addTask { await self.watch() }
            do {
                try await server.executeThenClose { inbound in
                    for try await client in inbound {
                        group.addTask { await self.carry(client) }
                    }
                }
            } catch {
                if !Task.isCancelled { logger.error("database router stopped", metadata: ["error": "\(logSafeDescription(of: error))"]) }
            }
            group.cancelAll()
        }
    }

    /// The host connections go to now, finding one if none is chosen; throws when none
    /// qualifies, with each host's reason.
    public func currentTarget() async throws -> DatabaseURL.Endpoint {
        // Many connections may ask at once after a failover: they share one round of questions.
        let (target, task): (DatabaseURL.Endpoint?, Task<DatabaseURL.Endpoint, any Error>?) = state.withLock { state in
            if let target = state.target { return (target, nil) }
            if let locating = state.locating { return (nil, locating) }
            let locating = Task { try await Self.firstUsableHost(of: self.url, logger: self.logger) }
            state.locating = locating
            return (nil, locating)
        }
        if let target { return target }
        guard let task else { throw CancellationError() }
        do {
            let target = try await task.value
            let changed = state.withLock { state in
                state.locating = nil
                defer { state.target = target }
                return state.target != target
            }
            if changed { logger.notice("database host chosen", metadata: ["host": "\(target)"]) }
            return target
        } catch {
            state.withLock { $0.locating = nil }
            throw error
        }
    }

    /// Asks every host of `url` at once and returns the first, in the URL's order, that
    /// qualifies; throws with each host's reason when none does. (The start-up check of a
    /// multi-host URL, and the router's own search.)
    public static func firstUsableHost(of url: DatabaseURL, logger: Logger) async throws -> DatabaseURL.Endpoint {
        let answers = await withTaskGroup(of: (Int, Result<Bool, any Error>).self) { group in
            for (index, endpoint) in url.endpoints.enumerated() {
                group.addTask {
                    do {
                        return (index, .success(try await qualifies(endpoint, of: url, logger: logger)))
                    } catch {
                        return (index, .failure(error))
                    }
                }
            }
            var answers: [Int: Result<Bool, any Error>] = [:]
            for await (index, answer) in group { answers[index] = answer }
            return answers
        }
        var reasons: [String] = []
        for (index, endpoint) in url.endpoints.enumerated() {
            switch answers[index] {
            case .success(true)?: return endpoint
            case .success(false)?: reasons.append("\(endpoint): does not accept writes")
            case .failure(let error)?: reasons.append("\(endpoint): \(Self.reason(error))")
            case nil: reasons.append("\(endpoint): no answer")
            }
        }
        throw NoUsableDatabaseHost(target: url.sessionTarget, reasons: reasons)
    }

    /// Whether `endpoint` is a host of `url` ClaimFlow may use, asked over a connection of its own.
    private static func qualifies(_ endpoint: DatabaseURL.Endpoint, of url: DatabaseURL, logger: Logger) async throws -> Bool {
        let connection = try await connect(to: endpoint, of: url, logger: logger)
        do {
            let answer = try await ask(connection, target: url.sessionTarget, logger: logger)
            try? await connection.close()
            return answer
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// A connection of PostgresNIO's own to `endpoint`, for asking it questions.
    private static func connect(
        to endpoint: DatabaseURL.Endpoint, of url: DatabaseURL, logger: Logger
    ) async throws
        -> PostgresConnection
    {
        var configuration: PostgresConnection.Configuration = try url.serverConfiguration(at: endpoint)
        configuration.options.connectTimeout = .init(askTimeout)
        return try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
    }

    /// The `target_session_attrs` question, on `connection`, within ``askTimeout``.
    private static func ask(
        _ connection: PostgresConnection, target: DatabaseURL.SessionTarget, logger: Logger
    ) async throws
        -> Bool
    {
        guard target != .any else { return true }
        return try await withThrowingTaskGroup(of: Bool?.self) { group in
            group.addTask {
                let rows = try await connection.query(
                    "SELECT pg_is_in_recovery(), current_setting('transaction_read_only')", logger: logger)
                for try await (inRecovery, readOnly) in rows.decode((Bool, String).self) {
                    return target == .primary ? !inRecovery : !inRecovery && readOnly == "off"
                }
                return false
            }
            group.addTask {
                try await Task.sleep(for: Self.askTimeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let answer = try await group.next() ?? nil else { throw RouterTimeout() }
            return answer
        }
    }

    /// Forgets `endpoint` as the chosen host and closes every connection carried to it.
    private func forget(_ endpoint: DatabaseURL.Endpoint) {
        let channels = state.withLock { state -> [any Channel] in
            guard state.target == endpoint else { return [] }
            state.target = nil
            return state.carried.values.filter { $0.endpoint == endpoint }.map(\.channel)
        }
        if !channels.isEmpty || url.endpoints.count > 1 {
            logger.warning("database host no longer used", metadata: ["host": "\(endpoint)", "connections_closed": "\(channels.count)"])
        }
        for channel in channels { channel.close(promise: nil) }
    }

    /// Asks the chosen host once a second whether it still qualifies, over one connection
    /// kept for the purpose.
    private func watch() async {
        var watched: (endpoint: DatabaseURL.Endpoint, connection: PostgresConnection)?
        while !Task.isCancelled {
            do { try await Task.sleep(for: Self.watchEvery) } catch { break }
            guard let target = state.withLock({ $0.target }) else { continue }
            do {
                if watched?.endpoint != target {
                    if let old = watched { try? await old.connection.close() }
                    watched = nil
                    watched = (target, try await Self.connect(to: target, of: url, logger: logger))
                }
                if let current = watched, try await !Self.ask(current.connection, target: url.sessionTarget, logger: logger) {
                    forget(target)
                }
            } catch {
                // No answer is no longer qualifying: a pooler in front of a node that is down
                // still accepts connections (and fails each login), so waiting for connections
                // to fail would keep them there. The hosts are asked again; the next question
                // goes over a fresh connection.
                if let old = watched { try? await old.connection.close() }
                watched = nil
                forget(target)
            }
        }
        if let old = watched { try? await old.connection.close() }
    }

    /// Carries one connection of the pool to the chosen host until either side closes it.
    private func carry(_ client: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
        let opened: (endpoint: DatabaseURL.Endpoint, channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>)
        do {
            opened = try await open()
        } catch {
            logger.debug("database router could not open a connection", metadata: ["error": "\(Self.reason(error))"])
            client.channel.close(promise: nil)
            return
        }
        let id = state.withLock { state in
            state.nextID += 1
            state.carried[state.nextID] = (opened.endpoint, opened.channel.channel)
            return state.nextID
        }
        defer { _ = state.withLock { $0.carried.removeValue(forKey: id) } }
        do {
            try await client.executeThenClose { fromPool, toPool in
                try await opened.channel.executeThenClose { fromServer, toServer in
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask { for try await bytes in fromPool { try await toServer.write(bytes) } }
                        group.addTask { for try await bytes in fromServer { try await toPool.write(bytes) } }
                        // Either side closing ends the connection on both.
                        try await group.next()
                        group.cancelAll()
                    }
                }
            }
        } catch {
            // A side that closed mid-write: both are closed by now.
        }
    }

    /// A connection to the chosen host, waiting up to ``hold`` for one that qualifies.
    private func open() async throws -> (endpoint: DatabaseURL.Endpoint, channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>) {
        let deadline = ContinuousClock.now + Self.hold
        while true {
            do {
                let endpoint = try await currentTarget()
                do {
                    return (endpoint, try await connect(to: endpoint))
                } catch {
                    forget(endpoint)
                    throw error
                }
            } catch {
                guard ContinuousClock.now < deadline, !Task.isCancelled else { throw error }
                try await Task.sleep(for: .milliseconds(250))
            }
        }
    }

    /// A TCP connection to `endpoint`, with TLS as the URL's `sslmode` asks.
    private func connect(to endpoint: DatabaseURL.Endpoint) async throws -> NIOAsyncChannel<ByteBuffer, ByteBuffer> {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.init(Self.askTimeout))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connect(host: endpoint.host, port: endpoint.port).get()
        do {
            if let tls {
                let negotiation = channel.eventLoop.makePromise(of: Bool.self)
                try await channel.eventLoop.submit {
                    try channel.pipeline.syncOperations.addHandler(TLSRequest(answer: negotiation))
                }.get()
                if try await negotiation.futureResult.get() {
                    // An IP address is no server name (SNI); the certificate is then checked
                    // against the address, as PostgresNIO does.
                    let name = Self.isAddress(endpoint.host) ? nil : endpoint.host
                    try await channel.eventLoop.submit {
                        try channel.pipeline.syncOperations.addHandler(
                            try NIOSSLClientHandler(context: tls, serverHostname: name), position: .first)
                    }.get()
                } else if url.tlsMode != .prefer {
                    throw TLSRefused(endpoint: endpoint)
                }
            }
            return try await channel.eventLoop.submit {
                try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
            }.get()
        } catch {
            channel.close(promise: nil)
            throw error
        }
    }

    private static func isAddress(_ host: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }

    /// A failure in a few words, without anything a server message could quote.
    static func reason(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] { return message }
            if let underlying = error.underlying { return String(describing: underlying) }
            return "\(error.code)"
        }
        return logSafeDescription(of: error)
    }
}

/// No host of a multi-host `DATABASE_URL` qualifies for ClaimFlow's connections.
public struct NoUsableDatabaseHost: Error, CustomStringConvertible {
    public let target: DatabaseURL.SessionTarget
    /// Each host, with why it was passed over.
    public let reasons: [String]

    public var description: String {
        "no database host is usable (target_session_attrs=\(target.rawValue)): " + reasons.joined(separator: "; ")
    }
}

/// A host asked whether it qualifies did not answer in time.
struct RouterTimeout: Error, CustomStringConvertible {
    var description: String { "no answer within \(PrimaryRouter.askTimeout)" }
}

/// The server would not speak TLS, which the URL's `sslmode` requires.
struct TLSRefused: Error, CustomStringConvertible {
    let endpoint: DatabaseURL.Endpoint
    var description: String { "\(endpoint) does not accept TLS, which sslmode requires" }
}

/// PostgreSQL's SSLRequest: sent as the connection opens; the server's one-byte answer says
/// whether TLS follows (`S`) or not (`N`). Removes itself once answered.
private final class TLSRequest: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    private let answer: EventLoopPromise<Bool>
    private var answered = false

    init(answer: EventLoopPromise<Bool>) { self.answer = answer }

    func handlerAdded(context: ChannelHandlerContext) {
        var request = context.channel.allocator.buffer(capacity: 8)
        request.writeInteger(UInt32(8))
        request.writeInteger(UInt32(80_877_103))
        context.writeAndFlush(NIOAny(request), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        // The answer is one byte, alone: anything more before the TLS handshake is not PostgreSQL.
        switch bytes.readableBytes == 1 ? bytes.readInteger(as: UInt8.self) : nil {
        case UInt8(ascii: "S"):
            settle(.success(true))
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        case UInt8(ascii: "N"):
            settle(.success(false))
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        default:
            settle(.failure(TLSNegotiationFailed()))
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        settle(.failure(TLSNegotiationFailed()))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        settle(.failure(error))
        context.close(promise: nil)
    }

    private func settle(_ result: Result<Bool, any Error>) {
        guard !answered else { return }
        answered = true
        answer.completeWith(result)
    }
}

private struct TLSNegotiationFailed: Error, CustomStringConvertible {
    var description: String { "the server answered the TLS request with something else" }
}
