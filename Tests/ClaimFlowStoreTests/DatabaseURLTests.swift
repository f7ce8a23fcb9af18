import NIOSSL
import PostgresNIO
import Testing

@testable import ClaimFlowStore

@Suite("DATABASE_URL parsing")
struct DatabaseURLTests {
    /// What a URL should come to.
    struct Parsed: Sendable, CustomTestStringConvertible {
        let url: String
        var host: String? = nil
        var port = 5432
        var socketDirectory: String? = nil
        var username = "app"
        var password: String? = nil
        var database = "claims"
        var tlsMode = DatabaseURL.TLSMode.prefer

        var testDescription: String { url }
    }

    static let valid: [Parsed] = [
        Parsed(
            url: "postgres://app:secret@db.example.com:6543/claims?sslmode=disable", host: "db.example.com", port: 6543,
            password: "secret", tlsMode: .disable),
        Parsed(url: "postgresql://app@db.example.com/claims?sslmode=prefer", host: "db.example.com", tlsMode: .prefer),
        // No sslmode is prefer, as in libpq.
        Parsed(url: "postgres://app@db.example.com/claims", host: "db.example.com", tlsMode: .prefer),
        Parsed(url: "postgres://app@db.example.com/claims?sslmode=require", host: "db.example.com", tlsMode: .require),
        Parsed(url: "postgres://app@db.example.com/claims?sslmode=verify-ca", host: "db.example.com", tlsMode: .verifyCA),
        Parsed(url: "postgres://app@db.example.com/claims?sslmode=verify-full", host: "db.example.com", tlsMode: .verifyFull),
        Parsed(url: "postgres://app@db.example.com/claims?sslmode=allow", host: "db.example.com", tlsMode: .disable),
        Parsed(url: "POSTGRES://app@db.example.com/claims?application_name=x", host: "db.example.com"),
        // User, password and database are percent-decoded.
        Parsed(
            url: "postgres://cl%40im:p%40ss%2Fw%3Ard@db.example.com/claim%20flow", host: "db.example.com", username: "cl@im",
            password: "p@ss/w:rd", database: "claim flow"),
        // Decoded once only: `%25` is a literal `%`, so `%2541` stays `%41` and is not read as `A`.
        Parsed(
            url: "postgres://a%2541b:p%2541ss@db.example.com/c%2541d", host: "db.example.com", username: "a%41b",
            password: "p%41ss", database: "c%41d"),
        Parsed(
            url: "postgres://a%25b:p%25%2525@db.example.com/claims%25", host: "db.example.com", username: "a%b",
            password: "p%%25", database: "claims%"),
        Parsed(
            url: "postgres://a%40b:p%40ss@db.example.com/claims%40east", host: "db.example.com", username: "a@b",
            password: "p@ss", database: "claims@east"),
        Parsed(
            url: "postgres://a%2540b:p%2540ss@db.example.com/claims%2540east", host: "db.example.com", username: "a%40b",
            password: "p%40ss", database: "claims%40east"),
        // An encoded slash is part of the name, not a path separator.
        Parsed(
            url: "postgres://a%2Fb:p%2Fss@db.example.com/claim%2Fflow", host: "db.example.com", username: "a/b",
            password: "p/ss", database: "claim/flow"),
        Parsed(
            url: "postgres://a%252Fb:p%252Fss@db.example.com/claim%252Fflow", host: "db.example.com", username: "a%2Fb",
            password: "p%2Fss", database: "claim%2Fflow"),
        Parsed(
            url: "postgres://a%2Fb:p%2Fss@/claim%2Fflow?host=/tmp/pg", socketDirectory: "/tmp/pg", username: "a/b", password: "p/ss",
            database: "claim/flow"),
        // Unix sockets: the directory in `host=`, the port naming the socket file.
        Parsed(url: "postgres://app@/claims?host=/var/run/postgresql", socketDirectory: "/var/run/postgresql"),
        Parsed(url: "postgres://app@:6543/claims?host=/tmp/pg", port: 6543, socketDirectory: "/tmp/pg"),
        Parsed(url: "postgres://app@/claims?host=%2Fvar%2Frun%2Fpostgresql", socketDirectory: "/var/run/postgresql"),
        Parsed(
            url: "postgres://app:secret@/claims?host=%2Ftmp%2Fclaim%20flow%2Fsockets&sslmode=disable",
            socketDirectory: "/tmp/claim flow/sockets", password: "secret", tlsMode: .disable),
        // A socket directory wins over a host name.
        Parsed(url: "postgres://app@db.example.com/claims?host=/var/run/postgresql", socketDirectory: "/var/run/postgresql"),
    ]

