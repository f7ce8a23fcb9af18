import Foundation
public import Logging
import NIOSSL
public import PostgresNIO

/// Where ClaimFlow's PostgreSQL is, parsed from a `postgres://` URL (the `DATABASE_URL`).
///
/// Accepted forms: `postgres://user:password@host:port/database?sslmode=MODE` and, for a Unix
/// socket, `postgres://user@/database?host=/socket/directory`. `sslmode` is `disable`,
/// `prefer` (the default, as libpq), `require` (encrypt, no certificate check), `verify-ca`
/// (the server's certificate must chain to a trusted CA) or `verify-full` (and name the host).
/// `sslrootcert` names the CA file to trust (`system`: the system's roots); without it the
/// verifying modes trust the system's roots. As in libpq, `prefer` and `require` with a CA file
/// check the chain as `verify-ca` does.
///
/// Several hosts, as libpq takes them (`postgres://user:password@h1:5432,h2:5432/database`),
/// with `target_session_attrs=read-write` (or `primary`): ClaimFlow uses whichever host accepts
/// writes, and after a failover finds the new one by itself (see ``PrimaryRouter``); with
/// `any` (the default) the first host that answers.
public struct DatabaseURL: Sendable, CustomStringConvertible {
    /// How to use TLS, in libpq's words.
    public enum TLSMode: String, Sendable {
        case disable
        case prefer
        case require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    /// Which certificate authorities a verified server certificate must chain to.
    public enum RootCertificates: Sendable, Hashable {
        /// The system's trusted roots.
        case system
        /// The CA certificates (PEM) in this file.
        case file(String)
    }

    /// One server of the URL.
    public struct Endpoint: Sendable, Hashable, CustomStringConvertible {
        public var host: String
        public var port: Int

        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }

        public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    }

    /// Which of several hosts a session may use, in libpq's words (`target_session_attrs`).
    public enum SessionTarget: String, Sendable {
        /// The first host that answers.
        case any
        /// A host whose sessions accept writes (`transaction_read_only` is off).
        case readWrite = "read-write"
        /// A host that is not in recovery (not a standby).
        case primary
    }

    /// The first (or only) host; nil for a Unix socket.
    public var host: String?
    /// The first host's port (the socket's, for a Unix socket).
    public var port: Int
    /// Every host, in the URL's order; empty for a Unix socket.
    public var endpoints: [Endpoint]
    /// `target_session_attrs`.
    public var sessionTarget: SessionTarget
    public var socketDirectory: String?
    public var username: String
    public var password: String?
    public var database: String
    public var tlsMode: TLSMode
    /// `sslrootcert`: the CAs to trust; nil when the URL names none.
    public var rootCertificates: RootCertificates?

    /// A local Unix-socket address (used by the embedded PostgreSQL).
    public init(socketDirectory: String, port: Int = 5432, username: String, database: String) {
        self.host = nil
        self.port = port
        self.endpoints = []
        self.sessionTarget = .any
        self.socketDirectory = socketDirectory
        self.username = username
        self.password = nil
        self.database = database
        self.tlsMode = .disable
        self.rootCertificates = nil
    }

