import ClaimFlowHosting
public import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A private PostgreSQL that accepts only TLS connections (`hostssl`), with a given server
/// certificate, on a loopback port of its own and in a temporary folder; never the shared test
/// server. It listens on 127.0.0.1 and 127.0.0.2, so a client can reach it under an address its
/// certificate does not name. As root, the server runs as the `postgres` user.
///
/// Every step has a time limit; ``stop()`` kills the server and removes its folder, and is meant
/// for a `defer` right after ``start(certificate:in:)``.
public final class TLSPostgres: Sendable {
    public let port: Int
    /// The superuser's password (scram-sha-256), which no error message may show.
    public let password: String
    public static let username = "claimflow"
    let folder: URL
    let binaries: URL
    let serverUser: String?

    private init(port: Int, password: String, folder: URL, binaries: URL, serverUser: String?) {
        self.port = port
        self.password = password
        self.folder = folder
        self.binaries = binaries
        self.serverUser = serverUser
    }

    /// A `postgres://` URL of this server's `postgres` database, reached at `host`.
    public func url(host: String = "127.0.0.1", sslmode: String, rootCertificate: String? = nil) -> String {
        var text = "postgres://\(Self.username):\(password)@\(host):\(port)/postgres?sslmode=\(sslmode)"
        if let rootCertificate { text += "&sslrootcert=\(rootCertificate)" }
        return text
    }

    /// Initialises a cluster in a new folder below `parent` and starts it with `certificate`.
    public static func start(
        certificate: TestCertificateAuthority.Issued, in parent: URL
    ) async throws -> TLSPostgres {
        let binaries = try locateBinaries()
        let serverUser = geteuid() == 0 ? "postgres" : nil
        let folder = parent.appending(path: "pg-\(UUID().uuidString.prefix(8))")
        let data = folder.appending(path: "data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        let password = UUID().uuidString.replacingOccurrences(of: "-", with: "")
        let passwordFile = folder.appending(path: "pwfile")
        try password.write(to: passwordFile, atomically: true, encoding: .utf8)
        // PostgreSQL wants its key readable by its own user only.
        let key = folder.appending(path: "server.key").path
        let certificatePath = folder.appending(path: "server.crt").path
        try FileManager.default.copyItem(atPath: certificate.keyPath, toPath: key)
        try FileManager.default.copyItem(atPath: certificate.certificatePath, toPath: certificatePath)
        chmod(key, 0o600)
        chmod(data.path, 0o700)
        chmod(folder.path, 0o755)
        if let serverUser, let account = getpwnam(serverUser) {
            for path in [folder.path, data.path, passwordFile.path, key, certificatePath] {
                chown(path, account.pointee.pw_uid, account.pointee.pw_gid)
            }
        }

        let server = TLSPostgres(
            port: try freeLoopbackPort(), password: password, folder: folder, binaries: binaries, serverUser: serverUser)
        do {
            try await server.run(
                "initdb",
                [
                    "-D", data.path, "-U", username, "--pwfile=\(passwordFile.path)", "--auth-local=trust",
                    "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C",
                ],
                timeout: .seconds(120)
            )
            // TLS only: a plain connection finds no matching line and is refused.
            try """
            local all all trust
            hostssl all all 127.0.0.0/8 scram-sha-256
            """.write(to: data.appending(path: "pg_hba.conf"), atomically: false, encoding: .utf8)
            let options = [
                "-c listen_addresses='127.0.0.1,127.0.0.2'", "-c port=\(server.port)",
                "-c unix_socket_directories='\(folder.path)'", "-c ssl=on", "-c ssl_cert_file='\(certificatePath)'",
                "-c ssl_key_file='\(key)'", "-c max_connections=20", "-c shared_buffers=16MB", "-c fsync=off",
            ]
            try await server.run(
                "pg_ctl",
                [
                    "-D", data.path, "-l", folder.appending(path: "server.log").path, "-w", "-t", "60", "-o",
                    options.joined(separator: " "), "start",
                ],
                timeout: .seconds(90)
            )
        } catch {
            let log = (try? String(contentsOf: folder.appending(path: "server.log"), encoding: .utf8)) ?? ""
            server.stop()
            throw TestSetupError("the private TLS PostgreSQL did not start: \(error); server log: \(log.suffix(2000))")
        }
        return server
    }

    /// Stops the server at once (immediate shutdown; it holds nothing worth keeping), kills it
    /// if that does not work within the limit, and removes its folder.
    public func stop() {
        let data = folder.appending(path: "data")
        let stopped = runBlocking(
            "pg_ctl", ["-D", data.path, "-m", "immediate", "-w", "-t", "20", "stop"], timeout: .seconds(30))
        if stopped != 0, let pidLine = try? String(contentsOf: data.appending(path: "postmaster.pid"), encoding: .utf8),
            let pid = pidLine.split(separator: "\n").first.flatMap({ Int32($0) })
        {
            kill(pid, SIGKILL)
        }
        try? FileManager.default.removeItem(at: folder)
    }

    private func command(_ program: String, _ arguments: [String]) -> (String, [String]) {
        let executable = binaries.appending(path: program).path
        if let serverUser { return ("/usr/sbin/runuser", ["-u", serverUser, "--", executable] + arguments) }
        return (executable, arguments)
    }

    private func run(_ program: String, _ arguments: [String], timeout: Duration) async throws {
        let (executable, full) = command(program, arguments)
        let outcome = try await BoundedCommand.run(executable, full, timeout: timeout)
        guard outcome.status == 0 else { throw TestSetupError("\(program) failed: \(outcome.output.suffix(1500))") }
    }

    private func runBlocking(_ program: String, _ arguments: [String], timeout: Duration) -> Int32? {
        let (executable, full) = command(program, arguments)
        return BoundedCommand.runBlocking(executable, full, timeout: timeout)
    }

    private static func locateBinaries() throws -> URL {
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        for version in versions.sorted(by: { (Int($0) ?? 0) > (Int($1) ?? 0) }) {
            let directory = URL(fileURLWithPath: "/usr/lib/postgresql/\(version)/bin")
            if FileManager.default.isExecutableFile(atPath: directory.appending(path: "pg_ctl").path) { return directory }
        }
        throw TestSetupError("PostgreSQL's server programs are not installed (scripts/test installs them)")
    }

    /// A port on 127.0.0.1 that nothing listens on just now (the kernel's pick for port 0).
    private static func freeLoopbackPort() throws -> Int {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw TestSetupError("no socket for a free port") }
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(socket, pointer, length) == 0 && getsockname(socket, pointer, &length) == 0
            }
        }
        guard bound else { throw TestSetupError("cannot find a free loopback port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
