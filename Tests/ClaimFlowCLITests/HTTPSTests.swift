import ClaimFlowStore
import ClaimFlowTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOSSL
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// HTTPS served by `claimflow serve` itself, and `claimflow` reaching a PostgreSQL over
/// verified TLS. Certificates come from throwaway CAs made with `openssl` per test.
@Suite("HTTPS and database TLS")
struct HTTPSTests {
    /// A folder of its own for a test's certificates, removed by the caller.
    static func folder() -> URL {
        FileManager.default.temporaryDirectory.appending(path: "claimflow-https-\(UUID().uuidString.prefix(8))")
    }

    @Test(
        "serve with --tls-certificate and --tls-key answers HTTPS that verifies against the CA; plain HTTP and a client trusting another CA get nothing",
        .timeLimit(.minutes(5))
    )
    func servesHTTPS() async throws {
        let folder = Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let one = try await TestCertificateAuthority.make(name: "one", in: folder)
        let two = try await TestCertificateAuthority.make(name: "two", in: folder)
        let certificate = try await one.issueServerCertificate("http")
        let (url, environment) = try await CLIDatabase.migrated(prefix: "cf_https")
        defer { Task { try? await TestDatabase.drop(url) } }

        let server = try await Self.startHTTPS(
            ["--no-workers", "--tls-certificate", certificate.certificatePath, "--tls-key", certificate.keyPath],
            environment: environment, trusting: one.certificatePath
        )
        let outcome: ClaimFlowProcess.Outcome
        do {
            let health = try await Self.get("/healthz", port: server.port, tls: Self.client(trusting: one.certificatePath))
            #expect(health == 200)
            let ready = try await Self.get("/readyz", port: server.port, tls: Self.client(trusting: one.certificatePath))
            #expect(ready == 200)

            // Plain HTTP to the TLS port: the server takes the request for a broken handshake and closes.
            let plain = try? await Self.get("/healthz", port: server.port, tls: nil)
            #expect(plain == nil, "plain HTTP got an answer: \(plain.map(String.init) ?? "")")
            // A client that trusts only CA two refuses the server's certificate.
            let stranger = try? await Self.get("/healthz", port: server.port, tls: Self.client(trusting: two.certificatePath))
            #expect(stranger == nil, "a client trusting another CA got an answer")
        } catch {
            _ = try? await server.stop()
            throw error
        }
        outcome = try await server.stop()
        #expect(outcome.status == 0, "\(outcome.standardError.suffix(2000))")
        let listening = LogLines.lines(of: outcome.standardError, containing: "ClaimFlow listening")
        #expect(listening.count == 1 && listening.allSatisfy { $0.contains("https://127.0.0.1:\(server.port)") })
    }

    @Test(
        "an unreadable, non-PEM or mismatched certificate or key stops serve before the database, with one line that names the file",
        .timeLimit(.minutes(3))
    )
    func unusableCertificateOrKey() async throws {
        let folder = Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let one = try await TestCertificateAuthority.make(name: "one", in: folder)
        let two = try await TestCertificateAuthority.make(name: "two", in: folder)
        let certificate = try await one.issueServerCertificate("http")
        let other = try await two.issueServerCertificate("http")
        let missing = folder.appending(path: "missing.pem").path
        // Nothing listens on port 1: a run that got as far as the database would say so instead.
        let unreachable: [String: String?] = ["DATABASE_URL": "postgres://claimflow@127.0.0.1:1/claimflow?sslmode=disable"]

        let cases: [(arguments: [String], environment: [String: String?], message: String)] = [
            (
                ["--tls-certificate", missing, "--tls-key", certificate.keyPath], [:],
                "cannot serve HTTPS: the TLS certificate file \(missing) does not exist"
            ),
            (
                ["--tls-certificate", folder.path, "--tls-key", certificate.keyPath], [:],
                "cannot serve HTTPS: the TLS certificate file \(folder.path) cannot be read"
            ),
            (
                ["--tls-certificate", certificate.keyPath, "--tls-key", certificate.keyPath], [:],
                "the TLS certificate file \(certificate.keyPath) holds no PEM certificate"
            ),
            (
                ["--tls-certificate", certificate.certificatePath, "--tls-key", certificate.certificatePath], [:],
                "the TLS key file \(certificate.certificatePath) holds no unencrypted PEM private key"
            ),
            // Through the environment, as an operator's unit file would set them.
            (
                [], ["CLAIMFLOW_TLS_CERTIFICATE": certificate.certificatePath, "CLAIMFLOW_TLS_KEY": other.keyPath],
                "the private key in \(other.keyPath) does not belong to the certificate in \(certificate.certificatePath)"
            ),
        ]
        for (arguments, environment, message) in cases {
            let outcome = try await ClaimFlowProcess.run(
                ["serve", "--port", "0"] + arguments, environment: unreachable.merging(environment) { $1 })
            #expect(outcome.status != 0)
            let lines = LogLines.lines(outcome.standardError)
            #expect(lines.count == 1, "expected one line, got: \(outcome.standardError)")
            #expect(outcome.standardError.contains(message), "got: \(outcome.standardError)")
            #expect(!outcome.standardError.contains("Fatal error") && !outcome.standardError.contains("0x0"))
        }

        // Half a pair is a usage error, said before anything is read.
        for arguments in [["--tls-certificate", certificate.certificatePath], ["--tls-key", certificate.keyPath]] {
            let outcome = try await ClaimFlowProcess.run(["serve", "--port", "0"] + arguments, environment: unreachable)
            #expect(outcome.status != 0)
            #expect(outcome.standardError.contains("needs --tls-"), "got: \(outcome.standardError)")
            #expect(!outcome.standardError.contains("cannot connect"), "got: \(outcome.standardError)")
        }
    }