    /// Parses a `postgres://` or `postgresql://` URL.
    public init(_ text: String) throws(InvalidDatabaseURL) {
        // URLComponents takes one host; a list (`h1:5432,h2:5433`) is split off first and the
        // rest of the URL parsed with the first host in its place.
        let (singleHost, listed) = try Self.splitHosts(text)
        guard let components = URLComponents(string: singleHost),
            let scheme = components.scheme?.lowercased(),
            scheme == "postgres" || scheme == "postgresql"
        else {
            throw InvalidDatabaseURL(reason: "expected postgres://user:password@host:port/database")
        }
        var query: [String: String] = [:]
        for item in components.queryItems ?? [] { query[item.name] = item.value ?? "" }

        // The path is split while still encoded, so an encoded `/` (`%2F`) is part of the name;
        // each part is then decoded exactly once (`%2541` is `%41`, not `A`).
        let encodedPath = components.percentEncodedPath
        let path = encodedPath.hasPrefix("/") ? String(encodedPath.dropFirst()) : encodedPath
        guard !path.isEmpty, !path.contains("/"), let database = path.removingPercentEncoding else {
            throw InvalidDatabaseURL(reason: "the URL names no database (postgres://user@host:port/DATABASE)")
        }
        // URLComponents' `user` and `password` are already decoded.
        guard let user = components.user, !user.isEmpty else {
            throw InvalidDatabaseURL(reason: "the URL names no user (postgres://USER@host:port/database)")
        }
        self.username = user
        self.password = components.password
        self.database = database
        self.port = components.port ?? 5432
        guard (1...65535).contains(self.port) else {
            throw InvalidDatabaseURL(reason: "port \(self.port) is out of range")
        }

        if let socketHost = query["host"], socketHost.hasPrefix("/") {
            self.socketDirectory = socketHost
            self.host = nil
        } else if let host = components.host, !host.isEmpty {
            self.host = host
            self.socketDirectory = nil
        } else {
            throw InvalidDatabaseURL(reason: "the URL names no host (postgres://user@HOST:port/database)")
        }
        if socketDirectory != nil {
            guard listed == nil else { throw InvalidDatabaseURL(reason: "a Unix socket takes no list of hosts") }
            self.endpoints = []
        } else {
            self.endpoints = listed ?? [Endpoint(host: host ?? "", port: port)]
        }

        switch query["target_session_attrs"] ?? "any" {
        case "any": self.sessionTarget = .any
        case "read-write": self.sessionTarget = .readWrite
        case "primary": self.sessionTarget = .primary
        case let other:
            // ClaimFlow writes on every connection: a target that may be a standby cannot serve it.
            throw InvalidDatabaseURL(
                reason: "target_session_attrs '\(other)' is not for ClaimFlow, which writes: use read-write, primary or any")
        }

        switch query["sslrootcert"] {
        case nil: self.rootCertificates = nil
        case "system": self.rootCertificates = .system
        case let path?:
            guard !path.isEmpty else { throw InvalidDatabaseURL(reason: "sslrootcert names no file") }
            self.rootCertificates = .file(path)
        }

        // As libpq: `sslrootcert=system` makes `verify-full` the default and refuses weaker modes.
        let mode = query["sslmode"] ?? (rootCertificates == .system ? "verify-full" : "prefer")
        switch mode {
        case "disable", "allow": self.tlsMode = .disable
        case "prefer": self.tlsMode = .prefer
        case "require": self.tlsMode = .require
        case "verify-ca": self.tlsMode = .verifyCA
        case "verify-full": self.tlsMode = .verifyFull
        default: throw InvalidDatabaseURL(reason: "unknown sslmode '\(mode)'")
        }
        if rootCertificates == .system, tlsMode != .verifyFull {
            throw InvalidDatabaseURL(reason: "sslrootcert=system needs sslmode=verify-full")
        }
    }

    /// Whether connections go through a ``PrimaryRouter``: several hosts, or a host that must
    /// be checked for writes.
    public var needsRouter: Bool { endpoints.count > 1 || (sessionTarget != .any && !endpoints.isEmpty) }

    /// Where the server is, for messages and logs: never the password.
    public var description: String {
        if let socketDirectory { return "\(socketDirectory)/.s.PGSQL.\(port) database \(database)" }
        let hosts = endpoints.map(\.description).joined(separator: ",")
        return "\(hosts) database \(database)" + (sessionTarget == .any ? "" : " (\(sessionTarget.rawValue))")
    }

