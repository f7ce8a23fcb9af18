import ClaimFlowCore
import ClaimFlowStore
import ClaimFlowTestSupport
import Foundation
import PostgresNIO
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Issue 11's fault test: a real `claimflow serve` behind a TCP proxy that, for a share of the
/// requests, forwards the request, lets the server answer in full, and then closes the client's
/// connection without passing the answer on. The server did the work; the client never heard.
@Suite("Retries after dropped connections")
struct RetryFaultTests {
    static let encounters = 20

    @Test("a coder retrying every write with its Idempotency-Key after a dropped connection ends as one who lost nothing")
    func droppedAnswersChangeNothing() async throws {
        let (url, environment) = try await CLIDatabase.migrated(prefix: "cf_retry")
        defer { Task { try? await TestDatabase.drop(url) } }
        // Two practices with the same encounters: one coded through the proxy, one directly.
        let tokens = try await TestDatabase.withClient(url) { client in
            var tokens: [String: String] = [:]
            for code in ["PROXIED", "CLEAN"] {
                let fixture = try await Fixture.make(client, code: code)
                for number in 0..<Self.encounters { try await fixture.receive("E-\(number)") }
                let coder = try await fixture.user("coder-\(code.lowercased())")
                tokens[code] = try await fixture.users.issueToken(userID: coder, label: "t", audit: .system)
            }
            return tokens
        }
        let seed = UInt64.random(in: 1...UInt64.max)
        let started = ContinuousClock.now
        let (figures, _) = try await ServedClaimFlow.run(["--no-workers"], environment: environment) { server in
            let clean = try await Self.codeEverything(port: server.port, token: tokens["CLEAN"]!)
            let proxy = try FlakyProxy(upstream: server.port, dropShare: 0.3, seed: seed)
            defer { proxy.stop() }
            var flaky = try await Self.codeEverything(port: proxy.port, token: tokens["PROXIED"]!)
            flaky.drops = proxy.dropped
            flaky.forwarded = proxy.forwarded
            return (clean, flaky)
        }
        let (clean, flaky) = figures

        let (cleanState, flakyState) = try await TestDatabase.withClient(url) { client in
            (try await Self.state(client, practice: "CLEAN"), try await Self.state(client, practice: "PROXIED"))
        }
        let mismatches = zip(cleanState, flakyState).filter { $0 != $1 }.count + abs(cleanState.count - flakyState.count)
        print(
            """
            retry fault run (seed \(seed), \(ContinuousClock.now - started)): clean \(clean.requests) requests; \
            through the proxy \(flaky.requests) requests, \(flaky.forwarded) forwarded, \(flaky.drops) answers dropped, \
            \(flaky.retries) retries, \(flaky.conflicts) 409s, \(flaky.failures) other failures; \
            \(cleanState.count) encounters compared, \(mismatches) mismatches
            """)
        #expect(flaky.drops > 0, "the proxy dropped answers (seed \(seed))")
        #expect(flaky.retries == flaky.drops)
        #expect(flaky.conflicts == 0 && clean.conflicts == 0)
        #expect(flaky.failures == 0 && clean.failures == 0)
        #expect(cleanState.count == Self.encounters)
        #expect(mismatches == 0, "\(zip(cleanState, flakyState).filter { $0 != $1 }.prefix(3))")
        #expect(cleanState.allSatisfy { $0.stage == "coded" })
    }

    /// What the runs may be compared by: each encounter's stage, codes and the count of each
    /// kind of event, by external id. Reads of the coder's view (`phi.viewed`) are left out: a
    /// replayed pull shows the view again, and each showing is audited.
    struct EncounterState: Equatable, CustomStringConvertible {
        let externalID: String
        let stage: String
        let diagnoses: String
        let lines: String
        let events: String
        var description: String { "\(externalID) \(stage) [\(diagnoses)] [\(lines)] {\(events)}" }
    }