    @Test(
        "claimflow migrate with sslmode=verify-full connects to a server whose certificate chains to sslrootcert, and refuses another CA's in one line without the password",
        .timeLimit(.minutes(5))
    )
    func migrateOverVerifiedTLS() async throws {
        let folder = Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let one = try await TestCertificateAuthority.make(name: "one", in: folder)
        let two = try await TestCertificateAuthority.make(name: "two", in: folder)
        let certificate = try await one.issueServerCertificate("postgres")
        let server = try await TLSPostgres.start(certificate: certificate, in: folder)
        defer { server.stop() }

        let trusted = server.url(sslmode: "verify-full", rootCertificate: one.certificatePath)
        let migrated = try await ClaimFlowProcess.start(["migrate"], environment: ["DATABASE_URL": trusted])
            .wait(timeout: .seconds(120))
        #expect(migrated.status == 0, "\(migrated.standardError.suffix(2000))")

        for mode in ["verify-full", "verify-ca"] {
            let stranger = server.url(sslmode: mode, rootCertificate: two.certificatePath)
            let refused = try await ClaimFlowProcess.start(["migrate"], environment: ["DATABASE_URL": stranger])
                .wait(timeout: .seconds(60))
            #expect(refused.status != 0)
            let lines = LogLines.lines(refused.standardError)
            #expect(lines.count == 1, "expected one line, got: \(refused.standardError)")
            #expect(
                refused.standardError.contains("cannot connect to PostgreSQL at 127.0.0.1:\(server.port) database postgres"),
                "got: \(refused.standardError)")
            #expect(refused.standardError.contains("CERTIFICATE_VERIFY_FAILED"), "got: \(refused.standardError)")
            #expect(!refused.standardError.contains(server.password), "the password is in: \(refused.standardError)")
            #expect(!refused.standardOutput.contains(server.password))
        }
    }

    // MARK: - Helpers

    /// A TLS client configuration that trusts only the CA certificate at `path`.
    static func client(trusting path: String) -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.trustRoots = .file(path)
        configuration.certificateVerification = .fullVerification
        return configuration
    }

    /// The status of `GET path` on 127.0.0.1:`port`, over TLS when `tls` is given (asking for
    /// `localhost`, which the certificate names), with a bounded wait.
    static func get(_ path: String, port: Int, tls: TLSConfiguration?) async throws -> UInt16 {
        let configuration = TestClient.Configuration(
            tlsConfiguration: tls, timeout: .seconds(10), serverName: tls == nil ? nil : "localhost")
        return try await withDeadline(.seconds(20), "GET \(path)") {
            try await TestClient.withClient(host: "127.0.0.1", port: port, configuration: configuration) { client in
                UInt16(try await client.get(path).status.code)
            }
        }
    }

    /// Starts `claimflow serve --port 0` with TLS and waits (bounded) until it reports an https
    /// URL and answers `/healthz` to a client trusting `caPath`.
    static func startHTTPS(
        _ arguments: [String], environment: [String: String?], trusting caPath: String, timeout: Duration = .seconds(90)
    ) async throws -> ServedClaimFlow {
        let tls = client(trusting: caPath)
        return try await ServedClaimFlow.start(arguments, environment: environment, timeout: timeout, scheme: "https") { port in
            (try? await get("/healthz", port: port, tls: tls)) == 200
        }
    }
}