    /// `text` with a list of hosts replaced by its first, and the list; nil when there is no
    /// list (one host, or none).
    private static func splitHosts(_ text: String) throws(InvalidDatabaseURL) -> (String, [Endpoint]?) {
        guard let schemeEnd = text.range(of: "://") else { return (text, nil) }
        let rest = text[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        let hostsStart = authority.lastIndex(of: "@").map { authority.index(after: $0) } ?? authority.startIndex
        let hostList = authority[hostsStart...]
        guard hostList.contains(",") else { return (text, nil) }
        var endpoints: [Endpoint] = []
        for entry in hostList.split(separator: ",", omittingEmptySubsequences: false) {
            endpoints.append(try endpoint(String(entry)))
        }
        let first = endpoints[0]
        let replaced = text[..<hostList.startIndex] + first.description + text[hostList.endIndex...]
        return (String(replaced), endpoints)
    }

    /// One `host[:port]` of a list (`[v6]:port` for an IPv6 address); the port defaults to 5432.
    private static func endpoint(_ entry: String) throws(InvalidDatabaseURL) -> Endpoint {
        var host = Substring(entry)
        var portText: Substring?
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { throw InvalidDatabaseURL(reason: "unclosed [ in host '\(entry)'") }
            let after = host[host.index(after: close)...]
            if after.hasPrefix(":") {
                portText = after.dropFirst()
            } else if !after.isEmpty {
                throw InvalidDatabaseURL(reason: "host '\(entry)' is not host:port")
            }
            host = host[host.index(after: host.startIndex)..<close]
        } else if let colon = host.lastIndex(of: ":") {
            portText = host[host.index(after: colon)...]
            host = host[..<colon]
        }
        guard !host.isEmpty else { throw InvalidDatabaseURL(reason: "a host of the list is empty") }
        var port = 5432
        if let portText {
            guard let value = Int(portText), (1...65535).contains(value) else {
                throw InvalidDatabaseURL(reason: "port '\(portText)' of host '\(host)' is not a port")
            }
            port = value
        }
        return Endpoint(host: String(host).removingPercentEncoding ?? String(host), port: port)
    }

    /// The same URL with every part except the password.
    /// User and database are percent-encoded again, so the text reads back as the same address.
    public var redacted: String {
        let user = Self.encoded(username)
        let name = Self.encoded(database)
        if let socketDirectory { return "postgres://\(user)@/\(name)?host=\(Self.encoded(socketDirectory, keeping: "/"))" }
        let hostPart = endpoints.map(\.description).joined(separator: ",")
        var text = "postgres://\(user)@\(hostPart)/\(name)?sslmode=\(tlsMode.rawValue)"
        if sessionTarget != .any { text += "&target_session_attrs=\(sessionTarget.rawValue)" }
        switch rootCertificates {
        case nil: break
        case .system: text += "&sslrootcert=system"
        case .file(let path): text += "&sslrootcert=\(Self.encoded(path, keeping: "/"))"
        }
        return text
    }

    /// `text` with every character but ASCII letters, digits, `-._~` and `kept` percent-encoded.
    private static func encoded(_ text: String, keeping kept: String = "") -> String {
        let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~" + kept)
        return text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }

    /// TLS as the mode asks, as libpq reads it: `verify-full` checks the server's certificate
    /// chain and that it names the host; `verify-ca` checks the chain only; `prefer` and
    /// `require` encrypt without a check, unless `sslrootcert` names a CA file, then they check
    /// the chain as `verify-ca` does. The chain must lead to the `sslrootcert` CAs, else to the
    /// system's roots.
    var tlsSettings: TLSConfiguration {
        var settings = TLSConfiguration.makeClientConfiguration()
        switch rootCertificates {
        case .file(let path): settings.trustRoots = .file(path)
        case .system, nil: settings.trustRoots = .default
        }
        switch tlsMode {
        case .verifyFull:
            settings.certificateVerification = .fullVerification
        case .verifyCA:
            settings.certificateVerification = .noHostnameVerification
        case .disable, .prefer, .require:
            if case .file = rootCertificates {
                settings.certificateVerification = .noHostnameVerification
            } else {
                settings.certificateVerification = .none
            }
        }
        return settings
    }

    /// A copy of this address naming another database on the same server.
    public func with(database: String) -> DatabaseURL {
        var copy = self
        copy.database = database
        return copy
    }