    static func state(_ client: PostgresClient, practice: String) async throws -> [EncounterState] {
        let rows = try await client.query(
            """
            SELECT e.external_id, e.stage,
                   coalesce((SELECT string_agg(d.code, ',' ORDER BY d.position) FROM diagnoses d
                             WHERE d.encounter_id = e.id AND d.version = e.version), ''),
                   coalesce((SELECT string_agg(s.code || ' x' || s.units || ' @' || s.charge || ' ' || array_to_string(s.pointers, '/'),
                                               ',' ORDER BY s.line_number)
                             FROM service_lines s WHERE s.encounter_id = e.id AND s.version = e.version), ''),
                   coalesce((SELECT string_agg(a.action || '=' || a.n, ',' ORDER BY a.action)
                             FROM (SELECT action, count(*) AS n FROM events v
                                   WHERE v.encounter_id = e.id AND v.action <> 'phi.viewed' GROUP BY action) a), '')
            FROM encounters e JOIN practices p ON p.id = e.practice_id
            WHERE p.code = \(practice)
            ORDER BY e.external_id
            """,
            logger: TestDatabase.logger
        )
        var result: [EncounterState] = []
        for try await (id, stage, diagnoses, lines, events) in rows.decode((String, String, String, String, String).self) {
            result.append(EncounterState(externalID: id, stage: stage, diagnoses: diagnoses, lines: lines, events: events))
        }
        return result
    }

    struct Figures: Sendable {
        var requests = 0
        var retries = 0
        var conflicts = 0
        var failures = 0
        var drops = 0
        var forwarded = 0
    }

    /// A coder's whole shift: pull, save codes, complete, until the queue is empty. Every request
    /// carries an Idempotency-Key and is sent again, with the same key, whenever the connection
    /// closes without an answer.
    static func codeEverything(port: Int, token: String) async throws -> Figures {
        var figures = Figures()
        for _ in 0..<(encounters * 2) {
            let pulled = try await call(port, "POST", "/api/v1/coder/next", token: token, body: nil, &figures)
            if pulled.status == 204 { return figures }
            guard pulled.status == 200, let json = pulled.json, let encounter = json["encounter"] as? [String: Any],
                let id = encounter["id"] as? String, let external = encounter["external_id"] as? String,
                let lease = (json["lease"] as? [String: Any])?["id"] as? String
            else {
                figures.failures += 1
                return figures
            }
            let number = Int(external.dropFirst(2)) ?? 0
            var codes: [String: Any] = [
                "lease_id": lease, "diagnoses": number % 2 == 0 ? ["E11.9"] : ["I10", "E78.5"],
                "lines": [["code": "99213", "units": 1, "charge": "125.00", "pointers": [1]]],
            ]
            if number % 3 == 0 {
                codes["lines"] = [
                    ["code": "99213", "units": 1, "charge": "125.00", "pointers": [1]],
                    ["code": "36415", "units": 2, "charge": "10.50", "pointers": [1]],
                ]
            }
            let saved = try await call(port, "PUT", "/api/v1/coder/encounters/\(id)/codes", token: token, body: codes, &figures)
            let done = try await call(
                port, "POST", "/api/v1/coder/encounters/\(id)/complete", token: token, body: ["lease_id": lease], &figures)
            for reply in [saved, done] where reply.status != 200 {
                if reply.status == 409 { figures.conflicts += 1 } else { figures.failures += 1 }
            }
        }
        return figures
    }

    /// One request under one key, sent again (bounded) while its answer is lost.
    static func call(
        _ port: Int, _ method: String, _ path: String, token: String, body: [String: Any]?, _ figures: inout Figures
    ) async throws -> RawHTTP.Reply {
        let key = UUID().uuidString
        let data = try body.map { try JSONSerialization.data(withJSONObject: $0) }
        for attempt in 0..<20 {
            figures.requests += 1
            if attempt > 0 { figures.retries += 1 }
            if let reply = await RawHTTP.send(port: port, method: method, path: path, token: token, key: key, body: data) {
                return reply
            }
        }
        throw TestSetupError("\(method) \(path): no answer in 20 attempts")
    }
}