    @Test("a usable URL gives its host or socket, port, user, password, database and sslmode", arguments: valid)
    func parses(_ expected: Parsed) throws {
        let url = try DatabaseURL(expected.url)
        #expect(url.host == expected.host)
        #expect(url.port == expected.port)
        #expect(url.socketDirectory == expected.socketDirectory)
        #expect(url.username == expected.username)
        #expect(url.password == expected.password)
        #expect(url.database == expected.database)
        #expect(url.tlsMode == expected.tlsMode)

        // The connection PostgresNIO makes: TCP to the host, or the socket file in the directory.
        let configuration = url.clientConfiguration()
        if let directory = expected.socketDirectory {
            #expect(configuration.unixSocketPath == "\(directory)/.s.PGSQL.\(expected.port)")
            #expect(configuration.host == nil)
            #expect(url.description == "\(directory)/.s.PGSQL.\(expected.port) database \(expected.database)")
        } else {
            #expect(configuration.host == expected.host)
            #expect(configuration.port == expected.port)
            #expect(configuration.unixSocketPath == nil)
        }
        #expect(configuration.username == expected.username)
        #expect(configuration.database == expected.database)
        // The password is never shown.
        if let password = expected.password {
            #expect(!url.description.contains(password) && !url.redacted.contains(password))
        }
        // The redacted form reads back as the same user and database, and for TCP the same
        // address; a socket's, the same directory.
        let again = try DatabaseURL(url.redacted)
        #expect(again.username == url.username && again.database == url.database && again.password == nil)
        if url.socketDirectory == nil {
            #expect(again.host == url.host && again.port == url.port && again.tlsMode == url.tlsMode)
            #expect(again.rootCertificates == url.rootCertificates)
        } else {
            #expect(again.socketDirectory == url.socketDirectory)
        }
    }

    /// What TLS an `sslmode` (and `sslrootcert`) should come to, as libpq reads them.
    struct TLSCase: Sendable, CustomTestStringConvertible {
        let query: String
        let mode: DatabaseURL.TLSMode
        let verification: CertificateVerification
        var roots: NIOSSLTrustRoots = .default
        var rootCertificates: DatabaseURL.RootCertificates? = nil

        var testDescription: String { query }
    }

    static let tlsCases: [TLSCase] = [
        TLSCase(query: "sslmode=disable", mode: .disable, verification: .none),
        TLSCase(query: "sslmode=allow", mode: .disable, verification: .none),
        TLSCase(query: "", mode: .prefer, verification: .none),
        TLSCase(query: "sslmode=prefer", mode: .prefer, verification: .none),
        TLSCase(query: "sslmode=require", mode: .require, verification: .none),
        // verify-ca: the chain is checked (against the system's roots without sslrootcert), the host name not.
        TLSCase(query: "sslmode=verify-ca", mode: .verifyCA, verification: .noHostnameVerification),
        TLSCase(
            query: "sslmode=verify-ca&sslrootcert=/etc/claimflow/ca.pem", mode: .verifyCA, verification: .noHostnameVerification,
            roots: .file("/etc/claimflow/ca.pem"), rootCertificates: .file("/etc/claimflow/ca.pem")),
        // verify-full: the chain and the host name.
        TLSCase(query: "sslmode=verify-full", mode: .verifyFull, verification: .fullVerification),
        TLSCase(
            query: "sslmode=verify-full&sslrootcert=%2Fetc%2Fclaim%20flow%2Fca.pem", mode: .verifyFull,
            verification: .fullVerification, roots: .file("/etc/claim flow/ca.pem"),
            rootCertificates: .file("/etc/claim flow/ca.pem")),
        TLSCase(
            query: "sslmode=verify-full&sslrootcert=system", mode: .verifyFull, verification: .fullVerification,
            rootCertificates: .system),
        // sslrootcert=system alone means verify-full, as in libpq.
        TLSCase(query: "sslrootcert=system", mode: .verifyFull, verification: .fullVerification, rootCertificates: .system),
        // With a CA file, prefer and require check the chain as verify-ca does, as in libpq.
        TLSCase(
            query: "sslmode=require&sslrootcert=/etc/claimflow/ca.pem", mode: .require, verification: .noHostnameVerification,
            roots: .file("/etc/claimflow/ca.pem"), rootCertificates: .file("/etc/claimflow/ca.pem")),
        TLSCase(
            query: "sslrootcert=/etc/claimflow/ca.pem", mode: .prefer, verification: .noHostnameVerification,
            roots: .file("/etc/claimflow/ca.pem"), rootCertificates: .file("/etc/claimflow/ca.pem")),
    ]