    /// The role the service's connections take on (`SET ROLE` at connect): it may append
    /// audit events but not change them. Migrations run without it, as the schema's owner.
    public static let serviceRole = "claimflow_app"

    /// The PostgresNIO client configuration for this address; with `role`, every connection
    /// runs as that role.
    /// With `routerSocket`, the pool connects to a ``PrimaryRouter``'s socket, which carries
    /// each connection on to the right host (with TLS as this URL asks).
    public func clientConfiguration(
        maximumConnections: Int = 20, role: String? = nil, routerSocket: String? = nil
    ) -> PostgresClient.Configuration {
        var configuration: PostgresClient.Configuration =
            if let routerSocket {
                PostgresClient.Configuration(unixSocketPath: routerSocket, username: username, password: password, database: database)
            } else {
                serverConfiguration()
            }
        configuration.options.maximumConnections = maximumConnections
        configuration.options.connectTimeout = .seconds(10)
        configuration.options.additionalStartupParameters = [("application_name", "claimflow")]
        if let role { configuration.options.additionalStartupParameters.append(("role", role)) }
        return configuration
    }

    /// This address as either of PostgresNIO's configurations, the pool's or one connection's:
    /// to `endpoint`, else the first host.
    func serverConfiguration<Configuration: ServerConfiguration>(
        at endpoint: Endpoint? = nil
    ) throws(Configuration.Failure) -> Configuration {
        if let socketDirectory {
            return Configuration(
                unixSocketPath: "\(socketDirectory)/.s.PGSQL.\(port)", username: username, password: password, database: database
            )
        }
        let target = endpoint ?? endpoints.first ?? Endpoint(host: host ?? "localhost", port: port)
        return Configuration(
            host: target.host, port: target.port, username: username, password: password, database: database,
            tls: try Configuration.tls(tlsMode, tlsSettings)
        )
    }
}

extension DatabaseURL {
    /// Opens one connection and closes it again, so a bad address, a refused connection or
    /// a failed login is reported at once with its cause (the pool would retry silently).
    public func checkConnection(logger: Logger) async throws {
        var configuration: PostgresConnection.Configuration = try serverConfiguration()
        configuration.options.connectTimeout = .seconds(10)
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
        try await connection.close()
    }
}

/// PostgresNIO's pool and single-connection configurations take an address alike but their
/// TLS differently; this lets ``DatabaseURL/serverConfiguration()`` build either.
protocol ServerConfiguration {
    associatedtype TLS
    associatedtype Failure: Error
    init(host: String, port: Int, username: String, password: String?, database: String?, tls: TLS)
    init(unixSocketPath: String, username: String, password: String?, database: String?)
    /// TLS as `mode` asks, with `settings`.
    static func tls(_ mode: DatabaseURL.TLSMode, _ settings: TLSConfiguration) throws(Failure) -> TLS
}

extension PostgresClient.Configuration: ServerConfiguration {
    static func tls(_ mode: DatabaseURL.TLSMode, _ settings: TLSConfiguration) -> TLS {
        switch mode {
        case .disable: .disable
        case .prefer: .prefer(settings)
        case .require, .verifyCA, .verifyFull: .require(settings)
        }
    }
}

extension PostgresConnection.Configuration: ServerConfiguration {
    /// A single connection takes a ready TLS context, which may fail to build.
    static func tls(_ mode: DatabaseURL.TLSMode, _ settings: TLSConfiguration) throws -> TLS {
        guard mode != .disable else { return .disable }
        let context = try NIOSSLContext(configuration: settings)
        return mode == .prefer ? .prefer(context) : .require(context)
    }
}

/// A `DATABASE_URL` that cannot be used, with the reason in words.
public struct InvalidDatabaseURL: Error, Sendable, CustomStringConvertible {
    public let reason: String

    public var description: String { "DATABASE_URL is not a usable PostgreSQL URL: \(reason)" }
}