/// HTTP/1.1 over a plain socket, one request per connection (`Connection: close`), so that a
/// connection closed before the answer is told apart from an answer.
enum RawHTTP {
    struct Reply: Sendable {
        let status: Int
        let body: String
        var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] }
    }

    /// The answer, or nil when the connection closed without one.
    static func send(port: Int, method: String, path: String, token: String, key: String, body: Data?) async -> Reply? {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(returning: sendBlocking(port: port, method: method, path: path, token: token, key: key, body: body))
            }
        }
    }

    private static func sendBlocking(port: Int, method: String, path: String, token: String, key: String, body: Data?) -> Reply? {
        guard let socket = Sockets.connect(port: port) else { return nil }
        defer { close(socket) }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        head += "Authorization: Bearer \(token)\r\nIdempotency-Key: \(key)\r\n"
        if let body {
            head += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n"
        } else {
            head += "Content-Length: 0\r\n"
        }
        head += "\r\n"
        guard Sockets.writeAll(socket, Array(head.utf8) + Array(body ?? Data())) else { return nil }
        let answer = Sockets.readToEnd(socket)
        guard let split = answer.firstRange(of: Array("\r\n\r\n".utf8)) else { return nil }
        let statusLine = String(decoding: answer[..<split.lowerBound], as: UTF8.self).split(separator: "\r\n").first ?? ""
        let parts = statusLine.split(separator: " ")
        guard parts.count >= 2, let status = Int(parts[1]) else { return nil }
        return Reply(status: status, body: String(decoding: answer[split.upperBound...], as: UTF8.self))
    }
}

/// A TCP proxy that loses answers: each connection's request is forwarded whole and the
/// server's answer read whole; then, for `dropShare` of them (chosen by a seeded generator),
/// the client's connection is closed without the answer.
final class FlakyProxy: @unchecked Sendable {
    let port: Int
    private let listener: Int32
    private let upstream: Int
    private let dropShare: Double
    private let lock = NSLock()
    private var state: UInt64
    private var counts = (forwarded: 0, dropped: 0)

    var forwarded: Int { lock.withLock { counts.forwarded } }
    var dropped: Int { lock.withLock { counts.dropped } }

    init(upstream: Int, dropShare: Double, seed: UInt64) throws {
        self.upstream = upstream
        self.dropShare = dropShare
        self.state = seed
        guard let (listener, port) = Sockets.listen() else { throw TestSetupError("the proxy could not listen") }
        self.listener = listener
        self.port = port
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            guard client >= 0 else { return }
            Thread.detachNewThread { [self] in relay(client) }
        }
    }

    /// SplitMix64: the drop pattern is fixed by the seed, which the test prints.
    private func nextDrop() -> Bool {
        lock.withLock {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            let drop = Double(z >> 11) / Double(1 << 53) < dropShare
            counts.forwarded += 1
            if drop { counts.dropped += 1 }
            return drop
        }
    }

    private func relay(_ client: Int32) {
        defer { close(client) }
        guard let request = Sockets.readRequest(client), let server = Sockets.connect(port: upstream) else { return }
        defer { close(server) }
        guard Sockets.writeAll(server, request) else { return }
        let answer = Sockets.readToEnd(server)
        if nextDrop() { return }
        _ = Sockets.writeAll(client, answer)
    }
}

/// Blocking POSIX sockets on 127.0.0.1, each read bounded by a 15-second timeout.
enum Sockets {
    static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = in_addr_t(0x7F00_0001).bigEndian
        return address
    }

    static func listen() -> (Int32, Int)? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var address = loopback(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, Glibc.listen(fd, 64) == 0 else {
            close(fd)
            return nil
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }

    static func connect(port: Int) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var timeout = timeval(tv_sec: 15, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = loopback(port: port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            return nil
        }
        return fd
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard written > 0 else { return false }
            offset += written
        }
        return true
    }

    /// Everything until the peer closes (or the read times out).
    static func readToEnd(_ fd: Int32) -> [UInt8] {
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16_384)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return result }
            result += buffer[..<count]
        }
    }

    /// One HTTP request: the head, then `Content-Length` bytes of body.
    static func readRequest(_ fd: Int32) -> [UInt8]? {
        var timeout = timeval(tv_sec: 15, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16_384)
        var needed: Int?
        while needed.map({ result.count < $0 }) ?? true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return nil }
            result += buffer[..<count]
            if needed == nil, let end = result.firstRange(of: Array("\r\n\r\n".utf8)) {
                let head = String(decoding: result[..<end.lowerBound], as: UTF8.self).lowercased()
                let length =
                    head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                    .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
                needed = end.upperBound + length
            }
        }
        return result
    }
}