    @Test("each sslmode gives libpq's certificate check and trust roots", arguments: tlsCases)
    func tlsSettings(_ expected: TLSCase) throws {
        let url = try DatabaseURL("postgres://app@db.example.com/claims?\(expected.query)")
        #expect(url.tlsMode == expected.mode)
        #expect(url.rootCertificates == expected.rootCertificates)
        let settings = url.tlsSettings
        #expect(settings.certificateVerification == expected.verification)
        #expect(settings.trustRoots == expected.roots)
        // The redacted form keeps the mode and the CAs.
        let again = try DatabaseURL(url.redacted)
        #expect(again.tlsMode == url.tlsMode && again.rootCertificates == url.rootCertificates)
    }

    static let invalid: [(url: String, reason: String)] = [
        ("", "expected postgres://user:password@host:port/database"),
        ("not a url", "expected postgres://user:password@host:port/database"),
        ("mysql://app@db.example.com/claims", "expected postgres://user:password@host:port/database"),
        ("http://app@db.example.com/claims", "expected postgres://user:password@host:port/database"),
        ("postgres://app@db.example.com", "the URL names no database (postgres://user@host:port/DATABASE)"),
        ("postgres://app@db.example.com/", "the URL names no database (postgres://user@host:port/DATABASE)"),
        ("postgres://app@db.example.com/claims/more", "the URL names no database (postgres://user@host:port/DATABASE)"),
        ("postgres://db.example.com/claims", "the URL names no user (postgres://USER@host:port/database)"),
        ("postgres://:secret@db.example.com/claims", "the URL names no user (postgres://USER@host:port/database)"),
        ("postgres://app@/claims", "the URL names no host (postgres://user@HOST:port/database)"),
        ("postgres://app@/claims?host=", "the URL names no host (postgres://user@HOST:port/database)"),
        // A socket directory must be absolute.
        ("postgres://app@/claims?host=run/postgresql", "the URL names no host (postgres://user@HOST:port/database)"),
        ("postgres://app@db.example.com:0/claims", "port 0 is out of range"),
        ("postgres://app@db.example.com:70000/claims", "port 70000 is out of range"),
        ("postgres://app@db.example.com/claims?sslmode=bogus", "unknown sslmode 'bogus'"),
        ("postgres://app@db.example.com/claims?sslmode=", "unknown sslmode ''"),
        // Modes are lower case, as in libpq.
        ("postgres://app@db.example.com/claims?sslmode=REQUIRE", "unknown sslmode 'REQUIRE'"),
        ("postgres://app@db.example.com/claims?sslmode=verify-full&sslrootcert=", "sslrootcert names no file"),
        // As libpq: the system's roots only with the host name checked.
        ("postgres://app@db.example.com/claims?sslmode=verify-ca&sslrootcert=system", "sslrootcert=system needs sslmode=verify-full"),
        ("postgres://app@db.example.com/claims?sslmode=require&sslrootcert=system", "sslrootcert=system needs sslmode=verify-full"),
        ("postgres://app@db.example.com/claims?sslmode=disable&sslrootcert=system", "sslrootcert=system needs sslmode=verify-full"),
    ]

