import ClaimFlowTestSupport
import Foundation
import Logging
import PostgresNIO
import Testing

@testable import ClaimFlowStore

/// `sslmode` against a live server: a private PostgreSQL that accepts TLS connections only, with
/// a certificate for 127.0.0.1 and localhost signed by test CA "one". CA "two" is a stranger.
@Suite("database TLS against a live server")
struct DatabaseTLSTests {
    static let logger: Logger = {
        var logger = Logger(label: "claimflow.tests.tls")
        logger.logLevel = .critical
        return logger
    }()

    @Test(
        "verify-full and verify-ca connect with the server's CA and refuse another; verify-ca ignores the host name, verify-full does not",
        .timeLimit(.minutes(5))
    )
    func sslModesAgainstALiveServer() async throws {
        let folder = FileManager.default.temporaryDirectory.appending(path: "claimflow-dbtls-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: folder) }
        let one = try await TestCertificateAuthority.make(name: "one", in: folder)
        let two = try await TestCertificateAuthority.make(name: "two", in: folder)
        let certificate = try await one.issueServerCertificate("postgres")
        let server = try await TLSPostgres.start(certificate: certificate, in: folder)
        defer { server.stop() }

        // The chain leads to CA one, and the certificate names 127.0.0.1 and localhost.
        for (host, mode) in [("127.0.0.1", "verify-full"), ("localhost", "verify-full"), ("127.0.0.1", "verify-ca")] {
            let url = try DatabaseURL(server.url(host: host, sslmode: mode, rootCertificate: one.certificatePath))
            try await Self.expectConnects(url, "\(mode) to \(host) trusting CA one")
        }
        // 127.0.0.2 is the same server under an address the certificate does not name:
        // verify-ca checks only the chain, verify-full refuses.
        let otherAddress = try DatabaseURL(server.url(host: "127.0.0.2", sslmode: "verify-ca", rootCertificate: one.certificatePath))
        try await Self.expectConnects(otherAddress, "verify-ca to 127.0.0.2 trusting CA one")
        let wrongName = try DatabaseURL(server.url(host: "127.0.0.2", sslmode: "verify-full", rootCertificate: one.certificatePath))
        try await Self.expectRefused(
            wrongName, password: server.password, "verify-full to 127.0.0.2", because: Self.hostNameMismatch)

        // A client that trusts only CA two refuses the server in both verifying modes, and so do
        // prefer and require once sslrootcert names CA two (as libpq).
        for mode in ["verify-full", "verify-ca", "require", "prefer"] {
            let url = try DatabaseURL(server.url(sslmode: mode, rootCertificate: two.certificatePath))
            try await Self.expectRefused(
                url, password: server.password, "\(mode) trusting CA two", because: Self.untrustedChain)
        }
        // Without sslrootcert, the verifying modes trust the system's roots, which do not know CA one.
        let systemRoots = try DatabaseURL(server.url(sslmode: "verify-full"))
        try await Self.expectRefused(
            systemRoots, password: server.password, "verify-full trusting the system's roots", because: Self.untrustedChain)
        // And the server takes nothing but TLS, so the connections that worked were encrypted.
        let plain = try DatabaseURL(server.url(sslmode: "disable"))
        try await Self.expectRefused(
            plain, password: server.password, "sslmode=disable", because: "no pg_hba.conf entry")
    }

    /// One connection opens, and a pool over the same address runs a query whose session is
    /// encrypted, with a bounded wait for each.
    static func expectConnects(_ url: DatabaseURL, _ what: String) async throws {
        try await withDeadline(.seconds(30), "connecting with \(what)") {
            try await url.checkConnection(logger: logger)
        }
        let encrypted = try await withDeadline(.seconds(30), "a query with \(what)") {
            let client = PostgresClient(configuration: url.clientConfiguration(maximumConnections: 1), backgroundLogger: logger)
            return try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await client.run() }
                defer { group.cancelAll() }
                let rows = try await client.query(
                    "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", logger: logger)
                for try await ssl in rows.decode(Bool.self) { return ssl }
                return false
            }
        }
        #expect(encrypted, "\(what): the session is not encrypted")
    }

    /// What the TLS library says when the chain does not lead to a trusted CA.
    static let untrustedChain = "CERTIFICATE_VERIFY_FAILED"
    /// What it says when the certificate does not name the host connected to.
    static let hostNameMismatch = "failedToValidateHostname"

    /// The connection fails within a bounded time, for the reason `because` names (found in the
    /// error's full text), and that text shows no password.
    static func expectRefused(_ url: DatabaseURL, password: String, _ what: String, because reason: String) async throws {
        let failure: (any Error)? = try await withDeadline(.seconds(30), "connecting with \(what)") {
            do {
                try await url.checkConnection(logger: logger)
                return nil
            } catch {
                return error
            }
        }
        let error = try #require(failure, "\(what): the connection was accepted")
        let text = String(reflecting: error)
        #expect(!text.contains(password), "\(what): the error shows the password")
        #expect(error is PSQLError, "\(what): \(text)")
        #expect(text.contains(reason), "\(what): expected \(reason), got \(text)")
    }
}
