import ClaimFlowHosting
public import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A throwaway certificate authority made with `openssl` in a folder of its own, which issues
/// server certificates for the TLS tests. Keys are P-256; everything is valid for two days.
public struct TestCertificateAuthority: Sendable {
    public let directory: URL
    public let name: String

    /// The CA's certificate (PEM): what a client trusts.
    public var certificatePath: String { directory.appending(path: "\(name)-ca.pem").path }
    var keyPath: String { directory.appending(path: "\(name)-ca.key").path }

    /// A server certificate and its key, both PEM.
    public struct Issued: Sendable {
        public let certificatePath: String
        public let keyPath: String
    }

    /// Makes a new CA called `name` in `directory` (created when missing).
    public static func make(name: String, in directory: URL) async throws -> TestCertificateAuthority {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let authority = TestCertificateAuthority(directory: directory, name: name)
        let config = directory.appending(path: "\(name)-ca.cnf")
        try """
        [req]
        distinguished_name = dn
        prompt = no
        [dn]
        CN = ClaimFlow test CA \(name)
        [ca]
        basicConstraints = critical,CA:TRUE
        keyUsage = critical,keyCertSign,cRLSign
        subjectKeyIdentifier = hash
        """.write(to: config, atomically: true, encoding: .utf8)
        try await openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", authority.keyPath])
        try await openssl([
            "req", "-new", "-x509", "-key", authority.keyPath, "-config", config.path, "-extensions", "ca",
            "-days", "2", "-out", authority.certificatePath,
        ])
        return authority
    }

    /// Issues a server certificate for `dnsNames` and `ipAddresses` (its subject alternative
    /// names; the common name is the first DNS name).
    public func issueServerCertificate(
        _ label: String, dnsNames: [String] = ["localhost"], ipAddresses: [String] = ["127.0.0.1"]
    ) async throws -> Issued {
        let base = directory.appending(path: "\(name)-\(label)")
        let key = base.path + ".key"
        let request = base.path + ".csr"
        let certificate = base.path + ".pem"
        let config = base.path + ".cnf"
        let names = dnsNames.map { "DNS:\($0)" } + ipAddresses.map { "IP:\($0)" }
        try """
        [req]
        distinguished_name = dn
        prompt = no
        [dn]
        CN = \(dnsNames.first ?? ipAddresses.first ?? "server")
        [server]
        basicConstraints = critical,CA:FALSE
        keyUsage = critical,digitalSignature,keyEncipherment
        extendedKeyUsage = serverAuth
        subjectAltName = \(names.joined(separator: ","))
        subjectKeyIdentifier = hash
        authorityKeyIdentifier = keyid
        """.write(toFile: config, atomically: true, encoding: .utf8)
        try await Self.openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key])
        try await Self.openssl(["req", "-new", "-key", key, "-config", config, "-out", request])
        let serial = "0x" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16)
        try await Self.openssl([
            "x509", "-req", "-in", request, "-CA", certificatePath, "-CAkey", keyPath, "-set_serial", serial,
            "-days", "2", "-extfile", config, "-extensions", "server", "-out", certificate,
        ])
        return Issued(certificatePath: certificate, keyPath: key)
    }

    private static func openssl(_ arguments: [String]) async throws {
        let outcome = try await BoundedCommand.run("/usr/bin/openssl", arguments, timeout: .seconds(30))
        guard outcome.status == 0 else {
            throw TestSetupError("openssl \(arguments.first ?? "") failed: \(outcome.output)")
        }
    }
}

/// Runs a program with a time limit: past it the program is killed and the run fails, so a
/// stuck child cannot hold a test forever.
public enum BoundedCommand {
    /// A finished program's exit status and combined output.
    public struct Outcome: Sendable {
        public let status: Int32
        public let output: String
    }

    /// Runs `executable` and waits, polling without blocking a thread, up to `timeout`.
    public static func run(_ executable: String, _ arguments: [String], timeout: Duration) async throws -> Outcome {
        let output = FileManager.default.temporaryDirectory.appending(path: "claimflow-cmd-\(UUID().uuidString).log").path
        defer { unlink(output) }
        let pid = try ChildProcess.spawn(executable, arguments, standardOutput: output, standardError: nil)
        let deadline = ContinuousClock.now + timeout
        while true {
            if let status = try ChildProcess.exitStatus(of: pid, waiting: false) {
                return .init(status: status, output: (try? String(contentsOfFile: output, encoding: .utf8)) ?? "")
            }
            if ContinuousClock.now >= deadline {
                kill(pid, SIGKILL)
                _ = try? ChildProcess.exitStatus(of: pid, waiting: true)
                throw TestSetupError("\(executable) \(arguments.joined(separator: " ")) did not finish within \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// The same, blocking the calling thread: for clean-up in a `defer`, which cannot await.
    public static func runBlocking(_ executable: String, _ arguments: [String], timeout: Duration) -> Int32? {
        guard let pid = try? ChildProcess.spawn(executable, arguments, standardOutput: "/dev/null", standardError: nil)
        else { return nil }
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let status = try? ChildProcess.exitStatus(of: pid, waiting: false) { return status }
            usleep(50_000)
        }
        kill(pid, SIGKILL)
        _ = try? ChildProcess.exitStatus(of: pid, waiting: true)
        return nil
    }
}

/// Runs `body`, failing with `what` in the message when it takes longer than `limit`. The
/// caller goes on at the deadline even if `body` ignores cancellation, so nothing in a test
/// can wait forever on a connection.
public func withDeadline<Value: Sendable>(
    _ limit: Duration, _ what: String, _ body: @escaping @Sendable () async throws -> Value
) async throws -> Value {
    let pending = PendingAnswer<Value>()
    return try await withCheckedThrowingContinuation { continuation in
        pending.continuation.withLock { $0 = continuation }
        let work = Task {
            let result: Result<Value, any Error>
            do { result = .success(try await body()) } catch { result = .failure(error) }
            pending.take()?.resume(with: result)
        }
        Task {
            try? await Task.sleep(for: limit)
            if let waiting = pending.take() {
                work.cancel()
                waiting.resume(throwing: TestSetupError("\(what) did not finish within \(limit)"))
            }
        }
    }
}

/// The continuation of ``withDeadline(_:_:_:)``, resumed by whichever comes first.
private final class PendingAnswer<Value: Sendable>: Sendable {
    let continuation = Mutex<CheckedContinuation<Value, any Error>?>(nil)

    func take() -> CheckedContinuation<Value, any Error>? { continuation.withLock { $0.take() } }
}