    @Test("an unusable URL is refused with the reason in words", arguments: invalid)
    func refuses(_ url: String, _ reason: String) {
        let error = #expect(throws: InvalidDatabaseURL.self) { try DatabaseURL(url) }
        #expect(error?.reason == reason)
        #expect(error?.description == "DATABASE_URL is not a usable PostgreSQL URL: \(reason)")
    }

    /// libpq's list of hosts, each with its port or 5432, and `target_session_attrs`.
    static let multiHost: [(url: String, endpoints: [String], target: DatabaseURL.SessionTarget, router: Bool)] = [
        ("postgres://app:pw@h1:5432,h2:5433/claims?target_session_attrs=read-write", ["h1:5432", "h2:5433"], .readWrite, true),
        ("postgres://app@h1,h2,h3:6000/claims", ["h1:5432", "h2:5432", "h3:6000"], .any, true),
        ("postgres://app@[::1]:5432,[fe80::2]/claims?target_session_attrs=primary", ["[::1]:5432", "[fe80::2]:5432"], .primary, true),
        ("postgres://app@10.0.0.1:5432,10.0.0.2:5432/claims?sslmode=verify-full", ["10.0.0.1:5432", "10.0.0.2:5432"], .any, true),
        // One host that must accept writes is checked through the router as well.
        ("postgres://app@db:5432/claims?target_session_attrs=read-write", ["db:5432"], .readWrite, true),
        ("postgres://app@db:5432/claims", ["db:5432"], .any, false),
    ]

    @Test("a list of hosts gives each host and port, in order, and the session target")
    func hostLists() throws {
        for case (let text, let endpoints, let target, let router) in Self.multiHost {
            let url = try DatabaseURL(text)
            #expect(url.endpoints.map(\.description) == endpoints, "\(text)")
            #expect(url.sessionTarget == target, "\(text)")
            #expect(url.needsRouter == router, "\(text)")
            #expect(url.username == "app" && url.database == "claims", "\(text)")
            // The redacted form names every host and reads back as the same list.
            let again = try DatabaseURL(url.redacted)
            #expect(again.endpoints == url.endpoints && again.sessionTarget == url.sessionTarget, "\(url.redacted)")
            #expect(!url.redacted.contains("pw@"), "\(url.redacted)")
        }
        let url = try DatabaseURL("postgres://app:pw@h1:5432,h2:5433/claims?target_session_attrs=read-write")
        #expect(url.description == "h1:5432,h2:5433 database claims (read-write)")
        #expect(url.password == "pw" && url.host == "h1" && url.port == 5432)
    }

    @Test("a list of hosts that cannot be used is refused with the reason")
    func badHostLists() {
        for (text, reason) in [
            ("postgres://app@h1,,h2/claims", "a host of the list is empty"),
            ("postgres://app@h1:5432,h2:99999/claims", "port '99999' of host 'h2' is not a port"),
            ("postgres://app@h1,[::1/claims", "unclosed [ in host '[::1'"),
            (
                "postgres://app@h1,h2/claims?target_session_attrs=standby",
                "target_session_attrs 'standby' is not for ClaimFlow, which writes: use read-write, primary or any"
            ),
            ("postgres://app@h1,h2/claims?host=/run/postgresql", "a Unix socket takes no list of hosts"),
        ] {
            let error = #expect(throws: InvalidDatabaseURL.self) { try DatabaseURL(text) }
            #expect(error?.reason == reason, "\(text)")
        }
    }

    @Test("an embedded server's socket address needs no TLS")
    func socketAddress() {
        let url = DatabaseURL(socketDirectory: "/tmp/claimflow-pg", port: 55432, username: "claimflow", database: "claims")
        #expect(url.tlsMode == .disable)
        #expect(url.clientConfiguration().unixSocketPath == "/tmp/claimflow-pg/.s.PGSQL.55432")
        #expect(url.redacted == "postgres://claimflow@/claims?host=/tmp/claimflow-pg")
    }
}
